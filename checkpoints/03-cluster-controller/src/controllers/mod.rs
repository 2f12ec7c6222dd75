//! The controllers, what they share, and how they are wired into the given manager (what
//! kubebuilder's `SetupWithManager` does).

pub mod docker_cluster;
pub mod docker_machine;

use std::sync::Arc;

use anyhow::Context as _;
use capdkc_capi::Cluster;
use capdkc_capi::conditions::{Clock, system_clock};
use capdkc_docker::Docker;
use capdkc_manager::Manager;
use capdkc_manager::docker_events::owners_of_stopped_containers;
use kube::runtime::Controller;
use kube::runtime::events::Recorder;
use kube::runtime::reflector::Store;

use crate::api::{DockerCluster, DockerMachine};
use crate::crdgen;

// ANCHOR: context
/// What every reconcile receives besides its object.
pub struct Context {
    pub client: kube::Client,
    /// The Docker engine and how our containers are placed on it.
    pub docker: Docker,
    /// Every Cluster, from the manager's watch: where reconciles find their owner.
    pub clusters: Store<Cluster>,
    /// Publishes Kubernetes Events (`kubectl describe` shows them).
    pub recorder: Recorder,
    /// Where condition timestamps come from (tests fix it).
    pub clock: Clock,
}
// ANCHOR_END: context

// ANCHOR: run
/// The manager process with this provider's CRDs and controllers, until SIGTERM or Ctrl-C.
pub async fn run() -> anyhow::Result<()> {
    capdkc_manager::run(crdgen::crds(), async |manager| {
        // No Docker, no provider: stop at start rather than fail in every reconcile.
        let docker = Docker::connect(&manager.options().docker)
            .await
            .context("cannot use the Docker engine")?;
        setup(manager, docker);
        Ok(())
    })
    .await
}
// ANCHOR_END: run

// ANCHOR: setup
/// Watches what the controllers need and registers them with the manager.
pub fn setup(manager: &mut Manager, docker: Docker) {
    let clusters = manager.watch::<Cluster>();
    let docker_clusters = manager.watch::<DockerCluster>();
    let docker_machines = manager.watch::<DockerMachine>();
    let ctx = Arc::new(Context {
        client: manager.client(),
        docker: manager.metered(docker),
        clusters: clusters.store(),
        recorder: manager.recorder(),
        clock: system_clock(),
    });

    // A DockerCluster is reconciled when it changes, when its Cluster changes in a way it acts
    // on (pause, deletion), and when its load balancer stops or disappears (Docker's events).
    let cluster_changes = clusters.subscribe_to_changes_of(docker_cluster::what_it_reads);
    let load_balancers_stopped = owners_of_stopped_containers(&ctx.docker, docker_clusters.store());
    let controller =
        Controller::for_shared_stream(docker_clusters.subscribe(), docker_clusters.store())
            .watches_shared_stream(cluster_changes, docker_cluster::of_cluster)
            .reconcile_on(load_balancers_stopped);
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
}
// ANCHOR_END: setup
