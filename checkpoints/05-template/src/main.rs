//! The manager binary: runs the manager, or prints the CRDs.

use anyhow::Context as _;
use clap::Parser;

use capdkc_docker::BollardRuntime;
use checkpoint_05::cli::{Cli, Command};
use checkpoint_05::controllers::{self, Docker};
use checkpoint_05::{crdgen, manager, telemetry};

// ANCHOR: main
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Crds {
            output_dir: Some(dir),
        }) => crdgen::write_bases(&dir),
        Some(Command::Crds { output_dir: None }) => {
            print!("{}", crdgen::all_to_yaml()?);
            Ok(())
        }
        None => {
            let options = cli.manager;
            telemetry::init(&options.log_level, options.log_format)?;
            // No Docker, no provider: fail at start rather than in every reconcile.
            let runtime = BollardRuntime::connect()
                .await
                .context("cannot use the Docker engine")?;
            let docker = Docker::new(runtime, &options.docker_network);
            controllers::docker_reachable(&docker).await?;
            let client = kube::Client::try_default().await?;
            let running = manager::start(client, &options, docker).await?;
            let shutdown = running.shutdown_handle();
            tokio::spawn(async move {
                terminated().await;
                tracing::info!("shutting down");
                shutdown.cancel();
            });
            running.wait().await
        }
    }
}

/// Completes on SIGTERM (Kubernetes stopping the pod) or SIGINT (Ctrl-C).
async fn terminated() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
// ANCHOR_END: main
