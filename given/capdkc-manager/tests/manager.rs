//! The manager process against an API server that only lists and watches: probes, readiness
//! that follows the watches and says what it waits for, metrics, leader-gated controllers, and a
//! prompt stop.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use capdkc_capi::Cluster;
use capdkc_manager::{Cli, Manager, Running};
use capdkc_test_support::watch_server::WatchServer;
use capdkc_test_support::{eventually, get};
use clap::Parser;
use kube::runtime::Controller;
use kube::runtime::controller::Action;
use serde_json::json;

/// Counts the reconciles of Clusters (any kind would do; the manager is generic).
struct Counter(AtomicUsize);

async fn count(_cluster: Arc<Cluster>, counter: Arc<Counter>) -> Result<Action, kube::Error> {
    counter.0.fetch_add(1, Ordering::SeqCst);
    Ok(Action::await_change())
}

fn cluster_json(name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "Cluster",
        "metadata": { "name": name, "namespace": "default", "uid": format!("uid-{name}"), "resourceVersion": "1" },
        "spec": {},
    })
}

/// A manager watching Clusters with one counting controller.
async fn start(
    server: WatchServer,
    extra: &[&str],
) -> (Running, Arc<Counter>, Arc<tokio::sync::Notify>) {
    let (client, release_lists) = server.start();
    let args = [
        "manager",
        "--health-probe-bind-address=127.0.0.1:0",
        "--metrics-bind-address=127.0.0.1:0",
    ];
    let options = Cli::parse_from(args.iter().chain(extra)).manager;
    let mut manager = Manager::start(client, options).await.expect("starts");
    let clusters = manager.watch::<Cluster>();
    let counter = Arc::new(Counter(AtomicUsize::new(0)));
    let controller = Controller::for_shared_stream(clusters.subscribe(), clusters.store());
    manager.add_controller("cluster", controller, count, counter.clone());
    (manager.spawn(), counter, release_lists)
}

/// Stops the manager, failing the test if that takes more than a few seconds.
async fn stop_promptly(running: Running) {
    tokio::time::timeout(std::time::Duration::from_secs(5), running.stop())
        .await
        .expect("the manager stops within 5 s")
        .expect("stops cleanly");
}

#[tokio::test]
async fn readyz_says_what_it_waits_for_until_the_watches_have_synced() {
    let (running, _, release_lists) = start(WatchServer::default(), &[]).await;
    let probes = running.probe_address.expect("probes served");
    assert_eq!(get(probes, "/healthz").await.0, 200, "alive from the start");
    let (status, body) = get(probes, "/readyz").await;
    assert_eq!(status, 503);
    assert!(
        body.contains("clusters.cluster.x-k8s.io: waiting for the first list"),
        "{body}"
    );
    release_lists.notify_one();
    eventually("/readyz answers 200", async || {
        get(probes, "/readyz").await.0 == 200
    })
    .await;
    stop_promptly(running).await;
}

#[tokio::test]
async fn a_kind_the_api_server_does_not_serve_is_named_once_with_how_to_install_it() {
    let (running, counter, release_lists) =
        start(WatchServer::default().without("clusters"), &[]).await;
    release_lists.notify_one();
    let probes = running.probe_address.expect("probes served");
    eventually("/readyz names the missing CRD", async || {
        let (status, body) = get(probes, "/readyz").await;
        status == 503
            && body.contains("does not serve clusters.cluster.x-k8s.io")
            && body.contains("clusterctl init")
    })
    .await;
    assert_eq!(counter.0.load(Ordering::SeqCst), 0, "nothing to reconcile");
    stop_promptly(running).await;
}

#[tokio::test]
async fn every_object_found_is_reconciled_once_and_counted_in_the_metrics() {
    let server = WatchServer::default()
        .with_list("clusters", vec![cluster_json("one"), cluster_json("two")]);
    let (running, counter, release_lists) = start(server, &[]).await;
    release_lists.notify_one();
    eventually("both Clusters are reconciled", async || {
        counter.0.load(Ordering::SeqCst) == 2
    })
    .await;
    let metrics = running.metrics_address.expect("metrics served");
    let (status, text) = get(metrics, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "capdkc_reconcile_total{controller=\"cluster\",result=\"success\"} 2",
        "capdkc_reconcile_duration_seconds_count{controller=\"cluster\"} 2",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    assert!(text.trim_end().ends_with("# EOF"));
    stop_promptly(running).await;
}

#[tokio::test]
async fn stops_promptly_before_the_watches_have_synced() {
    let server = WatchServer::default().with_list("clusters", vec![cluster_json("one")]);
    let (running, counter, _lists_never_answered) = start(server, &[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!running.readiness.is_ready());
    stop_promptly(running).await;
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        0,
        "no controller ran before the sync"
    );
}

#[tokio::test]
async fn metrics_and_probes_can_be_turned_off() {
    let (running, _, _) = start(
        WatchServer::default(),
        &["--metrics-bind-address=0", "--health-probe-bind-address=0"],
    )
    .await;
    assert!(running.metrics_address.is_none());
    assert!(running.probe_address.is_none());
    stop_promptly(running).await;
}
