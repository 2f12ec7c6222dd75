//! The manager binary: runs the controllers, or prints the CRDs.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use checkpoint_01::controllers::{self, Context};
use checkpoint_01::crdgen;

// ANCHOR: cli
/// The CAPDKC manager: a Cluster API infrastructure provider for Docker.
#[derive(Parser, Debug)]
#[command(name = "manager", version, about)]
struct Cli {
    /// Log filter: a level (error, warn, info, debug, trace) or a tracing filter directive.
    #[arg(long, env = "CAPDKC_LOG_LEVEL", default_value = "info", global = true)]
    log_level: String,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the controllers against the cluster of the current kubeconfig (the default).
    Run,
    /// Print every CRD as YAML (the counterpart of `make manifests`).
    Crds {
        /// Write one file per CRD into this directory instead of printing them.
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
    },
}
// ANCHOR_END: cli

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Crds {
            output_dir: Some(dir),
        } => crdgen::write_bases(&dir),
        Command::Crds { output_dir: None } => {
            print!("{}", crdgen::all_to_yaml()?);
            Ok(())
        }
        Command::Run => run(&cli.log_level).await,
    }
}

// ANCHOR: run
async fn run(log_level: &str) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(log_level)?)
        .init();

    let client = kube::Client::try_default().await?;
    let ctx = Arc::new(Context { client });
    tracing::info!("starting controllers");
    // Both controllers run until SIGINT or SIGTERM, then finish their current reconciles.
    tokio::join!(
        controllers::docker_cluster::run(ctx.clone()),
        controllers::docker_machine::run(ctx),
    );
    Ok(())
}
// ANCHOR_END: run
