use std::sync::Arc;

use futures::StreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, ResourceExt};

use super::{Context, retry_after_error};
use crate::api::DockerCluster;

// ANCHOR: reconcile
/// Brings one DockerCluster towards its desired state. The scaffold only logs that it was called:
/// kube calls it for every change to a DockerCluster and once for each object at start-up.
pub async fn reconcile(
    cluster: Arc<DockerCluster>,
    _ctx: Arc<Context>,
) -> Result<Action, kube::Error> {
    // EXERCISE: 1.4 Log the DockerCluster you were called for, then wait for its next change.
    tracing::info!(
        namespace = cluster.namespace().unwrap_or_default(),
        name = cluster.name_any(),
        "Reconciling DockerCluster"
    );
    // Nothing to do until the next change: the watch wakes us up.
    Ok(Action::await_change())
    // EXERCISE_END
}
// ANCHOR_END: reconcile

// ANCHOR: run
/// Watches every DockerCluster the client may see and reconciles each change until the process
/// receives SIGINT or SIGTERM.
pub async fn run(ctx: Arc<Context>) {
    // EXERCISE: 1.5 Watch every DockerCluster and reconcile each change until SIGINT or SIGTERM.
    let clusters = Api::<DockerCluster>::all(ctx.client.clone());
    Controller::new(clusters, watcher::Config::default())
        .shutdown_on_signal()
        .run(reconcile, retry_after_error, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::warn!(%error, "DockerCluster reconcile failed");
            }
        })
        .await;
    // EXERCISE_END
}
// ANCHOR_END: run
