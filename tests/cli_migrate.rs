//! `agusto migrate` and `agusto ledger verify` through the real binary: on
//! SQLite always, on the CQL test bed when `AGUSTO_TEST_SCYLLA` is set (in
//! CI it must be; elsewhere the ScyllaDB part prints a notice and passes).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest any one `agusto` run may take.
const RUN_LIMIT: Duration = Duration::from_secs(180);
const REPLICATION: &str = "{'class': 'SimpleStrategy', 'replication_factor': 1}";

/// A fresh, unique-enough suffix: process id and clock.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("{:x}_{nanos:x}", std::process::id())
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("agusto-cli-{name}-{}", unique()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The outcome of one run.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `agusto <args>` with only the `AGUSTO_*` variables given in `env`
/// (none inherited), killing it after [`RUN_LIMIT`].
fn agusto(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agusto"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AGUSTO_") {
            cmd.env_remove(key);
        }
    }
    let (out, err) = (dir.join("run.out"), dir.join("run.err"));
    let mut child = cmd
        .args(args)
        .envs(env.iter().copied())
        .env("AGUSTO_LOG_FORMAT", "text")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("agusto runs");
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("agusto {args:?} did not finish within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: std::fs::read_to_string(out).unwrap_or_default(),
        stderr: std::fs::read_to_string(err).unwrap_or_default(),
    }
}

#[test]
fn migrate_creates_and_then_keeps_a_sqlite_database() {
    let tmp = TempDir::new("sqlite");
    let data = tmp.0.join("data");
    let data_arg = data.to_str().expect("utf-8 path");
    let first = agusto(&tmp.0, &["migrate", "--data-dir", data_arg], &[]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(data.join("agusto.db").exists(), "the database is created");
    assert!(
        first.stdout.contains("schema version 0 -> "),
        "{}",
        first.stdout
    );
    let version = first
        .stdout
        .lines()
        .find_map(|l| l.split(" -> ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the new version is printed")
        .to_owned();
    let second = agusto(&tmp.0, &["migrate", "--data-dir", data_arg], &[]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(
        second
            .stdout
            .contains(&format!("already at schema version {version}")),
        "{}",
        second.stdout
    );
    let verify = agusto(&tmp.0, &["ledger", "verify", "--data-dir", data_arg], &[]);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert!(verify.stdout.contains("ledger ok"), "{}", verify.stdout);
}

#[test]
fn verify_refuses_a_missing_sqlite_file() {
    let tmp = TempDir::new("missing");
    let missing = tmp.0.join("nothing-here.db");
    let spec = format!("sqlite:{}", missing.display());
    // --store wins over AGUSTO_STORE.
    let run = agusto(
        &tmp.0,
        &["ledger", "verify", "--store", &spec],
        &[("AGUSTO_STORE", "scylla:127.0.0.1:1")],
    );
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains(&format!("no database at {}", missing.display())),
        "{}",
        run.stderr
    );
    assert!(!missing.exists(), "verify never creates a database");
}

/// The CQL node to test against: `AGUSTO_TEST_SCYLLA`. In CI a missing
/// node fails the test; elsewhere the test returns early with a notice.
fn cql_node() -> Option<String> {
    match std::env::var("AGUSTO_TEST_SCYLLA") {
        Ok(node) if !node.trim().is_empty() => Some(node.trim().to_owned()),
        _ if std::env::var_os("CI").is_some() => panic!(
            "AGUSTO_TEST_SCYLLA is not set in CI: scripts/test-all starts the Cassandra test bed and sets it"
        ),
        _ => {
            eprintln!(
                "NOTICE: AGUSTO_TEST_SCYLLA is not set: `agusto migrate` on ScyllaDB SKIPPED \
                 (./scripts/test-all starts a Cassandra 2.1 test bed and sets it)"
            );
            None
        }
    }
}

/// Drops its keyspace on drop, whatever the test's outcome.
struct Keyspace {
    node: String,
    name: String,
}

impl Drop for Keyspace {
    fn drop(&mut self) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dropped = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), async {
                let session = scylla::client::session_builder::SessionBuilder::new()
                    .known_node(&self.node)
                    .fetch_schema_metadata(false)
                    .build()
                    .await
                    .map_err(|e| e.to_string())?;
                let cql = format!("DROP KEYSPACE IF EXISTS {}", self.name);
                session
                    .query_unpaged(scylla::statement::Statement::new(cql), ())
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<(), String>(())
            })
            .await
        });
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop keyspace {}: {e}", self.name),
            Err(_) => eprintln!("dropping keyspace {} timed out", self.name),
        }
    }
}

#[test]
fn migrate_then_verify_on_scylla() {
    let Some(node) = cql_node() else { return };
    let tmp = TempDir::new("scylla");
    let keyspace = Keyspace {
        node: node.clone(),
        name: format!("agusto_cli_{}", unique()),
    };
    let store = format!("scylla:{node}");
    let env = [
        ("AGUSTO_STORE", store.as_str()),
        ("AGUSTO_SCYLLA_KEYSPACE", keyspace.name.as_str()),
        ("AGUSTO_SCYLLA_REPLICATION", REPLICATION),
        ("AGUSTO_SCYLLA_SCHEMA_METADATA", "false"),
        ("AGUSTO_SCYLLA_SCHEMA_WAIT_SECS", "5"),
    ];
    let data = tmp.0.join("data");
    let data_arg = data.to_str().expect("utf-8 path");

    // Before migrate: verify waits (5 s here), runs no DDL, and names the fix.
    let early = agusto(&tmp.0, &["ledger", "verify", "--data-dir", data_arg], &env);
    assert_ne!(early.code, 0, "{}{}", early.stdout, early.stderr);
    assert!(
        early.stderr.contains("`agusto migrate`"),
        "{}",
        early.stderr
    );

    let first = agusto(&tmp.0, &["migrate", "--data-dir", data_arg], &env);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let applied = format!("keyspace {}: schema version 0 -> ", keyspace.name);
    assert!(first.stdout.contains(&applied), "{}", first.stdout);
    let second = agusto(&tmp.0, &["migrate", "--data-dir", data_arg], &env);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(
        second.stdout.contains("already at schema version"),
        "{}",
        second.stdout
    );

    let verify = agusto(&tmp.0, &["ledger", "verify", "--data-dir", data_arg], &env);
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    assert!(verify.stdout.contains("ledger ok"), "{}", verify.stdout);

    // --store names the same store when AGUSTO_STORE names another.
    let mut other = env;
    other[0] = ("AGUSTO_STORE", "sqlite:/nonexistent/agusto.db");
    let flagged = agusto(
        &tmp.0,
        &[
            "ledger",
            "verify",
            "--store",
            &store,
            "--data-dir",
            data_arg,
        ],
        &other,
    );
    assert_eq!(flagged.code, 0, "{}{}", flagged.stdout, flagged.stderr);
    assert!(flagged.stdout.contains("ledger ok"), "{}", flagged.stdout);
    assert!(!data.join("agusto.db").exists(), "no SQLite file was made");
}
