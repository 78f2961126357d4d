//! `xieshang events …`: the operator's tools for events that handlers gave up
//! on (the `event_dead_letters` table, see `xieshang_platform::events`).
//!
//! Like `xieshang analytics rebuild`, these commands open the database
//! directly (in the `System` scope) rather than calling a server: `retry`
//! re-delivers the stored event to the named handler in this process, built
//! from the same services the server runs. Handlers are idempotent on the
//! event id, so retrying an event that was in fact applied is harmless, and
//! running these while servers run is safe.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::{Value, json};
use uuid::Uuid;
use xieshang_platform::config::Config;
use xieshang_platform::db::Db;
use xieshang_platform::events::{DeadLetter, DeadLetters, EventHandler};

use crate::cli::ServerArgs;

/// Longest error text shown in the table (the JSON output has it whole).
const ERROR_WIDTH: usize = 80;

#[derive(Debug, Subcommand)]
pub enum EventsAction {
    /// List the events handlers gave up on and that wait for an operator.
    DeadLetters {
        #[command(flatten)]
        server: ServerArgs,
        /// Only the entries of this handler (e.g. `analytics`, `membership`).
        #[arg(long)]
        handler: Option<String>,
        /// Include resolved entries (retried or discarded).
        #[arg(long)]
        resolved: bool,
        /// JSON (full error texts) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Re-deliver a dead letter to its handler and mark it resolved when the
    /// handler succeeds. Fix the cause first; the event is applied out of
    /// its original order.
    Retry {
        #[command(flatten)]
        server: ServerArgs,
        /// The dead letter's id (the ID column of `events dead-letters`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<Uuid>,
        /// Every unresolved dead letter, oldest first (of --handler only, if given).
        #[arg(long)]
        all: bool,
        #[arg(long, requires = "all")]
        handler: Option<String>,
    },
    /// Mark a dead letter resolved without applying it (the reason is kept).
    Discard {
        #[command(flatten)]
        server: ServerArgs,
        /// The dead letter's id.
        id: Uuid,
        /// Why it is not applied, for whoever reads the table later.
        #[arg(long)]
        reason: String,
    },
}

impl EventsAction {
    /// The database flags of whichever action this is.
    pub fn server(&self) -> &ServerArgs {
        match self {
            Self::DeadLetters { server, .. } | Self::Retry { server, .. } | Self::Discard { server, .. } => server,
        }
    }
}

/// The handlers `retry` may re-deliver to.
#[derive(Default)]
pub struct Handlers {
    pub handlers: Vec<Arc<dyn EventHandler>>,
    /// Why some services' handlers could not be built, for the error about a
    /// handler that is not there.
    pub unavailable: Option<String>,
}

impl Handlers {
    fn find(&self, name: &str) -> Result<&dyn EventHandler> {
        if let Some(handler) = self.handlers.iter().find(|h| h.name() == name) {
            return Ok(handler.as_ref());
        }
        let known: Vec<&str> = self.handlers.iter().map(|h| h.name()).collect();
        let mut message = format!("no handler named {name:?} here (known: {})", known.join(", "));
        if let Some(why) = &self.unavailable {
            message.push_str("; ");
            message.push_str(why);
        }
        bail!(message)
    }
}

/// Runs `action` against the configured database.
pub async fn run(config: &Config, action: EventsAction, out: &mut dyn Write) -> Result<()> {
    let db = Db::connect(&config.database)
        .await
        .with_context(|| format!("cannot open the database {}", config.database.redacted_url()))?;
    let handlers = match action {
        EventsAction::Retry { .. } => service_handlers(config, &db)?,
        _ => Handlers::default(),
    };
    execute(&DeadLetters::new(db), &handlers, action, out).await
}

/// Every service's event handlers, as the server subscribes them. The
/// membership handlers need the SM4 key: the configured `pii.key` or the
/// embedded default's existing `<data_dir>/pii.key` (never generated here).
pub fn service_handlers(config: &Config, db: &Db) -> Result<Handlers> {
    let mut handlers = Handlers::default();
    handlers.handlers.extend(xieshang_proposals::ProposalsService::new(db.clone()).event_handlers());
    handlers.handlers.extend(xieshang_consultation::ConsultationService::new(db.clone()).event_handlers());
    handlers.handlers.extend(xieshang_analytics::AnalyticsService::new(db.clone()).event_handlers());
    match pii_key(config) {
        Ok(key) => {
            handlers.handlers.extend(xieshang_membership::MembershipService::new(db.clone(), key).event_handlers())
        }
        Err(why) => handlers.unavailable = Some(format!("the membership handlers need pii.key: {why:#}")),
    }
    Ok(handlers)
}

fn pii_key(config: &Config) -> Result<[u8; 16]> {
    use secrecy::ExposeSecret as _;
    let hex = match &config.pii.key {
        Some(key) => key.expose_secret().to_owned(),
        None if config.database.is_sqlite() => {
            let path = config.data_dir.join("pii.key");
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?
        }
        None => bail!("pii.key (XIESHANG__PII__KEY) is not configured"),
    };
    xieshang_membership::rekey::parse_key(&hex).map_err(|e| anyhow::anyhow!("pii.key: {e}"))
}

/// Runs `action` on `dead_letters`, re-delivering to `handlers`. What
/// [`run`] does once connected; tests call it with their own handlers.
pub async fn execute(
    dead_letters: &DeadLetters,
    handlers: &Handlers,
    action: EventsAction,
    out: &mut dyn Write,
) -> Result<()> {
    match action {
        EventsAction::DeadLetters { handler, resolved, json, .. } => {
            let entries = dead_letters.list(handler.as_deref(), resolved).await.context("listing dead letters")?;
            if json {
                let list: Vec<Value> = entries.iter().map(entry_json).collect();
                serde_json::to_writer_pretty(&mut *out, &Value::Array(list))?;
                writeln!(out)?;
            } else if entries.is_empty() {
                writeln!(out, "no {}dead letters", if resolved { "" } else { "unresolved " })?;
            } else {
                writeln!(out, "{}", table(&entries, resolved))?;
                let open = entries.iter().filter(|e| e.resolved_at.is_none()).count();
                writeln!(
                    out,
                    "{open} unresolved: after fixing the cause, `xieshang events retry <ID>` (or `--all`); \
                     or `xieshang events discard <ID> --reason …`"
                )?;
            }
        }
        EventsAction::Retry { id, all, handler, .. } => {
            let ids = match id {
                Some(id) => vec![id],
                None if all => dead_letters
                    .list(handler.as_deref(), false)
                    .await
                    .context("listing dead letters")?
                    .iter()
                    .map(|e| e.id)
                    .collect(),
                None => bail!("name a dead letter id, or --all"),
            };
            if ids.is_empty() {
                writeln!(out, "no unresolved dead letters to retry")?;
                return Ok(());
            }
            let mut failed = 0usize;
            for id in &ids {
                match retry_one(dead_letters, handlers, *id).await {
                    Ok(entry) => writeln!(
                        out,
                        "retried {id}: {} {} applied by {}",
                        entry.event_type, entry.event_id, entry.handler
                    )?,
                    // One id: the error is the command's. Several: report each, fail at the end.
                    Err(err) if !all => return Err(err),
                    Err(err) => {
                        failed += 1;
                        writeln!(out, "failed {id}: {err:#}")?;
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} of {} dead letters could not be retried (they stay unresolved)", ids.len());
            }
        }
        EventsAction::Discard { id, reason, .. } => {
            let reason = reason.trim();
            if reason.is_empty() {
                bail!("--reason must say why the event is not applied");
            }
            let entry = dead_letters.discard(id, reason).await?;
            writeln!(out, "discarded {id}: {} {} for {} ({reason})", entry.event_type, entry.event_id, entry.handler)?;
        }
    }
    Ok(())
}

async fn retry_one(dead_letters: &DeadLetters, handlers: &Handlers, id: Uuid) -> Result<DeadLetter> {
    let entry = dead_letters.get(id).await?.ok_or(xieshang_platform::events::DeadLetterError::NotFound(id))?;
    let handler = handlers.find(&entry.handler)?;
    Ok(dead_letters.retry(id, handler).await?)
}

fn table(entries: &[DeadLetter], resolved: bool) -> String {
    use comfy_table::{ContentArrangement, Table, presets};
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Disabled);
    let mut header = vec!["ID", "HANDLER", "EVENT", "EVENT ID", "COMMITTEE", "ATTEMPTS", "LAST FAILED", "LAST ERROR"];
    if resolved {
        header.push("RESOLUTION");
    }
    table.set_header(header);
    for e in entries {
        let mut row = vec![
            e.id.to_string(),
            e.handler.clone(),
            e.event_type.clone(),
            e.event_id.to_string(),
            e.committee_id.map(|c| c.to_string()).unwrap_or_default(),
            e.attempts.to_string(),
            time(e.last_failed_at),
            shorten(&e.last_error, ERROR_WIDTH),
        ];
        if resolved {
            row.push(e.resolution.clone().unwrap_or_default());
        }
        table.add_row(row);
    }
    table.to_string()
}

fn entry_json(e: &DeadLetter) -> Value {
    json!({
        "id": e.id.to_string(),
        "handler": e.handler,
        "event_type": e.event_type,
        "event_id": e.event_id.to_string(),
        "committee_id": e.committee_id.map(|c| c.to_string()),
        "attempts": e.attempts,
        "first_error": e.first_error,
        "last_error": e.last_error,
        "first_failed_at": e.first_failed_at.to_rfc3339(),
        "last_failed_at": e.last_failed_at.to_rfc3339(),
        "resolved_at": e.resolved_at.map(|t| t.to_rfc3339()),
        "resolution": e.resolution,
    })
}

fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// The first line of `text`, at most `width` characters (an ellipsis marks a cut).
fn shorten(text: &str, width: usize) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= width && line.len() == text.len() {
        return line.to_owned();
    }
    let mut short: String = line.chars().take(width.saturating_sub(1)).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_multi_line_errors_are_cut_for_the_table() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("0123456789abc", 10), "012345678…");
        assert_eq!(shorten("违反约束：计数行\n详情", 20), "违反约束：计数行…");
    }
}
