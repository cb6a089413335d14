//! Published availability per channel at the edge: the stock-rule fields of
//! channel and SKU-mapping bodies, what a channel token is shown as
//! `available`, and the `stock.changed` events a rule change sends to the
//! channel whose rule changed.

use agusto_schemas::{
    ChannelStockRule, Event, SkuStockRule, StockLevel, published_available, stable_id,
};
use agusto_store::{Channel, StockBatch};

use super::views::StockView;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiResult, FieldError};

/// Stock rows read (and events written) per round when a channel's rule
/// changes: every product with a stock row is paged through, never loaded
/// at once.
const ANNOUNCE_PAGE: usize = 500;

/// The webhook `reason` of the `stock.changed` a rule change sends (the
/// published figure was adjusted; API.md's reasons name no other fitting one).
const RULE_REASON: &str = "adjustment";

/// A count of units that must not be negative (`stock_buffer`, `stock_floor`,
/// `stock_max`).
pub(crate) fn units(field: &str, value: Option<i64>, errors: &mut Vec<FieldError>) -> Option<i64> {
    let v = value?;
    if v < 0 {
        errors.push(FieldError::new(field, "must be 0 or more"));
        return None;
    }
    Some(v)
}

/// `stock_buffer_percent`: 0–100.
fn percent(value: Option<i64>, errors: &mut Vec<FieldError>) -> Option<i64> {
    let v = value?;
    if !(0..=100).contains(&v) {
        errors.push(FieldError::new(
            "stock_buffer_percent",
            "must be between 0 and 100",
        ));
        return None;
    }
    Some(v)
}

/// The stock-rule fields of a channel body, each optional.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RuleFields {
    /// `stock_buffer`.
    pub stock_buffer: Option<i64>,
    /// `stock_buffer_percent`.
    pub stock_buffer_percent: Option<i64>,
    /// `stock_floor`.
    pub stock_floor: Option<i64>,
}

impl RuleFields {
    /// The rule with the given fields replaced (others kept from `rule`);
    /// field errors for values out of range.
    pub(crate) fn apply(
        self,
        rule: ChannelStockRule,
        errors: &mut Vec<FieldError>,
    ) -> ChannelStockRule {
        ChannelStockRule {
            stock_buffer: units("stock_buffer", self.stock_buffer, errors)
                .unwrap_or(rule.stock_buffer),
            stock_buffer_percent: percent(self.stock_buffer_percent, errors)
                .unwrap_or(rule.stock_buffer_percent),
            stock_floor: units("stock_floor", self.stock_floor, errors).unwrap_or(rule.stock_floor),
        }
    }
}

/// Replaces `available` in `views` (one per code of `codes`) by what the
/// calling channel is shown: its rule and each SKU mapping's override
/// (cached, dropped at once by changes made through this process). Staff
/// and admin see the real figures: nothing changes for them.
pub(crate) async fn publish(
    state: &AppState,
    who: &Principal,
    codes: &[String],
    views: &mut [StockView],
) -> ApiResult<()> {
    let Some(channel_id) = who.channel() else {
        return Ok(());
    };
    let rule = state
        .lookups
        .channel(state.store.as_ref(), channel_id)
        .await?
        .map(|c| c.stock_rule)
        .unwrap_or_default();
    let skus = state
        .lookups
        .channel_skus(state.store.as_ref(), channel_id, codes)
        .await?;
    for (sku, view) in skus.iter().zip(views.iter_mut()) {
        view.available = published_available(view.available, &rule, &sku.stock_rule);
    }
    Ok(())
}

/// The `stock.changed` a rule change sends `channel` for one product: the
/// product's real levels (the webhook fan-out puts the channel's published
/// `available` in), addressed to that channel only. Its id names the rule
/// revision (the channel's or mapping's change time), so each change is
/// its own event.
fn rule_event(channel_id: &str, level: &StockLevel, revision: &str) -> Event {
    let mut event = agusto_workers::domain::stock::stock_changed(level, RULE_REASON);
    event.id = stable_id(
        "evt",
        &[
            "stock.changed",
            "rule",
            channel_id,
            &level.product_code,
            &level.version.to_string(),
            revision,
        ],
    );
    event.channel_id = Some(channel_id.to_owned());
    event.created_at = agusto_schemas::now();
    event
}

/// Writes `events` to the outbox (no stock row changes).
async fn emit(state: &AppState, events: Vec<Event>) -> ApiResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let batch = StockBatch {
        events,
        ..StockBatch::default()
    };
    state.store.apply_stock_batch(&batch).await?;
    Ok(())
}

/// After `channel`'s rule changed: a `stock.changed` to it for every
/// product with a stock row (paged), so its storefront learns the new
/// published values. Nothing for a channel without a webhook URL.
pub(crate) async fn announce_channel_rule(state: &AppState, channel: &Channel) -> ApiResult<()> {
    if channel.webhook_url.is_none() {
        return Ok(());
    }
    let revision = channel.updated_at.timestamp_micros().to_string();
    let mut cursor: Option<String> = None;
    loop {
        let page = state
            .store
            .stock_updated_since(
                chrono::DateTime::UNIX_EPOCH,
                cursor.as_deref(),
                ANNOUNCE_PAGE,
            )
            .await?;
        let events = page
            .items
            .iter()
            .map(|l| rule_event(&channel.id, l, &revision))
            .collect();
        emit(state, events).await?;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}

/// After a SKU mapping's override changed: a `stock.changed` to the channel
/// for its product, if the product has a stock row and the channel a
/// webhook URL.
pub(crate) async fn announce_sku_rule(
    state: &AppState,
    channel: &Channel,
    product_code: &str,
    revision: &str,
) -> ApiResult<()> {
    if channel.webhook_url.is_none() {
        return Ok(());
    }
    let levels = state
        .store
        .stock_levels(std::slice::from_ref(&product_code.to_owned()))
        .await?;
    let events = levels
        .iter()
        .map(|l| rule_event(&channel.id, l, revision))
        .collect();
    emit(state, events).await
}

/// The override fields of a SKU mapping body, checked.
pub(crate) fn sku_rule(
    stock_buffer: Option<i64>,
    stock_max: Option<i64>,
    errors: &mut Vec<FieldError>,
) -> SkuStockRule {
    SkuStockRule {
        stock_buffer: units("stock_buffer", stock_buffer, errors),
        stock_max: units("stock_max", stock_max, errors),
    }
}
