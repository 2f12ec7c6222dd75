//! The manager binary: runs the controllers, or prints the CRDs.

use clap::Parser;

use checkpoint_01::{controllers, crdgen};

/// The scaffold's command line: `crds` prints the CRDs (as `make manifests` writes them);
/// without a command, the controllers run against the cluster of the current kubeconfig.
#[derive(Parser)]
#[command(name = "manager", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<capdkc_manager::Command>,
}

// ANCHOR: main
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Some(command) = Cli::parse().command {
        return capdkc_manager::crds::run(&command, &crdgen::crds());
    }
    tracing_subscriber::fmt().with_env_filter("info").init();
    let client = kube::Client::try_default().await?;
    tracing::info!("starting controllers");
    controllers::run(client).await;
    Ok(())
}
// ANCHOR_END: main
