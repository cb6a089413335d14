//! One delivery attempt: sign, POST, record the attempt, and decide what
//! comes next (done, retry later, or dead letter).

use std::time::{Duration, Instant};

use agusto_store::{Attempt, Channel, Delivery, DeliveryStatus, Store};
use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::StatusCode;

use super::Settings;
use super::metrics::{ATTEMPTS, CLAIMS, DEAD_LETTERS, LATENCY, QUEUE_POPPED};
use super::signing;
use super::target::{Refused, refusal};

/// What an attempt leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// 2xx: done.
    Delivered,
    /// Try again after this delay.
    Retry(Duration),
    /// Dead letter, with the reason.
    Dead(&'static str),
}

/// The delay before retry number `retry` (1-based): exponential from `base`
/// by a factor of 4, with jitter (backon's schedule: between d and 2d).
pub fn retry_delay(base: Duration, retry: u32) -> Duration {
    let mut schedule = ExponentialBuilder::new()
        .with_min_delay(base)
        .with_factor(4.0)
        .with_jitter()
        .without_max_delay()
        .with_max_times(retry as usize)
        .build();
    schedule
        .nth(retry.saturating_sub(1) as usize)
        .unwrap_or(base)
}

/// Decides what follows an answer (`status`, `retry_after` seconds) or a
/// transport failure (`status = None`), given the tries made so far
/// (including this one).
pub fn next(
    settings: &Settings,
    status: Option<StatusCode>,
    retry_after: Option<u64>,
    tries: u32,
) -> Next {
    match status {
        Some(s) if s.is_success() => return Next::Delivered,
        Some(StatusCode::GONE) => return Next::Dead("gone"),
        _ => {}
    }
    if tries > settings.max_retries {
        return Next::Dead("retries_exhausted");
    }
    let asked = match status {
        Some(StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) => {
            retry_after.map(Duration::from_secs)
        }
        _ => None,
    };
    Next::Retry(asked.map_or_else(
        || retry_delay(settings.backoff_base, tries),
        |d| d.min(settings.max_retry_after),
    ))
}

/// Makes one attempt of `d`, claimed under the lease of `holder`, and
/// records the result if that lease still holds it (else the result is
/// dropped: another worker took the delivery over and attempts it itself).
pub async fn attempt(
    client: &reqwest::Client,
    settings: &Settings,
    store: &dyn Store,
    mut d: Delivery,
    holder: &str,
) -> agusto_store::Result<()> {
    let channel = store.get_channel(&d.channel_id).await?;
    let started_at = agusto_schemas::now();
    let started = Instant::now();
    let sent = match &channel {
        None => Sent::NoEndpoint("channel no longer exists".into()),
        Some(c) => send(client, settings, c, &d).await,
    };
    let elapsed = started.elapsed();
    let (status, retry_after, error) = match &sent {
        Sent::Answer(s, r) => (Some(*s), *r, None),
        Sent::Transport(e) | Sent::NoEndpoint(e) => (None, None, Some(e.clone())),
        Sent::Refused(r) => (None, None, Some(r.to_string())),
    };
    d.tries += 1;
    d.attempts.push(Attempt {
        at: started_at,
        status_code: status.map(|s| s.as_u16()),
        error: error.clone(),
        duration_ms: elapsed.as_millis() as u64,
    });
    let decision = match sent {
        Sent::NoEndpoint(_) => Next::Dead("no_endpoint"),
        // The address a URL leads to does not change between retries a few
        // seconds apart: refused at once, replayable once the channel's URL
        // or the allow list is fixed.
        Sent::Refused(_) => Next::Dead("refused_target"),
        _ => next(settings, status, retry_after, d.tries),
    };
    let now = agusto_schemas::now();
    d.updated_at = now;
    let outcome = match &decision {
        Next::Delivered => {
            d.status = DeliveryStatus::Delivered;
            d.next_attempt_at = None;
            "delivered"
        }
        Next::Retry(after) => {
            d.next_attempt_at =
                Some(now + chrono::Duration::from_std(*after).unwrap_or(chrono::Duration::MAX));
            if error.is_some() { "error" } else { "retry" }
        }
        Next::Dead(reason) => {
            d.status = DeliveryStatus::Failed;
            d.next_attempt_at = None;
            if *reason == "gone" { "gone" } else { "dead" }
        }
    };
    if !store.finish_delivery(&d, holder).await? {
        CLAIMS.with_label_values(&["superseded"]).inc();
        tracing::warn!(delivery = %d.id, "the lease passed to another worker before this attempt was recorded; its result is dropped");
        return Ok(());
    }
    ATTEMPTS.with_label_values(&[outcome]).inc();
    LATENCY
        .with_label_values(&[outcome])
        .observe(elapsed.as_secs_f64());
    if let Next::Dead(reason) = &decision {
        DEAD_LETTERS.with_label_values(&[reason]).inc();
    }
    if d.status != DeliveryStatus::Pending {
        QUEUE_POPPED.with_label_values(&[&d.channel_id]).inc();
    }
    if decision == Next::Dead("gone")
        && let Some(mut c) = channel
    {
        tracing::warn!(channel = %c.id, "webhook endpoint answered 410 Gone: disabling it");
        c.webhook_disabled = true;
        c.updated_at = now;
        store.update_channel(&c).await?;
    }
    Ok(())
}

