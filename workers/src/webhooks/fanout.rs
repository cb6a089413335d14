//! Fan-out: turns outbox events into one delivery per subscribed channel,
//! with the webhook body fixed at that moment (the channel's own SKU and,
//! for `stock.changed`, its published `available` filled in; a stock event
//! that changes nothing the channel can see is not sent to it).

use agusto_schemas::{Event, EventType, bundle_stock, stable_id};
use agusto_store::{Channel, Delivery, DeliveryStatus, Store};
use serde_json::json;

use crate::webhooks::metrics::QUEUE_PUSHED;
use crate::webhooks::shown_stock::ShownStock;

/// Most events fanned out per round.
const ROUND: usize = 500;

/// Fans out the events written since the last round; returns how many events it took.
pub async fn fan_out(store: &dyn Store) -> agusto_store::Result<usize> {
    let from = store.fanout_position().await?;
    let events = store.outbox_after(from, ROUND).await?;
    let Some(last) = events.last().map(|(p, _)| *p) else {
        return Ok(0);
    };
    let taken = events.len();
    let events = with_bundles(store, events).await?;
    let channels: Vec<Channel> = store
        .list_channels()
        .await?
        .into_iter()
        .filter(|c| c.webhook_url.is_some())
        .collect();
    let now = agusto_schemas::now();
    let mut shown = ShownStock::load(store, &events).await?;
    let mut deliveries = Vec::new();
    for (position, event) in &events {
        for channel in channels.iter().filter(|c| subscribed(c, event)) {
            let data = match (&event.event_type, &event.product_code) {
                (EventType::StockChanged, Some(code)) => {
                    match shown
                        .data_for(store, channel, *position, event, code)
                        .await?
                    {
                        Some(data) => data,
                        // Nothing the channel can see changed.
                        None => continue,
                    }
                }
                _ => event.data.clone(),
            };
            let payload = payload(event, data);
            let key = event
                .product_code
                .clone()
                .or_else(|| event.data["order_id"].as_str().map(str::to_owned))
                .unwrap_or_else(|| event.id.clone());
            deliveries.push(Delivery {
                id: stable_id("dlv", &[&event.id, &channel.id]),
                event_id: event.id.clone(),
                channel_id: channel.id.clone(),
                event_type: event.event_type.as_str().to_owned(),
                ordering_key: key,
                position: *position,
                payload,
                status: DeliveryStatus::Pending,
                tries: 0,
                attempts: Vec::new(),
                next_attempt_at: Some(now),
                created_at: now,
                updated_at: now,
            });
        }
    }
    // Records first: a round that dies before its deliveries are written
    // is repeated, and then delivers the events it recorded (see `shown_stock`).
    shown.save(store).await?;
    store.fan_out(&deliveries, last).await?;
    for d in &deliveries {
        QUEUE_PUSHED.with_label_values(&[&d.channel_id]).inc();
    }
    Ok(taken)
}

/// `events` with, after each `stock.changed` of a component, one for each
/// bundle that contains it (reason `component`, at the same position): the
/// bundle's figures derived from its components' stored levels, its
/// version the sum of theirs.
async fn with_bundles(
    store: &dyn Store,
    events: Vec<(i64, Event)>,
) -> agusto_store::Result<Vec<(i64, Event)>> {
    let mut out = Vec::with_capacity(events.len());
    // Each component's bundles, read once per round.
    let mut bundles_of: std::collections::HashMap<String, Vec<String>> =
        std::collections::HashMap::new();
    for (position, event) in events {
        let component = match (&event.event_type, &event.product_code, &event.channel_id) {
            (EventType::StockChanged, Some(code), None) => Some(code.clone()),
            _ => None,
        };
        out.push((position, event.clone()));
        let Some(component) = component else {
            continue;
        };
        let bundles = match bundles_of.get(&component) {
            Some(b) => b.clone(),
            None => {
                let b = store.bundles_containing(&component).await?;
                bundles_of.insert(component.clone(), b.clone());
                b
            }
        };
        if bundles.is_empty() {
            continue;
        }
        for (bundle, parts) in store.bundle_components(&bundles).await? {
            let codes: Vec<String> = parts.iter().map(|p| p.product_code.clone()).collect();
            let levels = store.stock_levels(&codes).await?;
            let b = bundle_stock(&parts, &levels, event.created_at);
            let derived = Event {
                id: stable_id("evt", &["stock.changed", &bundle, "component", &event.id]),
                event_type: EventType::StockChanged,
                created_at: event.created_at,
                channel_id: None,
                product_code: Some(bundle.clone()),
                data: json!({
                    "sku": bundle,
                    "product_code": bundle,
                    "on_hand": b.on_hand,
                    "reserved": 0,
                    "available": b.available,
                    "damaged": 0,
                    "version": b.version,
                    "reason": "component",
                }),
            };
            out.push((position, derived));
        }
    }
    Ok(out)
}

/// Order events go to their channel; stock events to every channel (each
/// sees every product, under its own SKU), except a rule change's, which
/// goes to the channel whose rule changed.
fn subscribed(channel: &Channel, event: &Event) -> bool {
    match &event.channel_id {
        Some(c) => *c == channel.id,
        None => true,
    }
}

/// The webhook body of `event` with the channel's `data`.
fn payload(event: &Event, data: serde_json::Value) -> serde_json::Value {
    json!({
        "id": event.id,
        "type": event.event_type.as_str(),
        "created_at": event.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": data,
    })
}
