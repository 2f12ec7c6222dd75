//! Checkpoint 03 on real parts: kube-apiserver and etcd, the Cluster API core manager, a real
//! Docker engine, and our manager running under the ServiceAccount and ClusterRole it ships.
//!
//! One Cluster goes through its whole life: the load balancer runs, the endpoint is set and core
//! copies it (and "provisioned") to the Cluster; a converged DockerCluster causes zero API writes
//! and zero Docker mutations; a stopped load balancer is healed; pause stops all work; deleting
//! the Cluster cascades through core and leaves no container. RBAC: nothing is refused and every
//! granted rule is used.
//!
//! A second test sends the admission table of checkpoint 03 to the API server.

mod common;

use std::time::{Duration, Instant};

use apiserver_harness::{
    AuditEvent, CapiManager, ControlPlane, Needs, assets_for_test, create_from_yaml,
    create_namespace, dynamic_api, get_table, install_crds, requests_of, summary, wait_for,
};
use capdkc_capi::conditions;
use capdkc_docker::loadbalancer::{CONFIG_PATH, LbConfig, render};
use capdkc_docker::test_support::{LB_TEST_IMAGE, docker_env, run_labels};
use capdkc_docker::{BollardRuntime, ContainerRuntime, Docker};
use capdkc_manager::{Cli, Manager};
use captures::{Shape, Volatile};
use checkpoint_03::api::DockerCluster;
use checkpoint_03::api::conditions::LOAD_BALANCER_AVAILABLE;
use clap::Parser;
use common::{
    ShippedRbac, TIMEOUT, assert_rbac_is_exact, cluster_yaml, condition, docker_cli,
    docker_cluster_yaml, docker_events, judge_admission_table, shipped_service_account, unix_now,
    wait_until,
};
use k8s_openapi::api::events::v1::Event;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

const SERVICE_ACCOUNT: &str =
    include_str!("../../../checkpoints/03-cluster-controller/config/rbac/service_account.yaml");
const ROLE: &str = include_str!("../../../checkpoints/03-cluster-controller/config/rbac/role.yaml");
const ROLE_BINDING: &str =
    include_str!("../../../checkpoints/03-cluster-controller/config/rbac/role_binding.yaml");
const ADMISSION_CASES: &str = include_str!(
    "../../../checkpoints/03-cluster-controller/tests/cases/docker_cluster_admission.yaml"
);

const NAMESPACE: &str = "e2e";

