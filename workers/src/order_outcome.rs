//! The metrics of order outcomes (placements, cancellations, expiries),
//! counted when a command's outcome is known: at once for one-hop orders,
//! when its saga step ends for orders spanning partitions.

use agusto_schemas::{OrderAction, OrderCommand, OrderReply};

use crate::metrics::{COMMANDS_APPLIED, RESERVATIONS};

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
