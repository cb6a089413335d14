//! The ScyllaDB backend, for the distributed mode: every process of every
//! machine shares one keyspace.
//!
//! # How it honours the store contract without cross-row transactions
//!
//! - **One LOGGED BATCH per writer batch.** [`crate::Store::apply_stock_batch`]
//!   and [`crate::Store::apply_order_batch`] write every row of the batch —
//!   state, ledger, holds, orders and their query tables, outbox events and
//!   the partition's applied offset — as one logged batch: atomic (the
//!   batchlog replays it if the coordinator dies), not isolated. Isolation
//!   comes from the single writer per log partition, which is also why no
//!   write on the hot path needs a lightweight transaction: nobody else
//!   writes those rows, so a plain upsert cannot lose a concurrent update.
//!   A batch is never split: splitting would let a failure leave part of a
//!   batch applied while its offset says nothing was. Writers should keep
//!   batches well under ScyllaDB's `batch_size_fail_threshold_in_kb`
//!   (1 MiB by default; a few hundred commands); above
//!   `batch_size_warn_threshold_in_kb` the server only logs a warning.
//! - **Replays are no-ops.** Every row is keyed by what it is (product,
//!   (product, version), (order, product), order id, event id, …), so a
//!   batch applied twice writes the same rows again. Where a query table must
//!   move a row (a product's `updated_at`, an order's status) the writer reads
//!   the previous keys first — safe because it is the only writer of them.
//! - **Client-side, monotonic write timestamps** (the driver's
//!   `MonotonicTimestampGenerator`): statements of one process are ordered
//!   as issued, a later batch always wins over an earlier one, and a batch
//!   that lands late (batchlog replay after a client timeout) cannot
//!   overwrite newer rows. Clocks of the machines must be NTP-synchronised.
//! - **Consistency LOCAL_QUORUM** for reads and writes (LOCAL_SERIAL for the
//!   few conditional statements): a write acknowledged to a writer is seen by
//!   any later LOCAL_QUORUM read from any process (R + W > RF), which the
//!   "reply only after the batch is durable" rule and a writer reloading its
//!   partition after a restart both rely on; LOCAL_ keeps requests in the
//!   local data centre and working while a remote one is down.
//! - **Events** get strictly increasing outbox positions without a
//!   cluster-wide counter on the hot path. Each writer appends its events to
//!   its own stream (`<log>#<partition>`, or this process's stream for
//!   batches without an offset) in its logged batch, numbered by a
//!   per-process hybrid clock. Readers of the outbox (the webhook fan-out)
//!   first run a sequencer: it copies new stream events, merged by that
//!   number, into the global log at positions 1, 2, 3, …, together with its
//!   per-stream cursors, in ONE conditional batch (LWT) per round on the
//!   log's newest partition. So a position, once readable, never gets an
//!   event below it, every event is sequenced exactly once, and each stream
//!   (each product's and each order's writer) keeps its order. Details in
//!   `outbox.rs` and `sequencer.rs`.
//! - **Webhook deliveries** are shared by any number of webhook workers:
//!   a delivery is attempted under a claim (a lightweight transaction on its
//!   row, with a lease), its queue's head row is written conditionally, and
//!   fan-out rows carry a tiny write timestamp so a repeated fan-out never
//!   undoes a later change (`deliveries.rs`, `delivery_claims.rs`,
//!   `delivery_heads.rs`).
//! - The sequencer, channel and token uniqueness, delivery claims and queue
//!   heads are the only lightweight transactions, all off the writers' hot
//!   path.
//! - **Paging** uses key-based cursors (opaque strings, the same format as the
//!   SQLite backend), so a cursor stays valid however long the client waits;
//!   unbounded scans use the driver's paging state.
//!
//! Table by table, `schema.rs` documents each primary key and the query it
//! serves. Timestamps are kept to the microsecond.
//!
//! # Portable CQL: ScyllaDB in production, Cassandra 2.1 in CI
//!
//! Every statement runs on both (CI runs the contract suite on Apache
//! Cassandra 2.1 behind a protocol proxy, `testbed/`): only `bigint`, `text`,
//! `boolean`, `blob`, collections; no `date`/`smallint`/`tinyint`, JSON,
//! UDFs or `system_schema` reads of our own. What the real server found, and
//! where the two differ:
//!
//! - **Range deletions** (`DELETE … WHERE ck < ?`) need Cassandra 3.0; the
//!   fan-out mark deletes the row it replaces by key instead.
//! - **`UPDATE … IF EXISTS`** is not in Cassandra 2.1.0; a channel update is
//!   conditioned on its (never changing) `created_at`, which means the same.
//! - **Conditions** on Cassandra 2.1.0 are `=` only (no `IF col <= ?`): a
//!   delivery claim is conditioned on the exact values it read. `IF col =
//!   null` applies to an existing row whose column is null, but not to a
//!   missing row (ScyllaDB may differ): a queue head row is created with
//!   `INSERT … IF NOT EXISTS`, then updated `IF rev = ?`.
//! - **`ALTER TABLE … ADD`** has no `IF NOT EXISTS`; a migration run again
//!   treats "conflicts with an existing column" as done.
//! - **Schema changes** from several clients at once fail on Cassandra
//!   ("Column family ID mismatch"); ScyllaDB serialises them, but racing DDL
//!   is still wasteful. So one process owns them: `agusto migrate`
//!   ([`SchemaMode::Apply`]); every role waits for the version
//!   ([`SchemaMode::Await`]).
//! - **Lightweight transactions**: both run Paxos per partition; ScyllaDB
//!   answers a lost condition with the row's current columns after
//!   `[applied]`, Cassandra too, so only `[applied]` is read. Contended conditions
//!   (the outbox sequencer run by several readers) lose rounds on both; the
//!   sequencer reads its state at LOCAL_SERIAL and backs off with jitter.
//!   LWT needs vnode keyspaces on ScyllaDB (tablets off, see `migrations`).
//! - **Batch size**: Cassandra warns above `batch_size_warn_threshold_in_kb`
//!   (5 KiB by default; 2.2+ also fails above 50 KiB); ScyllaDB's defaults
//!   are 128 KiB to warn and 1 MiB to fail. Writer batches of a few hundred
//!   commands stay under ScyllaDB's limits but would log warnings on a stock
//!   Cassandra; the test bed raises its warning threshold to 64 KiB.
//! - **Tombstones**: moved index rows (status, due time, queue heads) and the
//!   fan-out mark leave tombstones; reads that scan a partition from its
//!   live end (`LIMIT 1`, DESC order) do not walk them, and
//!   `gc_grace_seconds` (10 days by default on both) bounds how long they
//!   stay.
//! - **Replication maps**: `NetworkTopologyStrategy` with
//!   `'replication_factor'` needs Cassandra 4 or ScyllaDB; on 2.1 use
//!   `SimpleStrategy` or per-datacenter counts.
//! - **Driver schema metadata** reads `system_schema` (Cassandra 3+,
//!   ScyllaDB); [`ScyllaOptions::fetch_schema_metadata`] turns it off for
//!   older servers.