#[tokio::test]
async fn a_docker_cluster_lives_and_dies_on_real_parts() -> anyhow::Result<()> {
    let test = "a_docker_cluster_lives_and_dies_on_real_parts";
    let Some(assets) = assets_for_test(test, Needs::ClusterApi)? else {
        return Ok(());
    };
    let Some(docker_env) = docker_env(test).await else {
        return Ok(());
    };
    let control_plane = ControlPlane::start(&assets).await?;
    let admin = control_plane.client().await?;
    install_crds(&admin, &checkpoint_03::crdgen::crds()).await?;
    let capi = CapiManager::start(&control_plane, &assets).await?;
    let rbac = ShippedRbac {
        service_account: SERVICE_ACCOUNT,
        cluster_role: ROLE,
        cluster_role_binding: ROLE_BINDING,
    };
    let (client, user, rules) = shipped_service_account(&control_plane, &admin, rbac).await?;

    // Our manager, as it runs in a pod, with Docker confined to this test's network and label.
    let mut docker = Docker::new(BollardRuntime::connect().await?, &docker_env.network);
    docker.nodes.extra_labels = run_labels(&docker_env.run_id);
    let options = Cli::parse_from([
        "manager",
        "--health-probe-bind-address=127.0.0.1:0",
        "--metrics-bind-address=0",
    ])
    .manager;
    let mut manager = Manager::start(client, options).await?;
    checkpoint_03::controllers::setup(&mut manager, docker);
    let running = manager.spawn();

    // A cluster name unique on this Docker host: container names are per host.
    let name = format!(
        "c03-{}",
        &docker_env.network[docker_env.network.len() - 8..]
    );
    let lb = format!("{name}-lb");
    create_namespace(&admin, NAMESPACE).await?;
    create_from_yaml(&admin, NAMESPACE, &cluster_yaml(&name)).await?;
    create_from_yaml(&admin, NAMESPACE, &docker_cluster_yaml(&name)).await?;
    let docker_clusters = Api::<DockerCluster>::namespaced(admin.clone(), NAMESPACE);
    let clusters = dynamic_api(&admin, NAMESPACE, "cluster.x-k8s.io/v1beta2", "Cluster").await?;
    let explain = |error: apiserver_harness::Error| {
        anyhow::anyhow!(
            "{error}\n--- cluster-api-manager log tail ---\n{}",
            capi.log_tail()
        )
    };

    // 1. Provisioned: the load balancer runs, the endpoint points at it, core copied both.
    let provisioned = wait_for(&docker_clusters, &name, TIMEOUT, |dc| {
        dc.status
            .as_ref()
            .and_then(|s| s.initialization.as_ref())
            .and_then(|i| i.provisioned)
            == Some(true)
    })
    .await
    .map_err(explain)?;
    let endpoint = provisioned
        .spec
        .control_plane_endpoint
        .clone()
        .unwrap_or_default();
    let status = provisioned.status.clone().unwrap_or_default();
    for type_ in [conditions::READY, LOAD_BALANCER_AVAILABLE] {
        assert!(
            conditions::is_true(&status.conditions, type_),
            "{type_}: {status:#?}"
        );
    }
    assert_eq!(
        conditions::get(&status.conditions, conditions::PAUSED).map(|c| c.status.as_str()),
        Some("False")
    );
    assert_eq!(endpoint.port, Some(6443));
    let runtime = &docker_env.rt;
    let container = runtime.inspect(&lb).await?;
    assert!(container.running, "{container:?}");
    assert_eq!(
        container.ip_on(&docker_env.network),
        endpoint.host.as_deref(),
        "the endpoint is the load balancer's address on the cluster network"
    );
    assert_eq!(
        container.image, LB_TEST_IMAGE,
        "spec.loadBalancer.image is used"
    );
    let config = runtime.read_file(&lb, CONFIG_PATH).await?;
    assert_eq!(
        String::from_utf8_lossy(&config),
        render(&LbConfig::new(Vec::new())),
        "no control-plane node yet: a frontend without servers"
    );

    let cluster = wait_for(&clusters, &name, TIMEOUT, |cluster| {
        cluster
            .data
            .pointer("/status/initialization/infrastructureProvisioned")
            == Some(&Value::Bool(true))
            && cluster
                .data
                .pointer("/spec/controlPlaneEndpoint/host")
                .is_some()
    })
    .await
    .map_err(explain)?;
    assert_eq!(
        cluster.data.pointer("/spec/controlPlaneEndpoint"),
        Some(&json!({ "host": endpoint.host, "port": 6443 })),
        "core copied our endpoint to the Cluster"
    );
    let mirrored = condition(&cluster, "InfrastructureReady");
    assert_eq!(
        mirrored.and_then(|c| c.get("status")),
        Some(&json!("True")),
        "core mirrors our Ready: {mirrored:?}"
    );
    let table = get_table(
        &admin,
        &format!(
            "/apis/infrastructure.cluster.x-k8s.io/v1alpha1/namespaces/{NAMESPACE}/dockerclusters"
        ),
    )
    .await?;
    assert_eq!(table.cell(&name, "Cluster"), Some(&json!(name)));
    assert_eq!(table.cell(&name, "Provisioned"), Some(&json!(true)));
    assert_eq!(table.cell(&name, "Ready"), Some(&json!("True")));
    assert_eq!(
        table.cell(&name, "Endpoint"),
        endpoint.host.as_ref().map(|h| json!(h)).as_ref()
    );
    // What chapter 3 shows; checked at the end, so that a stale capture still lets the test
    // run through and clean up.
    let captured = captures::check_or_update(
        "kubectl-get-dockerclusters",
        &format!("$ kubectl get dockerclusters\n{}", table.kubectl_text()),
        KUBECTL_GET_VOLATILE,
    );

    // 2. Converged: another reconcile writes nothing, to the API or to Docker.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = running.metrics.reconciles("dockercluster");
    let audit_mark = control_plane.audit_events()?.len();
    let docker_mark = unix_now();
    poke(&docker_clusters, &name, "converged").await?;
    let deadline = Instant::now() + TIMEOUT;
    while running.metrics.reconciles("dockercluster") <= before {
        anyhow::ensure!(Instant::now() < deadline, "the poke caused no reconcile");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let since_mark = control_plane.audit_events()?.split_off(audit_mark);
    let writes: Vec<AuditEvent> = requests_of(&since_mark, &user)
        .into_iter()
        .filter(|e| matches!(e.verb.as_str(), "create" | "update" | "patch" | "delete"))
        .collect();
    assert!(
        writes.is_empty(),
        "a converged DockerCluster was written: {:#?}",
        summary(&writes)
    );
    let docker_actions = docker_events(&lb, docker_mark, unix_now() + 1, "{{.Action}}");
    eprintln!(
        "converged reconcile: {} API requests by the manager, Docker actions {docker_actions:?}",
        requests_of(&since_mark, &user).len()
    );
    assert!(
        docker_actions.iter().all(|action| action == "archive-path"),
        "a converged DockerCluster changed Docker (only reads of the config expected): {docker_actions:?}"
    );

    // 3. A stopped load balancer is started again, twice (the second event is a repeat).
    for round in 1..=2 {
        docker_cli(&["stop", "--time", "1", &lb]);
        poke(&docker_clusters, &name, &format!("heal-{round}")).await?;
        wait_until(&format!("{lb} runs again (round {round})"), async || {
            runtime.inspect(&lb).await.is_ok_and(|c| c.running)
        })
        .await?;
    }
    let events = Api::<Event>::namespaced(admin.clone(), NAMESPACE);
    let healed: Vec<Event> = events
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("LoadBalancerHealed"))
        .collect();
    assert_eq!(healed.len(), 1, "repeats merge into one event: {healed:#?}");
    assert_eq!(healed[0].type_.as_deref(), Some("Warning"));

    // 4. Pause: Paused=True and no work at all, even on a missing load balancer; unpause heals.
    let merge = PatchParams::default();
    clusters
        .patch(
            &name,
            &merge,
            &Patch::Merge(json!({ "spec": { "paused": true } })),
        )
        .await?;
    wait_for(&docker_clusters, &name, TIMEOUT, |dc| {
        is_condition(dc, conditions::PAUSED, "True")
    })
    .await?;
    docker_cli(&["rm", "--force", "--volumes", &lb]);
    poke(&docker_clusters, &name, "paused").await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        runtime.inspect(&lb).await.is_err(),
        "a paused cluster's load balancer was recreated"
    );
    clusters
        .patch(
            &name,
            &merge,
            &Patch::Merge(json!({ "spec": { "paused": false } })),
        )
        .await?;
    wait_for(&docker_clusters, &name, TIMEOUT, |dc| {
        is_condition(dc, conditions::PAUSED, "False")
    })
    .await?;
    wait_until(&format!("{lb} is recreated after unpausing"), async || {
        runtime.inspect(&lb).await.is_ok_and(|c| c.running)
    })
    .await?;
    // Docker usually hands the new container another address; the endpoint cannot follow, and
    // the condition must say so rather than report the cluster ready.
    let new_ip = runtime
        .inspect(&lb)
        .await?
        .ip_on(&docker_env.network)
        .map(str::to_owned);
    let expected = if new_ip == endpoint.host {
        "Available"
    } else {
        "EndpointMismatch"
    };
    eprintln!(
        "recreated load balancer: {new_ip:?} (endpoint {:?})",
        endpoint.host
    );
    wait_for(&docker_clusters, &name, TIMEOUT, |dc| {
        dc.status.as_ref().is_some_and(|s| {
            conditions::get(&s.conditions, LOAD_BALANCER_AVAILABLE)
                .is_some_and(|c| c.reason == expected)
        })
    })
    .await?;

    // 5. Deleting the Cluster: core deletes the DockerCluster, we remove the container.
    clusters.delete(&name, &DeleteParams::default()).await?;
    wait_until("the Cluster and the DockerCluster are gone", async || {
        matches!(docker_clusters.get_opt(&name).await, Ok(None))
            && matches!(clusters.get_opt(&name).await, Ok(None))
    })
    .await
    .map_err(|error| anyhow::anyhow!("{error}\n{}", capi.log_tail()))?;
    let left = runtime
        .list_by_labels(&run_labels(&docker_env.run_id))
        .await?;
    assert!(left.is_empty(), "containers left behind: {left:?}");
    running.stop().await?;

    assert_rbac_is_exact(&control_plane.audit_events()?, &user, &rules);
    docker_env.cleanup().await;
    captured?;
    Ok(())
}

