//! Who is calling: bearer / API-key tokens (stored as SHA-256 hashes,
//! compared in constant time), roles, channel IP allow-lists and rate limits.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use agusto_store::{Channel, Role};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Who it is: the channel id for channel tokens, else the token id.
    /// `Idempotency-Key`s are scoped to it.
    pub id: String,
    /// Role of the token.
    pub role: Role,
    /// The channel, for channel tokens.
    pub channel_id: Option<String>,
}

impl Principal {
    /// Admin or staff.
    pub fn require_staff(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin | Role::Staff => Ok(()),
            Role::Channel => Err(ApiError::Forbidden("staff endpoint".into())),
        }
    }

    /// Admin only.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin => Ok(()),
            _ => Err(ApiError::Forbidden("admin endpoint".into())),
        }
    }

    /// A channel token; its channel id.
    pub fn require_channel(&self) -> Result<&str, ApiError> {
        self.channel_id
            .as_deref()
            .filter(|_| self.role == Role::Channel)
            .ok_or_else(|| ApiError::Forbidden("storefront endpoint: use a channel token".into()))
    }

    /// The channel whose view (SKUs, own orders) applies; `None` for staff and admin.
    pub fn channel(&self) -> Option<&str> {
        self.channel_id
            .as_deref()
            .filter(|_| self.role == Role::Channel)
    }
}

/// A new random token (256 bits) with a readable prefix.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    format!("{prefix}{text}")
}

/// A new webhook signing secret: `whsec_` + base64 of 32 random bytes.
pub fn new_webhook_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A new short random id with a prefix (`ch_…`, `tok_…`, `rcpt_…`).
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}

/// SHA-256 of a token's text: what the store keeps.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn presented_token(parts: &Parts) -> Option<&str> {
    if let Some(v) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let (scheme, token) = v.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty());
    }
    parts
        .headers
        .get("x-api-key")?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let token = presented_token(parts).ok_or(ApiError::Unauthorized)?;
        let hash = token_hash(token);
        let record = state
            .lookups
            .token(state.store.as_ref(), &hash)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if !constant_time_eq(&record.token_hash, &hash) {
            return Err(ApiError::Unauthorized);
        }
        if record.role == Role::Channel {
            let channel_id = record.channel_id.as_deref().ok_or(ApiError::Unauthorized)?;
            let channel = state
                .lookups
                .channel(state.store.as_ref(), channel_id)
                .await?
                .ok_or(ApiError::Unauthorized)?;
            let peer = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip());
            check_ip(&channel, peer)?;
            let rate = channel
                .rate_limit_per_second
                .unwrap_or(state.settings.default_rate_limit_per_second);
            state.limiter.check(&channel.id, rate)?;
        }
        let id = match (&record.channel_id, record.role) {
            (Some(channel), Role::Channel) => channel.clone(),
            _ => record.id.clone(),
        };
        Ok(Principal {
            id,
            role: record.role,
            channel_id: record.channel_id,
        })
    }
}

fn check_ip(channel: &Channel, peer: Option<IpAddr>) -> Result<(), ApiError> {
    if channel.allowed_ips.is_empty() {
        return Ok(());
    }
    let Some(ip) = peer else {
        return Err(ApiError::IpNotAllowed("unknown".into()));
    };
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    let allowed = channel
        .allowed_ips
        .iter()
        .filter_map(|c| c.parse::<ipnet::IpNet>().ok())
        .any(|net| net.contains(&ip));
    if allowed {
        Ok(())
    } else {
        Err(ApiError::IpNotAllowed(ip.to_string()))
    }
}

/// Token buckets per channel: `rate` requests per second, bursts up to `rate`.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes one token from the channel's bucket, or says how many whole
    /// seconds to wait for one.
    pub fn check(&self, channel_id: &str, rate: u32) -> Result<(), ApiError> {
        let rate = f64::from(rate.max(1));
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, last) = buckets.entry(channel_id.to_owned()).or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(rate);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(ApiError::RateLimited(((1.0 - *tokens) / rate).ceil() as u64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_rate_then_refuses_with_a_wait() {
        let l = RateLimiter::default();
        assert!(l.check("c", 2).is_ok());
        assert!(l.check("c", 2).is_ok());
        assert!(matches!(l.check("c", 2), Err(ApiError::RateLimited(1))));
        assert!(l.check("other", 2).is_ok());
    }

    #[test]
    fn secrets_are_long_and_distinct() {
        let a = new_secret("agt_");
        assert!(a.len() >= 4 + 43);
        assert_ne!(a, new_secret("agt_"));
        assert!(new_webhook_secret().starts_with("whsec_"));
        assert!(constant_time_eq(&token_hash("x"), &token_hash("x")));
        assert!(!constant_time_eq(&token_hash("x"), &token_hash("y")));
    }
}
