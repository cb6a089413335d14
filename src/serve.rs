//! `agusto serve`: the embedded all-in-one process.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use agusto_store::{Role, Store, TokenRecord};
use anyhow::Context;

use crate::config::Config;

/// Logs to stderr: JSON unless on a terminal (or as configured); level from `RUST_LOG` (default info).
pub fn init_logging(format: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let json = match format {
        "json" => true,
        "text" => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Makes sure an admin token exists: the configured one (stored hashed), or
/// on first start a generated one, printed once.
pub async fn bootstrap_admin(store: &dyn Store, configured: &str) -> anyhow::Result<()> {
    let token = if !configured.is_empty() {
        if store
            .token_by_hash(&agusto_ingest::token_hash(configured))
            .await?
            .is_some()
        {
            return Ok(());
        }
        configured.to_owned()
    } else if store.has_admin_token().await? {
        return Ok(());
    } else {
        let t = agusto_ingest::new_secret("aga_");
        println!("admin token (shown once, store it now): {t}");
        t
    };
    let record = TokenRecord {
        id: agusto_ingest::new_id("tok"),
        name: "admin".into(),
        role: Role::Admin,
        channel_id: None,
        token_hash: agusto_ingest::token_hash(&token),
        created_at: agusto_schemas::now(),
    };
    store.insert_token(&record).await?;
    Ok(())
}

/// Runs until SIGTERM / Ctrl-C, then drains: in-flight requests finish, the
/// writers flush what is queued, and the process exits.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let store = open_sqlite(&config.database())?;
    bootstrap_admin(store.as_ref(), &config.admin_token).await?;
    let running = agusto_workers::embedded::start(store.clone(), &config.embedded()?).await?;
    let app = agusto_ingest::app(store.clone(), running.warehouse(), config.ingest());
    let listener = listen(&config).await?;
    println!(
        "agusto listening on http://{} (data in {})",
        listener.local_addr()?,
        config.data_dir.display()
    );
    println!("staff console: http://{}/console", listener.local_addr()?);
    serve_http(listener, app, config.http_read_timeout()).await?;
    tracing::info!("draining writers");
    running.shutdown(Duration::from_secs(10)).await;
    tracing::info!("stopped");
    Ok(())
}

/// Opens the SQLite store at `path`.
pub fn open_sqlite(path: &std::path::Path) -> anyhow::Result<Arc<dyn Store>> {
    let store = agusto_store::sqlite::SqliteStore::open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    Ok(Arc::new(store))
}

/// Binds the main listener (and the separate metrics listener, if configured).
pub async fn listen(config: &Config) -> anyhow::Result<tokio::net::TcpListener> {
    if !config.metrics_listen.is_empty() {
        let metrics = tokio::net::TcpListener::bind(&config.metrics_listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.metrics_listen))?;
        tracing::info!(addr = %metrics.local_addr()?, "metrics listening");
        let router = axum::Router::new().route(
            "/metrics",
            axum::routing::get(agusto_ingest::metrics_handler),
        );
        tokio::spawn(async move { axum::serve(metrics, router).await });
    }
    tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))
}

/// Serves `app` until SIGTERM / Ctrl-C; in-flight requests finish first. A
/// request head or body must arrive within `read_timeout`.
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    read_timeout: Duration,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "http listening");
    agusto_ingest::server::serve(listener, app, read_timeout, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
