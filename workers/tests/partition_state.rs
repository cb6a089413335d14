//! Property: a stock partition's state in memory, after any sequence of
//! batches, equals the state `load_partition` rebuilds from what the writer
//! wrote to a real SQLite file — so a restarted or reassigned writer
//! decides exactly as the old one would have. And the invariants hold on
//! the way: holds add up to `reserved`, no order holds more than it asked.

use std::sync::Arc;

use agusto_schemas::{
    AdjustmentChange, NewOrder, OrderAction, OrderCommand, OrderLine, PartOutcome, ProductQty,
    ReleaseReason, Shortage, StockCommand, Timestamp, partition_for,
};
use agusto_store::Store;
use agusto_store::sqlite::SqliteStore;
use agusto_workers::domain::partition::PartitionState;
use agusto_workers::stock_writer::{STOCK_LOG, StockWriter};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;

const PARTITIONS: u32 = 2;

/// Three product codes of partition 0.
fn codes() -> Vec<String> {
    (0..100)
        .map(|i| format!("P-{i}"))
        .filter(|c| partition_for(c, PARTITIONS) == 0)
        .take(3)
        .collect()
}

/// A product of the other partition: orders naming it and one of
/// [`codes`] span partitions and run as sagas homed here.
fn remote() -> String {
    (0..100)
        .map(|i| format!("P-{i}"))
        .find(|c| partition_for(c, PARTITIONS) == 1)
        .expect("a code in partition 1")
}

/// Five order ids homed in partition 0 when their lines span partitions.
fn order_ids() -> Vec<String> {
    (0..100)
        .map(|i| format!("ord{i}"))
        .filter(|id| partition_for(id, PARTITIONS) == 0)
        .take(5)
        .collect()
}

fn t(s: i64) -> Timestamp {
    Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
}

fn command() -> impl Strategy<Value = StockCommand> {
    let codes = codes();
    let product = prop::sample::select(codes).prop_map(|c| c.to_owned());
    let order = prop::sample::select(order_ids());
    let outcome = prop_oneof![
        Just(PartOutcome::Applied),
        Just(PartOutcome::Applied),
        Just(PartOutcome::Failed("no answer".into())),
        (1i64..3).prop_map(|q| PartOutcome::Short(vec![Shortage {
            product_code: remote(),
            requested: q + 1,
            available: q,
        }])),
    ];
    let action = prop_oneof![
        Just(OrderAction::Pay),
        Just(OrderAction::Pick),
        Just(OrderAction::Pack),
        Just(OrderAction::Cancel),
        Just(OrderAction::Complete {
            tracking_number: "TRK".into(),
            carrier: None
        }),
    ];
    let any_product = prop_oneof![3 => product.clone(), 1 => Just(remote())];
    let lines = prop::collection::vec((any_product, 1i64..4), 1..3);
    let adjustment = prop_oneof![
        (0i64..4).prop_map(AdjustmentChange::Delta),
        (-2i64..4).prop_map(AdjustmentChange::Damaged),
        (1i64..4).prop_map(AdjustmentChange::MoveToDamaged),
    ];
    prop_oneof![
        (product.clone(), adjustment, 0u8..3).prop_map(|(p, change, n)| StockCommand::Adjust {
            adjustment_id: format!("adj{n}"),
            product_code: p,
            change,
            reason: "count".into(),
            expected_version: None,
            claim: None,
        }),
        (product.clone(), 1i64..6, 0u8..3).prop_map(|(p, q, n)| StockCommand::Receipt {
            receipt_id: format!("rcpt{n}"),
            reference: "po".into(),
            lines: vec![ProductQty {
                product_code: p,
                quantity: q
            }],
            claim: None,
        }),
        (order.clone(), lines, 0i64..30, prop::option::of(0u8..2)).prop_map(
            |(id, lines, ttl, key)| {
                let mut seen = Vec::new();
                let lines = lines
                    .into_iter()
                    .filter(|(p, _)| {
                        let new = !seen.contains(p);
                        seen.push(p.clone());
                        new
                    })
                    .map(|(p, q)| OrderLine {
                        components: Vec::new(),
                        sku: p.clone(),
                        product_code: p,
                        quantity: q,
                    })
                    .collect();
                StockCommand::Order(Box::new(OrderCommand::Place(NewOrder {
                    external_id: id.clone(),
                    order_id: id,
                    channel_id: "ch".into(),
                    lines,
                    expires_at: t(ttl),
                    idempotency_key: key.map(|k| format!("key{k}")),
                    customer: None,
                    shipping_address: None,
                })))
            }
        ),
        (order.clone(), action).prop_map(|(order_id, action)| StockCommand::Order(Box::new(
            OrderCommand::Transition {
                order_id,
                channel_id: None,
                action,
            }
        ))),
        (0i64..40)
            .prop_map(|s| StockCommand::Order(Box::new(OrderCommand::ExpireDue { now: t(s) }))),
        // A participant's answer to a saga step (the right one or a stale one).
        (order.clone(), 1u64..5, outcome).prop_map(|(order_id, step, outcome)| {
            StockCommand::SagaAnswer {
                order_id,
                step,
                partition: 1,
                outcome,
            }
        }),
        // The stock side of an order spanning partitions, as its order writer sends it.
        (product, 1i64..3, 0u8..2).prop_map(|(p, q, n)| StockCommand::Reserve {
            order_id: format!("span{n}"),
            lines: vec![ProductQty {
                product_code: p,
                quantity: q
            }],
            expires_at: t(20),
        }),
        (0u8..2).prop_map(|n| StockCommand::Confirm {
            order_id: format!("span{n}")
        }),
        (0u8..2).prop_map(|n| StockCommand::Release {
            order_id: format!("span{n}"),
            reason: ReleaseReason::Cancelled
        }),
        (0u8..2).prop_map(|n| StockCommand::StockOut {
            order_id: format!("span{n}"),
            reference: "TRK".into()
        }),
        (0i64..90).prop_map(|s| StockCommand::SweepLapsed { before: t(s) }),
    ]
}

