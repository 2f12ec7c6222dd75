//! The manager process: probes and metrics servers, leader election, the watches and the
//! controllers, started in that order and stopped together.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use capdkc_docker::ContainerRuntime;
use futures::StreamExt;
use kube::runtime::events::{Recorder, Reporter};

use crate::api::{DockerCluster, DockerMachine};
use crate::capi::{Cluster, Machine};
use crate::cli::{BindAddress, ManagerOptions};
use crate::conditions::system_clock;
use crate::controllers::bootstrap::BootstrapTasks;
use crate::controllers::metered::Metered;
use crate::controllers::triggers::Triggers;
use crate::controllers::{self, Context, Docker, Scope, docker_cluster, docker_machine};
use crate::http::{self, Readiness};
use crate::leader::{self, Leadership};
use crate::metrics::Metrics;

/// A started manager.
pub struct Running {
    /// Where the probes are served (the real port when `:0` was asked for).
    pub probe_address: Option<SocketAddr>,
    pub metrics_address: Option<SocketAddr>,
    pub metrics: Arc<Metrics>,
    pub readiness: Readiness,
    shutdown: CancellationToken,
    work: JoinHandle<anyhow::Result<()>>,
    servers: Vec<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// A handle that stops the manager when cancelled (from a signal handler, say).
    pub fn shutdown_handle(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until the manager stops: after a shutdown, or with an error when leadership is lost.
    pub async fn wait(self) -> anyhow::Result<()> {
        let result = self.work.await.context("the manager task panicked")?;
        // Whatever ended the work, the servers go too.
        self.shutdown.cancel();
        for server in self.servers {
            server.await.context("a server task panicked")??;
        }
        result
    }

    /// Stops the manager: controllers finish their current reconciles, the Lease is released.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }
}

// ANCHOR: start
/// Starts everything and returns once the servers listen.
pub async fn start<D>(
    client: kube::Client,
    options: &ManagerOptions,
    docker: Docker<D>,
) -> anyhow::Result<Running>
where
    D: ContainerRuntime + Clone + Send + Sync + 'static,
{
    let shutdown = CancellationToken::new();
    let metrics = Arc::new(Metrics::default());
    let readiness = Readiness::default();
    let mut servers = Vec::new();

    let probe_address = match options.health_probe_bind_address {
        BindAddress::At(address) => {
            let bound = http::bind_probes(
                address,
                readiness.clone(),
                shutdown.clone().cancelled_owned(),
            )
            .await
            .with_context(|| format!("cannot serve probes on {address}"))?;
            servers.push(tokio::spawn(bound.serve));
            Some(bound.address)
        }
        BindAddress::Disabled => None,
    };
    let metrics_address = match options.metrics_bind_address {
        BindAddress::At(address) => {
            let bound =
                http::bind_metrics(address, metrics.clone(), shutdown.clone().cancelled_owned())
                    .await
                    .with_context(|| format!("cannot serve metrics on {address}"))?;
            servers.push(tokio::spawn(bound.serve));
            Some(bound.address)
        }
        BindAddress::Disabled => None,
    };

    let leadership = if options.leader_elect {
        let namespace = options
            .leader_election_namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_string());
        let identity = options
            .leader_election_identity
            .clone()
            .unwrap_or_else(leader::default_identity);
        tracing::info!(%namespace, %identity, lease = leader::LEASE_NAME, "competing for leadership");
        Leadership::elect(client.clone(), &namespace, &identity)
            .await
            .context("cannot start leader election")?
    } else {
        Leadership::always()
    };

    let scope = Scope {
        namespace: options.namespace.clone(),
        watch_filter: options.watch_filter.clone(),
    };
    // One watch per kind, each feeding the controllers that react to it: DockerClusters and
    // Clusters wake both controllers, Machines wake the machine controller.
    let docker_clusters = controllers::gated_watch::<DockerCluster, 2>(
        scope.api(client.clone()),
        scope.watcher_config(),
        leadership.leading.clone(),
    );
    let docker_machines = controllers::gated_watch::<DockerMachine, 1>(
        scope.api(client.clone()),
        scope.watcher_config(),
        leadership.leading.clone(),
    );
    let clusters = controllers::gated_watch::<Cluster, 2>(
        scope.api(client.clone()),
        scope.watcher_config(),
        leadership.leading.clone(),
    );
    let machines = controllers::gated_watch::<Machine, 1>(
        scope.api(client.clone()),
        scope.watcher_config(),
        leadership.leading.clone(),
    );

