//! The controllers and what they share: the context, the scope of their watches, and a runner
//! that starts a controller only while this process leads.

pub mod backoff;
pub mod bootstrap;
pub mod docker_cluster;
pub mod docker_machine;
pub mod finalizer;
pub mod metered;
pub mod status;
pub mod step;
pub mod triggers;
pub mod workload;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use capdkc_docker::bootstrap::RunOptions;
use capdkc_docker::loadbalancer::HealthCheck;
use capdkc_docker::node::NodeSettings;
use capdkc_docker::{BollardRuntime, ContainerRuntime, SecurityProfile};
use futures::channel::mpsc;
use futures::{Stream, StreamExt, stream};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::Recorder;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::api::DockerCluster;
use crate::conditions::Clock;
use crate::metrics::Metrics;
use backoff::Backoff;
use bootstrap::BootstrapTasks;
use triggers::Triggers;
use workload::WorkloadClients;

// ANCHOR: context
/// What every reconciler receives besides the object. `D` is the Docker engine: the real one
/// (bollard) in the manager, a recording fake in unit tests.
pub struct Context<D = BollardRuntime> {
    pub client: kube::Client,
    pub metrics: Arc<Metrics>,
    pub docker: Docker<D>,
    /// Publishes Kubernetes Events (`kubectl describe` shows them).
    pub recorder: Recorder,
    /// Where condition timestamps come from.
    pub clock: Clock,
    pub backoff: Backoff,
    /// The bootstrap tasks running in the background, one per DockerMachine.
    pub bootstraps: BootstrapTasks,
    /// Asks the DockerCluster controller to look at a cluster again (its load balancer's
    /// members changed).
    pub cluster_triggers: Triggers<DockerCluster>,
    /// Clients for the workload clusters.
    pub workloads: WorkloadClients,
}

/// The Docker engine and how our containers are placed on it.
#[derive(Clone, Debug)]
pub struct Docker<D> {
    pub runtime: D,
    /// The network the load balancer and the nodes join (`--docker-network`, default `kind`).
    pub network: String,
    /// Labels added to every container we create (tests mark their run with one).
    pub extra_labels: BTreeMap<String, String>,
    /// Privileged node containers (kind images need it), or a capability set where privileged
    /// containers cannot start.
    pub node_security: SecurityProfile,
    /// Mount the host's `/lib/modules` into nodes (kube-proxy loads modules).
    pub mount_lib_modules: bool,
    /// Proxy variables passed on to every node.
    pub proxy_env: Vec<String>,
    /// How HAProxy checks control-plane nodes (the API server's `/healthz` over TLS).
    pub lb_health_check: HealthCheck,
    /// Retries of bootstrap file writes.
    pub bootstrap_retries: RunOptions,
}

impl<D> Docker<D> {
    /// The engine with the settings a real cluster needs, on `network`.
    pub fn new(runtime: D, network: &str) -> Self {
        Self {
            runtime,
            network: network.to_owned(),
            extra_labels: BTreeMap::new(),
            node_security: SecurityProfile::Privileged,
            mount_lib_modules: true,
            proxy_env: NodeSettings::from_manager_env().proxy_env,
            lb_health_check: HealthCheck::ApiServerHealthz,
            bootstrap_retries: RunOptions::default(),
        }
    }

    /// The same settings over another engine (a metered one, say).
    pub fn with_runtime<E>(self, runtime: E) -> Docker<E> {
        Docker {
            runtime,
            network: self.network,
            extra_labels: self.extra_labels,
            node_security: self.node_security,
            mount_lib_modules: self.mount_lib_modules,
            proxy_env: self.proxy_env,
            lb_health_check: self.lb_health_check,
            bootstrap_retries: self.bootstrap_retries,
        }
    }

    /// What the Docker layer needs to create node containers.
    pub fn node_settings(&self) -> NodeSettings {
        NodeSettings {
            network: self.network.clone(),
            security: self.node_security,
            mount_lib_modules: self.mount_lib_modules,
            proxy_env: self.proxy_env.clone(),
            extra_labels: self.extra_labels.clone(),
        }
    }
}
// ANCHOR_END: context

// ANCHOR: scope
/// The label Cluster API uses to split objects between several managers (`--watch-filter`).
pub const WATCH_FILTER_LABEL: &str = "cluster.x-k8s.io/watch-filter";

/// Which objects this manager is responsible for.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// `--namespace`: one namespace, or all of them.
    pub namespace: Option<String>,
    /// `--watch-filter`: only objects carrying `WATCH_FILTER_LABEL` with this value.
    pub watch_filter: Option<String>,
}

impl Scope {
    pub fn api<K>(&self, client: kube::Client) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        match &self.namespace {
            Some(namespace) => Api::namespaced(client, namespace),
            None => Api::all(client),
        }
    }

    pub fn watcher_config(&self) -> watcher::Config {
        let config = watcher::Config::default();
        match &self.watch_filter {
            Some(value) => config.labels(&format!("{WATCH_FILTER_LABEL}={value}")),
            None => config,
        }
    }
}
// ANCHOR_END: scope

// ANCHOR: gated_watch
/// A watch of one kind that fills its cache from the start (so that readiness does not wait for
/// leadership) and passes changes on to the controller only while this process leads.
pub struct GatedWatch<K, const N: usize>
where
    K: Resource + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    pub store: Store<K>,
    /// One stream of changes for each of the `N` controllers that react to this kind.
    pub changes: [mpsc::UnboundedReceiver<K>; N],
    /// Turns true once the first complete list has reached the cache.
    pub synced: watch::Receiver<bool>,
    /// Drives the watch; runs for as long as the manager does.
    pub driver: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
}

