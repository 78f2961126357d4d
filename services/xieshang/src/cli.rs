//! Command-line interface: `serve`, `migrate`, the maintenance commands
//! (`analytics`, `events`, `pii`), and the client commands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use xieshang_platform::config::{Config, Value};

#[derive(Debug, Parser)]
#[command(name = "xieshang", version, about = "协商 — the platform CPPCC committees run on")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (every service, one process, SQLite under ./data by default).
    Serve(ServerArgs),
    /// Apply, roll back or list database migrations.
    Migrate {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Analytics maintenance: rebuild every counter from the event log.
    Analytics {
        #[command(flatten)]
        server: ServerArgs,
        #[command(subcommand)]
        action: AnalyticsAction,
    },
    /// Events handlers gave up on (dead letters): list, retry, discard.
    Events {
        #[command(subcommand)]
        action: crate::events_cli::EventsAction,
    },
    /// Personal information at rest: re-encrypt it under a new SM4 key.
    Pii {
        #[command(subcommand)]
        action: PiiAction,
    },
    #[command(flatten)]
    Client(crate::client::ClientCommand),
}

#[derive(Debug, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the latest migrations.
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum AnalyticsAction {
    /// Recompute every counter by replaying the retained event log (the repair
    /// tool when figures drift, and after a county moves to another city).
    Rebuild,
}

#[derive(Debug, Subcommand)]
pub enum PiiAction {
    /// Re-encrypt every member's phone and ID number (and studio requests'
    /// contact phones) from the configured `pii.key` to a new key, and
    /// recompute the ID-number digests. Stop the servers first; afterwards
    /// put the new key in `pii.key` and start them. Safe to run again if it
    /// stopped half way.
    ///
    /// The new key (32 hex digits) comes from a file or from the environment
    /// variable XIESHANG_NEW_PII_KEY, never from the command line, where `ps`
    /// and shell history would show it.
    Rekey {
        // Here rather than on `pii`, so that they follow `rekey` on the command line.
        #[command(flatten)]
        server: ServerArgs,
        /// File holding the new key (32 hexadecimal digits).
        #[arg(long, value_name = "FILE")]
        new_key_file: Option<PathBuf>,
    },
}

/// Flags shared by the commands that open the database; each overrides the
/// configuration file and `XIESHANG__…` variables.
#[derive(Debug, Args)]
pub struct ServerArgs {
    /// TOML configuration file.
    #[arg(long, env = "XIESHANG_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on, e.g. 0.0.0.0:50051.
    #[arg(long)]
    pub listen: Option<String>,
    /// Database URL: sqlite://path?mode=rwc or postgres://user@host/db.
    #[arg(long)]
    pub database: Option<String>,
    /// Directory for the embedded database and generated key.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Services to run, comma-separated (default: all).
    #[arg(long, value_delimiter = ',')]
    pub services: Vec<String>,
    /// Log format: human or json.
    #[arg(long)]
    pub log_format: Option<String>,
}

impl ServerArgs {
    pub fn load(&self) -> Result<Config, xieshang_platform::PlatformError> {
        let mut overrides: Vec<(&str, Value)> = Vec::new();
        if let Some(v) = &self.listen {
            overrides.push(("listen", Value::from(v.clone())));
        }
        if let Some(v) = &self.database {
            overrides.push(("database.url", Value::from(v.clone())));
        }
        if let Some(v) = &self.data_dir {
            overrides.push(("data_dir", Value::from(v.display().to_string())));
        }
        if !self.services.is_empty() {
            overrides.push(("services", Value::from(self.services.clone())));
        }
        if let Some(v) = &self.log_format {
            overrides.push(("log.format", Value::from(v.clone())));
        }
        Config::load(self.config.as_deref(), &overrides)
    }
}
