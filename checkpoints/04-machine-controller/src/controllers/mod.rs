//! The controllers, what they share, and how they are wired into the given manager (what
//! kubebuilder's `SetupWithManager` does).

pub mod bootstrap;
pub mod docker_cluster;
pub mod docker_machine;

use std::sync::Arc;

use anyhow::Context as _;
use capdkc_capi::conditions::{Clock, system_clock};
use capdkc_capi::workload::ClusterCache;
use capdkc_capi::{Cluster, Machine};
use capdkc_docker::Docker;
use capdkc_docker::bootstrap::BootstrapError;
use capdkc_manager::Manager;
use capdkc_manager::docker_events::owners_of_stopped_containers;
use capdkc_manager::tasks::BackgroundTasks;
use capdkc_manager::triggers::Triggers;
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
    /// The manager's caches: where reconciles find owners and neighbours.
    pub clusters: Store<Cluster>,
    pub machines: Store<Machine>,
    pub docker_clusters: Store<DockerCluster>,
    pub docker_machines: Store<DockerMachine>,
    /// Publishes Kubernetes Events (`kubectl describe` shows them).
    pub recorder: Recorder,
    /// Where condition timestamps come from (tests fix it).
    pub clock: Clock,
    /// The bootstraps running in the background, one per DockerMachine.
    pub bootstraps: BackgroundTasks<DockerMachine, Arc<BootstrapError>>,
    /// Asks the DockerCluster controller to update a load balancer's members.
    pub load_balancer_updates: Triggers<DockerCluster>,
    /// Clients for the workload clusters.
    pub workload_clusters: ClusterCache,
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
    let machines = manager.watch::<Machine>();
    let docker_clusters = manager.watch::<DockerCluster>();
    let docker_machines = manager.watch::<DockerMachine>();
    let metrics = manager.metrics();
    let (bootstraps, bootstrap_ended) = BackgroundTasks::new();
    let bootstraps = bootstraps.observed_by(move |took, ok| metrics.observe_bootstrap(took, ok));
    let (load_balancer_updates, load_balancer_update_requests) = Triggers::channel();
    let ctx = Arc::new(Context {
        client: manager.client(),
        docker: manager.metered(docker),
        clusters: clusters.store(),
        machines: machines.store(),
        docker_clusters: docker_clusters.store(),
        docker_machines: docker_machines.store(),
        recorder: manager.recorder(),
        clock: system_clock(),
        bootstraps,
        load_balancer_updates,
        workload_clusters: ClusterCache::default(),
    });

    let cluster_changes = clusters.subscribe_to_changes_of(docker_cluster::what_it_reads);
    let load_balancers_stopped = owners_of_stopped_containers(&ctx.docker, docker_clusters.store());
    let controller =
        Controller::for_shared_stream(docker_clusters.subscribe(), docker_clusters.store())
            .watches_shared_stream(cluster_changes, docker_cluster::of_cluster)
            .reconcile_on(load_balancer_update_requests)
            .reconcile_on(load_balancers_stopped);
    manager.add_controller(
        docker_cluster::NAME,
        controller,
        docker_cluster::reconcile,
        ctx.clone(),
    );

    // A DockerMachine is reconciled when it changes, when its Machine changes, when its
    // Cluster or DockerCluster changes in a way machines wait for, when its bootstrap ends, and
    // when its node container stops or disappears (Docker's events).
    let nodes_stopped = owners_of_stopped_containers(&ctx.docker, docker_machines.store());
    let store = docker_machines.store();
    let of_cluster = move |cluster| docker_machine::of_cluster(&store, cluster);
    let store = docker_machines.store();
    let of_docker_cluster = move |dc| docker_machine::of_docker_cluster(&store, dc);
    let controller =
        Controller::for_shared_stream(docker_machines.subscribe(), docker_machines.store())
            .watches_shared_stream(
                machines.subscribe_to_changes_of(docker_machine::what_it_reads),
                docker_machine::of_machine,
            )
            .watches_shared_stream(
                clusters.subscribe_to_changes_of(docker_machine::what_it_waits_for),
                of_cluster,
            )
            .watches_shared_stream(
                docker_clusters.subscribe_to_changes_of(docker_machine::what_it_waits_on),
                of_docker_cluster,
            )
            .reconcile_on(bootstrap_ended)
            .reconcile_on(nodes_stopped);
    manager.add_controller(
        docker_machine::NAME,
        controller,
        docker_machine::reconcile,
        ctx,
    );
}
// ANCHOR_END: setup
