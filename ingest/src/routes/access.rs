//! Channels (admin); staff tokens are in `tokens`.

use std::sync::Arc;

use agusto_schemas::ChannelStockRule;
use agusto_store::{Channel, Role, TokenRecord};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::channel_rules::{RuleFields, announce_channel_rule};
use crate::AppState;
use crate::auth::{Principal, new_id, new_secret, new_webhook_secret, token_hash};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, ApiPath, text, valid};

/// Body of `POST /channels`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannelBody {
    /// Display name (1–200 characters).
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// http(s) URL with a host (at most 2048 bytes) that receives webhooks.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub webhook_url: Option<String>,
    /// CIDRs (or single addresses) allowed to use the channel's token; empty = anywhere.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub allowed_ips: Option<Vec<String>>,
    /// Requests per second (1–1,000,000); default from the server config.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub rate_limit_per_second: Option<i64>,
    /// Units held back from what the channel is shown as `available`, per
    /// product (≥ 0; default 0).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub stock_buffer: Option<i64>,
    /// Share of the real `available` held back from what the channel is
    /// shown, in percent, rounded up to whole units (0–100; default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100)]
    pub stock_buffer_percent: Option<i64>,
    /// The channel is shown 0 when what it would be shown is at or below
    /// this (≥ 0; default 0).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub stock_floor: Option<i64>,
}

/// Body of `PATCH /channels/{id}`: any subset; `webhook_url: null` removes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelPatchBody {
    /// Display name (1–200 characters).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// http(s) URL with a host (at most 2048 bytes); null removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub webhook_url: Option<Option<String>>,
    /// Replaces the allow-list.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub allowed_ips: Option<Vec<String>>,
    /// Requests per second (1–1,000,000).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub rate_limit_per_second: Option<i64>,
    /// Units held back from what the channel is shown as `available`, per
    /// product (≥ 0).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub stock_buffer: Option<i64>,
    /// Share of the real `available` held back from what the channel is
    /// shown, in percent, rounded up to whole units (0–100).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100)]
    pub stock_buffer_percent: Option<i64>,
    /// The channel is shown 0 when what it would be shown is at or below
    /// this (≥ 0).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub stock_floor: Option<i64>,
}

/// Distinguishes an absent field (`None`) from an explicit null (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A channel (secrets are never shown again after creation).
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    /// Channel id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Webhook URL.
    pub webhook_url: Option<String>,
    /// Allow-list.
    pub allowed_ips: Vec<String>,
    /// Requests per second, if set.
    pub rate_limit_per_second: Option<u32>,
    /// True once the receiver answered 410 Gone.
    pub webhook_disabled: bool,
    /// Units held back from what the channel is shown as `available`.
    pub stock_buffer: i64,
    /// Share of the real `available` held back, in percent (rounded up).
    pub stock_buffer_percent: i64,
    /// The channel is shown 0 at or below this.
    pub stock_floor: i64,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Last change.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<&Channel> for ChannelView {
    fn from(c: &Channel) -> Self {
        ChannelView {
            id: c.id.clone(),
            name: c.name.clone(),
            webhook_url: c.webhook_url.clone(),
            allowed_ips: c.allowed_ips.clone(),
            rate_limit_per_second: c.rate_limit_per_second,
            webhook_disabled: c.webhook_disabled,
            stock_buffer: c.stock_rule.stock_buffer,
            stock_buffer_percent: c.stock_rule.stock_buffer_percent,
            stock_floor: c.stock_rule.stock_floor,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A new channel with its token and webhook secret (shown only here).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedChannel {
    /// The channel.
    #[serde(flatten)]
    pub channel: ChannelView,
    /// The channel's API token.
    pub api_token: String,
    /// `whsec_…` webhook signing secret.
    pub webhook_secret: String,
}

fn check_url(url: &str, errors: &mut Vec<FieldError>) {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() <= 2048
        && url
            .split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        errors.push(FieldError::new(
            "webhook_url",
            "must be an http:// or https:// URL with a host",
        ));
    }
}

fn check_ips(ips: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if ips.len() > 100 {
        errors.push(FieldError::new("allowed_ips", "at most 100 entries"));
    }
    ips.iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let net = s
                .parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            match net {
                Ok(n) => Some(n.to_string()),
                Err(_) => {
                    errors.push(FieldError::new(
                        format!("allowed_ips[{i}]"),
                        "not a CIDR or IP address",
                    ));
                    None
                }
            }
        })
        .collect()
}

fn check_rate(rate: Option<i64>, errors: &mut Vec<FieldError>) -> Option<u32> {
    let r = rate?;
    if (1..=1_000_000).contains(&r) {
        Some(r as u32)
    } else {
        errors.push(FieldError::new(
            "rate_limit_per_second",
            "must be between 1 and 1000000",
        ));
        None
    }
}

