//! Effective configuration: defaults, then a TOML file (`--config` /
//! `AGUSTO_CONFIG`), then `AGUSTO_<FIELD>` environment variables, then flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// Every setting of every role. Each field `x` can be set in the file as `x`
/// and in the environment as `AGUSTO_X`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP listen address of `agusto serve` and `agusto ingest`.
    pub listen: String,
    /// Listen address of `/healthz`, `/readyz` and `/metrics` of `agusto
    /// worker` when neither `--listen` nor `AGUSTO_LISTEN` is given: its own
    /// port, so every role runs on one host with the defaults.
    pub worker_listen: String,
    /// Separate listen address for `/metrics` (it is also on `listen`).
    pub metrics_listen: String,
    /// Data directory (SQLite file `agusto.db`).
    pub data_dir: PathBuf,
    /// Admin token; generated and printed once on first start when empty.
    pub admin_token: String,
    /// How long an unpaid order holds its stock.
    pub reservation_ttl_secs: u64,
    /// How long `POST /orders` waits for the outcome before answering 202.
    pub order_wait_ms: u64,
    /// Webhook retries after the first attempt.
    pub webhook_max_retries: u32,
    /// First webhook retry delay; doubles per retry, with jitter.
    pub webhook_backoff_base_ms: u64,
    /// Per-attempt webhook timeout.
    pub webhook_timeout_ms: u64,
    /// Largest Retry-After (seconds) honoured on a 429/503 from a receiver.
    pub webhook_max_retry_after_secs: u64,
    /// How long a webhook worker's claim holds a delivery; a worker that
    /// dies mid-attempt delays that delivery this long. At least
    /// `webhook_timeout_ms` + 1000 (an attempt must end inside its lease).
    pub webhook_lease_ms: u64,
    /// Webhook attempts in flight at once.
    pub webhook_concurrency: u32,
    /// Webhook attempts in flight at once to one channel.
    pub webhook_per_channel: u32,
    /// Comma-separated CIDRs webhooks must never reach (wins over the allow list).
    pub webhook_deny_cidrs: String,
    /// Comma-separated CIDRs of loopback, private or otherwise special
    /// addresses webhooks may reach after all (e.g. `127.0.0.0/8` for a
    /// local test receiver); empty: public addresses only.
    pub webhook_allow_cidrs: String,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// How long a request head may take to arrive (then the connection is
    /// closed; this also closes keep-alive connections idle that long) and
    /// a request body (then 408).
    pub http_read_timeout_ms: u64,
    /// How long an ingress caches tokens, channels and catalogue lookups
    /// (changes through another ingress show after at most this; 0: no cache).
    pub cache_ttl_ms: u64,
    /// Stock writer partitions.
    pub stock_partitions: u32,
    /// Partitions of agusto.order.commands, the previous release's order
    /// topic (forwarded by `agusto worker orders` during a rolling upgrade).
    pub order_partitions: u32,
    /// Requests per second of a channel without its own limit.
    pub default_rate_limit_per_second: u32,
    /// How often unpaid orders past their deadline are expired.
    pub expiry_interval_ms: u64,
    /// `auto` (JSON unless on a terminal), `json` or `text`.
    pub log_format: String,
    /// Distributed mode: `sqlite:<path>` (default: the data dir's file) or `scylla:<host:port,...>`.
    pub store: String,
    /// Keyspace of the ScyllaDB store.
    pub scylla_keyspace: String,
    /// CQL replication map used when the keyspace is created.
    pub scylla_replication: String,
    /// Whether the ScyllaDB driver reads the schema (`system_schema`) to
    /// route each request to a replica. Keep it on; only servers without
    /// `system_schema` (the Cassandra 2.1 test bed) need it off.
    pub scylla_schema_metadata: bool,
    /// Client-side limit of one ScyllaDB request (a writer's batch
    /// included), retries included.
    pub scylla_request_timeout_ms: u64,
    /// How long `agusto ingest`, `agusto worker` and `agusto ledger verify`
    /// wait for the ScyllaDB keyspace to reach this build's schema version
    /// (applied by `agusto migrate`) before giving up.
    pub scylla_schema_wait_secs: u64,
    /// Distributed mode: Kafka bootstrap brokers, comma-separated.
    pub kafka_brokers: String,
    /// Partitions of the replies topic.
    pub reply_partitions: u32,
    /// Replication factor of topics created at start-up.
    pub kafka_replication: u32,
    /// Consumer group session timeout.
    pub kafka_session_timeout_ms: u64,
    /// Longest gap between polls (also the rebalance timeout).
    pub kafka_max_poll_interval_ms: u64,
    /// This process's id on the bus (reply routing); generated when empty.
    pub instance_id: String,
    /// Producer linger before sending a batch of messages.
    pub kafka_linger_ms: u64,
    /// Longest time a consumer's fetch waits at the broker for data.
    pub kafka_fetch_wait_max_ms: u64,
    /// How long a published command or reply may wait for the broker's
    /// acknowledgement; past it the request is answered 503 (keep it below
    /// `order_wait_ms`).
    pub kafka_publish_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            worker_listen: "127.0.0.1:9464".into(),
            metrics_listen: String::new(),
            data_dir: PathBuf::from("./agusto-data"),
            admin_token: String::new(),
            reservation_ttl_secs: 1800,
            order_wait_ms: 5000,
            webhook_max_retries: 3,
            webhook_backoff_base_ms: 2000,
            webhook_timeout_ms: 10_000,
            webhook_max_retry_after_secs: 300,
            webhook_lease_ms: 30_000,
            webhook_concurrency: 64,
            webhook_per_channel: 8,
            webhook_deny_cidrs: "169.254.0.0/16,fe80::/10".into(),
            webhook_allow_cidrs: String::new(),
            max_body_bytes: 1_048_576,
            http_read_timeout_ms: 75_000,
            cache_ttl_ms: 1000,
            stock_partitions: 4,
            order_partitions: 4,
            default_rate_limit_per_second: 1000,
            expiry_interval_ms: 1000,
            log_format: "auto".into(),
            store: String::new(),
            scylla_keyspace: "agusto".into(),
            scylla_replication: "{'class': 'NetworkTopologyStrategy', 'replication_factor': 3}"
                .into(),
            scylla_schema_metadata: true,
            scylla_request_timeout_ms: 5000,
            scylla_schema_wait_secs: 120,
            kafka_brokers: "127.0.0.1:9092".into(),
            reply_partitions: 8,
            kafka_replication: 1,
            kafka_session_timeout_ms: 10_000,
            kafka_max_poll_interval_ms: 30_000,
            instance_id: String::new(),
            kafka_linger_ms: 1,
            kafka_fetch_wait_max_ms: 5,
            kafka_publish_timeout_ms: 3000,
        }
    }
}

