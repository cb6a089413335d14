//! How each command type travels: its topic, its envelope encoding and how
//! its reply is wrapped in a [`ReplyBody`].

use agusto_schemas::avro::AvroMessage;
use agusto_schemas::{
    CommandEnvelope, Keyed, OrderCommand, OrderReply, ReplyBody, StockCommand, StockReply,
};

use super::{ORDER_TOPIC, STOCK_TOPIC};

/// A command type that has a topic on the log.
pub trait LogCommand: Keyed + Clone + Send + Sync + 'static {
    /// Its reply type.
    type Reply: Send + 'static;
    /// Its topic.
    const TOPIC: &'static str;
    /// Encodes an envelope (Avro single-object encoding).
    fn encode(envelope: &CommandEnvelope<Self>) -> Vec<u8>;
    /// Decodes an envelope.
    fn decode(bytes: &[u8]) -> Result<CommandEnvelope<Self>, String>;
    /// Wraps a reply for the replies topic.
    fn wrap(reply: Self::Reply) -> ReplyBody;
    /// Unwraps a reply of this command type.
    fn unwrap(body: ReplyBody) -> Option<Self::Reply>;
}

impl LogCommand for StockCommand {
    type Reply = StockReply;
    const TOPIC: &'static str = STOCK_TOPIC;

    fn encode(envelope: &CommandEnvelope<Self>) -> Vec<u8> {
        envelope.encode()
    }

    fn decode(bytes: &[u8]) -> Result<CommandEnvelope<Self>, String> {
        CommandEnvelope::decode(bytes).map_err(|e| e.to_string())
    }

    fn wrap(reply: StockReply) -> ReplyBody {
        match reply {
            StockReply::Order(r) => ReplyBody::Order(*r),
            r => ReplyBody::Stock(r),
        }
    }

    fn unwrap(body: ReplyBody) -> Option<StockReply> {
        Some(match body {
            ReplyBody::Stock(r) => r,
            ReplyBody::Order(r) => StockReply::Order(Box::new(r)),
        })
    }
}

impl LogCommand for OrderCommand {
    type Reply = OrderReply;
    const TOPIC: &'static str = ORDER_TOPIC;

    fn encode(envelope: &CommandEnvelope<Self>) -> Vec<u8> {
        envelope.encode()
    }

    fn decode(bytes: &[u8]) -> Result<CommandEnvelope<Self>, String> {
        CommandEnvelope::decode(bytes).map_err(|e| e.to_string())
    }

    fn wrap(reply: OrderReply) -> ReplyBody {
        ReplyBody::Order(reply)
    }

    fn unwrap(body: ReplyBody) -> Option<OrderReply> {
        match body {
            ReplyBody::Order(r) => Some(r),
            ReplyBody::Stock(_) => None,
        }
    }
}
