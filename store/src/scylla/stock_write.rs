//! `apply_stock_batch`: one stock writer batch as ONE logged batch.
//!
//! Why each write is safe without a lightweight transaction: every row of
//! the batch belongs to products (and holds of orders on products) of the
//! writer's own partition, and the writer is the only one writing them.
//!
//! - `stock_levels` / `movements` / `reservations`: keyed upserts and
//!   deletes of final values; replaying the batch writes the same rows.
//! - `stock_by_update` moves a row when its clustering key (`updated_at`)
//!   changes. The previous key is read first
//!   (one concurrent round trip, together with the outbox's reads); nobody
//!   else can change it meanwhile. A delete is never issued for a key the
//!   same batch inserts: the statements of a batch share one timestamp, and a
//!   tombstone wins a tie with a write.
//! - Within a batch, a row written twice would tie too, so the plan keeps one
//!   write per row: the last level of a product, the first ledger row of a
//!   (product, version) (as the SQLite store's `DO NOTHING`), and a hold's
//!   final state (puts in order, then deletes win).
//! - The outbox rows and the applied offset go into the same batch (see
//!   `outbox.rs`), and so do the recorded receipts and adjustments
//!   (`stock_changes.rs`): a change and the record that it was applied are
//!   durable together.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::Inner;
use super::codec::{Values, at, big, micros, opt_big, shard_of, text};
use super::outbox::{offset_row, stream_of};
use super::statements::Stmt;
use super::stock::LevelRow;
use super::stock_changes::change_ops;
use crate::{Order, OrderBatch, Result, StockBatch};

/// What the batch's rows looked like before it, as far as the plan needs.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct StockPrev {
    /// `updated_at` (micros) of the batch's products that have a stock row.
    pub(crate) updated: HashMap<String, i64>,
}

/// The statements of a stock batch (outbox and offset aside).
pub(crate) fn plan_stock(batch: &StockBatch, prev: &StockPrev) -> Vec<(Stmt, Values)> {
    let mut ops = Vec::new();

    let mut levels: Vec<&agusto_schemas::StockLevel> = Vec::new();
    let mut level_at: HashMap<&str, usize> = HashMap::new();
    for l in &batch.levels {
        match level_at.get(l.product_code.as_str()) {
            Some(&i) => levels[i] = l,
            None => {
                level_at.insert(&l.product_code, levels.len());
                levels.push(l);
            }
        }
    }
    for l in levels {
        let code = l.product_code.as_str();
        let shard = shard_of(code);
        let new = micros(&l.updated_at);
        ops.push((
            Stmt::PutLevel,
            vec![
                text(code),
                big(l.on_hand),
                big(l.reserved),
                big(l.version),
                big(new),
                big(l.damaged),
            ],
        ));
        if let Some(old) = prev.updated.get(code).filter(|old| **old != new) {
            ops.push((Stmt::DelLevelIndex, vec![big(shard), big(*old), text(code)]));
        }
        ops.push((
            Stmt::PutLevelIndex,
            vec![
                big(shard),
                big(new),
                text(code),
                big(l.on_hand),
                big(l.reserved),
                big(l.version),
                big(l.damaged),
            ],
        ));
    }

    let mut seen = HashSet::new();
    for m in &batch.movements {
        if seen.insert((m.product_code.as_str(), m.version)) {
            ops.push((
                Stmt::PutMovement,
                vec![
                    text(&m.product_code),
                    big(m.version),
                    at(&m.at),
                    text(m.kind.as_str()),
                    big(m.delta_on_hand),
                    big(m.delta_reserved),
                    text(&m.reference),
                    big(m.delta_damaged),
                ],
            ));
        }
    }

    // Final state per hold: puts in order, then deletes.
    let mut holds: BTreeMap<(&str, &str), Option<&agusto_schemas::Reservation>> = BTreeMap::new();
    for r in &batch.reservations_put {
        holds.insert((r.order_id.as_str(), r.product_code.as_str()), Some(r));
    }
    for (order, product) in &batch.reservations_delete {
        holds.insert((order.as_str(), product.as_str()), None);
    }
    for ((order, product), hold) in holds {
        match hold {
            Some(h) => {
                let expires = h.expires_at.as_ref().map(micros);
                ops.push((
                    Stmt::PutHold,
                    vec![
                        text(order),
                        text(product),
                        big(h.quantity),
                        opt_big(expires),
                    ],
                ));
            }
            None => ops.push((Stmt::DelHold, vec![text(order), text(product)])),
        }
    }
    ops
}

