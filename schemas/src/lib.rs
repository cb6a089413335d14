//! Messages of Agusto WMS: the commands the ingress publishes, the replies the
//! writers send back, the records they persist and the events they emit.
//!
//! Everything here is plain data (serde-serialisable) so that the embedded
//! in-process bus and a log such as Kafka can carry the same values.

pub mod avro;
pub mod bundle;
pub mod channel_stock;
pub mod envelope;
pub mod event;
pub mod order;
pub mod partition;
pub mod saga;
pub mod stock;

pub use avro::{AvroMessage, CodecError};
pub use bundle::{BundleStock, bundle_stock};
pub use channel_stock::{ChannelStockRule, SkuStockRule, published_available};
pub use envelope::{
    CommandEnvelope, Keyed, OrderEnvelope, ReplyBody, ReplyEnvelope, ReplyTo, StockEnvelope,
};
pub use event::{Event, EventType};
pub use order::{
    NewOrder, Order, OrderAction, OrderCommand, OrderLine, OrderReply, OrderStatus, StatusChange,
    stock_lines,
};
pub use partition::partition_for;
pub use saga::{Saga, SagaKind, order_home};
pub use stock::{
    AdjustmentChange, Movement, MovementKind, PartOutcome, ProductQty, ReleaseReason, Reservation,
    ReturnedQty, Shortage, StockCommand, StockLevel, StockReply,
};

/// Every timestamp in Agusto: UTC, serialised as RFC 3339.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// A short, stable identifier derived from `parts` (hex of SHA-256, 20 chars),
/// prefixed by `prefix`. The same parts always give the same id, which is what
/// makes replays and retries idempotent.
pub fn stable_id(prefix: &str, parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(prefix.len() + 21);
    out.push_str(prefix);
    out.push('_');
    for b in &digest[..10] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The current time, truncated to the microsecond (what every store keeps),
/// so a value reads back exactly as it was written.
pub fn now() -> Timestamp {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_ids_depend_on_every_part_and_its_boundaries() {
        assert_eq!(stable_id("ord", &["a", "b"]), stable_id("ord", &["a", "b"]));
        assert_ne!(stable_id("ord", &["a", "b"]), stable_id("ord", &["ab", ""]));
        assert!(stable_id("ord", &["x"]).starts_with("ord_"));
        assert_eq!(stable_id("ord", &["x"]).len(), 24);
    }
}
