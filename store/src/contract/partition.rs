//! What a stock partition's writer loads ([`Store::load_partition`]) is what
//! its batches wrote — one-hop orders included — and nothing of another
//! partition.

use std::collections::{BTreeMap, BTreeSet};

use agusto_schemas::{
    OrderStatus, ProductQty, Saga, SagaKind, StockCommand, order_home, partition_for,
};

use super::fixtures::{at, hold, level, order};
use crate::{AppliedOffset, OrderBatch, PartitionState, StockBatch, Store};

const LOG: &str = "contract.lp";
const PARTITIONS: u32 = 2;

/// The scenario's product codes: two in partition 0, one in partition 1.
fn codes() -> (String, String, String) {
    let of = |p: u32| {
        (0..100)
            .map(|i| format!("lp-{i}"))
            .filter(move |c| partition_for(c, PARTITIONS) == p)
    };
    let mut mine = of(0);
    let a = mine.next().expect("a code in partition 0");
    let b = mine.next().expect("another code in partition 0");
    let x = of(1).next().expect("a code in partition 1");
    (a, b, x)
}

/// Only the scenario's own rows, in a stable order.
async fn load(store: &dyn Store) -> PartitionState {
    let mut s = store
        .load_partition(LOG, 0, PARTITIONS)
        .await
        .expect("load_partition");
    for l in &s.levels {
        assert_eq!(partition_for(&l.product_code, PARTITIONS), 0, "{l:?}");
    }
    for h in &s.holds {
        assert_eq!(partition_for(&h.product_code, PARTITIONS), 0, "{h:?}");
    }
    s.levels.retain(|l| l.product_code.starts_with("lp-"));
    s.levels.sort_by(|a, b| a.product_code.cmp(&b.product_code));
    s.holds.retain(|h| h.order_id.starts_with("lp-"));
    s.orders.retain(|o| o.id.starts_with("lp-"));
    s.orders.sort_by(|a, b| a.id.cmp(&b.id));
    s.sagas.retain(|g| g.order.id.starts_with("lp-"));
    s
}

/// A saga of `order` at `step`, kept by `home`.
fn saga(order: &agusto_schemas::Order, home: u32, step: u64) -> Saga {
    let lines: Vec<ProductQty> = agusto_schemas::stock_lines(&order.lines);
    Saga {
        order: order.clone(),
        home,
        step,
        kind: SagaKind::Placing,
        command: StockCommand::Reserve {
            order_id: order.id.clone(),
            lines: Vec::new(),
            expires_at: order.created_at,
        },
        parts: BTreeMap::from([(1 - home, lines)]),
        waiting: BTreeSet::from([1 - home]),
        held: BTreeSet::new(),
        short: Vec::new(),
        failure: None,
    }
}