/// Creates a channel with its token and webhook secret (admin).
///
/// A channel is a storefront. The answer is the only time its `api_token`
/// and `webhook_secret` (`whsec_…`, the Standard Webhooks signing key) are
/// shown: store them. `allowed_ips` restricts where the token may be used
/// from; `rate_limit_per_second` overrides the server's default limit.
/// `stock_buffer`, `stock_buffer_percent` and `stock_floor` change what the
/// channel is *shown* as `available` (published availability); orders
/// always reserve against the warehouse's real `available`.
#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", operation_id = "createChannel", request_body = NewChannelBody,
    responses((status = 201, description = "Created", body = CreatedChannel), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn create_channel(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiJson(body): ApiJson<NewChannelBody>,
) -> ApiResult<(StatusCode, Json<CreatedChannel>)> {
    who.require_admin()?;
    let mut errors = Vec::new();
    text("name", &body.name, 200, &mut errors);
    if let Some(u) = &body.webhook_url {
        check_url(u, &mut errors);
    }
    let ips = check_ips(body.allowed_ips.as_deref().unwrap_or_default(), &mut errors);
    let rate = check_rate(body.rate_limit_per_second, &mut errors);
    let stock_rule = RuleFields {
        stock_buffer: body.stock_buffer,
        stock_buffer_percent: body.stock_buffer_percent,
        stock_floor: body.stock_floor,
    }
    .apply(ChannelStockRule::default(), &mut errors);
    valid(errors)?;
    let now = agusto_schemas::now();
    let channel = Channel {
        id: new_id("ch"),
        name: body.name,
        webhook_url: body.webhook_url,
        webhook_secret: new_webhook_secret(),
        allowed_ips: ips,
        rate_limit_per_second: rate,
        webhook_disabled: false,
        stock_rule,
        created_at: now,
        updated_at: now,
    };
    let api_token = new_secret("agc_");
    state.store.insert_channel(&channel).await?;
    let token = TokenRecord {
        id: new_id("tok"),
        name: format!("channel {}", channel.name),
        role: Role::Channel,
        channel_id: Some(channel.id.clone()),
        token_hash: token_hash(&api_token),
        created_at: now,
    };
    state.store.insert_token(&token).await?;
    let created = CreatedChannel {
        channel: (&channel).into(),
        api_token,
        webhook_secret: channel.webhook_secret.clone(),
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// Changes a channel's fields (admin).
///
/// Only the fields given change; `webhook_url: null` removes the URL. Setting
/// `webhook_url` (even to the same value) re-enables an endpoint that was
/// disabled after a 410 Gone. `stock_buffer`, `stock_buffer_percent` and
/// `stock_floor` apply to the channel's reads at once; a PATCH that carries
/// any of them (changed or not, so a retry after a 503 is safe) writes a
/// `stock.changed` (reason `adjustment`) for each product with stock, of
/// which the channel is sent those whose published figures differ from
/// what it was last sent.
#[utoipa::path(patch, path = "/api/v1/channels/{id}", tag = "channels", operation_id = "updateChannel",
    params(("id" = String, Path, description = "Channel id")), request_body = ChannelPatchBody,
    responses((status = 200, description = "Updated", body = ChannelView), crate::openapi::Problems),
    security(("bearer" = []), ("api_key" = [])))]
pub async fn update_channel(
    State(state): State<Arc<AppState>>,
    who: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ChannelPatchBody>,
) -> ApiResult<Json<ChannelView>> {
    who.require_admin()?;
    let mut channel = state
        .store
        .get_channel(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("channel {id}")))?;
    let mut errors = Vec::new();
    if let Some(n) = &body.name {
        text("name", n, 200, &mut errors);
    }
    if let Some(Some(u)) = &body.webhook_url {
        check_url(u, &mut errors);
    }
    let ips = body
        .allowed_ips
        .as_deref()
        .map(|ips| check_ips(ips, &mut errors));
    let rate = check_rate(body.rate_limit_per_second, &mut errors);
    let stock_rule = RuleFields {
        stock_buffer: body.stock_buffer,
        stock_buffer_percent: body.stock_buffer_percent,
        stock_floor: body.stock_floor,
    }
    .apply(channel.stock_rule, &mut errors);
    valid(errors)?;
    // Announced whenever given, so a retry after a failed announcement
    // repeats it (unchanged figures are not sent again).
    let rule_given = body.stock_buffer.is_some()
        || body.stock_buffer_percent.is_some()
        || body.stock_floor.is_some();
    channel.stock_rule = stock_rule;
    if let Some(n) = body.name {
        channel.name = n;
    }
    if let Some(u) = body.webhook_url {
        // Setting the URL (even to the same value) re-enables a disabled endpoint.
        channel.webhook_disabled = false;
        channel.webhook_url = u;
    }
    if let Some(ips) = ips {
        channel.allowed_ips = ips;
    }
    if rate.is_some() {
        channel.rate_limit_per_second = rate;
    }
    channel.updated_at = agusto_schemas::now();
    state.store.update_channel(&channel).await?;
    state.lookups.channel_changed(&channel.id);
    if rule_given {
        announce_channel_rule(&state, &channel).await?;
    }
    Ok(Json((&channel).into()))
}
