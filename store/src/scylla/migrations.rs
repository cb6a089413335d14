//! Versioned migrations, applied by the one owner of schema changes
//! (`agusto migrate`, [`super::SchemaMode::Apply`]); every other process
//! waits for them (`schema_wait.rs`).
//!
//! The keyspace is created first (`IF NOT EXISTS`, with the configured
//! replication), then `schema_version` records which migrations ran: one
//! row per applied version in one partition, newest first. Applying adds
//! the missing migrations in order; each is a list of CQL statements, all
//! idempotent (`IF NOT EXISTS`), so a run interrupted half-way is finished
//! by the next one. Two runs at once are not safe: Cassandra (and ScyllaDB
//! without Raft schema) may create a table twice with two ids and fail one
//! run with "Column family ID mismatch", hence one owner. Released
//! migrations are never edited: a change of schema is a new entry at the
//! end, written so that it can run twice.
//!
//! Schema statements run unprepared (DDL); every data statement is prepared.

use scylla::client::session::Session;
use scylla::statement::Statement;

use super::schema::{V1, V2, V3, V4, V5, V6, V7, V8, V9, V10};
use crate::{Error, Result, SchemaChange};

/// Migration `i` (0-based) brings the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&[&str]] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10];

/// The schema version this build brings a keyspace to.
pub(super) fn known_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (
    shard bigint, version bigint, applied_at bigint,
    PRIMARY KEY ((shard), version)) WITH CLUSTERING ORDER BY (version DESC)";
const CURRENT_VERSION: &str = "SELECT version FROM schema_version WHERE shard = 0 LIMIT 1";
const RECORD_VERSION: &str =
    "INSERT INTO schema_version (shard, version, applied_at) VALUES (0, ?, ?)";

/// True for a keyspace name this store accepts: lower-case letters, digits
/// and `_`, starting with a letter, at most 48 characters (CQL's limit). The
/// name is written into DDL, so nothing else is allowed.
pub(super) fn valid_keyspace(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && name.len() <= 48
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// True for something shaped like a CQL replication map, e.g.
/// `{'class': 'NetworkTopologyStrategy', 'replication_factor': 3}`.
pub(super) fn valid_replication(map: &str) -> bool {
    let map = map.trim();
    map.starts_with('{')
        && map.ends_with('}')
        && !map.contains(';')
        && map.contains("'class'")
        && map.matches('{').count() == 1
}

/// The keyspace DDL. Tablets are switched off where the server knows them:
/// the store uses lightweight transactions (channel and token uniqueness,
/// the outbox sequencer), which keyspaces with tablets do not support in
/// current ScyllaDB releases.
pub(super) fn create_keyspace(keyspace: &str, replication: &str, tablets_off: bool) -> String {
    let mut cql = format!(
        "CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {}",
        replication.trim()
    );
    if tablets_off {
        cql.push_str(" AND tablets = {'enabled': false}");
    }
    cql
}

/// Creates the keyspace, switches the session to it and applies missing
/// migrations. Refuses a keyspace written by a newer build.
pub(super) async fn migrate(
    session: &Session,
    keyspace: &str,
    replication: &str,
) -> Result<SchemaChange> {
    if !valid_keyspace(keyspace) {
        return Err(Error::Unavailable(format!(
            "invalid keyspace name {keyspace:?}"
        )));
    }
    if !valid_replication(replication) {
        return Err(Error::Unavailable(format!(
            "invalid replication map {replication:?}"
        )));
    }
    if let Err(with_tablets) = ddl(session, &create_keyspace(keyspace, replication, true)).await {
        // Servers without tablets reject the option; the plain form works there.
        if let Err(plain) = ddl(session, &create_keyspace(keyspace, replication, false)).await {
            return Err(Error::Unavailable(format!(
                "creating keyspace {keyspace}: {plain} (with the tablets option: {with_tablets})"
            )));
        }
        tracing::info!(keyspace, "keyspace created without the tablets option");
    }
    session.use_keyspace(keyspace, true).await?;
    ddl(session, VERSION_TABLE).await?;
    let current = current_version(session).await?;
    let known = known_version();
    if current > known {
        return Err(Error::Unavailable(super::schema_wait::newer_message(
            keyspace, current, known,
        )));
    }
    let record = session.prepare(RECORD_VERSION).await?;
    for (index, statements) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        for cql in *statements {
            if let Err(e) = ddl(session, cql).await
                && !column_exists(cql, &e)
            {
                return Err(e);
            }
        }
        let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        let now = chrono::Utc::now().timestamp_micros();
        session.execute_unpaged(&record, (version, now)).await?;
        tracing::info!(keyspace, version, "applied store migration");
    }
    session.await_schema_agreement().await?;
    Ok(SchemaChange {
        from: current,
        to: known,
    })
}