impl Config {
    /// Defaults, overlaid by the file (if any) and the `AGUSTO_*` environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut table = toml::Table::try_from(Config::default()).context("default config")?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            let from_file: toml::Table = text
                .parse()
                .with_context(|| format!("parsing {}", path.display()))?;
            for (k, v) in from_file {
                if !table.contains_key(&k) {
                    bail!("{}: unknown setting `{k}`", path.display());
                }
                table.insert(k, v);
            }
        }
        let keys: Vec<String> = table.keys().cloned().collect();
        for key in keys {
            let var = format!("AGUSTO_{}", key.to_uppercase());
            let Ok(raw) = std::env::var(&var) else {
                continue;
            };
            let value = match &table[&key] {
                toml::Value::Integer(_) => toml::Value::Integer(
                    raw.trim()
                        .parse()
                        .with_context(|| format!("{var}={raw}: expected an integer"))?,
                ),
                toml::Value::Boolean(_) => toml::Value::Boolean(
                    raw.trim()
                        .parse()
                        .with_context(|| format!("{var}={raw}: expected true or false"))?,
                ),
                _ => toml::Value::String(raw),
            };
            table.insert(key, value);
        }
        let config: Config = table.try_into().context("invalid configuration")?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.stock_partitions == 0 || self.order_partitions == 0 {
            bail!("stock_partitions and order_partitions must be at least 1");
        }
        if self.http_read_timeout_ms == 0 {
            bail!("http_read_timeout_ms must be positive");
        }
        if self.max_body_bytes < 1024 {
            bail!("max_body_bytes must be at least 1024");
        }
        if self.expiry_interval_ms == 0 || self.default_rate_limit_per_second == 0 {
            bail!("expiry_interval_ms and default_rate_limit_per_second must be positive");
        }
        if !matches!(self.log_format.as_str(), "auto" | "json" | "text") {
            bail!("log_format must be auto, json or text");
        }
        if self.webhook_lease_ms < self.webhook_timeout_ms.saturating_add(1000) {
            bail!(
                "webhook_lease_ms ({}) must be at least webhook_timeout_ms + 1000 ({}): \
                 an attempt must end inside its lease",
                self.webhook_lease_ms,
                self.webhook_timeout_ms.saturating_add(1000)
            );
        }
        self.webhook_targets()?;
        Ok(())
    }

    /// Where webhooks may go: `webhook_allow_cidrs` and `webhook_deny_cidrs`.
    fn webhook_targets(&self) -> anyhow::Result<agusto_workers::webhooks::TargetPolicy> {
        Ok(agusto_workers::webhooks::TargetPolicy::new(
            cidrs("webhook_allow_cidrs", &self.webhook_allow_cidrs)?,
            cidrs("webhook_deny_cidrs", &self.webhook_deny_cidrs)?,
        ))
    }

    /// Settings of the webhook worker.
    pub fn webhooks(&self) -> anyhow::Result<agusto_workers::webhooks::Settings> {
        Ok(agusto_workers::webhooks::Settings {
            max_retries: self.webhook_max_retries,
            backoff_base: Duration::from_millis(self.webhook_backoff_base_ms),
            timeout: Duration::from_millis(self.webhook_timeout_ms),
            max_retry_after: Duration::from_secs(self.webhook_max_retry_after_secs),
            concurrency: self.webhook_concurrency.max(1) as usize,
            per_channel: self.webhook_per_channel.max(1) as usize,
            targets: self.webhook_targets()?,
            lease: Duration::from_millis(self.webhook_lease_ms),
            worker_id: if self.instance_id.is_empty() {
                "webhooks".to_owned()
            } else {
                self.instance_id.clone()
            },
            ..Default::default()
        })
    }

    /// The SQLite file in the data directory.
    pub fn database(&self) -> PathBuf {
        self.data_dir.join("agusto.db")
    }

    /// Settings of the ingress.
    pub fn ingest(&self) -> agusto_ingest::Settings {
        agusto_ingest::Settings {
            max_body_bytes: self.max_body_bytes,
            reservation_ttl: Duration::from_secs(self.reservation_ttl_secs),
            default_rate_limit_per_second: self.default_rate_limit_per_second,
            cache_ttl: Duration::from_millis(self.cache_ttl_ms),
            read_timeout: self.http_read_timeout(),
        }
    }

    /// How long a request head or body may take to arrive.
    pub fn http_read_timeout(&self) -> Duration {
        Duration::from_millis(self.http_read_timeout_ms)
    }

    /// Settings of the embedded runtime.
    pub fn embedded(&self) -> anyhow::Result<agusto_workers::embedded::Settings> {
        Ok(agusto_workers::embedded::Settings {
            stock_partitions: self.stock_partitions,
            order_wait: Duration::from_millis(self.order_wait_ms),
            expiry_interval: Duration::from_millis(self.expiry_interval_ms),
            webhooks: Some(self.webhooks()?),
            ..Default::default()
        })
    }

    /// Kafka settings for a process playing `role` (used in a generated instance id).
    pub fn kafka(&self, role: &str) -> agusto_bus::kafka::KafkaSettings {
        let instance_id = if self.instance_id.is_empty() {
            format!(
                "{role}-{}-{:x}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_micros()
            )
        } else {
            self.instance_id.clone()
        };
        agusto_bus::kafka::KafkaSettings {
            brokers: self.kafka_brokers.clone(),
            stock_partitions: self.stock_partitions,
            order_partitions: self.order_partitions,
            reply_partitions: self.reply_partitions.max(1),
            replication: self.kafka_replication.max(1) as i32,
            session_timeout: Duration::from_millis(self.kafka_session_timeout_ms),
            max_poll_interval: Duration::from_millis(self.kafka_max_poll_interval_ms),
            instance_id,
            linger: Duration::from_millis(self.kafka_linger_ms),
            fetch_wait_max: Duration::from_millis(self.kafka_fetch_wait_max_ms),
            publish_timeout: Duration::from_millis(self.kafka_publish_timeout_ms),
        }
    }

    /// The configuration as TOML, with the admin token hidden.
    pub fn redacted_toml(&self) -> anyhow::Result<String> {
        let mut shown = self.clone();
        if !shown.admin_token.is_empty() {
            shown.admin_token = "<set>".into();
        }
        Ok(toml::to_string(&shown)?)
    }
}

/// A comma-separated CIDR list of setting `name` (a bare address is a /32 or /128).
fn cidrs(name: &str, list: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    list.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.parse::<ipnet::IpNet>()
                .or_else(|_| c.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .with_context(|| format!("{name}: {c} is not a CIDR"))
        })
        .collect()
}