/// What differs from run to run in `kubectl get dockerclusters`: the age, the load balancer's
/// address (Docker's choice), and the 8 hex digits ending the test's cluster name (`c03-`, also
/// in the CLUSTER column). The header, the other cells and the number of rows are compared
/// exactly.
const KUBECTL_GET_VOLATILE: &[Volatile] = &[
    Volatile::Column("AGE", Shape::Age),
    Volatile::Column("ENDPOINT", Shape::Ipv4),
    Volatile::After("c03-", Shape::Hex(8)),
];

/// Every case of checkpoint 03's admission table, judged by kube-apiserver itself.
#[tokio::test]
async fn the_api_server_judges_the_admission_table_as_the_unit_tests_do() -> anyhow::Result<()> {
    let test = "the_api_server_judges_the_admission_table_as_the_unit_tests_do";
    let Some(assets) = assets_for_test(test, Needs::ControlPlane)? else {
        return Ok(());
    };
    let control_plane = ControlPlane::start(&assets).await?;
    let client = control_plane.client().await?;
    install_crds(&client, &checkpoint_03::crdgen::crds()).await?;
    create_namespace(&client, "admission").await?;
    let failures =
        judge_admission_table(&client, "admission", "DockerCluster", ADMISSION_CASES).await?;
    assert!(failures.is_empty(), "{failures:#?}");
    Ok(())
}

/// Changes an annotation, which makes the controller reconcile the object once more.
async fn poke(api: &Api<DockerCluster>, name: &str, value: &str) -> anyhow::Result<()> {
    let patch = json!({ "metadata": { "annotations": { "e2e.capdkc.test/poke": value } } });
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    Ok(())
}

fn is_condition(docker_cluster: &DockerCluster, type_: &str, status: &str) -> bool {
    docker_cluster
        .status
        .as_ref()
        .is_some_and(|s| conditions::get(&s.conditions, type_).is_some_and(|c| c.status == status))
}
