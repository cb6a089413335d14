//! `agusto ledger verify`: recomputes every product's quantities (on-hand,
//! reserved, damaged) from the movement ledger and from the open orders,
//! and compares them with the stored quantities; a negative stored
//! quantity is a difference too. Received returns must match the ledger's
//! return rows, and no order may be returned more often than dispatched.

use std::collections::{BTreeMap, BTreeSet};

use agusto_schemas::OrderStatus;
use agusto_store::{ReturnStatus, Store, returned_stock};

/// A product whose stored quantities disagree with what the ledger or the
/// open orders say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// Product.
    pub product_code: String,
    /// Stored on-hand.
    pub stored_on_hand: i64,
    /// Stored reserved.
    pub stored_reserved: i64,
    /// Stored damaged.
    pub stored_damaged: i64,
    /// Sum of the ledger's on-hand deltas.
    pub ledger_on_hand: i64,
    /// Sum of the ledger's reserved deltas.
    pub ledger_reserved: i64,
    /// Sum of the ledger's damaged deltas.
    pub ledger_damaged: i64,
    /// Units held by orders whose status holds stock.
    pub open_orders_reserved: i64,
}

/// Summary of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Products checked.
    pub products: usize,
    /// Products that disagree.
    pub differences: Vec<Difference>,
    /// Returns checked.
    pub returns: usize,
    /// What disagrees about returns, in words: units received that the
    /// ledger does not show (or the other way round), orders returned more
    /// often than dispatched.
    pub return_differences: Vec<String>,
}

/// Compares stored quantities with the ledger and the open orders.
pub async fn verify(store: &dyn Store) -> agusto_store::Result<Report> {
    let mut stored: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for l in store.all_stock_levels().await? {
        stored.insert(l.product_code, (l.on_hand, l.reserved, l.damaged));
    }
    let mut ledger: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    let mut ledger_returns: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for s in store.ledger_sums().await? {
        if s.returned != 0 || s.returned_damaged != 0 {
            ledger_returns.insert(s.product_code.clone(), (s.returned, s.returned_damaged));
        }
        ledger.insert(s.product_code, (s.on_hand, s.reserved, s.damaged));
    }
    let open: BTreeMap<String, i64> = store.open_order_quantities().await?.into_iter().collect();
    let codes: BTreeSet<&String> = stored
        .keys()
        .chain(ledger.keys())
        .chain(open.keys())
        .collect();
    let mut differences = Vec::new();
    for code in &codes {
        let s = stored.get(*code).copied().unwrap_or_default();
        let l = ledger.get(*code).copied().unwrap_or_default();
        let o_res = open.get(*code).copied().unwrap_or_default();
        let negative = s.0 < 0 || s.1 < 0 || s.2 < 0;
        if s != l || s.1 != o_res || negative {
            differences.push(Difference {
                product_code: (*code).clone(),
                stored_on_hand: s.0,
                stored_reserved: s.1,
                stored_damaged: s.2,
                ledger_on_hand: l.0,
                ledger_reserved: l.1,
                ledger_damaged: l.2,
                open_orders_reserved: o_res,
            });
        }
    }
    let (returns, return_differences) = verify_returns(store, &ledger_returns).await?;
    Ok(Report {
        products: codes.len(),
        differences,
        returns,
        return_differences,
    })
}

/// Received returns against the ledger's `return` / `return_damaged` rows
/// (per product), and every order's returns against what it dispatched.
async fn verify_returns(
    store: &dyn Store,
    ledger: &BTreeMap<String, (i64, i64)>,
) -> agusto_store::Result<(usize, Vec<String>)> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_returns(None, after.as_deref(), 500).await?;
        all.extend(page.items);
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let mut received: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut per_order: BTreeMap<&str, BTreeMap<&str, i64>> = BTreeMap::new();
    let mut orders: BTreeMap<&str, Option<agusto_schemas::Order>> = BTreeMap::new();
    for r in &all {
        if !orders.contains_key(r.order_id.as_str()) {
            orders.insert(&r.order_id, store.get_order(&r.order_id).await?);
        }
        for l in &r.lines {
            *per_order
                .entry(&r.order_id)
                .or_default()
                .entry(&l.product_code)
                .or_default() += l.quantity;
        }
        if r.status == ReturnStatus::Received {
            for q in returned_stock(orders[r.order_id.as_str()].as_ref(), &r.lines) {
                let e = received.entry(q.product_code).or_default();
                e.0 += q.restock;
                e.1 += q.damaged;
            }
        }
    }
    let mut out = Vec::new();
    let codes: BTreeSet<&String> = received.keys().chain(ledger.keys()).collect();
    for code in codes {
        let want = received.get(code).copied().unwrap_or_default();
        let have = ledger.get(code).copied().unwrap_or_default();
        if want != have {
            out.push(format!(
                "{code}: received returns restocked {} and kept {} damaged; the ledger shows {} and {}",
                want.0, want.1, have.0, have.1
            ));
        }
    }
    for (order_id, returned) in per_order {
        let order = orders.get(order_id).cloned().flatten();
        for (code, units) in returned {
            let sent: i64 = order
                .iter()
                .filter(|o| o.status == OrderStatus::Dispatched)
                .flat_map(|o| &o.lines)
                .filter(|l| l.product_code == code)
                .map(|l| l.quantity)
                .sum();
            if units > sent {
                out.push(format!(
                    "order {order_id}: {units} of {code} returned, {sent} dispatched"
                ));
            }
        }
    }
    Ok((all.len(), out))
}