fn check_invariants(state: &PartitionState) {
    let broken = state.stock.inconsistent();
    assert!(broken.is_empty(), "holds = reserved <= on hand: {broken:?}");
    for o in state.orders.values() {
        assert!(o.status.holds_stock(), "only open orders are kept: {o:?}");
        let held: i64 = state
            .stock
            .holds
            .get(&o.id)
            .map(|hs| hs.iter().map(|h| h.quantity).sum())
            .unwrap_or(0);
        let wanted: i64 = o
            .lines
            .iter()
            .filter(|l| partition_for(&l.product_code, PARTITIONS) == 0)
            .map(|l| l.quantity)
            .sum();
        assert_eq!(held, wanted, "an open order holds exactly its lines here");
    }
    for g in state.sagas.values() {
        assert_eq!(g.home, 0);
        assert!(!g.waiting.is_empty(), "an ended step is not kept: {g:?}");
        assert!(g.waiting.iter().all(|p| g.parts.contains_key(p)));
    }
}

async fn run(batches: Vec<Vec<StockCommand>>, case: u64) {
    let dir = std::env::temp_dir().join(format!("agusto-ps-{}-{case}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.join("agusto.db")).expect("db"));
    let mut writer = StockWriter::new(0, PARTITIONS, store.clone());
    let mut offset = 0;
    for (i, batch) in batches.into_iter().enumerate() {
        let at = t(i as i64 * 3);
        let commands: Vec<_> = batch
            .into_iter()
            .map(|c| {
                offset += 1;
                (offset, c, at)
            })
            .collect();
        writer.apply_batch(&commands).await;
        let mine = writer.state().expect("loaded");
        check_invariants(mine);
        let loaded = store
            .load_partition(STOCK_LOG, 0, PARTITIONS)
            .await
            .expect("load");
        // A batch that changed nothing is not written (replaying it changes nothing).
        assert!(loaded.applied.unwrap_or(0) <= offset);
        let rebuilt = PartitionState::loaded(0, PARTITIONS, loaded);
        assert_eq!(mine.durable(), rebuilt.durable(), "after batch {i}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn memory_equals_what_load_partition_rebuilds(
        batches in prop::collection::vec(prop::collection::vec(command(), 1..8), 1..8),
        case in any::<u64>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(batches, case));
    }
}