/// One-hop orders written with a stock batch are orders like any other
/// (read, listed by status), and `load_partition` gives back the
/// partition's levels, every hold on its products (one-hop, spanning and
/// orphaned orders) and its open one-hop orders, with its applied offset.
pub async fn load_partition_returns_what_batches_wrote(store: &dyn Store) {
    let t = |ms| at(2044, ms);
    let (a, b, x) = codes();
    let one_hop = order(
        "lp-o1",
        "lp-ch",
        OrderStatus::Reserved,
        t(1),
        Some(t(100)),
        &[(&a, 3)],
    );
    let mut shipped = order(
        "lp-o3",
        "lp-ch",
        OrderStatus::Dispatched,
        t(1),
        None,
        &[(&a, 1)],
    );
    shipped.tracking_number = Some("TRK-lp".into());
    let spanning = order(
        "lp-o2",
        "lp-ch",
        OrderStatus::PendingApproval,
        t(1),
        None,
        &[(&b, 2), (&x, 1)],
    );
    let (la, lb, lx) = (
        level(&a, 10, 4, 3, t(1)),
        level(&b, 5, 2, 1, t(1)),
        level(&x, 7, 1, 1, t(1)),
    );
    let (h1, h2, h4) = (
        hold("lp-o1", &a, 3, Some(t(100))),
        hold("lp-o2", &b, 2, None),
        hold("lp-o4", &a, 1, Some(t(50))),
    );
    let offset = |offset| {
        Some(AppliedOffset {
            log: LOG.into(),
            partition: 0,
            offset,
        })
    };
    // Spanning orders are loaded by their home partition (their id's).
    let home = order_home(
        &spanning.id,
        spanning.lines.iter().map(|l| l.product_code.as_str()),
        PARTITIONS,
    );
    let with_spanning = |mut orders: Vec<agusto_schemas::Order>| {
        if home == 0 {
            orders.push(spanning.clone());
            orders.sort_by(|a, b| a.id.cmp(&b.id));
        }
        orders
    };
    let placing = order(
        "lp-o5",
        "lp-ch",
        OrderStatus::Reserved,
        t(1),
        Some(t(100)),
        &[(&a, 1), (&x, 1)],
    );
    let first = StockBatch {
        levels: vec![la.clone(), lb.clone()],
        reservations_put: vec![h1.clone(), h2.clone(), h4.clone()],
        orders: vec![one_hop.clone(), shipped.clone()],
        sagas_put: vec![saga(&placing, 0, 1), saga(&shipped, 1, 1)],
        applied: offset(5),
        ..StockBatch::default()
    };
    store.apply_stock_batch(&first).await.expect("stock batch");
    let other = StockBatch {
        levels: vec![lx],
        reservations_put: vec![hold("lp-o2", &x, 1, None)],
        ..StockBatch::default()
    };
    store
        .apply_stock_batch(&other)
        .await
        .expect("other partition");
    let orders = OrderBatch {
        orders: vec![spanning.clone()],
        ..OrderBatch::default()
    };
    store.apply_order_batch(&orders).await.expect("order batch");

    assert_eq!(
        store.get_order("lp-o1").await.expect("get"),
        Some(one_hop.clone())
    );
    assert_eq!(store.get_order("lp-o3").await.expect("get"), Some(shipped));
    let loaded = load(store).await;
    assert_eq!(loaded.levels, vec![la.clone(), lb.clone()]);
    assert_eq!(loaded.holds, vec![h1.clone(), h2.clone(), h4.clone()]);
    assert_eq!(
        loaded.orders,
        with_spanning(vec![one_hop.clone()]),
        "open orders of this home only"
    );
    assert_eq!(
        loaded.sagas,
        vec![saga(&placing, 0, 1)],
        "this home's sagas"
    );
    assert_eq!(loaded.applied, Some(5));

    // Paid: the order moves between status lists, its hold stops lapsing.
    let mut paid = one_hop.clone();
    paid.status = OrderStatus::PendingApproval;
    paid.expires_at = None;
    paid.updated_at = t(2);
    let confirmed = hold("lp-o1", &a, 3, None);
    let mut next_step = saga(&placing, 0, 2);
    next_step.waiting.clear();
    let pay = StockBatch {
        reservations_put: vec![confirmed.clone()],
        orders: vec![paid.clone()],
        sagas_put: vec![next_step.clone()],
        applied: offset(6),
        ..StockBatch::default()
    };
    store.apply_stock_batch(&pay).await.expect("pay");
    let listed = |status| async move {
        let page = store
            .list_orders(Some("lp-ch"), Some(status), None, 50)
            .await
            .expect("list");
        page.items.into_iter().map(|o| o.id).collect::<Vec<_>>()
    };
    assert!(listed(OrderStatus::Reserved).await.is_empty());
    assert_eq!(
        listed(OrderStatus::PendingApproval).await,
        ["lp-o1", "lp-o2"]
    );
    let loaded = load(store).await;
    assert_eq!(loaded.orders, with_spanning(vec![paid.clone()]));
    assert_eq!(loaded.holds, vec![confirmed, h2.clone(), h4.clone()]);
    assert_eq!(loaded.sagas, vec![next_step], "a saga's step replaced");

    // Cancelled: closed orders and their holds are not loaded.
    let mut cancelled = paid;
    cancelled.status = OrderStatus::Cancelled;
    cancelled.updated_at = t(3);
    let la2 = level(&a, 10, 1, 4, t(3));
    let cancel = StockBatch {
        levels: vec![la2.clone()],
        reservations_delete: vec![("lp-o1".into(), a.clone())],
        orders: vec![cancelled],
        sagas_delete: vec![(0, "lp-o5".into())],
        applied: offset(7),
        ..StockBatch::default()
    };
    store.apply_stock_batch(&cancel).await.expect("cancel");
    let loaded = load(store).await;
    assert_eq!(loaded.orders, with_spanning(Vec::new()));
    assert!(loaded.sagas.is_empty(), "an ended saga is not loaded");
    assert_eq!(loaded.holds, vec![h2, h4]);
    assert_eq!(loaded.levels, vec![la2, lb]);
    assert_eq!(loaded.applied, Some(7));
}
