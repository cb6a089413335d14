//! Records the store keeps besides the messages of `agusto_schemas`.

use agusto_schemas::{
    ChannelStockRule, Event, Movement, Order, Reservation, SkuStockRule, StockLevel, Timestamp,
};
use serde::{Deserialize, Serialize};

/// One page of a list and the opaque cursor of the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Pass back to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Catalogue fields of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// Warehouse product code.
    pub product_code: String,
    /// Display name.
    pub name: String,
    /// Inactive products are hidden from channels and cannot be ordered.
    pub active: bool,
    /// Optional barcode.
    pub barcode: Option<String>,
    /// Last catalogue change.
    pub updated_at: Timestamp,
}

/// A channel's SKU for a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuMapping {
    /// Channel.
    pub channel_id: String,
    /// The channel's SKU.
    pub sku: String,
    /// Product it means.
    pub product_code: String,
    /// The channel's override of its stock rule for this product.
    #[serde(default)]
    pub stock_rule: SkuStockRule,
}

/// The SKU under which a channel sees a product, with the SKU's override
/// of the channel's stock rule ([`crate::Store::channel_skus`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSku {
    /// The channel's SKU (the product code when it maps none).
    pub sku: String,
    /// The mapping's override (none when the channel maps no SKU to it).
    pub stock_rule: SkuStockRule,
}

/// What the webhook fan-out last sent one channel about one product in a
/// `stock.changed` (published `available` and the physical figures
/// `on_hand` and `damaged`), so that a change the channel cannot see is not
/// sent to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedStock {
    /// Channel.
    pub channel_id: String,
    /// Product.
    pub product_code: String,
    /// `on_hand` sent.
    pub on_hand: i64,
    /// Published `available` sent.
    pub available: i64,
    /// `damaged` sent (0 when the event carried none).
    pub damaged: i64,
    /// Outbox position of the event that was sent.
    pub position: i64,
}

/// A sales channel (a storefront).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// `ch_…` id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Where webhooks go.
    pub webhook_url: Option<String>,
    /// `whsec_…` signing secret.
    pub webhook_secret: String,
    /// CIDRs allowed to call with this channel's token; empty = anywhere.
    pub allowed_ips: Vec<String>,
    /// Requests per second; `None` = the configured default.
    pub rate_limit_per_second: Option<u32>,
    /// Set when the receiver answered 410 Gone: no more deliveries.
    pub webhook_disabled: bool,
    /// Units held back from what the channel is shown as available.
    #[serde(default)]
    pub stock_rule: ChannelStockRule,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// Who a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Admin,
    /// Warehouse endpoints and all reads.
    Staff,
    /// Storefront endpoints, own orders and SKUs.
    Channel,
}

impl Role {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Channel => "channel",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "admin" => Role::Admin,
            "staff" => Role::Staff,
            "channel" => Role::Channel,
            _ => return None,
        })
    }
}

/// A stored API token: only its SHA-256 hash is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// `tok_…` id.
    pub id: String,
    /// Label.
    pub name: String,
    /// Role.
    pub role: Role,
    /// For channel tokens, the channel.
    pub channel_id: Option<String>,
    /// SHA-256 of the token text.
    pub token_hash: Vec<u8>,
    /// Creation time.
    pub created_at: Timestamp,
}

/// Where a writer stands in its log: the partition and the offset of the
/// last command of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedOffset {
    /// Log name, e.g. `agusto.stock.commands`.
    pub log: String,
    /// Partition.
    pub partition: u32,
    /// Highest applied offset.
    pub offset: u64,
}

/// The writer generation a batch was decided under: the epoch its writer
/// got from [`crate::Store::claim_partition`] when it took the partition.
/// A batch whose epoch is no longer the partition's is refused
/// ([`crate::Error::Fenced`]): its writer lost the partition to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// Log name.
    pub log: String,
    /// Partition.
    pub partition: u32,
    /// The writer's epoch.
    pub epoch: u64,
}

/// Everything one stock writer batch changed. Product rows and holds are the
/// final values after the batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StockBatch {
    /// Upserted stock rows.
    pub levels: Vec<StockLevel>,
    /// Appended ledger rows, in order.
    pub movements: Vec<Movement>,
    /// Upserted holds (keyed by order id + product).
    pub reservations_put: Vec<Reservation>,
    /// Deleted holds: (order id, product code).
    pub reservations_delete: Vec<(String, String)>,
    /// Outbox events, in order.
    pub events: Vec<Event>,
    /// The partition's new applied offset, if the batch came from a log.
    pub applied: Option<AppliedOffset>,
    /// Receipts and adjustments recorded (upserted by change id and
    /// partition), so that each is applied once.
    pub changes: Vec<StockChange>,
    /// Orders decided by this partition's writer in one hop (whole rows,
    /// history included; the last version of an order wins), written in
    /// the same atomic write as their holds and ledger rows.
    pub orders: Vec<Order>,
    /// Sagas of orders spanning partitions whose home is this partition,
    /// upserted by order id (the step they are at).
    pub sagas_put: Vec<agusto_schemas::Saga>,
    /// Sagas that ended: (home partition, order id).
    pub sagas_delete: Vec<(u32, String)>,
    /// Written only while this is the partition's epoch (`None`: unfenced,
    /// e.g. tools and tests).
    pub fence: Option<Fence>,
}

