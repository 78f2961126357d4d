//! Layered configuration: built-in defaults → optional TOML file →
//! `XIESHANG__…` environment variables (`__` separates levels, e.g.
//! `XIESHANG__DATABASE__URL`) → command-line flags.
//!
//! Secrets (database URLs, the signing key, the bootstrap password) are
//! `SecretString`s: `Debug` prints `[REDACTED]`, so a config dump in a log
//! never carries them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
pub use figment::value::Value;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::PlatformError;

/// Every service the binary can run, in start order.
pub const ALL_SERVICES: &[&str] = &["tenants", "membership", "proposals", "consultation", "analytics"];

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the gRPC server listens on.
    pub listen: SocketAddr,
    /// Services this process runs; empty means all of them. A list, or one
    /// comma-separated string (`XIESHANG__SERVICES=proposals,analytics`).
    #[serde(deserialize_with = "services_list")]
    pub services: Vec<String>,
    /// Directory for the embedded SQLite database and the generated signing key.
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub bootstrap: BootstrapConfig,
    pub pii: PiiConfig,
    pub log: LogConfig,
    pub redis: RedisConfig,
    pub metrics: MetricsConfig,
    pub events: EventsConfig,
    /// Where the other services listen, by service name, e.g.
    /// `peers.tenants = "http://xieshang-tenants:50051"`
    /// (`XIESHANG__PEERS__TENANTS`). A service this process runs itself, or
    /// one without an entry, is reached on this process's own listener.
    pub peers: std::collections::BTreeMap<String, String>,
}

/// Distributed mode: events on Redis Streams, and the shared state every
/// replica must agree on (revoked sessions, public rate limits).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://host:6379/0`. Unset means the embedded default: the
    /// in-process bus and in-process state (one process only).
    pub url: Option<SecretString>,
    /// Key prefix of everything this installation keeps in Redis, so that two
    /// installations (or test runs) can share one Redis.
    pub prefix: String,
}

/// The Prometheus scrape endpoint.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address serving `GET /metrics` in the Prometheus text format; unset
    /// means no endpoint (OTLP export works independently).
    pub listen: Option<SocketAddr>,
}

/// Delivery of domain events to their handlers (both transports).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Deliveries of one event to one handler (the first included) after
    /// which a retryable handler error gives up: the event is recorded in
    /// `event_dead_letters` for that handler, which goes on with later
    /// events. A permanent error gives up at once. Default 10, at least 1
    /// (`XIESHANG__EVENTS__MAX_ATTEMPTS`).
    pub max_attempts: u32,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self { max_attempts: 10 }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path?mode=rwc` or `postgres://user@host/db`. Empty means the
    /// embedded default, `sqlite://<data_dir>/xieshang.db`.
    pub url: SecretString,
    /// URL used to run migrations (a role that may create tables); defaults to `url`.
    pub admin_url: Option<SecretString>,
    /// PostgreSQL only: the role every connection switches to (`SET ROLE`), so
    /// row-level security applies even when the login role could bypass it.
    /// Empty disables the switch (the login role must then be a plain member).
    pub app_role: String,
    /// PostgreSQL pool size (SQLite always uses one connection; see [`crate::db`]).
    pub max_connections: u32,
    /// Run pending migrations at start-up.
    pub auto_migrate: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// HMAC key for access tokens (at least 32 bytes). Required with
    /// PostgreSQL, where several replicas must share it; with SQLite a key is
    /// generated into `<data_dir>/signing.key` on first start.
    pub signing_key: Option<SecretString>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootstrapConfig {
    /// Username of the platform operator created on first start.
    pub username: String,
    /// Its password; when unset, a one-time password is generated and printed once.
    pub password: Option<SecretString>,
}

/// Personal information (phone and ID numbers) is encrypted at rest.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PiiConfig {
    /// The SM4 key, 32 hex digits (128 bits). Required with PostgreSQL; with
    /// SQLite one is generated into `<data_dir>/pii.key` on first start.
    /// Losing it makes the encrypted fields unreadable: back it up.
    pub key: Option<SecretString>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `human` (default) or `json`.
    pub format: LogFormat,
    /// `tracing` filter directives, e.g. `info,xieshang_tenants=debug`.
    /// `RUST_LOG`, when set, wins.
    pub filter: String,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            services: Vec::new(),
            data_dir: PathBuf::from("data"),
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            bootstrap: BootstrapConfig::default(),
            pii: PiiConfig::default(),
            log: LogConfig::default(),
            redis: RedisConfig::default(),
            metrics: MetricsConfig::default(),
            events: EventsConfig::default(),
            peers: Default::default(),
        }
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self { url: None, prefix: "xieshang".to_owned() }
    }
}

impl RedisConfig {
    /// The stream carrying domain events.
    pub fn event_stream(&self) -> String {
        format!("{}:events", self.prefix)
    }

    /// The URL with any password replaced, for logs.
    pub fn redacted_url(&self) -> Option<String> {
        self.url.as_ref().map(|url| redact(url.expose_secret()))
    }
}

