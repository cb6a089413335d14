//! `agusto`: the Agusto WMS binary. Parses the command line and wires roles;
//! everything else lives in the workspace crates.

mod config;
mod distributed;
mod serve;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;

/// Agusto WMS: the single source of truth for stock and order fulfilment.
#[derive(Parser)]
#[command(name = "agusto", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// TOML configuration file.
    #[arg(long, env = "AGUSTO_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (holds agusto.db).
    #[arg(long, env = "AGUSTO_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

impl Common {
    fn load(&self) -> anyhow::Result<Config> {
        let mut config = Config::load(self.config.as_deref())?;
        if let Some(d) = &self.data_dir {
            config.data_dir = d.clone();
        }
        Ok(config)
    }

    fn load_with(&self, listen: Option<String>) -> anyhow::Result<Config> {
        let mut config = self.load()?;
        if let Some(l) = listen {
            config.listen = l;
        }
        Ok(config)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole warehouse in one process (in-process bus, SQLite).
    Serve {
        #[command(flatten)]
        common: Common,
        /// HTTP listen address (port 0 picks a free port; the address is printed).
        #[arg(long, env = "AGUSTO_LISTEN")]
        listen: Option<String>,
    },
    /// Distributed: the HTTP API, publishing commands to Kafka (AGUSTO_KAFKA_BROKERS, AGUSTO_STORE).
    Ingest {
        #[command(flatten)]
        common: Common,
        /// HTTP listen address (port 0 picks a free port; the address is printed).
        #[arg(long, env = "AGUSTO_LISTEN")]
        listen: Option<String>,
    },
    /// Distributed: writers consuming Kafka (AGUSTO_KAFKA_BROKERS, AGUSTO_STORE); serves /healthz and /metrics.
    Worker {
        /// Which writers to run.
        #[arg(value_enum)]
        role: distributed::Role,
        #[command(flatten)]
        common: Common,
        /// Listen address of /healthz and /metrics.
        #[arg(long, env = "AGUSTO_LISTEN")]
        listen: Option<String>,
    },
    /// Print the effective configuration (file + AGUSTO_* environment + defaults).
    Config {
        #[command(flatten)]
        common: Common,
    },
    /// Ledger tools.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Recompute every product's on_hand and reserved from the movement ledger
    /// and the open orders; print differences; exit 1 if there is any.
    Verify {
        #[command(flatten)]
        common: Common,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve { common, listen } => {
            let mut config = common.load()?;
            if let Some(l) = listen {
                config.listen = l;
            }
            serve::init_logging(&config.log_format);
            runtime.block_on(serve::serve(config))
        }
        Command::Ingest { common, listen } => {
            let config = common.load_with(listen)?;
            serve::init_logging(&config.log_format);
            runtime.block_on(distributed::ingest(config))
        }
        Command::Worker {
            role,
            common,
            listen,
        } => {
            let config = common.load_with(listen)?;
            serve::init_logging(&config.log_format);
            runtime.block_on(distributed::worker(config, role))
        }
        Command::Config { common } => {
            print!("{}", common.load()?.redacted_toml()?);
            Ok(())
        }
        Command::Ledger {
            command: LedgerCommand::Verify { common },
        } => {
            let config = common.load()?;
            let code = runtime.block_on(verify(&config))?;
            std::process::exit(code);
        }
    }
}

async fn verify(config: &Config) -> anyhow::Result<i32> {
    let path = config.database();
    if !path.exists() {
        anyhow::bail!("no database at {}", path.display());
    }
    let store =
        Arc::new(agusto_store::sqlite::SqliteStore::open(&path).context("opening the store")?);
    let report = agusto_workers::ledger::verify(store.as_ref()).await?;
    for d in &report.differences {
        println!(
            "MISMATCH {}: stored on_hand={} reserved={}; ledger on_hand={} reserved={}; open orders reserve {}",
            d.product_code,
            d.stored_on_hand,
            d.stored_reserved,
            d.ledger_on_hand,
            d.ledger_reserved,
            d.open_orders_reserved
        );
    }
    if report.differences.is_empty() {
        println!(
            "ledger ok: {} products, stored quantities match the ledger and the open orders",
            report.products
        );
        Ok(0)
    } else {
        println!(
            "ledger MISMATCH: {} of {} products differ",
            report.differences.len(),
            report.products
        );
        Ok(1)
    }
}
