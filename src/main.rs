//! `agusto`: the Agusto WMS binary. Parses the command line and wires roles;
//! everything else lives in the workspace crates.

mod admin;
mod config;
mod distributed;
mod serve;
mod store_spec;

use std::path::PathBuf;

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

    /// [`Common::load`], with `--store` (if given) over `AGUSTO_STORE`.
    fn load_store(&self, store: Option<String>) -> anyhow::Result<Config> {
        let mut config = self.load()?;
        if let Some(s) = store {
            config.store = s;
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
        /// Listen address of /healthz and /metrics (default: the
        /// `worker_listen` setting, 127.0.0.1:9464).
        #[arg(long, env = "AGUSTO_LISTEN")]
        listen: Option<String>,
    },
    /// Apply the store's schema migrations (run once per deploy, before
    /// ingest and the workers, which wait for it on ScyllaDB), then exit.
    Migrate {
        #[command(flatten)]
        common: Common,
        /// Store to migrate: sqlite:PATH or scylla:HOST:PORT,... (overrides AGUSTO_STORE).
        #[arg(long)]
        store: Option<String>,
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
        /// Store to verify: sqlite:PATH or scylla:HOST:PORT,... (overrides AGUSTO_STORE;
        /// default: the data dir's SQLite file).
        #[arg(long)]
        store: Option<String>,
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
            let mut config = common.load()?;
            config.listen = listen.unwrap_or_else(|| config.worker_listen.clone());
            serve::init_logging(&config.log_format);
            runtime.block_on(distributed::worker(config, role))
        }
        Command::Migrate { common, store } => {
            let config = common.load_store(store)?;
            serve::init_logging(&config.log_format);
            if let Err(e) = runtime.block_on(admin::migrate(&config)) {
                eprintln!("agusto migrate failed: {e:#}");
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Config { common } => {
            print!("{}", common.load()?.redacted_toml()?);
            Ok(())
        }
        Command::Ledger {
            command: LedgerCommand::Verify { common, store },
        } => {
            let config = common.load_store(store)?;
            serve::init_logging(&config.log_format);
            let code = runtime.block_on(admin::verify(&config))?;
            std::process::exit(code);
        }
    }
}
