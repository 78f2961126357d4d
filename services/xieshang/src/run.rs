//! What each command does. Exit codes: 0 success, 1 failure, 64 bad
//! configuration or usage (as `sysexits.h` has it).

use std::process::ExitCode;

use xieshang_migrations::{Migrator, MigratorTrait};
use xieshang_platform::config::Config;
use xieshang_platform::db;

use crate::cli::{AnalyticsAction, Cli, Command, MigrateAction, ServerArgs};

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
            let report = xieshang_analytics::AnalyticsService::new(db)
                .rebuild()
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
