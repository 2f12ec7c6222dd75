//! The manager process, as controller-runtime's `Manager`: it serves the probes and metrics,
//! competes for leadership, runs one shared watch per kind, and runs the controllers it is given
//! with per-object backoff, metrics and a graceful shutdown.

use std::fmt::Debug;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context as _, anyhow};
use futures::StreamExt;
use futures::future::BoxFuture;
use kube::runtime::Controller;
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{reflector, watcher};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use capdkc_capi::contract::WATCH_FILTER_LABEL;
use capdkc_capi::patch::FIELD_MANAGER;
use capdkc_docker::Docker;

use crate::backoff::Backoff;
use crate::cli::{BindAddress, ManagerOptions};
use crate::http::{self, Readiness};
use crate::leader::{self, Leadership};
use crate::metered::Metered;
use crate::metrics::Metrics;
use crate::watch::{SUBSCRIPTION_BUFFER, SharedWatch, activation, drive, watch_name};

/// A manager being set up: register watches and controllers, then [`Manager::spawn`] it.
pub struct Manager {
    client: kube::Client,
    options: ManagerOptions,
    metrics: Arc<Metrics>,
    readiness: Readiness,
    shutdown: CancellationToken,
    leadership: Leadership,
    active: watch::Sender<bool>,
    watches: Vec<RegisteredWatch>,
    controllers: Vec<BoxFuture<'static, ()>>,
    servers: Vec<JoinHandle<std::io::Result<()>>>,
    probe_address: Option<SocketAddr>,
    metrics_address: Option<SocketAddr>,
}

struct RegisteredWatch {
    name: String,
    driver: BoxFuture<'static, ()>,
    synced: watch::Receiver<bool>,
    /// Drops the subscription root once the manager runs.
    close: Box<dyn FnOnce() + Send>,
}

impl Manager {
    /// Serves the probes and metrics and starts competing for leadership, as `options` say.
    pub async fn start(client: kube::Client, options: ManagerOptions) -> anyhow::Result<Self> {
        let shutdown = CancellationToken::new();
        let metrics = Arc::new(Metrics::default());
        let readiness = Readiness::default();
        let mut servers = Vec::new();
        let probe_address = match options.health_probe_bind_address {
            BindAddress::At(address) => {
                let stop = shutdown.clone().cancelled_owned();
                let bound = http::bind_probes(address, readiness.clone(), stop)
                    .await
                    .with_context(|| format!("cannot serve probes on {address}"))?;
                servers.push(tokio::spawn(bound.serve));
                Some(bound.address)
            }
            BindAddress::Disabled => None,
        };
        let metrics_address = match options.metrics_bind_address {
            BindAddress::At(address) => {
                let stop = shutdown.clone().cancelled_owned();
                let bound = http::bind_metrics(address, metrics.clone(), stop)
                    .await
                    .with_context(|| format!("cannot serve metrics on {address}"))?;
                servers.push(tokio::spawn(bound.serve));
                Some(bound.address)
            }
            BindAddress::Disabled => None,
        };
        let leadership = elect(&client, &options).await?;
        Ok(Self {
            client,
            options,
            metrics,
            readiness,
            shutdown,
            leadership,
            active: watch::channel(false).0,
            watches: Vec::new(),
            controllers: Vec::new(),
            servers,
            probe_address,
            metrics_address,
        })
    }

    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    pub fn options(&self) -> &ManagerOptions {
        &self.options
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Publishes Kubernetes Events as this manager (`kubectl describe` shows them).
    pub fn recorder(&self) -> Recorder {
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_owned(),
            instance: self.options.leader_election_identity.clone(),
        };
        Recorder::new(self.client.clone(), reporter)
    }

    /// `docker`, with every call counted in `capdkc_docker_calls_total`.
    pub fn metered(&self, docker: Docker) -> Docker {
        let metrics = self.metrics.clone();
        docker.wrap_engine(|engine| capdkc_docker::Engine::new(Metered::new(engine, metrics)))
    }