fn services_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let names = match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(text) => text.split(',').map(str::to_owned).collect(),
        OneOrMany::Many(names) => names,
    };
    Ok(names.into_iter().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).collect())
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: SecretString::from(""),
            admin_url: None,
            app_role: "xieshang_app".to_owned(),
            max_connections: 10,
            auto_migrate: true,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self { signing_key: None, access_token_ttl_secs: 15 * 60, refresh_token_ttl_secs: 30 * 24 * 3600 }
    }
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        Self { username: "operator".to_owned(), password: None }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::Human, filter: "info".to_owned() }
    }
}

impl Config {
    /// Loads the layers. `file` is read if given (it must then exist);
    /// `overrides` are the command-line flags, as `("database.url", value)`.
    pub fn load(file: Option<&Path>, overrides: &[(&str, Value)]) -> Result<Self, PlatformError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.exists() {
                return Err(PlatformError::Config(format!("config file {} does not exist", file.display())));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(Env::prefixed("XIESHANG__").split("__"));
        for (key, value) in overrides {
            figment = figment.merge((*key, value.clone()));
        }
        let mut config: Config = figment.extract().map_err(|e| PlatformError::Config(e.to_string()))?;
        config.normalize()?;
        Ok(config)
    }

    fn normalize(&mut self) -> Result<(), PlatformError> {
        if self.database.url.expose_secret().is_empty() {
            let path = self.data_dir.join("xieshang.db");
            self.database.url = SecretString::from(format!("sqlite://{}?mode=rwc", path.display()));
        }
        for name in &self.services {
            if !ALL_SERVICES.contains(&name.as_str()) {
                return Err(PlatformError::Config(format!(
                    "unknown service {name:?}; known services: {}",
                    ALL_SERVICES.join(", ")
                )));
            }
        }
        // Environment keys arrive lower-cased already; normalise file keys too.
        self.peers = std::mem::take(&mut self.peers).into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        for (name, url) in &self.peers {
            if !ALL_SERVICES.contains(&name.as_str()) {
                return Err(PlatformError::Config(format!(
                    "peers.{name}: unknown service; known services: {}",
                    ALL_SERVICES.join(", ")
                )));
            }
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(PlatformError::Config(format!("peers.{name}: {url:?} must be an http:// or https:// URL")));
            }
        }
        if self.auth.access_token_ttl_secs == 0 || self.auth.refresh_token_ttl_secs == 0 {
            return Err(PlatformError::Config("auth token lifetimes must be positive".into()));
        }
        if self.events.max_attempts == 0 {
            return Err(PlatformError::Config("events.max_attempts must be at least 1".into()));
        }
        Ok(())
    }

    /// Whether this process runs `service`.
    pub fn runs(&self, service: &str) -> bool {
        self.services.is_empty() || self.services.iter().any(|s| s == service)
    }
}

impl DatabaseConfig {
    pub fn is_sqlite(&self) -> bool {
        self.url.expose_secret().starts_with("sqlite:")
    }

    /// The URL with any password replaced, for logs.
    pub fn redacted_url(&self) -> String {
        redact(self.url.expose_secret())
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_platform() {
        let config = Config::load(None, &[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:50051");
        assert!(config.database.is_sqlite());
        assert!(config.runs("tenants"));
    }

    #[test]
    fn flags_override_and_unknown_services_are_rejected() {
        let config = Config::load(None, &[("listen", Value::from("0.0.0.0:6000"))]).unwrap();
        assert_eq!(config.listen.port(), 6000);
        let err = Config::load(None, &[("services", Value::from(vec!["nonsense".to_owned()]))]);
        assert!(err.is_err());
    }

    #[test]
    fn services_may_be_one_comma_separated_string() {
        let config = Config::load(None, &[("services", Value::from("proposals, analytics"))]).unwrap();
        assert_eq!(config.services, ["proposals", "analytics"]);
        assert!(config.runs("analytics") && !config.runs("tenants"));
        assert!(Config::load(None, &[("services", Value::from("proposals,tally"))]).is_err());
    }

    #[test]
    fn peers_name_known_services_by_url() {
        let config = Config::load(None, &[("peers.tenants", Value::from("http://xieshang-tenants:50051"))]).unwrap();
        assert_eq!(config.peers["tenants"], "http://xieshang-tenants:50051");
        assert!(Config::load(None, &[("peers.tally", Value::from("http://x:1"))]).is_err());
        assert!(Config::load(None, &[("peers.tenants", Value::from("xieshang-tenants:50051"))]).is_err());
    }

    #[test]
    fn event_attempts_default_to_ten_and_must_be_positive() {
        assert_eq!(Config::load(None, &[]).unwrap().events.max_attempts, 10);
        let config = Config::load(None, &[("events.max_attempts", Value::from(3u32))]).unwrap();
        assert_eq!(config.events.max_attempts, 3);
        assert!(Config::load(None, &[("events.max_attempts", Value::from(0u32))]).is_err());
    }

    #[test]
    fn secrets_do_not_appear_in_debug_output() {
        let config =
            Config::load(None, &[("database.url", Value::from("postgres://app:hunter2@db/xieshang"))]).unwrap();
        let config =
            Config { redis: RedisConfig { url: Some("redis://:s3cret@cache:6379".into()), ..config.redis }, ..config };
        let dump = format!("{config:?}");
        assert!(!dump.contains("s3cret"), "{dump}");
        assert!(!dump.contains("hunter2"), "{dump}");
        assert_eq!(config.database.redacted_url(), "postgres://app:***@db/xieshang");
    }
}
