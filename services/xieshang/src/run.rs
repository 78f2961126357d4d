//! What each command does. Exit codes: 0 success, 1 failure, 64 bad
//! configuration or usage (as `sysexits.h` has it).

use std::process::ExitCode;

use xieshang_migrations::{Migrator, MigratorTrait};
use xieshang_platform::config::Config;
use xieshang_platform::db;

use crate::cli::{AnalyticsAction, Cli, Command, MigrateAction, PiiAction, ServerArgs};

const EX_CONFIG: u8 = 64;

pub async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Serve(args) => match load(&args) {
            Ok(config) => report(serve(config).await),
            Err(code) => code,
        },
        Command::Migrate { server, action } => match load(&server) {
            Ok(config) => report(migrate(config, action).await),
            Err(code) => code,
        },
        Command::Analytics { server, action } => match load(&server) {
            Ok(config) => report(analytics(config, action).await),
            Err(code) => code,
        },
        Command::Events { action } => match load(action.server()) {
            Ok(config) => report(crate::events_cli::run(&config, action, &mut std::io::stdout()).await),
            Err(code) => code,
        },
        Command::Pii { action: PiiAction::Rekey { server, new_key_file } } => match load(&server) {
            Ok(config) => match rekey_keys(&config, new_key_file.as_deref()) {
                Ok((old, new)) => report(rekey(config, old, new).await),
                Err(err) => {
                    eprintln!("error: {err:#}");
                    ExitCode::from(EX_CONFIG)
                }
            },
            Err(code) => code,
        },
        Command::Client(client) => {
            let mut out = std::io::stdout();
            report(crate::client::run(client, &mut out).await)
        }
    }
}