mod access;
mod bundles;
mod catalogue;
mod codec;
mod deliveries;
mod delivery_claims;
mod delivery_heads;
mod delivery_lists;
mod delivery_queue;
mod epochs;
mod exec;
mod migrations;
mod order_lists;
mod orders;
mod outbox;
mod published;
mod returns;
mod sagas;
mod schema;
mod schema_wait;
mod sequencer;
mod statements;
mod stock;
mod stock_changes;
mod stock_write;
mod store_impl;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::policies::load_balancing::DefaultPolicy;
use scylla::policies::retry::DefaultRetryPolicy;
use scylla::policies::timestamp_generator::MonotonicTimestampGenerator;
use scylla::statement::{Consistency, SerialConsistency};

pub use self::schema_wait::SchemaMode;

use self::outbox::SeqClock;
use self::statements::Statements;
use crate::{Error, Result, SchemaChange};

/// Connection settings beyond the nodes, keyspace and replication.
#[derive(Debug, Clone)]
pub struct ScyllaOptions {
    /// The data centre this process runs in: requests go to its nodes
    /// (LOCAL_QUORUM is counted there). `None` lets the driver pick.
    pub local_datacenter: Option<String>,
    /// Client-side limit of one request, retries included.
    pub request_timeout: Duration,
    /// Limit for opening a connection to a node.
    pub connection_timeout: Duration,
    /// Whether the driver reads the schema (keyspaces, tables) from
    /// `system_schema`. On by default: the driver then knows each keyspace's
    /// replication and routes every request to a replica. Only servers
    /// without `system_schema` (Cassandra 2.1, the test bed) need it off.
    pub fetch_schema_metadata: bool,
    /// Whether connecting applies missing migrations ([`SchemaMode::Apply`],
    /// the default) or waits for them to be applied by another process
    /// ([`SchemaMode::Await`]).
    pub schema: SchemaMode,
}

impl Default for ScyllaOptions {
    fn default() -> Self {
        ScyllaOptions {
            local_datacenter: None,
            request_timeout: Duration::from_secs(5),
            connection_timeout: Duration::from_secs(5),
            fetch_schema_metadata: true,
            schema: SchemaMode::Apply,
        }
    }
}

/// A [`crate::Store`] on a ScyllaDB keyspace. Cheap to clone: clones share
/// the session.
#[derive(Clone)]
pub struct ScyllaStore {
    inner: Arc<Inner>,
}