    // Ready once every watch has synced; the controllers wait for the same moment.
    let (synced_sender, synced) = watch::channel(false);
    let mut all_synced = [
        docker_clusters.synced.clone(),
        docker_machines.synced.clone(),
        clusters.synced.clone(),
        machines.synced.clone(),
    ];
    let ready = readiness.clone();
    tokio::spawn(async move {
        let mut synced = true;
        for watch in &mut all_synced {
            synced &= watch.wait_for(|s| *s).await.is_ok();
        }
        if synced {
            tracing::info!("watches synced: ready");
            ready.set_ready();
            synced_sender.send_replace(true);
        }
    });

    let reporter = Reporter {
        controller: "capdkc-manager".to_owned(),
        instance: options.leader_election_identity.clone(),
    };
    // Requests that come from inside: a machine asking for its load balancer to be updated, a
    // bootstrap task reporting back.
    let (cluster_kicks, kicked_clusters) = Triggers::<DockerCluster>::channel();
    let (bootstraps_finished, finished_bootstraps) = Triggers::<DockerMachine>::channel();
    // Every Docker call is counted in the metrics.
    let runtime = docker.runtime.clone();
    let docker = docker.with_runtime(Metered::new(runtime, metrics.clone()));
    let ctx = Arc::new(Context {
        recorder: Recorder::new(client.clone(), reporter),
        client,
        metrics: metrics.clone(),
        docker,
        clock: system_clock(),
        backoff: Default::default(),
        bootstraps: BootstrapTasks::new(bootstraps_finished),
        cluster_triggers: cluster_kicks,
        workloads: Default::default(),
    });
    let [docker_cluster_changes, docker_cluster_changes_for_machines] = docker_clusters.changes;
    let [docker_machine_changes] = docker_machines.changes;
    let [cluster_changes, cluster_changes_for_machines] = clusters.changes;
    let [machine_changes] = machines.changes;
    let docker_cluster_triggers = futures::stream::select(
        docker_cluster::cluster_triggers(cluster_changes.map(Ok)),
        kicked_clusters,
    );
    let docker_machine_triggers = futures::stream::select(
        futures::stream::select(
            docker_machine::machine_triggers(machine_changes.map(Ok)),
            docker_machine::cluster_triggers(
                cluster_changes_for_machines.map(Ok),
                docker_cluster_changes_for_machines.map(Ok),
                docker_machines.store.clone(),
            ),
        ),
        finished_bootstraps,
    );
    let stop = shutdown.clone();
    let controllers = async move {
        tokio::join!(
            controllers::run_controller(
                docker_cluster::NAME,
                docker_clusters.store,
                docker_cluster_changes,
                docker_cluster_triggers,
                docker_cluster::reconcile,
                ctx.clone(),
                stop.clone(),
            ),
            controllers::run_controller(
                docker_machine::NAME,
                docker_machines.store,
                docker_machine_changes,
                docker_machine_triggers,
                docker_machine::reconcile,
                ctx,
                stop,
            ),
        );
    };
    let watches = futures::future::select_all([
        docker_clusters.driver,
        docker_machines.driver,
        clusters.driver,
        machines.driver,
    ]);
    let work = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            let result = tokio::select! {
                _ = watches => Err(anyhow!("a watch ended")),
                result = lead(leadership.leading.clone(), synced, controllers, shutdown) => result,
            };
            // Dropping the leadership releases the Lease for the next replica.
            drop(leadership);
            result
        }
    });
    Ok(Running {
        probe_address,
        metrics_address,
        metrics,
        readiness,
        shutdown,
        work,
        servers,
    })
}
// ANCHOR_END: start

// ANCHOR: lead
/// Waits until this process leads and its caches have synced, then runs the controllers until
/// shutdown. Losing leadership is an error: the process exits so that only the new leader
/// reconciles, and Kubernetes restarts it as a standby.
async fn lead(
    mut leading: watch::Receiver<bool>,
    mut synced: watch::Receiver<bool>,
    controllers: impl Future<Output = ()>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Until both hold, nothing runs that a shutdown would have to wait for.
    let ready_to_lead = async {
        leading
            .wait_for(|leads| *leads)
            .await
            .map_err(|_| anyhow!("leader election stopped"))?;
        synced
            .wait_for(|done| *done)
            .await
            .map_err(|_| anyhow!("the watches stopped"))?;
        anyhow::Ok(())
    };
    tokio::select! {
        () = shutdown.cancelled() => return Ok(()),
        result = ready_to_lead => result?,
    }
    tracing::info!("leading: starting the controllers");
    tokio::select! {
        () = controllers => Ok(()),
        _ = leading.wait_for(|leads| !*leads) => {
            Err(anyhow!("lost leadership; stopping so that only the new leader reconciles"))
        }
    }
}
// ANCHOR_END: lead
