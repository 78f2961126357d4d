//! `xieshang-operator crdgen` prints the CRD; `xieshang-operator run` runs the operator.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xieshang-operator", version, about = "Kubernetes operator for Xieshang committees")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the Committee CRD as YAML (for helm/xieshang/crds/committees.yaml).
    Crdgen,
    /// Run the operator (configured by environment variables; see the README).
    Run,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Crdgen => {
            print!("{}", xieshang_operator::crd::crd_yaml());
            Ok(())
        }
        Command::Run => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .init();
            let settings = xieshang_operator::run::Settings::from_env()?;
            xieshang_operator::run::run(settings).await
        }
    }
}
