//! The given manager process: what kubebuilder scaffolds into `main.go` and what
//! controller-runtime's manager does, so that a provider's own code is its API types and
//! reconcilers.
//!
//! - [`run`]: the whole `main`: flags, the `crds` subcommand, logging, the manager until a
//!   signal; the provider only registers its watches and controllers.
//! - [`Manager`]: probes and metrics servers, leader election, shared watches whose changes
//!   reach the controllers only while this process leads, and the controller run loop with
//!   per-object exponential backoff.
//! - [`finalizer`], [`triggers`] and [`tasks`]: the pieces a reconciler uses: finalizers added
//!   and removed safely, reconcile requests from inside the process, background work per object.
//! - [`docker_events`]: reconcile requests for the owners of containers that stop or disappear.

pub mod backoff;
pub mod cli;
pub mod crds;
pub mod docker_events;
pub mod finalizer;
pub mod http;
pub mod leader;
pub mod manager;
pub mod metered;
pub mod metrics;
pub mod signals;
pub mod tasks;
pub mod telemetry;
pub mod triggers;
pub mod watch;

use clap::Parser;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

pub use cli::{Cli, Command, ManagerOptions};
pub use manager::{DisplayChain, Manager, Running};
pub use watch::SharedWatch;

// ANCHOR: run
/// The provider's `main`: parses the flags; `crds` prints (or writes) `crds`; otherwise starts
/// the manager, lets `setup` register the provider's watches and controllers, and runs until
/// SIGTERM or Ctrl-C (or an error: a watch ending, leadership lost).
pub async fn run(
    crds: Vec<CustomResourceDefinition>,
    setup: impl AsyncFnOnce(&mut Manager) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(command) => crds::run(&command, &crds),
        None => {
            let options = cli.manager;
            telemetry::init(&options.log_level, options.log_format)?;
            let client = kube::Client::try_default().await?;
            let mut manager = Manager::start(client, options).await?;
            setup(&mut manager).await?;
            let running = manager.spawn();
            let shutdown = running.shutdown_handle();
            tokio::spawn(async move {
                signals::terminated().await;
                tracing::info!("shutting down");
                shutdown.cancel();
            });
            running.wait().await
        }
    }
}
// ANCHOR_END: run
