//! Two checkpoint-02 managers against one real API server: both become ready (readiness does not
//! wait for leadership), only the Lease holder reconciles, and when it stops the standby takes
//! over.

use std::time::Duration;

use apiserver_harness::{
    ControlPlane, Needs, assets_for_test, create_from_yaml, create_namespace, install_crds,
};
use capdkc_manager::leader::LEASE_NAME;
use capdkc_manager::{Cli, Manager, ManagerOptions, Running};
use clap::Parser;
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

const SAMPLE: &str = include_str!(
    "../../../checkpoints/02-tilt/config/samples/infrastructure_v1alpha1_dockercluster.yaml"
);

fn options(identity: &str) -> ManagerOptions {
    Cli::parse_from([
        "manager",
        "--leader-elect",
        "--health-probe-bind-address=127.0.0.1:0",
        "--metrics-bind-address=0",
        "--leader-election-namespace=capdkc-system",
        &format!("--leader-election-identity={identity}"),
    ])
    .manager
}

/// Checkpoint 02's manager: the given manager with the chapter's controllers.
async fn start(client: kube::Client, options: ManagerOptions) -> anyhow::Result<Running> {
    let mut manager = Manager::start(client, options).await?;
    checkpoint_02::controllers::setup(&mut manager);
    Ok(manager.spawn())
}

async fn within(
    what: &str,
    limit: Duration,
    mut condition: impl AsyncFnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if condition().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("timed out after {limit:?} waiting until {what}")
}

async fn holder(leases: &Api<Lease>) -> Option<String> {
    leases
        .get_opt(LEASE_NAME)
        .await
        .ok()
        .flatten()?
        .spec?
        .holder_identity
}

#[tokio::test]
async fn only_the_lease_holder_reconciles_and_a_standby_takes_over() -> anyhow::Result<()> {
    let test = "only_the_lease_holder_reconciles_and_a_standby_takes_over";
    let Some(assets) = assets_for_test(test, Needs::ControlPlane)? else {
        return Ok(());
    };
    let control_plane = ControlPlane::start(&assets).await?;
    let client = control_plane.client().await?;
    install_crds(&client, &checkpoint_02::crdgen::crds()).await?;
    create_namespace(&client, "capdkc-system").await?;
    create_namespace(&client, "workshop").await?;
    create_from_yaml(&client, "workshop", SAMPLE).await?;
    let leases = Api::<Lease>::namespaced(client.clone(), "capdkc-system");

    // ANCHOR: takeover
    let first = start(client.clone(), options("first")).await?;
    within(
        "the first manager reconciles",
        Duration::from_secs(30),
        async || first.metrics.reconciles("dockercluster") >= 1,
    )
    .await?;
    assert_eq!(holder(&leases).await.as_deref(), Some("first"));

    let second = start(client.clone(), options("second")).await?;
    within(
        "the standby is ready without leading",
        Duration::from_secs(30),
        async || second.readiness.is_ready(),
    )
    .await?;
    // Long enough for the standby to have reconciled had it been running its controllers.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        second.metrics.reconciles("dockercluster"),
        0,
        "the standby reconciled while the first led"
    );
    assert_eq!(holder(&leases).await.as_deref(), Some("first"));

    // A graceful stop releases the Lease, so the standby takes over without waiting for expiry.
    first.stop().await?;
    within(
        "the standby takes over and reconciles",
        Duration::from_secs(30),
        async || second.metrics.reconciles("dockercluster") >= 1,
    )
    .await?;
    assert_eq!(holder(&leases).await.as_deref(), Some("second"));
    // ANCHOR_END: takeover
    second.stop().await?;
    Ok(())
}
