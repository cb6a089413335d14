//! Webhook deliveries: the dead-letter list and manual re-queueing (admin/staff),
//! and a channel's settings including whether its endpoint was disabled.

use std::sync::Arc;

use agusto_store::{Delivery, DeliveryStatus};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::access::ChannelView;
use super::views::PageOf;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, Params};

/// The statuses of a delivery, for the OpenAPI document.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum DeliveryStatusName {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Out of attempts: dead-lettered, can be retried.
    Failed,
}

/// One HTTP attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// When it started.
    pub at: DateTime<Utc>,
    /// HTTP status, if the receiver answered.
    pub status_code: Option<u16>,
    /// Transport error, if it did not.
    pub error: Option<String>,
    /// Duration in milliseconds.
    pub duration_ms: u64,
}

/// One event on its way to one channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Delivery id.
    pub id: String,
    /// Event id (the `webhook-id` header).
    pub event_id: String,
    /// Receiving channel.
    pub channel_id: String,
    /// Event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// `pending`, `delivered` or `failed` (dead-lettered).
    #[schema(value_type = DeliveryStatusName)]
    pub status: String,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptView>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The webhook body.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        DeliveryView {
            id: d.id,
            event_id: d.event_id,
            channel_id: d.channel_id,
            event_type: d.event_type,
            status: d.status.as_str().to_owned(),
            attempts: d
                .attempts
                .into_iter()
                .map(|a| AttemptView {
                    at: a.at,
                    status_code: a.status_code,
                    error: a.error,
                    duration_ms: a.duration_ms,
                })
                .collect(),
            next_attempt_at: d.next_attempt_at,
            payload: d.payload,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// Lists webhook deliveries, newest first (admin/staff).
///
/// Each delivery is one event on its way to one channel, with every attempt
/// (time, HTTP status or error, duration). `status=failed` is the dead-letter
/// list: deliveries that ran out of attempts. Paged with `limit` and `cursor`.
#[utoipa::path(get, path = "/api/v1/webhooks/deliveries", tag = "webhooks", operation_id = "listWebhookDeliveries",
    params(("status" = Option<DeliveryStatusName>, Query, description = "Only deliveries in this status"),
           ("channel_id" = Option<String>, Query, description = "Only this channel's deliveries"),
           ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "1–1000, default 100"),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page")),
    responses((status = 200, description = "A page of deliveries", body = PageOf<DeliveryView>), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    who: Principal,
    params: Params,
) -> ApiResult<Json<PageOf<DeliveryView>>> {
    who.require_staff()?;
    let limit = params.limit(100)?;
    let status = match params.get("status") {
        None => None,
        Some(s) => Some(
            DeliveryStatus::parse(s)
                .ok_or_else(|| ApiError::invalid("status", "pending, delivered or failed"))?,
        ),
    };
    let page = state
        .store
        .list_deliveries(status, params.get("channel_id"), params.cursor(), limit)
        .await?;
    Ok(Json(PageOf {
        items: page.items.into_iter().map(DeliveryView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Re-queues a dead-lettered delivery for a new round of attempts (admin/staff).
///
/// The delivery becomes `pending` with a fresh retry budget; the event keeps
/// its id, so receivers deduplicate it as usual. 409 `conflict` unless the
/// delivery is `failed`.
#[utoipa::path(post, path = "/api/v1/webhooks/deliveries/{id}/retry", tag = "webhooks", operation_id = "retryWebhookDelivery",
    params(("id" = String, Path, description = "Delivery id")),
    responses((status = 200, description = "Queued again", body = DeliveryView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn retry(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DeliveryView>> {
    who.require_staff()?;
    let mut d = state
        .store
        .get_delivery(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("delivery {id}")))?;
    if d.status != DeliveryStatus::Failed {
        return Err(ApiError::Conflict(format!(
            "delivery is {}; only failed deliveries can be retried",
            d.status.as_str()
        )));
    }
    let now = agusto_schemas::now();
    d.status = DeliveryStatus::Pending;
    d.tries = 0;
    d.next_attempt_at = Some(now);
    d.updated_at = now;
    state.store.update_delivery(&d).await?;
    Ok(Json(d.into()))
}

/// A channel's settings, including whether its webhook endpoint was disabled (admin).
///
/// Never shows the token or the webhook secret. `webhook_disabled` is true
/// once the receiver answered 410 Gone; set `webhook_url` again to re-enable it.
#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "channels", operation_id = "getChannel",
    params(("id" = String, Path, description = "Channel id")),
    responses((status = 200, description = "The channel", body = ChannelView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn channel(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<ChannelView>> {
    who.require_admin()?;
    let c = state
        .store
        .get_channel(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("channel {id}")))?;
    Ok(Json((&c).into()))
}