/// The highest applied migration, 0 for a new keyspace.
pub(super) async fn current_version(session: &Session) -> Result<i64> {
    let prepared = session.prepare(CURRENT_VERSION).await?;
    let result = session
        .execute_unpaged(&prepared, ())
        .await?
        .into_rows_result()?;
    Ok(result.maybe_first_row::<(i64,)>()?.map_or(0, |(v,)| v))
}

/// True when `cql` adds a column and failed because the column exists (a
/// migration run again after it was interrupted): CQL has no `ADD … IF NOT
/// EXISTS` on Cassandra 2.1.
fn column_exists(cql: &str, e: &Error) -> bool {
    let cql = cql.trim_start().to_ascii_uppercase();
    let text = e.to_string().to_ascii_lowercase();
    cql.starts_with("ALTER TABLE")
        && cql.contains(" ADD ")
        && (text.contains("conflicts with an existing column") || text.contains("already exists"))
}

async fn ddl(session: &Session, cql: &str) -> Result<()> {
    session.query_unpaged(Statement::new(cql), ()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_adding_an_existing_column_is_forgiven() {
        let exists = Error::Unavailable(
            "Invalid column name lease_until because it conflicts with an existing column".into(),
        );
        assert!(column_exists(
            "ALTER TABLE deliveries ADD lease_until bigint",
            &exists
        ));
        assert!(!column_exists(
            "CREATE TABLE IF NOT EXISTS x (a int PRIMARY KEY)",
            &exists
        ));
        let other = Error::Unavailable("unconfigured table deliveries".into());
        assert!(!column_exists(
            "ALTER TABLE deliveries ADD lease_until bigint",
            &other
        ));
    }

    #[test]
    fn keyspace_names_are_checked() {
        assert!(valid_keyspace("agusto"));
        assert!(valid_keyspace("agusto_test_0af3"));
        for bad in ["", "Agusto", "1ks", "a-b", "a;b", "a b", &"a".repeat(49)] {
            assert!(!valid_keyspace(bad), "{bad:?}");
        }
    }

    #[test]
    fn replication_maps_are_checked() {
        assert!(valid_replication(
            "{'class': 'NetworkTopologyStrategy', 'replication_factor': 3}"
        ));
        assert!(valid_replication(
            " {'class': 'SimpleStrategy', 'replication_factor': 1} "
        ));
        for bad in [
            "",
            "3",
            "{'class': 'X'}; DROP KEYSPACE x",
            "{'replication_factor': 3}",
        ] {
            assert!(!valid_replication(bad), "{bad:?}");
        }
    }

    #[test]
    fn keyspace_ddl_switches_tablets_off() {
        let r = "{'class': 'NetworkTopologyStrategy', 'replication_factor': 3}";
        assert_eq!(
            create_keyspace("ks", r, true),
            format!(
                "CREATE KEYSPACE IF NOT EXISTS ks WITH replication = {r} AND tablets = {{'enabled': false}}"
            )
        );
        assert!(!create_keyspace("ks", r, false).contains("tablets"));
    }

    #[test]
    fn migrations_are_idempotent_ddl() {
        assert!(!MIGRATIONS.is_empty());
        for cql in MIGRATIONS.iter().flat_map(|m| m.iter()) {
            assert!(
                cql.starts_with("CREATE TABLE IF NOT EXISTS ")
                    || cql.starts_with("DROP TABLE IF EXISTS ")
                    || (cql.starts_with("ALTER TABLE ") && cql.contains(" ADD ")),
                "{cql}"
            );
            assert!(!cql.contains(';'), "one statement each: {cql}");
            assert_eq!(cql.matches('(').count(), cql.matches(')').count(), "{cql}");
        }
    }
}
