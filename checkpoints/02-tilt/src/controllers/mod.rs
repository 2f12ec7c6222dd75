//! One controller per kind, each still logging every reconcile, now run by the given manager:
//! what kubebuilder's `SetupWithManager` does.

pub mod docker_cluster;
pub mod docker_machine;

use std::sync::Arc;

use capdkc_manager::Manager;
use kube::runtime::Controller;

use crate::api::{DockerCluster, DockerMachine};
use crate::crdgen;

/// What every reconcile receives besides its object.
pub struct Context {
    pub client: kube::Client,
}

// ANCHOR: run
/// The manager process with this provider's CRDs and controllers, until SIGTERM or Ctrl-C.
pub async fn run() -> anyhow::Result<()> {
    capdkc_manager::run(crdgen::crds(), async |manager| {
        setup(manager);
        Ok(())
    })
    .await
}
// ANCHOR_END: run

// ANCHOR: setup
/// Watches both kinds and registers a controller for each with the manager. The manager runs
/// them once this process leads and the watches have synced.
pub fn setup(manager: &mut Manager) {
    // EXERCISE: 2.2 Watch both kinds and give the manager a controller for each.
    let docker_clusters = manager.watch::<DockerCluster>();
    let docker_machines = manager.watch::<DockerMachine>();
    let ctx = Arc::new(Context {
        client: manager.client(),
    });
    let controller =
        Controller::for_shared_stream(docker_clusters.subscribe(), docker_clusters.store());
    manager.add_controller(
        docker_cluster::NAME,
        controller,
        docker_cluster::reconcile,
        ctx.clone(),
    );
    let controller =
        Controller::for_shared_stream(docker_machines.subscribe(), docker_machines.store());
    manager.add_controller(
        docker_machine::NAME,
        controller,
        docker_machine::reconcile,
        ctx,
    );
    // EXERCISE_END
}
// ANCHOR_END: setup
