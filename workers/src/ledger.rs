//! `agusto ledger verify`: recomputes every product's quantities (on-hand,
//! reserved, damaged) from the movement ledger and from the open orders,
//! and compares them with the stored quantities; a negative stored
//! quantity is a difference too.

use std::collections::{BTreeMap, BTreeSet};

use agusto_store::Store;

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
}

/// Compares stored quantities with the ledger and the open orders.
pub async fn verify(store: &dyn Store) -> agusto_store::Result<Report> {
    let mut stored: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for l in store.all_stock_levels().await? {
        stored.insert(l.product_code, (l.on_hand, l.reserved, l.damaged));
    }
    let mut ledger: BTreeMap<String, (i64, i64, i64)> = BTreeMap::new();
    for s in store.ledger_sums().await? {
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
    Ok(Report {
        products: codes.len(),
        differences,
    })
}
