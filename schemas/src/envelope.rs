//! What travels on the log in distributed mode: commands wrapped with where
//! their reply goes, and replies addressed to the requester that waits.

use serde::{Deserialize, Serialize};

use crate::{OrderCommand, OrderReply, StockCommand, StockReply, Timestamp};

/// Where a reply goes: the requesting process and the partition of
/// `agusto.replies` it reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    /// Requester instance id (the reply's key).
    pub instance: String,
    /// Partition of the replies topic the requester consumes.
    pub partition: u32,
}

/// A command on `agusto.stock.commands` or `agusto.order.commands`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandEnvelope<C> {
    /// Matches the reply to the waiting request.
    pub correlation_id: String,
    /// Where to reply; `None` when nobody waits.
    pub reply_to: Option<ReplyTo>,
    /// When the requester issued it (the writer's "now" for this command).
    pub issued_at: Timestamp,
    /// The command.
    pub command: C,
}

/// A stock command envelope.
pub type StockEnvelope = CommandEnvelope<StockCommand>;
/// An order command envelope.
pub type OrderEnvelope = CommandEnvelope<OrderCommand>;

/// The reply of a stock or an order writer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReplyBody {
    /// From a stock writer.
    Stock(StockReply),
    /// From an order writer.
    Order(OrderReply),
}

/// A reply on `agusto.replies`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyEnvelope {
    /// The request's correlation id.
    pub correlation_id: String,
    /// The requester instance (also the message key).
    pub instance: String,
    /// The reply.
    pub body: ReplyBody,
}

/// The key a command is published under (and so the partition that owns it).
pub trait Keyed {
    /// Product code for stock commands, order id for order commands.
    fn key(&self) -> &str;
}

impl Keyed for StockCommand {
    fn key(&self) -> &str {
        match self {
            StockCommand::Receipt { lines, .. } | StockCommand::Reserve { lines, .. } => {
                lines.first().map(|l| l.product_code.as_str()).unwrap_or("")
            }
            StockCommand::Adjust { product_code, .. } => product_code,
            StockCommand::ReturnReceipt { lines, .. } => {
                lines.first().map(|l| l.product_code.as_str()).unwrap_or("")
            }
            StockCommand::Confirm { order_id }
            | StockCommand::Release { order_id, .. }
            | StockCommand::StockOut { order_id, .. } => order_id,
            StockCommand::Claim { change_id, .. } => change_id,
            StockCommand::SweepLapsed { .. } => "",
            StockCommand::Order(c) => c.key(),
            StockCommand::SagaAnswer { order_id, .. } => order_id,
        }
    }
}

impl Keyed for OrderCommand {
    fn key(&self) -> &str {
        match self {
            OrderCommand::Place(n) => &n.order_id,
            OrderCommand::Transition { order_id, .. } => order_id,
            OrderCommand::ExpireDue { .. } => "",
        }
    }
}