    // ANCHOR: watch
    /// Watches every object of kind `K` in the manager's scope (`--namespace`, `--watch-filter`).
    pub fn watch<K>(&mut self) -> SharedWatch<K>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug
            + Send
            + Sync
            + 'static,
    {
        let (store, writer) = reflector::store_shared::<K>(SUBSCRIPTION_BUFFER);
        let root = Arc::new(Mutex::new(writer.subscribe()));
        let (synced_sender, synced) = watch::channel(false);
        let api = match &self.options.namespace {
            Some(namespace) => Api::namespaced(self.client.clone(), namespace),
            None => Api::all(self.client.clone()),
        };
        let mut config = watcher::Config::default();
        if let Some(value) = &self.options.watch_filter {
            config = config.labels(&format!("{WATCH_FILTER_LABEL}={value}"));
        }
        let driver = drive(api, config, writer, synced_sender, self.readiness.clone());
        let closing = root.clone();
        self.watches.push(RegisteredWatch {
            name: watch_name::<K>(),
            driver: Box::pin(driver),
            synced,
            close: Box::new(move || drop(closing.lock().unwrap_or_else(|p| p.into_inner()).take())),
        });
        SharedWatch::new(store, root, self.active.subscribe())
    }
    // ANCHOR_END: watch

    // ANCHOR: add_controller
    /// Runs `controller` with `reconcile` once this process leads and every cache has synced:
    /// it then reconciles every object once, and after that what its watches and triggers ask
    /// for. A failed reconcile is retried after a delay that doubles per consecutive failure of
    /// that object (1 s to 5 min); every reconcile is counted and timed in the metrics. A
    /// standby reconciles nothing, whatever asks it to.
    pub fn add_controller<K, Ctx, R, F, E>(
        &mut self,
        name: &'static str,
        controller: Controller<K>,
        reconcile: R,
        ctx: Arc<Ctx>,
    ) where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        Ctx: Send + Sync + 'static,
        R: Fn(Arc<K>, Arc<Ctx>) -> F + Send + Sync + 'static,
        F: Future<Output = Result<Action, E>> + Send + 'static,
        E: std::error::Error + Send + Sync + 'static,
    {
        let backoff = Arc::new(Backoff::default());
        let metrics = self.metrics.clone();
        let reconcile = Arc::new(reconcile);
        let failures = backoff.clone();
        let active = self.active.subscribe();
        let instrumented = move |object: Arc<K>, ctx: Arc<Ctx>| {
            let (reconcile, backoff, metrics) =
                (reconcile.clone(), backoff.clone(), metrics.clone());
            // The watches pass changes on only once this process leads, but other requests
            // (`reconcile_on`: Docker's events, say) reach a standby too. It drops them; the
            // reconcile of every object at activation covers what they asked for.
            let leading = *active.borrow();
            async move {
                if !leading {
                    return Ok(Action::await_change());
                }
                let key = backoff_key(object.as_ref());
                let started = Instant::now();
                let result = reconcile(object, ctx).await;
                metrics.observe(name, started.elapsed(), result.is_ok());
                if result.is_ok() {
                    backoff.succeeded(&key);
                }
                result
            }
        };
        let retry = move |object: Arc<K>, _error: &E, _ctx: Arc<Ctx>| {
            Action::requeue(failures.failed(&backoff_key(object.as_ref())))
        };
        let run = controller
            .reconcile_all_on(activation(self.active.subscribe()))
            .graceful_shutdown_on(self.shutdown.clone().cancelled_owned())
            .run(instrumented, retry, ctx)
            .for_each(move |result| async move {
                match result {
                    Ok(_) => {}
                    // Woken (by a watch, a trigger or Docker) for an object deleted since:
                    // nothing to do.
                    Err(kube::runtime::controller::Error::ObjectNotFound(object)) => {
                        tracing::debug!(controller = name, %object, "object gone before its reconcile");
                    }
                    Err(error) => {
                        tracing::warn!(controller = name, error = %DisplayChain(&error), "reconcile failed");
                    }
                }
            });
        self.controllers.push(Box::pin(run));
    }
    // ANCHOR_END: add_controller

    /// Starts the watches and the controllers and returns at once.
    pub fn spawn(self) -> Running {
        let Manager {
            metrics,
            readiness,
            shutdown,
            leadership,
            active,
            watches,
            controllers,
            servers,
            probe_address,
            metrics_address,
            ..
        } = self;
        let mut synced = Vec::new();
        let mut drivers = Vec::new();
        for watch in watches {
            (watch.close)();
            readiness.waiting(&watch.name, "waiting for the first list");
            synced.push(watch.synced);
            drivers.push(watch.driver);
        }
        readiness.started();
        let leading = leadership.leading.clone();
        let became_active = active.subscribe();
        tokio::spawn(activate(leading.clone(), synced, active));
        let stop = shutdown.clone();
        let work = tokio::spawn(async move {
            let controllers = async {
                // Before they start, controllers have nothing to finish (and kube holds a
                // controller's shutdown until its cache is ready, which may never come): a stop
                // then drops them. Once started, a stop lets them finish their reconciles.
                let stopped_before_start = async {
                    stop.cancelled().await;
                    if *became_active.borrow() {
                        std::future::pending::<()>().await;
                    }
                };
                tokio::select! {
                    _ = futures::future::join_all(controllers) => {}
                    () = stopped_before_start => {}
                }
                stop.cancelled().await;
            };
            let watches = async {
                if drivers.is_empty() {
                    std::future::pending::<()>().await;
                }
                futures::future::select_all(drivers).await;
            };
            let result = tokio::select! {
                () = controllers => Ok(()),
                () = watches => Err(anyhow!("a watch ended")),
                result = lose_leadership(leading) => result,
            };
            // Dropping the leadership releases the Lease for the next replica.
            drop(leadership);
            result
        });
        Running {
            probe_address,
            metrics_address,
            metrics,
            readiness,
            shutdown,
            work,
            servers,
        }
    }
}

