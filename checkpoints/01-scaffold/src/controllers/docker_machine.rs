use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, ResourceExt};

use super::{Context, retry_after_error};
use crate::api::DockerMachine;

// ANCHOR: reconcile
/// Brings one DockerMachine towards its desired state. The scaffold only logs that it was called:
/// kube calls it for every change to a DockerMachine and once for each object at start-up.
pub async fn reconcile(
    machine: Arc<DockerMachine>,
    _ctx: Arc<Context>,
) -> Result<Action, kube::Error> {
    // EXERCISE: 1.4 Log the DockerMachine you were called for, then wait for its next change.
    tracing::info!(
        namespace = machine.namespace().unwrap_or_default(),
        name = machine.name_any(),
        "Reconciling DockerMachine"
    );
    // Nothing to do until the next change: the watch wakes us up.
    Ok(Action::await_change())
    // EXERCISE_END
}
// ANCHOR_END: reconcile

/// Watches every DockerMachine the client may see and reconciles each change until the process
/// receives SIGINT or SIGTERM.
pub async fn run(ctx: Arc<Context>) {
    let machines = Api::<DockerMachine>::all(ctx.client.clone());
    Controller::new(machines, watcher::Config::default())
        .shutdown_on_signal()
        .run(reconcile, retry_after_error, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::warn!(%error, "DockerMachine reconcile failed");
            }
        })
        .await;
}