/// What a stock partition's writer needs to own the partition, read once
/// when it starts or is assigned the partition ([`crate::Store::load_partition`]);
/// the writer then replays the log after `applied`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartitionState {
    /// Stored levels of the partition's products.
    pub levels: Vec<StockLevel>,
    /// Holds on the partition's products, of every order (one-hop orders,
    /// orders spanning partitions, and orphans whose order was never written).
    pub holds: Vec<Reservation>,
    /// Open orders (holding stock) whose home is this partition
    /// ([`agusto_schemas::order_home`]): the orders this partition's writer decides.
    pub orders: Vec<Order>,
    /// Sagas of orders spanning partitions whose home is this partition.
    pub sagas: Vec<agusto_schemas::Saga>,
    /// The highest applied offset of the partition's log, if any.
    pub applied: Option<u64>,
}

/// A receipt or an adjustment as one stock partition recorded it: what
/// makes a retried (`Idempotency-Key`) or redelivered change apply once.
/// Written in the batch that applies the change; read back until
/// `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockChange {
    /// Receipt or adjustment id.
    pub change_id: String,
    /// The stock partition that recorded it (a receipt may span several,
    /// each with its own row).
    pub partition: u32,
    /// SHA-256 (hex) of the request that claimed the id with an
    /// `Idempotency-Key`, on the row of the partition that owns the id.
    pub fingerprint: Option<String>,
    /// The levels this partition answered when it applied its part of the
    /// change; `None` while the id is only claimed here.
    pub levels: Option<Vec<StockLevel>>,
    /// When the row may be forgotten.
    pub expires_at: Timestamp,
}

/// Everything one order writer batch changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderBatch {
    /// Upserted orders (whole rows, history included).
    pub orders: Vec<Order>,
    /// Outbox events, in order.
    pub events: Vec<Event>,
    /// The partition's new applied offset, if the batch came from a log.
    pub applied: Option<AppliedOffset>,
}

/// Ledger totals of one product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerSum {
    /// Product.
    pub product_code: String,
    /// Sum of `delta_on_hand`.
    pub on_hand: i64,
    /// Sum of `delta_reserved`.
    pub reserved: i64,
    /// Sum of `delta_damaged`.
    pub damaged: i64,
    /// Units restocked by returns (`delta_on_hand` of `return` rows).
    pub returned: i64,
    /// Units of returns kept as damaged (`delta_damaged` of
    /// `return_damaged` rows).
    pub returned_damaged: i64,
}

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt (or for an earlier event of its key).
    Pending,
    /// A 2xx was received.
    Delivered,
    /// Dead-lettered: out of retries, or the endpoint answered 410 Gone.
    Failed,
}

impl DeliveryStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => DeliveryStatus::Pending,
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            _ => return None,
        })
    }
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When it started.
    pub at: Timestamp,
    /// HTTP status, when a response came back.
    pub status_code: Option<u16>,
    /// Transport error (timeout, refused, …), when none came back.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

/// One event on its way to one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Stable id, derived from (event id, channel id).
    pub id: String,
    /// The event (the webhook id).
    pub event_id: String,
    /// Receiving channel.
    pub channel_id: String,
    /// Event type (wire name).
    pub event_type: String,
    /// Deliveries of one (channel, key) go out one at a time in `position`
    /// order: the product code for stock events, the order id for order events.
    pub ordering_key: String,
    /// The event's position in the outbox.
    pub position: i64,
    /// The exact webhook body (`{id, type, created_at, data}`), with the
    /// channel's own SKU filled in.
    pub payload: serde_json::Value,
    /// Current state.
    pub status: DeliveryStatus,
    /// Attempts made in the current round (reset by a manual retry).
    pub tries: u32,
    /// Every attempt ever made, oldest first.
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<Timestamp>,
    /// Created (fan-out time).
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// A worker's hold on one delivery attempt (see [`crate::Store::claim_delivery`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Who holds it: a token unique to this one claim (a worker never
    /// reuses one), which fences the recording of the attempt.
    pub holder: String,
    /// When the hold lapses: another worker may then claim the delivery
    /// (the holder is presumed dead). Longer than an attempt can take.
    pub until: Timestamp,
}