/// Leader election as the options ask: a Lease, or leading from the start.
async fn elect(client: &kube::Client, options: &ManagerOptions) -> anyhow::Result<Leadership> {
    if !options.leader_elect {
        return Ok(Leadership::always());
    }
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
        .context("cannot start leader election")
}

// ANCHOR: leadership
/// Turns `active` on once this process leads and every watch has synced.
async fn activate(
    mut leading: watch::Receiver<bool>,
    mut synced: Vec<watch::Receiver<bool>>,
    active: watch::Sender<bool>,
) {
    for watch in &mut synced {
        if watch.wait_for(|done| *done).await.is_err() {
            return;
        }
    }
    tracing::info!("watches synced");
    if leading.wait_for(|leads| *leads).await.is_ok() {
        tracing::info!("leading: the controllers start");
        active.send_replace(true);
    }
}

/// Completes with an error when this process, having led, loses leadership: it exits so that
/// only the new leader reconciles, and Kubernetes restarts it as a standby.
async fn lose_leadership(mut leading: watch::Receiver<bool>) -> anyhow::Result<()> {
    if leading.wait_for(|leads| *leads).await.is_err() {
        return std::future::pending().await;
    }
    let _ = leading.wait_for(|leads| !*leads).await;
    Err(anyhow!(
        "lost leadership; stopping so that only the new leader reconciles"
    ))
}
// ANCHOR_END: leadership

fn backoff_key<K: Resource<DynamicType = ()>>(object: &K) -> String {
    let kind = K::kind(&());
    format!(
        "{kind}/{}/{}",
        object.namespace().unwrap_or_default(),
        object.name_any()
    )
}

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

    /// Waits until the manager stops: after a shutdown, or with an error when a watch ends or
    /// leadership is lost.
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use capdkc_capi::Cluster;
    use capdkc_test_support::eventually;
    use capdkc_test_support::watch_server::{WatchServer, listed_object};
    use clap::Parser;
    use kube::runtime::reflector::ObjectRef;

    use super::*;
    use crate::cli::Cli;

    /// A standby has warm caches but reconciles nothing, even when something other than a watch
    /// asks it to (Docker's events, say): only the Lease holder acts.
    #[tokio::test]
    async fn a_standby_reconciles_nothing_even_when_asked_to() {
        let cluster = listed_object("cluster.x-k8s.io/v1beta2", "Cluster", "one");
        let (client, release_lists) = WatchServer::default()
            .with_list("clusters", vec![cluster])
            .start();
        let args = [
            "manager",
            "--health-probe-bind-address=0",
            "--metrics-bind-address=0",
        ];
        let options = Cli::parse_from(args).manager;
        let mut manager = Manager::start(client, options).await.expect("starts");
        manager.leadership = Leadership::standby();
        let clusters = manager.watch::<Cluster>();
        let asked = futures::stream::iter([ObjectRef::new("one").within("default")])
            .chain(futures::stream::pending());
        let controller = Controller::for_shared_stream(clusters.subscribe(), clusters.store())
            .reconcile_on(asked);
        let reconciles = Arc::new(AtomicUsize::new(0));
        let count = |_: Arc<Cluster>, reconciles: Arc<AtomicUsize>| async move {
            reconciles.fetch_add(1, Ordering::SeqCst);
            Ok::<_, kube::Error>(Action::await_change())
        };
        manager.add_controller("cluster", controller, count, reconciles.clone());
        let running = manager.spawn();
        release_lists.notify_one();
        let readiness = running.readiness.clone();
        eventually("the watch has synced", async || readiness.is_ready()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(reconciles.load(Ordering::SeqCst), 0, "a standby reconciled");
        tokio::time::timeout(Duration::from_secs(5), running.stop())
            .await
            .expect("stops within 5 s")
            .expect("stops cleanly");
    }
}