pub fn gated_watch<K, const N: usize>(
    api: Api<K>,
    config: watcher::Config,
    leading: watch::Receiver<bool>,
) -> GatedWatch<K, N>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    let channels: [_; N] = std::array::from_fn(|_| mpsc::unbounded());
    let (senders, changes) = (
        channels.each_ref().map(|(sender, _)| sender.clone()),
        channels.map(|(_, receiver)| receiver),
    );
    let (synced_sender, synced) = watch::channel(false);
    let driver = async move {
        let events = reflector::reflector(writer, watcher(api, config)).default_backoff();
        let mut events = std::pin::pin!(events);
        while let Some(event) = events.next().await {
            let object = match event {
                Ok(
                    watcher::Event::Apply(object)
                    | watcher::Event::InitApply(object)
                    | watcher::Event::Delete(object),
                ) => object,
                Ok(watcher::Event::InitDone) => {
                    // Watched here rather than with `Store::wait_until_ready`, which wakes only
                    // the last of several waiters (and the controller waits on it too).
                    synced_sender.send_replace(true);
                    continue;
                }
                Ok(watcher::Event::Init) => continue,
                Err(error) => {
                    tracing::warn!(%error, "watch failed; retrying with backoff");
                    continue;
                }
            };
            if *leading.borrow() {
                for sender in &senders {
                    let _ = sender.unbounded_send(object.clone());
                }
            }
        }
    };
    GatedWatch {
        store,
        changes,
        synced,
        driver: Box::pin(driver),
    }
}
// ANCHOR_END: gated_watch

// ANCHOR: run_controller
/// Runs one controller over a gated watch until `shutdown`, recording every reconcile in the
/// metrics. It is started once the cache has synced, and first reconciles every object in it,
/// since changes seen before this process led were not passed on. `triggers` are reconcile
/// requests from other watches (a DockerCluster when its Cluster changes, say).
pub async fn run_controller<K, D, R, F, E>(
    name: &'static str,
    store: Store<K>,
    changes: mpsc::UnboundedReceiver<K>,
    triggers: impl Stream<Item = ObjectRef<K>> + Send + 'static,
    reconcile: R,
    ctx: Arc<Context<D>>,
    shutdown: CancellationToken,
) where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + std::fmt::Debug + Unpin + Send + Sync,
    D: Send + Sync + 'static,
    R: Fn(Arc<K>, Arc<Context<D>>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<Action, E>> + Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    let everything_once = stream::once(std::future::ready(()));
    let reconcile = Arc::new(reconcile);
    let instrumented = move |object: Arc<K>, ctx: Arc<Context<D>>| {
        let reconcile = reconcile.clone();
        async move {
            let key = backoff_key(object.as_ref());
            let started = Instant::now();
            let result = reconcile(object, ctx.clone()).await;
            ctx.metrics.observe(name, started.elapsed(), result.is_ok());
            if result.is_ok() {
                ctx.backoff.succeeded(&key);
            }
            result
        }
    };
    Controller::for_stream(changes.map(Ok), store)
        .reconcile_all_on(everything_once)
        .reconcile_on(triggers)
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(instrumented, retry_with_backoff, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::warn!(controller = name, error = %DisplayChain(&error), "reconcile failed");
            }
        })
        .await;
}
// ANCHOR_END: run_controller

// ANCHOR: retry
/// When a reconcile fails, retry this object after a delay that doubles with each consecutive
/// failure (1 s up to 5 min); other objects are not slowed down.
pub fn retry_with_backoff<K: Resource, D, E>(
    object: Arc<K>,
    _error: &E,
    ctx: Arc<Context<D>>,
) -> Action
where
    K::DynamicType: Default,
{
    Action::requeue(ctx.backoff.failed(&backoff_key(object.as_ref())))
}
// ANCHOR_END: retry

fn backoff_key<K: Resource>(object: &K) -> String
where
    K::DynamicType: Default,
{
    format!(
        "{}/{}/{}",
        K::kind(&K::DynamicType::default()),
        object.namespace().unwrap_or_default(),
        object.name_any()
    )
}

/// An error with its sources, `a: b: c`, for one log line.
pub struct DisplayChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

/// Removes every container labelled as owned by `owner_uid` (one already gone is fine): what an
/// object being deleted without its owners leaves behind.
pub async fn remove_containers_of<D: ContainerRuntime>(
    runtime: &D,
    owner_uid: &str,
) -> Result<(), capdkc_docker::RuntimeError> {
    let ours = [(
        capdkc_docker::labels::OWNER_UID_LABEL.to_owned(),
        owner_uid.to_owned(),
    )];
    for container in runtime.list_by_labels(&ours.into()).await? {
        match runtime.remove(&container.name).await {
            Ok(()) | Err(capdkc_docker::RuntimeError::NotFound(_)) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Checks at start that Docker is reachable; the manager refuses to run without it.
pub async fn docker_reachable<D: ContainerRuntime>(docker: &Docker<D>) -> anyhow::Result<()> {
    docker
        .runtime
        .ensure_network(&docker.network, &BTreeMap::new())
        .await
        .map_err(|error| anyhow::anyhow!("Docker network {}: {error}", docker.network))
}
