//! Opening the store named by `AGUSTO_STORE` / `store`: `sqlite:<path>`,
//! `scylla:<host:port,...>`, or empty for the data dir's SQLite file, with
//! the schema handling each command needs: `agusto migrate` applies the
//! migrations, every other process waits for them on ScyllaDB.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use agusto_store::scylla::{SchemaMode, ScyllaOptions, ScyllaStore};
use agusto_store::sqlite::SqliteStore;
use agusto_store::{SchemaChange, Store};
use anyhow::{Context, bail};

use crate::config::Config;

/// Which store a configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// ScyllaDB (or Cassandra) contact points, `host:port`.
    Scylla(Vec<String>),
}

impl StoreSpec {
    /// Parses `spec`; empty means `default_sqlite`.
    pub fn parse(spec: &str, default_sqlite: &Path) -> anyhow::Result<StoreSpec> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Ok(StoreSpec::Sqlite(default_sqlite.to_owned()));
        }
        match spec.split_once(':') {
            Some(("sqlite", path)) if !path.is_empty() => Ok(StoreSpec::Sqlite(path.into())),
            Some(("scylla", nodes)) => {
                let nodes: Vec<String> = nodes
                    .split(',')
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty())
                    .collect();
                if nodes.is_empty() {
                    bail!("AGUSTO_STORE={spec}: no ScyllaDB node after scylla:");
                }
                Ok(StoreSpec::Scylla(nodes))
            }
            _ => bail!("AGUSTO_STORE={spec}: expected sqlite:<path> or scylla:<host:port,...>"),
        }
    }

    /// The store `config` names (its `store`, else the data dir's SQLite file).
    pub fn of(config: &Config) -> anyhow::Result<StoreSpec> {
        StoreSpec::parse(&config.store, &config.database())
    }
}

/// What a command does with the store's schema when it opens the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `agusto migrate`: create the store and apply missing migrations.
    Migrate,
    /// `agusto ingest` / `agusto worker`: a SQLite file is created and
    /// migrated in one transaction as before; on ScyllaDB no DDL runs, the
    /// process waits `scylla_schema_wait_secs` for `agusto migrate`.
    Run,
    /// `agusto ledger verify`: like [`Access::Run`], but a missing SQLite
    /// file is an error, never created.
    Inspect,
}

/// An open store and what opening did to its schema.
pub struct Opened {
    /// The store.
    pub store: Arc<dyn Store>,
    /// What it is, for messages: `keyspace agusto` or `SQLite <path>`.
    pub name: String,
    /// The schema version found and the version after opening.
    pub schema: SchemaChange,
}

impl Opened {
    /// One line saying what opening did to the schema.
    pub fn report(&self) -> String {
        schema_report(&self.name, self.schema)
    }
}

/// `<name>: schema version 0 -> 2 (applied 2 migrations)`, or
/// `<name>: already at schema version 2`.
pub fn schema_report(name: &str, schema: SchemaChange) -> String {
    match schema.applied() {
        0 => format!("{name}: already at schema version {}", schema.to),
        1 => format!(
            "{name}: schema version {} -> {} (applied 1 migration)",
            schema.from, schema.to
        ),
        n => format!(
            "{name}: schema version {} -> {} (applied {n} migrations)",
            schema.from, schema.to
        ),
    }
}

/// Opens the store `config` names, handling its schema as `access` says.
pub async fn open(config: &Config, access: Access) -> anyhow::Result<Opened> {
    match StoreSpec::of(config)? {
        StoreSpec::Sqlite(path) => {
            if access == Access::Inspect && !path.exists() {
                bail!("no database at {}", path.display());
            }
            let store =
                SqliteStore::open(&path).with_context(|| format!("opening {}", path.display()))?;
            Ok(Opened {
                name: format!("SQLite {}", path.display()),
                schema: store.schema_change(),
                store: Arc::new(store),
            })
        }
        StoreSpec::Scylla(nodes) => {
            let schema = match access {
                Access::Migrate => SchemaMode::Apply,
                Access::Run | Access::Inspect => SchemaMode::Await {
                    timeout: Duration::from_secs(config.scylla_schema_wait_secs),
                },
            };
            let options = ScyllaOptions {
                fetch_schema_metadata: config.scylla_schema_metadata,
                request_timeout: std::time::Duration::from_millis(config.scylla_request_timeout_ms),
                schema,
                ..ScyllaOptions::default()
            };
            let store = ScyllaStore::connect_with(
                &nodes,
                &config.scylla_keyspace,
                &config.scylla_replication,
                &options,
            )
            .await
            .with_context(|| format!("opening the ScyllaDB store at {}", nodes.join(",")))?;
            Ok(Opened {
                name: format!("keyspace {}", store.keyspace()),
                schema: store.schema_change(),
                store: Arc::new(store),
            })
        }
    }
}

/// [`open`], keeping only the store.
pub async fn open_store(config: &Config, access: Access) -> anyhow::Result<Arc<dyn Store>> {
    Ok(open(config, access).await?.store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let default = Path::new("/data/agusto.db");
        assert_eq!(
            StoreSpec::parse("", default).unwrap(),
            StoreSpec::Sqlite(default.into())
        );
        assert_eq!(
            StoreSpec::parse("sqlite:/x/y.db", default).unwrap(),
            StoreSpec::Sqlite("/x/y.db".into())
        );
        assert_eq!(
            StoreSpec::parse(" scylla:a:9042, b:9042 ,", default).unwrap(),
            StoreSpec::Scylla(vec!["a:9042".into(), "b:9042".into()])
        );
        for bad in ["sqlite:", "scylla:", "scylla: , ", "postgres:x", "x.db"] {
            assert!(StoreSpec::parse(bad, default).is_err(), "{bad}");
        }
    }

    #[test]
    fn reports_say_what_was_applied() {
        let r = |from, to| schema_report("keyspace agusto", SchemaChange { from, to });
        assert_eq!(
            r(0, 1),
            "keyspace agusto: schema version 0 -> 1 (applied 1 migration)"
        );
        assert_eq!(
            r(0, 2),
            "keyspace agusto: schema version 0 -> 2 (applied 2 migrations)"
        );
        assert_eq!(r(2, 2), "keyspace agusto: already at schema version 2");
    }
}