/// What every operation needs: the session, the prepared statements and
/// the outbox bookkeeping of this process.
pub(crate) struct Inner {
    session: Session,
    st: Statements,
    keyspace: String,
    /// What connecting did to the schema.
    schema: SchemaChange,
    /// Issues outbox sequence numbers (see [`outbox`]).
    clock: SeqClock,
    /// The outbox stream of this process's batches that carry no log offset.
    local_stream: String,
    /// Serialises those batches, so the local stream has one writer at a time.
    local_lock: tokio::sync::Mutex<()>,
    /// Newest outbox log bucket seen (a hint; see [`sequencer`]).
    log_bucket: AtomicI64,
}

impl std::fmt::Debug for ScyllaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScyllaStore")
            .field("keyspace", &self.inner.keyspace)
            .finish_non_exhaustive()
    }
}

impl ScyllaStore {
    /// Connects to `nodes` (`host:port`), creates `keyspace` with the CQL
    /// `replication` map if needed (e.g. `{'class': 'NetworkTopologyStrategy',
    /// 'replication_factor': 3}`), applies missing migrations and prepares
    /// every statement.
    pub async fn connect(
        nodes: &[String],
        keyspace: &str,
        replication: &str,
    ) -> Result<ScyllaStore> {
        Self::connect_with(nodes, keyspace, replication, &ScyllaOptions::default()).await
    }

    /// [`ScyllaStore::connect`] with explicit options. With
    /// [`SchemaMode::Await`] it runs no DDL: it waits until the keyspace has
    /// every migration of this build (applied by `agusto migrate`).
    ///
    /// Requests use token-aware load balancing (to a replica of the
    /// partition, in the local data centre), LOCAL_QUORUM (serial:
    /// LOCAL_SERIAL), the configured timeout and the driver's default retry
    /// policy: it retries only what is safe — idempotent statements on
    /// another node after an overload or broken connection, a read timeout
    /// once when enough replicas answered, a batchlog write timeout once —
    /// and never a conditional statement.
    pub async fn connect_with(
        nodes: &[String],
        keyspace: &str,
        replication: &str,
        options: &ScyllaOptions,
    ) -> Result<ScyllaStore> {
        if nodes.is_empty() {
            return Err(Error::Unavailable("no ScyllaDB node given".into()));
        }
        let mut balancing = DefaultPolicy::builder()
            .token_aware(true)
            .permit_dc_failover(false);
        if let Some(dc) = &options.local_datacenter {
            balancing = balancing.prefer_datacenter(dc.clone());
        }
        let profile = ExecutionProfile::builder()
            .consistency(Consistency::LocalQuorum)
            .serial_consistency(Some(SerialConsistency::LocalSerial))
            .request_timeout(Some(options.request_timeout))
            .load_balancing_policy(balancing.build())
            .retry_policy(Arc::new(DefaultRetryPolicy::new()))
            .build();
        let session = SessionBuilder::new()
            .known_nodes(nodes)
            .connection_timeout(options.connection_timeout)
            .default_execution_profile_handle(profile.into_handle())
            .timestamp_generator(Arc::new(MonotonicTimestampGenerator::new()))
            .fetch_schema_metadata(options.fetch_schema_metadata)
            .build()
            .await?;
        let schema = match options.schema {
            SchemaMode::Apply => migrations::migrate(&session, keyspace, replication).await?,
            SchemaMode::Await { timeout } => {
                schema_wait::await_schema(&session, keyspace, timeout).await?
            }
        };
        let st = Statements::prepare(&session).await?;
        Ok(ScyllaStore {
            inner: Arc::new(Inner {
                session,
                st,
                keyspace: keyspace.to_owned(),
                schema,
                clock: SeqClock::default(),
                local_stream: format!("local-{:016x}", codec::random_u64()),
                local_lock: tokio::sync::Mutex::new(()),
                log_bucket: AtomicI64::new(0),
            }),
        })
    }

    /// The keyspace this store uses.
    pub fn keyspace(&self) -> &str {
        &self.inner.keyspace
    }

    /// What connecting did to the keyspace's schema: the version found and
    /// the version after the migrations it applied (none with
    /// [`SchemaMode::Await`]).
    pub fn schema_change(&self) -> SchemaChange {
        self.inner.schema
    }

    /// The schema version of the keyspace (how many migrations it has).
    pub async fn schema_version(&self) -> Result<i64> {
        migrations::current_version(&self.inner.session).await
    }

    /// Drops the keyspace and everything in it (tests).
    #[cfg(test)]
    pub(crate) async fn drop_keyspace(&self) -> Result<()> {
        let cql = format!("DROP KEYSPACE IF EXISTS {}", self.inner.keyspace);
        self.inner
            .session
            .query_unpaged(scylla::statement::Statement::new(cql), ())
            .await?;
        Ok(())
    }
}
