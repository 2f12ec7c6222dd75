//! The scaffold's controllers in the given manager, against an API server that only lists and
//! watches: ready once both watches have synced, and every object found is reconciled.

mod support;

use support::checkpoint;

use capdkc_manager::{Cli, Manager, Running};
use capdkc_test_support::watch_server::{WatchServer, listed_object};
use checkpoint::controllers;
use clap::Parser;
use support::{eventually, get};

fn docker_cluster(name: &str) -> serde_json::Value {
    let api_version = "infrastructure.cluster.x-k8s.io/v1alpha1";
    listed_object(api_version, "DockerCluster", name)
}

async fn start(server: WatchServer) -> (Running, std::sync::Arc<tokio::sync::Notify>) {
    let (client, release_lists) = server.start();
    let args = [
        "manager",
        "--health-probe-bind-address=127.0.0.1:0",
        "--metrics-bind-address=127.0.0.1:0",
    ];
    let options = Cli::parse_from(args).manager;
    let mut manager = Manager::start(client, options).await.expect("starts");
    controllers::setup(&mut manager);
    (manager.spawn(), release_lists)
}

#[tokio::test]
async fn step_2_2_ready_once_both_watches_have_synced() {
    let (running, release_lists) = start(WatchServer::default()).await;
    let probes = running.probe_address.expect("probes served");
    let (status, body) = get(probes, "/readyz").await;
    assert_eq!(status, 503);
    for watch in [
        "dockerclusters.infrastructure.cluster.x-k8s.io",
        "dockermachines.infrastructure.cluster.x-k8s.io",
    ] {
        assert!(body.contains(watch), "{watch} in {body}");
    }
    release_lists.notify_one();
    eventually("/readyz answers 200", async || {
        get(probes, "/readyz").await.0 == 200
    })
    .await;
    running.stop().await.expect("stops cleanly");
}

#[tokio::test]
async fn step_2_2_every_object_found_is_reconciled_once_and_counted() {
    let server = WatchServer::default().with_list(
        "dockerclusters",
        vec![docker_cluster("one"), docker_cluster("two")],
    );
    let (running, release_lists) = start(server).await;
    release_lists.notify_one();
    let counts = running.metrics.clone();
    eventually("both DockerClusters are reconciled", async || {
        counts.reconciles("dockercluster") == 2
    })
    .await;
    let (status, text) = get(running.metrics_address.expect("metrics"), "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains("capdkc_reconcile_total{controller=\"dockercluster\",result=\"success\"} 2"),
        "{text}"
    );
    assert_eq!(
        counts.reconciles("dockermachine"),
        0,
        "no DockerMachine to reconcile"
    );
    running.stop().await.expect("stops cleanly");
}