impl Inner {
    /// Writes one stock batch (see the module docs).
    pub(crate) async fn apply_stock_batch(&self, batch: &StockBatch) -> Result<()> {
        if let Some(fence) = &batch.fence {
            self.check_fence(fence).await?;
        }
        let stream = stream_of(batch.applied.as_ref(), &self.local_stream);
        let _local = if batch.applied.is_none() && !batch.events.is_empty() {
            Some(self.local_lock.lock().await)
        } else {
            None
        };
        let mut ids: Vec<&str> = batch.orders.iter().map(|o| o.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let (prev, outbox, prev_orders) = futures::try_join!(
            self.stock_prev(batch),
            self.outbox_prev(&stream, &batch.events),
            self.get_orders(&ids)
        )?;
        let mut ops = plan_stock(batch, &prev);
        let prev_orders: HashMap<String, Order> =
            prev_orders.into_iter().map(|o| (o.id.clone(), o)).collect();
        let orders = OrderBatch {
            orders: batch.orders.clone(),
            ..OrderBatch::default()
        };
        ops.extend(super::orders::plan_orders(&orders, &prev_orders)?);
        ops.extend(change_ops(&batch.changes, agusto_schemas::now())?);
        ops.extend(super::sagas::saga_ops(batch)?);
        ops.extend(self.outbox_ops(&stream, &batch.events, &outbox)?);
        if let Some(applied) = &batch.applied {
            ops.push(offset_row(applied)?);
        }
        self.batch(ops).await
    }

    /// Reads the previous `updated_at` of the batch's products, concurrently.
    async fn stock_prev(&self, batch: &StockBatch) -> Result<StockPrev> {
        let codes: HashSet<&str> = batch
            .levels
            .iter()
            .map(|l| l.product_code.as_str())
            .collect();
        let levels = futures::future::try_join_all(
            codes
                .iter()
                .map(|c| self.row::<LevelRow>(Stmt::GetLevel, vec![text(c)])),
        )
        .await?;
        Ok(StockPrev {
            updated: levels
                .into_iter()
                .flatten()
                .filter_map(|(code, _, _, _, updated, _)| updated.map(|u| (code, u)))
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use agusto_schemas::{Movement, MovementKind, Reservation, StockLevel};

    use super::*;
    use crate::scylla::codec::time;

    fn level(code: &str, micros: i64) -> StockLevel {
        StockLevel {
            damaged: 0,
            product_code: code.into(),
            on_hand: 5,
            reserved: 1,
            version: 2,
            updated_at: time(micros).expect("time"),
        }
    }

    fn hold(order: &str, product: &str, quantity: i64, expires: Option<i64>) -> Reservation {
        Reservation {
            order_id: order.into(),
            product_code: product.into(),
            quantity,
            expires_at: expires.map(|e| time(e).expect("time")),
        }
    }

    fn stmts(ops: &[(Stmt, Values)]) -> Vec<Stmt> {
        ops.iter().map(|(s, _)| *s).collect()
    }

    #[test]
    fn a_moved_level_deletes_its_old_index_row_only_when_the_key_changed() {
        let batch = StockBatch {
            levels: vec![level("a", 10), level("b", 20), level("a", 30)],
            ..StockBatch::default()
        };
        let prev = StockPrev {
            updated: HashMap::from([("a".into(), 5), ("b".into(), 20)]),
        };
        let ops = plan_stock(&batch, &prev);
        assert_eq!(
            stmts(&ops),
            [
                Stmt::PutLevel,
                Stmt::DelLevelIndex,
                Stmt::PutLevelIndex,
                Stmt::PutLevel,
                Stmt::PutLevelIndex
            ]
        );
        assert_eq!(ops[0].1[4], big(30), "the last level of a product wins");
        assert_eq!(ops[1].1, vec![big(shard_of("a")), big(5), text("a")]);
        assert_eq!(ops[2].1[1], big(30));
    }

    #[test]
    fn holds_end_in_their_final_state() {
        let batch = StockBatch {
            reservations_put: vec![
                hold("o1", "p", 2, Some(5)),
                hold("o1", "p", 2, None),
                hold("o2", "p", 1, Some(9)),
                hold("o3", "p", 4, Some(7)),
            ],
            reservations_delete: vec![("o2".into(), "p".into()), ("o4".into(), "p".into())],
            ..StockBatch::default()
        };
        let ops = plan_stock(&batch, &StockPrev::default());
        assert_eq!(
            stmts(&ops),
            [
                Stmt::PutHold, // o1: confirmed
                Stmt::DelHold, // o2: put and deleted ends deleted
                Stmt::PutHold, // o3
                Stmt::DelHold, // o4
            ]
        );
        assert_eq!(ops[0].1, vec![text("o1"), text("p"), big(2), None]);
        assert_eq!(ops[2].1, vec![text("o3"), text("p"), big(4), big(7)]);
    }

    #[test]
    fn ledger_rows_keep_the_first_of_a_version() {
        let m = |version, reference: &str| Movement {
            delta_damaged: 0,
            product_code: "a".into(),
            at: time(1).expect("time"),
            kind: MovementKind::Receipt,
            delta_on_hand: 1,
            delta_reserved: 0,
            reference: reference.into(),
            version,
        };
        let batch = StockBatch {
            movements: vec![m(1, "first"), m(2, "x"), m(1, "second")],
            ..StockBatch::default()
        };
        let ops = plan_stock(&batch, &StockPrev::default());
        assert_eq!(stmts(&ops), [Stmt::PutMovement, Stmt::PutMovement]);
        assert_eq!(ops[0].1[6], text("first"));
        assert!(plan_stock(&StockBatch::default(), &StockPrev::default()).is_empty());
    }
}
