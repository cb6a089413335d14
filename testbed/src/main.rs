//! `agusto-testbed cassandra --home DIR [--env-file FILE] [--heap-mb N]`:
//! starts a Cassandra 2.1 node and the CQL v4 → v3 proxy in front of it on
//! free loopback ports, prints (and writes to FILE) the line
//! `AGUSTO_TEST_SCYLLA=127.0.0.1:PORT`, and runs until SIGTERM or SIGINT,
//! then stops the node and removes its data.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use agusto_testbed::cassandra::{CassandraNode, NodeOptions};
use agusto_testbed::cql_proxy::Proxy;
use anyhow::{Context, bail};
use tokio::signal::unix::{SignalKind, signal};

const USAGE: &str = "usage: agusto-testbed cassandra --home DIR [--env-file FILE] [--heap-mb N]";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("cassandra") {
        bail!("{USAGE}");
    }
    let (mut home, mut env_file, mut options) = (None, None, NodeOptions::default());
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--home" => home = Some(PathBuf::from(value)),
            "--env-file" => env_file = Some(PathBuf::from(value)),
            "--heap-mb" => options.heap_mb = value.parse().context("--heap-mb")?,
            _ => bail!("unknown flag {flag}\n{USAGE}"),
        }
    }
    let home = home.context(USAGE)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run(home, env_file, options))
}

async fn run(home: PathBuf, env_file: Option<PathBuf>, options: NodeOptions) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let began = Instant::now();
    let mut node =
        tokio::task::spawn_blocking(move || CassandraNode::start(&home, &options)).await??;
    let proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], 0)), node.native).await?;
    println!(
        "cassandra 2.1.0 accepting clients on {} after {:.1} s; CQL v4 proxy on {}",
        node.native,
        began.elapsed().as_secs_f64(),
        proxy.address
    );
    let line = format!("AGUSTO_TEST_SCYLLA={}", proxy.address);
    println!("{line}");
    if let Some(path) = &env_file {
        std::fs::write(path, format!("{line}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut check = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = check.tick() => {
                if !node.is_running() {
                    eprintln!("cassandra exited:\n{}", node.log());
                    std::process::exit(1);
                }
            }
        }
    }
    drop(proxy);
    drop(node);
    println!("cassandra stopped");
    Ok(())
}
