//! What an order writer makes of the stock writers' replies: a placement's
//! outcome, failures, and the metrics of each outcome.

use agusto_schemas::{
    NewOrder, OrderAction, OrderCommand, OrderReply, Shortage, StockCommand, StockReply, Timestamp,
};

use crate::domain::order::placed;
use crate::metrics::{COMMANDS_APPLIED, RESERVATIONS};

/// The outcome of a placement from its per-partition reserve replies; the
/// partitions that reserved are queued for release when it failed.
pub(crate) fn settle_placement(
    new: &NewOrder,
    at: Timestamp,
    stock: &[(u32, &StockCommand, StockReply)],
    compensate: &mut Vec<(u32, String)>,
) -> OrderReply {
    if stock.iter().all(|(_, _, r)| *r == StockReply::Reserved) {
        return OrderReply::Placed(Box::new(placed(new, at)));
    }
    // A partition that did not answer in time may still hold the lines
    // later: its release, behind the reserve on the same log, gives them back.
    compensate.extend(
        stock
            .iter()
            .filter(|(_, _, r)| matches!(r, StockReply::Reserved | StockReply::Unavailable(_)))
            .map(|(p, _, _)| (*p, new.order_id.clone())),
    );
    if let Some(why) = stock.iter().find_map(|(_, _, r)| failure(r)) {
        return OrderReply::Unavailable(why);
    }
    let shortages: Vec<Shortage> = stock
        .iter()
        .filter_map(|(_, _, r)| match r {
            StockReply::Short(s) => Some(s.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    OrderReply::Short(shortages)
}

/// Why a stock reply means the step did not happen.
pub(crate) fn failure(r: &StockReply) -> Option<String> {
    match r {
        StockReply::Unavailable(why) | StockReply::Rejected(why) => Some(why.clone()),
        _ => None,
    }
}

/// Counts a command's outcome in the writer and reservation metrics.
pub(crate) fn count(command: &OrderCommand, reply: &OrderReply) {
    let outcome = match reply {
        OrderReply::Unavailable(_) => "failed",
        OrderReply::Placed(_)
        | OrderReply::Updated(_)
        | OrderReply::Swept(_)
        | OrderReply::Existing(_) => "applied",
        _ => "rejected",
    };
    COMMANDS_APPLIED
        .with_label_values(&["orders", outcome])
        .inc();
    let reservation = match (command, reply) {
        (OrderCommand::Place(_), OrderReply::Placed(_)) => Some("accepted"),
        (OrderCommand::Place(_), OrderReply::Short(_)) => Some("rejected"),
        (
            OrderCommand::Transition {
                action: OrderAction::Cancel,
                ..
            },
            OrderReply::Updated(_),
        ) => Some("cancelled"),
        _ => None,
    };
    if let Some(o) = reservation {
        RESERVATIONS.with_label_values(&[o]).inc();
    }
    if let OrderReply::Swept(n) = reply {
        RESERVATIONS
            .with_label_values(&["expired"])
            .inc_by(*n as u64);
    }
}
