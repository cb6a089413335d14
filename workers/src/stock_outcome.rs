//! What a stock writer's batch comes to besides its decisions: the rows of
//! change records, the replies it gives when nothing was written, and its
//! metrics.

use std::collections::HashMap;

use agusto_schemas::{Reservation, StockCommand, StockReply, Timestamp};
use agusto_store::{StockBatch, StockChange};

use crate::domain::partition::PartitionState;
use crate::domain::stock::StockState;
use crate::metrics::COMMANDS_APPLIED;
use crate::stock_writer::CHANGE_RETENTION;

/// The store rows of the change records a batch changed: their final
/// state, kept for [`CHANGE_RETENTION`] after the command that wrote them.
pub(crate) fn change_rows(
    partition: u32,
    state: Option<&PartitionState>,
    changed: &[(String, Timestamp)],
) -> Vec<StockChange> {
    let mut last: HashMap<&str, Timestamp> = HashMap::new();
    for (id, at) in changed {
        last.insert(id, *at);
    }
    let mut rows: Vec<StockChange> = last
        .into_iter()
        .filter_map(|(id, at)| {
            let record = state?.stock.changes.get(id)?;
            Some(StockChange {
                change_id: id.to_owned(),
                partition,
                fingerprint: record.fingerprint.clone(),
                levels: record.levels.clone(),
                expires_at: at + CHANGE_RETENTION,
            })
        })
        .collect();
    rows.sort_by(|a, b| a.change_id.cmp(&b.change_id));
    rows
}

/// The current levels of `codes`, as the answer to a change applied before.
pub(crate) fn levels_of<'a>(
    state: &PartitionState,
    codes: impl IntoIterator<Item = &'a String>,
) -> StockReply {
    StockReply::Recorded(
        codes
            .into_iter()
            .filter_map(|c| state.stock.levels.get(c).cloned())
            .collect(),
    )
}

/// Counts a command's outcome in the writer metrics (order commands also
/// in the order and reservation metrics).
pub(crate) fn count(command: &StockCommand, reply: &StockReply) {
    if let (StockCommand::Order(c), StockReply::Order(r)) = (command, reply) {
        crate::order_outcome::count(c, r);
        return;
    }
    let outcome = match reply {
        StockReply::Rejected(_) | StockReply::Short(_) => "rejected",
        StockReply::Unavailable(_) => "failed",
        _ => "applied",
    };
    COMMANDS_APPLIED
        .with_label_values(&["stock", outcome])
        .inc();
}

pub(crate) fn fx_is_empty(b: &StockBatch) -> bool {
    b.changes.is_empty()
        && b.orders.is_empty()
        && b.levels.is_empty()
        && b.movements.is_empty()
        && b.reservations_put.is_empty()
        && b.reservations_delete.is_empty()
        && b.events.is_empty()
        && b.sagas_put.is_empty()
        && b.sagas_delete.is_empty()
}

/// The fault-injection point of a recorded saga step.
pub(crate) fn step_name(kind: agusto_schemas::SagaKind) -> &'static str {
    match kind {
        agusto_schemas::SagaKind::Placing => "placing",
        agusto_schemas::SagaKind::Applying => "applying",
        agusto_schemas::SagaKind::Compensating => "compensating",
    }
}

pub(crate) fn unavailable(n: usize, why: &str) -> Vec<StockReply> {
    COMMANDS_APPLIED
        .with_label_values(&["stock", "failed"])
        .inc_by(n as u64);
    (0..n)
        .map(|_| StockReply::Unavailable(why.to_owned()))
        .collect()
}

/// The holds a batch changed, as they are at its end: each one put or
/// deleted once, as the partition holds it now (a hold released and made
/// again in one batch ends made; the store's order of puts and deletes
/// cannot say that by itself).
pub(crate) fn final_holds(
    stock: &StockState,
    put: &[Reservation],
    deleted: &[(String, String)],
) -> (Vec<Reservation>, Vec<(String, String)>) {
    let mut keys: Vec<(&str, &str)> = put
        .iter()
        .map(|h| (h.order_id.as_str(), h.product_code.as_str()))
        .chain(deleted.iter().map(|(o, p)| (o.as_str(), p.as_str())))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let (mut now_put, mut now_deleted) = (Vec::new(), Vec::new());
    for (order, product) in keys {
        let held = stock
            .holds
            .get(order)
            .and_then(|hs| hs.iter().find(|h| h.product_code == product));
        match held {
            Some(h) => now_put.push(h.clone()),
            None => now_deleted.push((order.to_owned(), product.to_owned())),
        }
    }
    (now_put, now_deleted)
}
