//! One-shot commands on the configured store: `agusto migrate` (the one
//! owner of schema changes) and `agusto ledger verify`.

use crate::config::Config;
use crate::store_spec::{Access, StoreSpec, open};

/// `agusto migrate`: creates the store if needed, applies the migrations it
/// lacks, and prints where its schema was and is.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    println!("migrating {}", describe(config, &StoreSpec::of(config)?));
    let opened = open(config, Access::Migrate).await?;
    println!("{}", opened.report());
    Ok(())
}

/// `agusto ledger verify`: recomputes every product's quantities from the
/// ledger and the open orders; prints differences. Returns the exit code:
/// 0 when everything matches, 1 otherwise.
pub async fn verify(config: &Config) -> anyhow::Result<i32> {
    let store = open(config, Access::Inspect).await?.store;
    let report = agusto_workers::ledger::verify(store.as_ref()).await?;
    for d in &report.differences {
        println!(
            "MISMATCH {}: stored on_hand={} reserved={} damaged={}; ledger on_hand={} reserved={} damaged={}; open orders reserve {}",
            d.product_code,
            d.stored_on_hand,
            d.stored_reserved,
            d.stored_damaged,
            d.ledger_on_hand,
            d.ledger_reserved,
            d.ledger_damaged,
            d.open_orders_reserved
        );
    }
    for d in &report.return_differences {
        println!("MISMATCH return {d}");
    }
    if report.differences.is_empty() && report.return_differences.is_empty() {
        println!(
            "ledger ok: {} products, stored quantities match the ledger and the open orders; \
             {} returns match the ledger",
            report.products, report.returns
        );
        Ok(0)
    } else {
        println!(
            "ledger MISMATCH: {} of {} products differ, {} return differences",
            report.differences.len(),
            report.products,
            report.return_differences.len()
        );
        Ok(1)
    }
}

/// The store `spec` (of `config`) is, for the first progress line.
fn describe(config: &Config, spec: &StoreSpec) -> String {
    match spec {
        StoreSpec::Sqlite(path) => format!("SQLite {}", path.display()),
        StoreSpec::Scylla(nodes) => {
            format!("keyspace {} on {}", config.scylla_keyspace, nodes.join(","))
        }
    }
}
