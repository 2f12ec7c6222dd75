//! One controller per kind, as `kubebuilder create api` scaffolds them: each watches its kind and
//! logs every reconcile. The chapters that follow fill in the reconcile functions.

pub mod docker_cluster;
pub mod docker_machine;

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;

/// What every reconciler of the scaffold receives besides the object: a place for shared state,
/// such as the Kubernetes client, once there is something to share.
#[derive(Clone)]
pub struct Context {
    pub client: kube::Client,
}

// ANCHOR: run
/// Runs both controllers until the process receives SIGINT or SIGTERM.
pub async fn run(client: kube::Client) {
    let ctx = Arc::new(Context { client });
    tokio::join!(docker_cluster::run(ctx.clone()), docker_machine::run(ctx));
}
// ANCHOR_END: run

// ANCHOR: error_policy
/// When a reconcile fails, kube logs the error and we ask to try the object again a little later.
/// Later chapters replace this fixed delay with a per-object exponential backoff.
pub fn retry_after_error<K>(_object: Arc<K>, _error: &kube::Error, _ctx: Arc<Context>) -> Action {
    Action::requeue(Duration::from_secs(5))
}
// ANCHOR_END: error_policy