fn load(args: &ServerArgs) -> Result<Config, ExitCode> {
    args.load().map_err(|err| {
        eprintln!("error: {err}");
        ExitCode::from(EX_CONFIG)
    })
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // Traces name the service(s) this process runs, so that a trace across
    // processes shows which one did what.
    let service_name = match config.services.as_slice() {
        [] => "xieshang".to_owned(),
        names => format!("xieshang-{}", names.join("+")),
    };
    let _telemetry = xieshang_platform::telemetry::init(&config.log, &service_name)?;
    let mut running = crate::app::start(&config).await?;
    if let Some((username, password)) = &running.bootstrap {
        // Printed, never logged: stdout of the first start is the only place it appears.
        match password {
            Some(password) => println!(
                "\nCreated the platform operator `{username}` with the one-time password:\n\n    {password}\n\n\
                 Sign in with `xieshang login --username {username}`; you will be asked to choose a new password.\n"
            ),
            None => println!("\nCreated the platform operator `{username}` with the configured bootstrap password.\n"),
        }
    }
    println!("xieshang is serving gRPC (and gRPC-Web) on {}", running.addr);
    let trigger = running.shutdown_trigger();
    tokio::select! {
        result = running.wait() => return result,
        () = shutdown_signal() => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
    let _ = trigger.send(true);
    running.shutdown().await
}

/// Ctrl-C, or SIGTERM (what Kubernetes sends).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

async fn migrate(config: Config, action: MigrateAction) -> anyhow::Result<()> {
    let conn = db::connect_admin(&config.database).await?;
    match action {
        MigrateAction::Up => {
            Migrator::up(&conn, None).await?;
            println!("database is up to date");
        }
        MigrateAction::Down { steps } => {
            Migrator::down(&conn, Some(steps)).await?;
            println!("rolled back {steps} migration(s)");
        }
        MigrateAction::Status => {
            for m in Migrator::get_migration_with_status(&conn).await? {
                println!("{:<10} {}", format!("{:?}", m.status()), m.name());
            }
        }
    }
    conn.close().await?;
    Ok(())
}

async fn analytics(config: Config, action: AnalyticsAction) -> anyhow::Result<()> {
    let db = db::Db::connect(&config.database).await?;
    match action {
        AnalyticsAction::Rebuild => {
            let started = std::time::Instant::now();
            // One transaction: an interrupted rebuild (Ctrl-C) rolls back and
            // leaves the old counters in place.
            let report = xieshang_analytics::AnalyticsService::new(db)
                .rebuild(&rebuild_progress)
                .await
                .map_err(|e| anyhow::anyhow!("rebuilding the analytics counters: {e}"))?;
            println!(
                "rebuilt {} counters from {} events ({} counted) in {:.1} s",
                report.counters,
                report.events_read,
                report.events_applied,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

/// Progress of `analytics rebuild` on stderr: one updating line on a
/// terminal, a line per million events (and per phase) otherwise.
fn rebuild_progress(p: xieshang_analytics::RebuildProgress) {
    use std::io::IsTerminal;
    use xieshang_analytics::RebuildProgress::*;
    let tty = std::io::stderr().is_terminal();
    let (line, milestone) = match p {
        Read { events, counted } => {
            (format!("reading the event log: {events} events, {counted} counted"), events % 1_000_000 < 20_000)
        }
        Counters { written, of } => (format!("writing counters: {written}/{of}"), written == of),
        Applied { recorded, of } => (format!("recording applied events: {recorded}/{of}"), recorded == of),
    };
    if tty {
        eprint!("\r\x1b[2K{line}");
        if matches!(p, Applied { recorded, of } if recorded == of) {
            eprintln!();
        }
    } else if milestone {
        eprintln!("{line}");
    }
}

/// Environment variable the new SM4 key may come from instead of a file.
pub const NEW_PII_KEY_ENV: &str = "XIESHANG_NEW_PII_KEY";

/// The key in use and the new one. The key in use is the configured
/// `pii.key`, or the embedded default's `<data_dir>/pii.key`; unlike `serve`,
/// this never generates one (a fresh key would decrypt nothing).
fn rekey_keys(config: &Config, new_key_file: Option<&std::path::Path>) -> anyhow::Result<([u8; 16], [u8; 16])> {
    use anyhow::Context;
    use secrecy::ExposeSecret;
    use xieshang_membership::rekey::parse_key;
    let current = match &config.pii.key {
        Some(key) => key.expose_secret().to_owned(),
        None if config.database.is_sqlite() => {
            let path = config.data_dir.join("pii.key");
            std::fs::read_to_string(&path)
                .with_context(|| format!("no pii.key configured and cannot read {}", path.display()))?
        }
        None => anyhow::bail!("pii.key (XIESHANG__PII__KEY) must be configured: it is the key the data is under"),
    };
    let old = parse_key(&current).map_err(|e| anyhow::anyhow!("pii.key: {e}"))?;
    let env = std::env::var(NEW_PII_KEY_ENV).ok().filter(|v| !v.trim().is_empty());
    let new = match (new_key_file, env) {
        (Some(_), Some(_)) => {
            anyhow::bail!("give the new key either in --new-key-file or in {NEW_PII_KEY_ENV}, not both")
        }
        (Some(path), None) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read the new key from {}", path.display()))?
        }
        (None, Some(value)) => value,
        (None, None) => anyhow::bail!("the new key is required: --new-key-file FILE, or {NEW_PII_KEY_ENV}"),
    };
    let new = parse_key(&new).map_err(|e| anyhow::anyhow!("the new key: {e}"))?;
    anyhow::ensure!(old != new, "the new key is the key in use: nothing to rotate");
    Ok((old, new))
}

async fn rekey(config: Config, old: [u8; 16], new: [u8; 16]) -> anyhow::Result<()> {
    let db = db::Db::connect(&config.database).await?;
    let started = std::time::Instant::now();
    // Progress goes to stderr (stdout keeps only the final report); committee
    // codes and counts, never values.
    let mut progress = |p: xieshang_membership::rekey::RekeyProgress| {
        eprintln!("{}: {} / {} rows", p.committee_code, p.rows_done, p.rows_total);
    };
    let report = xieshang_membership::rekey::rekey(&db, old, new, &mut progress)
        .await
        .map_err(|e| anyhow::anyhow!("re-encrypting personal information: {e} (committees finished so far stay done; fix the cause and run again)"))?;
    println!(
        "re-encrypted {} members, {} studio requests and {} public topic contacts in {} of {} committees ({} members, \
         {} requests and {} topic contacts were already under the new key; {} plain topic phones sealed) in {:.1} s\n\
         now set pii.key to the new key and restart every service",
        report.members_rekeyed,
        report.requests_rekeyed,
        report.topics_rekeyed,
        report.committees_changed,
        report.committees,
        report.members_current,
        report.requests_current,
        report.topics_current,
        report.topics_sealed,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
