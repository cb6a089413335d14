//! What deciding a batch of commands comes to: the rows to write in one
//! atomic batch, the saga steps to carry once it is durable, and the replies
//! that wait for their saga.

use std::collections::{BTreeMap, BTreeSet};

use agusto_schemas::{Event, Movement, Order, Reservation, Saga, StockReply, Timestamp};

use super::saga::SagaSend;

/// What applying commands changed, to be written in one batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StockEffects {
    /// Products whose row changed.
    pub touched: BTreeSet<String>,
    /// Ledger rows, in order.
    pub movements: Vec<Movement>,
    /// Holds created or changed.
    pub holds_put: Vec<Reservation>,
    /// Holds removed: (order id, product code).
    pub holds_deleted: Vec<(String, String)>,
    /// Events, in order.
    pub events: Vec<Event>,
    /// Change ids whose record changed, with the time of the command.
    pub changes: Vec<(String, Timestamp)>,
    /// Orders decided in one hop (placed or moved), each version in order.
    pub orders: Vec<Order>,
    /// Sagas changed in the batch: each order's final saga (`None`: ended).
    pub sagas: BTreeMap<String, Option<Saga>>,
    /// Saga steps to carry to participant partitions once the batch is durable.
    pub sends: Vec<SagaSend>,
    /// Order ids of commands whose reply waits for their saga's step.
    pub parked: Vec<String>,
    /// Replies to such commands whose step ended, by order id.
    pub answers: Vec<(String, StockReply)>,
}
