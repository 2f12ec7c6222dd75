//! The manager process against a scripted API server: probes, metrics, readiness that follows
//! the watches, and controllers that reconcile what the watches found.

mod support;

use checkpoint_05::cli::Cli;
use clap::Parser;
use support::{docker_cluster, eventually, fake_docker, get, scripted_api_server};

/// Stops the manager, failing the test if that takes more than a few seconds.
async fn stop_promptly(running: checkpoint_05::manager::Running) {
    tokio::time::timeout(std::time::Duration::from_secs(5), running.stop())
        .await
        .expect("the manager stops within 5 s")
        .expect("stops cleanly");
}

fn options(extra: &[&str]) -> checkpoint_05::cli::ManagerOptions {
    let args = [
        "manager",
        "--health-probe-bind-address=127.0.0.1:0",
        "--metrics-bind-address=127.0.0.1:0",
    ];
    Cli::parse_from(args.iter().chain(extra)).manager
}

#[tokio::test]
async fn readyz_turns_ready_only_once_the_watches_have_synced() {
    let (client, release_lists) = scripted_api_server(vec![]);
    let running = checkpoint_05::manager::start(client, &options(&[]), fake_docker())
        .await
        .expect("starts");
    let probes = running.probe_address.expect("probes served");

    assert_eq!(get(probes, "/healthz").await.0, 200, "alive from the start");
    // The watches are still waiting for their first list.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (status, body) = get(probes, "/readyz").await;
    assert_eq!(
        (status, body.as_str()),
        (503, "watches have not synced yet")
    );

    release_lists.notify_one();
    eventually("/readyz answers 200", async || {
        get(probes, "/readyz").await.0 == 200
    })
    .await;
    stop_promptly(running).await;
}

#[tokio::test]
async fn metrics_count_the_reconciles_of_what_the_watches_found() {
    let (client, release_lists) =
        scripted_api_server(vec![docker_cluster("one"), docker_cluster("two")]);
    release_lists.notify_one();
    let running = checkpoint_05::manager::start(client, &options(&[]), fake_docker())
        .await
        .expect("starts");
    let metrics = running.metrics_address.expect("metrics served");

    let counts = running.metrics.clone();
    eventually("both DockerClusters are reconciled", async || {
        counts.reconciles("dockercluster") == 2
    })
    .await;
    let (status, text) = get(metrics, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains("capdkc_reconcile_total{controller=\"dockercluster\",result=\"success\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("capdkc_reconcile_duration_seconds_count{controller=\"dockercluster\"} 2"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"));
    stop_promptly(running).await;
}

#[tokio::test]
async fn stops_promptly_even_before_the_watches_have_synced() {
    let (client, _lists_never_answered) = scripted_api_server(vec![docker_cluster("one")]);
    let running = checkpoint_05::manager::start(client, &options(&[]), fake_docker())
        .await
        .expect("starts");
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!running.readiness.is_ready());
    stop_promptly(running).await;
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let (client, _release) = scripted_api_server(vec![]);
    let running = checkpoint_05::manager::start(
        client,
        &options(&["--metrics-bind-address=0"]),
        fake_docker(),
    )
    .await
    .expect("starts");
    assert!(running.metrics_address.is_none());
    stop_promptly(running).await;
}