/// What came of sending.
enum Sent {
    /// An HTTP answer, with its Retry-After seconds.
    Answer(StatusCode, Option<u64>),
    /// No answer (refused, reset, timeout).
    Transport(String),
    /// Nowhere to send: no URL, disabled, unusable secret.
    NoEndpoint(String),
    /// The target's address is refused ([`TargetPolicy`](super::TargetPolicy)).
    Refused(Refused),
}

/// POSTs the delivery, signed.
async fn send(
    client: &reqwest::Client,
    settings: &Settings,
    channel: &Channel,
    d: &Delivery,
) -> Sent {
    let url = match channel
        .webhook_url
        .as_deref()
        .filter(|_| !channel.webhook_disabled)
    {
        None => return Sent::NoEndpoint("endpoint disabled or removed".into()),
        Some(u) => u,
    };
    let url = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Sent::NoEndpoint(format!("endpoint url invalid: {e}")),
    };
    if let Err(refused) = settings.targets.check_url(&url) {
        return Sent::Refused(refused);
    }
    let key = match signing::key(&channel.webhook_secret) {
        Ok(k) => k,
        Err(e) => return Sent::NoEndpoint(format!("endpoint secret: {e}")),
    };
    let body = serde_json::to_vec(&d.payload).unwrap_or_default();
    let timestamp = chrono::Utc::now().timestamp();
    let signature = signing::sign(&key, &d.event_id, timestamp, &body);
    let sent = client
        .post(url)
        .timeout(settings.timeout)
        .header("content-type", "application/json")
        .header("webhook-id", &d.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(resp) => {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            Sent::Answer(resp.status(), retry_after)
        }
        Err(e) => match refusal(&e) {
            Some(refused) => Sent::Refused(refused.clone()),
            None => Sent::Transport(transport_error(&e)),
        },
    }
}

fn transport_error(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timeout".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            max_retries: 3,
            backoff_base: Duration::from_millis(100),
            ..Settings::default()
        }
    }

    #[test]
    fn the_schedule_grows_by_four_with_jitter_and_stops_after_the_budget() {
        let s = settings();
        for retry in 1..=3u32 {
            let d = retry_delay(s.backoff_base, retry);
            let floor = s.backoff_base * 4u32.pow(retry - 1);
            assert!(d >= floor && d <= floor * 2, "retry {retry}: {d:?}");
        }
        assert_eq!(next(&s, Some(StatusCode::OK), None, 1), Next::Delivered);
        assert!(matches!(
            next(&s, Some(StatusCode::INTERNAL_SERVER_ERROR), None, 3),
            Next::Retry(_)
        ));
        assert_eq!(
            next(&s, Some(StatusCode::INTERNAL_SERVER_ERROR), None, 4),
            Next::Dead("retries_exhausted")
        );
        assert_eq!(next(&s, None, None, 4), Next::Dead("retries_exhausted"));
        assert_eq!(
            next(&s, Some(StatusCode::GONE), None, 1),
            Next::Dead("gone")
        );
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_bound() {
        let s = Settings {
            max_retry_after: Duration::from_secs(30),
            ..settings()
        };
        assert_eq!(
            next(&s, Some(StatusCode::TOO_MANY_REQUESTS), Some(7), 1),
            Next::Retry(Duration::from_secs(7))
        );
        assert_eq!(
            next(&s, Some(StatusCode::SERVICE_UNAVAILABLE), Some(3600), 1),
            Next::Retry(Duration::from_secs(30))
        );
        // Retry-After on other statuses is ignored.
        assert!(
            matches!(next(&s, Some(StatusCode::BAD_GATEWAY), Some(3600), 1), Next::Retry(d) if d < Duration::from_secs(1))
        );
    }
}
