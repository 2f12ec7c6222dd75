//! The controllers and what they share: the context, the scope of their watches, and a runner
//! that starts a controller only while this process leads.

pub mod docker_cluster;
pub mod docker_machine;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::channel::mpsc;
use futures::{StreamExt, stream};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// What every reconciler receives besides the object.
#[derive(Clone)]
pub struct Context {
    pub client: kube::Client,
    pub metrics: Arc<Metrics>,
}

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
pub struct GatedWatch<K>
where
    K: Resource + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    pub store: Store<K>,
    pub changes: mpsc::UnboundedReceiver<K>,
    /// Turns true once the first complete list has reached the cache.
    pub synced: watch::Receiver<bool>,
    /// Drives the watch; runs for as long as the manager does.
    pub driver: std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
}

pub fn gated_watch<K>(
    api: Api<K>,
    config: watcher::Config,
    leading: watch::Receiver<bool>,
) -> GatedWatch<K>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    let (sender, changes) = mpsc::unbounded();
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
                let _ = sender.unbounded_send(object);
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
/// since changes seen before this process led were not passed on.
pub async fn run_controller<K, R, F>(
    name: &'static str,
    store: Store<K>,
    changes: mpsc::UnboundedReceiver<K>,
    reconcile: R,
    ctx: Arc<Context>,
    shutdown: CancellationToken,
) where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + std::fmt::Debug + Unpin + Send + Sync,
    R: Fn(Arc<K>, Arc<Context>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<Action, kube::Error>> + Send + 'static,
{
    let everything_once = stream::once(std::future::ready(()));
    let reconcile = Arc::new(reconcile);
    let instrumented = move |object: Arc<K>, ctx: Arc<Context>| {
        let reconcile = reconcile.clone();
        async move {
            let started = Instant::now();
            let result = reconcile(object, ctx.clone()).await;
            ctx.metrics.observe(name, started.elapsed(), result.is_ok());
            result
        }
    };
    Controller::for_stream(changes.map(Ok), store)
        .reconcile_all_on(everything_once)
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(instrumented, retry_after_error, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::warn!(controller = name, %error, "reconcile failed");
            }
        })
        .await;
}
// ANCHOR_END: run_controller

/// When a reconcile fails, try the object again a little later. Later chapters replace this fixed
/// delay with a per-object exponential backoff.
pub fn retry_after_error<K>(_object: Arc<K>, _error: &kube::Error, _ctx: Arc<Context>) -> Action {
    Action::requeue(Duration::from_secs(5))
}
