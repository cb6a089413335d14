//! Staff tokens (admin).

use std::sync::Arc;

use agusto_store::{Role, TokenRecord};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Principal, new_id, new_secret, token_hash};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, ApiPath, text, valid};

/// The roles `POST /tokens` creates tokens for, for the OpenAPI document.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum TokenRoleName {
    /// Warehouse staff.
    Staff,
}

/// Body of `POST /tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    /// Must be `staff`.
    #[schema(value_type = TokenRoleName)]
    pub role: String,
    /// Label (1–200 characters).
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// A new token (shown only here).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// Token id (for revoking).
    pub id: String,
    /// The token.
    pub token: String,
    /// Role.
    #[schema(value_type = TokenRoleName)]
    pub role: String,
    /// Label.
    pub name: String,
}

/// Creates a staff token (admin).
///
/// Staff tokens may call the warehouse endpoints and every read. The token is
/// shown only in this answer; keep its `id` to revoke it.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", operation_id = "createToken", request_body = NewTokenBody,
    responses((status = 201, description = "Created", body = CreatedToken), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn create_token(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiJson(body): ApiJson<NewTokenBody>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    who.require_admin()?;
    let mut errors = Vec::new();
    text("name", &body.name, 200, &mut errors);
    if body.role != "staff" {
        errors.push(FieldError::new("role", "must be staff"));
    }
    valid(errors)?;
    let token = new_secret("ags_");
    let record = TokenRecord {
        id: new_id("tok"),
        name: body.name.clone(),
        role: Role::Staff,
        channel_id: None,
        token_hash: token_hash(&token),
        created_at: agusto_schemas::now(),
    };
    state.store.insert_token(&record).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: record.id,
            token,
            role: "staff".into(),
            name: body.name,
        }),
    ))
}

/// Revokes a token at once (admin).
///
/// The next request with the token gets 401. 404 for an unknown (or already
/// revoked) token id.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", operation_id = "revokeToken",
    params(("id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn revoke_token(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    who.require_admin()?;
    let revoked = state.store.revoke_token(&id).await?;
    state.lookups.tokens_changed();
    if revoked {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("token {id}")))
    }
}
