use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::Context;
use crate::api::DockerCluster;

/// The controller's name in metrics and logs.
pub const NAME: &str = "dockercluster";

// ANCHOR: reconcile
/// Brings one DockerCluster towards its desired state. Still the scaffold's: it logs and waits.
pub async fn reconcile(
    cluster: Arc<DockerCluster>,
    _ctx: Arc<Context>,
) -> Result<Action, kube::Error> {
    tracing::info!(
        namespace = cluster.namespace().unwrap_or_default(),
        name = cluster.name_any(),
        "Reconciling DockerCluster"
    );
    Ok(Action::await_change())
}
// ANCHOR_END: reconcile
