use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::Context;
use crate::api::DockerMachine;

/// The controller's name in metrics and logs.
pub const NAME: &str = "dockermachine";

// ANCHOR: reconcile
/// Brings one DockerMachine towards its desired state. Still the scaffold's: it logs and waits.
pub async fn reconcile(
    machine: Arc<DockerMachine>,
    _ctx: Arc<Context>,
) -> Result<Action, kube::Error> {
    tracing::info!(
        namespace = machine.namespace().unwrap_or_default(),
        name = machine.name_any(),
        "Reconciling DockerMachine"
    );
    Ok(Action::await_change())
}
// ANCHOR_END: reconcile
