//! The quick-start, end to end, on real parts: `clusterctl generate cluster` from checkpoint 05's
//! template, applied to a real API server running Cluster API core, the kubeadm bootstrap and
//! control-plane providers (with their webhooks) and our manager (checkpoint 05, under its
//! shipped RBAC, nodes with the capability profile chosen by flag), building a real workload
//! cluster from the node image of `scripts/build-node-image.sh`.
//!
//! It checks what a user of the quick-start would: the workload API server answers through our
//! load balancer; every Node is Ready with our providerID; a pod on the worker and a pod on the
//! control-plane node reach each other; the MachineDeployment scales 1 -> 2 -> 1 (a node joins;
//! the removed node's container is gone); deleting the Cluster leaves no container, volume or
//! network of the test behind. Each phase's duration is printed.
//!
//! Needs `KUBEBUILDER_ASSETS` (scripts/test-assets.sh) and `CAPDKC_NODE_IMAGE`
//! (scripts/build-node-image.sh); skips without them locally and fails in CI.

mod common;
mod quickstart_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use apiserver_harness::{
    Assets, CapiManager, CapiProvider, ControlPlane, Needs, assets_for_test, create_namespace,
    dynamic_api, get_table, install_crds,
};
use capdkc_docker::labels::{ROLE_CONTROL_PLANE, ROLE_LABEL};
use capdkc_docker::test_support::{DockerEnv, LB_TEST_IMAGE, docker_env, run_labels};
use capdkc_docker::{ContainerRuntime, Docker};
use capdkc_manager::{Cli, Manager};
use captures::{Shape, Volatile};
use checkpoint_05::api::DockerCluster;
use clap::Parser;
use common::{ShippedRbac, shipped_service_account};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use quickstart_support::*;
use serde_json::{Value, json};

const NAMESPACE: &str = "quickstart";
const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../checkpoints/05-template/templates/cluster-template.yaml"
);
const SERVICE_ACCOUNT: &str =
    include_str!("../../../checkpoints/05-template/config/rbac/service_account.yaml");
const ROLE: &str = include_str!("../../../checkpoints/05-template/config/rbac/role.yaml");
const ROLE_BINDING: &str =
    include_str!("../../../checkpoints/05-template/config/rbac/role_binding.yaml");
/// A kubeadm init and the first node's readiness take a minute or two on a loaded 2-core
/// machine; this bounds every single wait.
const WAIT: Duration = Duration::from_secs(420);

/// The management side: the API server, the Cluster API managers, ours.
struct Management {
    control_plane: ControlPlane,
    admin: Client,
    capi: Vec<CapiManager>,
    ours: capdkc_manager::Running,
}

impl Management {
    /// The last lines of every manager's log, for a failure message.
    fn explain(&self, error: anyhow::Error) -> anyhow::Error {
        let mut text = format!(
            "{error:#}\n(API server log: {})",
            self.control_plane.apiserver_log().display()
        );
        for manager in &self.capi {
            let name = manager.log();
            text.push_str(&format!(
                "\n--- {} ---\n{}",
                name.display(),
                manager.log_tail()
            ));
        }
        anyhow::anyhow!(text)
    }
}

#[tokio::test]
async fn the_quick_start_builds_a_working_cluster_that_scales_and_goes_away() -> anyhow::Result<()>
{
    let test = "the_quick_start_builds_a_working_cluster_that_scales_and_goes_away";
    let _ = tracing_subscriber::fmt()
        .with_env_filter("info,kube_runtime=warn")
        .with_test_writer()
        .try_init();
    let Some(assets) = assets_for_test(test, Needs::KubeadmProviders)? else {
        return Ok(());
    };
    let Some(node_image) = node_image(test)? else {
        return Ok(());
    };
    let Some(env) = docker_env(test).await else {
        return Ok(());
    };
    let mut phases = Phases::start();
    let management = start_management(&assets, &env).await?;
    phases.end("management cluster (API server, 3 Cluster API managers, ours)");

    let result = quick_start(&management, &assets, &env, &node_image, &mut phases).await;
    let result = result.map_err(|error| management.explain(error));
    if result.is_err() {
        diagnose_nodes(&env).await;
    }
    phases.summary();
    management.ours.stop().await?;
    env.cleanup().await;
    result?;
    // The phases, for the book's chapter 6, once they all ran.
    let captured = captures::check_or_update(
        "quickstart-phases",
        &format!(
            "$ cargo test -p apiserver-harness --test quickstart\n{}",
            phases.table()
        ),
        PHASES_VOLATILE,
    );
    captured.map(|_| ()).map_err(anyhow::Error::from)
}

/// What differs between runs in the tables captured here: ages and times, and the random part
/// of every name after the test's `qs-` prefix (the cluster's 8 hexadecimal digits, the
/// machines' suffixes).
const PHASES_VOLATILE: &[Volatile] = &[
    Volatile::Column("SECONDS", Shape::Decimal),
    Volatile::After("qs-", Shape::Name),
];
const NODES_VOLATILE: &[Volatile] = &[
    Volatile::Column("AGE", Shape::Age),
    Volatile::After("qs-", Shape::Name),
];
/// `clusterctl describe` puts one space between columns, and its headers hold spaces: each
/// row's age is its last word (the test captures it once nothing is False, so no message).
const DESCRIPTION_VOLATILE: &[Volatile] = &[
    Volatile::LastWord(Shape::Age),
    Volatile::After("qs-", Shape::Name),
];

/// `kubectl get nodes` of the workload cluster, as chapter 6 runs it, for the book.
async fn capture_nodes(workload: &Client) -> anyhow::Result<()> {
    let table = get_table(workload, "/api/v1/nodes").await?;
    let output = format!(
        "$ kubectl --kubeconfig demo.kubeconfig get nodes\n{}",
        table.kubectl_text()
    );
    captures::check_or_update("quickstart-get-nodes", &output, NODES_VOLATILE)?;
    Ok(())
}

/// `clusterctl describe cluster`, as chapter 6 runs it, once the cluster has settled (every
/// object ready): polled, since core and the kubeadm providers update conditions a little later
/// than the nodes turn Ready.
async fn capture_description(
    assets: &Assets,
    management: &Management,
    cluster: &str,
) -> anyhow::Result<()> {
    let clusterctl = assets.dir().join("clusterctl");
    let home = tempfile::tempdir()?;
    let describe = || -> anyhow::Result<String> {
        let output = std::process::Command::new(&clusterctl)
            .args(["describe", "cluster", cluster, "--namespace", NAMESPACE])
            .arg("--kubeconfig")
            .arg(management.control_plane.kubeconfig_path())
            .env("HOME", home.path())
            .env("CLUSTERCTL_DISABLE_VERSIONCHECK", "true")
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "clusterctl describe cluster: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(String::from_utf8(output.stdout)?)
    };
    let mut last = String::new();
    let settled = until("clusterctl describe shows every object ready", async || {
        last = describe().ok()?;
        settled(&last).then_some(())
    })
    .await;
    settled.map_err(|error| anyhow::anyhow!("{error}; last:\n{last}"))?;
    let output = format!("$ clusterctl describe cluster demo\n{last}");
    captures::check_or_update("quickstart-describe-cluster", &output, DESCRIPTION_VOLATILE)?;
    Ok(())
}

/// Nothing is False, and every row that counts replicas (`2/2`) has them all available and
/// ready: the Cluster's own counts follow its machines' a moment later.
fn settled(description: &str) -> bool {
    let all_counted = description.lines().all(|line| {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| {
            w.split_once('/')
                .is_some_and(|(a, b)| is_count(a) && is_count(b))
        }) else {
            return true;
        };
        let (current, desired) = words[at].split_once('/').unwrap_or_default();
        current == desired && words[at + 1..].iter().take(2).all(|w| *w == desired)
    });
    !description.contains("False") && all_counted
}

fn is_count(word: &str) -> bool {
    !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit())
}

/// Everything after the management cluster runs, phase by phase.
async fn quick_start(
    management: &Management,
    assets: &Assets,
    env: &DockerEnv,
    node_image: &str,
    phases: &mut Phases,
) -> anyhow::Result<()> {
    let admin = &management.admin;
    let cluster = format!("qs-{}", &env.network[env.network.len() - 8..]);
    create_namespace(admin, NAMESPACE).await?;
    let generated = generate_cluster(assets, std::path::Path::new(TEMPLATE), &cluster, NAMESPACE)?;
    for object in for_this_machine(&generated, node_image, LB_TEST_IMAGE)? {
        create(admin, object).await?;
    }
    phases.end("clusterctl generate cluster, objects applied");

    let workload = workload_api_through_the_load_balancer(admin, &cluster).await?;
    phases.end("control plane initialized, API answers through our load balancer");

    let cp_node = control_plane_container(env).await?;
    kubectl(&cp_node, &["apply", "-f", "/etc/capdkc/podnet.yaml"], None)?;
    wait_for_ready_nodes(&workload, 2).await?;
    phases.end("pod network applied, both nodes Ready with our providerID");
    capture_nodes(&workload).await?;

    pods_reach_each_other(&workload, &cp_node).await?;
    phases.end("pod on the worker and pod on the control plane reach each other");
    capture_description(assets, management, &cluster).await?;

    let before = node_containers(env).await?;
    scale_workers(admin, &cluster, 2).await?;
    wait_for_ready_nodes(&workload, 3).await?;
    phases.end("MachineDeployment 1 -> 2: a third node joined and is Ready");

    let during = node_containers(env).await?;
    scale_workers(admin, &cluster, 1).await?;
    let removed = wait_for_one_removed(env, &during).await?;
    wait_for_ready_nodes(&workload, 2).await?;
    anyhow::ensure!(
        node_containers(env).await?.len() == before.len(),
        "back to {} node containers",
        before.len()
    );
    phases.end(&format!(
        "MachineDeployment 2 -> 1: {removed} and its container gone"
    ));

    delete_cluster_and_check_nothing_is_left(admin, &cluster, env).await?;
    phases.end("Cluster deleted: no container, volume or network left");
    Ok(())
}

async fn start_management(assets: &Assets, env: &DockerEnv) -> anyhow::Result<Management> {
    let control_plane = ControlPlane::start(assets).await?;
    let admin = control_plane.client().await?;
    install_crds(&admin, &checkpoint_05::crdgen::crds()).await?;
    let mut capi = Vec::new();
    for provider in CapiProvider::ALL {
        let kubeconfig = control_plane.kubeconfig_path();
        let manager =
            CapiManager::start_provider(&control_plane, assets, provider, kubeconfig, &[]).await?;
        manager.serve_webhooks(&control_plane, assets).await?;
        capi.push(manager);
    }
    let rbac = ShippedRbac {
        service_account: SERVICE_ACCOUNT,
        cluster_role: ROLE,
        cluster_role_binding: ROLE_BINDING,
    };
    let (client, _, _) = shipped_service_account(&control_plane, &admin, rbac).await?;
    // The flags a user on a host that refuses --privileged passes.
    let network = format!("--docker-network={}", env.network);
    let options = Cli::parse_from([
        "manager",
        "--health-probe-bind-address=127.0.0.1:0",
        "--metrics-bind-address=0",
        &network,
        "--node-privilege=capabilities",
    ])
    .manager;
    let mut docker = Docker::connect(&options.docker).await?;
    docker.nodes.extra_labels = run_labels(&env.run_id);
    docker.nodes.mount_lib_modules = host_has_kernel_modules();
    let mut manager = Manager::start(client, options).await?;
    checkpoint_05::controllers::setup(&mut manager, docker);
    let ours = manager.spawn();
    Ok(Management {
        control_plane,
        admin,
        capi,
        ours,
    })
}

/// Creates one generated object in the test's namespace.
async fn create(admin: &Client, object: Value) -> anyhow::Result<()> {
    let object: DynamicObject = serde_json::from_value(object)?;
    let types = object.types.clone().unwrap_or_default();
    let api = dynamic_api(admin, NAMESPACE, &types.api_version, &types.kind).await?;
    api.create(&PostParams::default(), &object).await?;
    Ok(())
}

/// Waits for the kubeconfig Secret that KubeadmControlPlane writes and checks that its server
/// is our load balancer (the DockerCluster's endpoint) and answers.
async fn workload_api_through_the_load_balancer(
    admin: &Client,
    cluster: &str,
) -> anyhow::Result<Client> {
    let secrets = Api::<Secret>::namespaced(admin.clone(), NAMESPACE);
    let name = format!("{cluster}-kubeconfig");
    let secret = until(&format!("Secret {name}"), async || {
        secrets.get_opt(&name).await.ok().flatten()
    })
    .await?;
    let value = secret
        .data
        .unwrap_or_default()
        .remove("value")
        .unwrap_or_default();
    let (workload, server) = workload_client(&String::from_utf8(value.0)?).await?;
    let docker_cluster = Api::<DockerCluster>::namespaced(admin.clone(), NAMESPACE)
        .get(cluster)
        .await?;
    let endpoint = docker_cluster
        .spec
        .control_plane_endpoint
        .unwrap_or_default();
    let expected = format!(
        "https://{}:{}/",
        endpoint.host.unwrap_or_default(),
        endpoint.port.unwrap_or_default()
    );
    anyhow::ensure!(
        server == expected,
        "kubeconfig server {server}, load balancer {expected}"
    );
    let version = until("the workload API server answers", async || {
        workload.apiserver_version().await.ok()
    })
    .await?;
    say(&format!(
        "quickstart: workload API {} at {server}",
        version.git_version
    ));
    Ok(workload)
}

/// The control-plane node container (found by our labels), to run kubectl in.
async fn control_plane_container(env: &DockerEnv) -> anyhow::Result<String> {
    let mut labels = run_labels(&env.run_id);
    labels.insert(ROLE_LABEL.to_owned(), ROLE_CONTROL_PLANE.to_owned());
    let nodes = env.rt.list_by_labels(&labels).await?;
    nodes
        .into_iter()
        .map(|node| node.name)
        .next()
        .ok_or_else(|| anyhow::anyhow!("no control-plane node container"))
}

/// The names of the node containers of this test (the load balancer's role is another).
async fn node_containers(env: &DockerEnv) -> anyhow::Result<BTreeSet<String>> {
    let all = env.rt.list_by_labels(&run_labels(&env.run_id)).await?;
    Ok(all
        .into_iter()
        .filter(|c| {
            c.labels
                .get(ROLE_LABEL)
                .is_some_and(|role| role == "control-plane" || role == "worker")
        })
        .map(|c| c.name)
        .collect())
}

/// Waits until exactly `count` Nodes exist, all Ready, each with `docker:////<its container>`.
async fn wait_for_ready_nodes(workload: &Client, count: usize) -> anyhow::Result<()> {
    let mut last = Vec::new();
    let done = until(
        &format!("{count} Ready nodes with our providerID"),
        async || {
            last = nodes(workload).await;
            let good = last.iter().all(|(name, ready, provider_id)| {
                *ready && provider_id.as_deref() == Some(&format!("docker:////{name}"))
            });
            (last.len() == count && good).then_some(())
        },
    )
    .await;
    done.map_err(|error| anyhow::anyhow!("{error}; last seen: {last:?}"))
}

/// A pod on the worker and a pod on the control-plane node, each reaching the other by pod IP.
async fn pods_reach_each_other(workload: &Client, cp_node: &str) -> anyhow::Result<()> {
    let all = nodes(workload).await;
    let worker = all
        .iter()
        .map(|(name, _, _)| name.clone())
        .find(|name| name != cp_node)
        .ok_or_else(|| anyhow::anyhow!("no worker node"))?;
    for (pod, node) in [("pod-cp", cp_node), ("pod-worker", worker.as_str())] {
        kubectl(cp_node, &["apply", "-f", "-"], Some(&web_pod(pod, node)))?;
    }
    for pod in ["pod-cp", "pod-worker"] {
        let jsonpath = "jsonpath={.status.phase} {.status.podIP}";
        until(&format!("{pod} Running"), async || {
            let out = kubectl(cp_node, &["get", "pod", pod, "-o", jsonpath], None).ok()?;
            out.starts_with("Running ").then_some(())
        })
        .await?;
    }
    for (from, to) in [("pod-worker", "pod-cp"), ("pod-cp", "pod-worker")] {
        let ip = kubectl(
            cp_node,
            &["get", "pod", to, "-o", "jsonpath={.status.podIP}"],
            None,
        )?;
        until(&format!("{from} reaches {to} at {ip}"), async || {
            (http_get(cp_node, from, &ip).as_deref() == Some(to)).then_some(())
        })
        .await?;
        say(&format!("quickstart: {from} -> {to} ({ip}) answered {to}"));
    }
    // Scaling down drains a worker: no bare pods left to hold it up.
    kubectl(
        cp_node,
        &["delete", "pod", "pod-cp", "pod-worker", "--wait=true"],
        None,
    )?;
    Ok(())
}

async fn scale_workers(admin: &Client, cluster: &str, replicas: i32) -> anyhow::Result<()> {
    let api = dynamic_api(
        admin,
        NAMESPACE,
        "cluster.x-k8s.io/v1beta2",
        "MachineDeployment",
    )
    .await?;
    let patch = json!({ "spec": { "replicas": replicas } });
    api.patch(
        &format!("{cluster}-md-0"),
        &PatchParams::default(),
        &Patch::Merge(patch),
    )
    .await?;
    Ok(())
}

/// Waits until one of `before` is gone from Docker (and nothing new came), and names it.
async fn wait_for_one_removed(
    env: &DockerEnv,
    before: &BTreeSet<String>,
) -> anyhow::Result<String> {
    until("one node container removed", async || {
        let now = node_containers(env).await.ok()?;
        let gone: Vec<&String> = before.difference(&now).collect();
        (gone.len() == 1 && now.is_subset(before)).then(|| gone[0].clone())
    })
    .await
}

/// Deletes the Cluster and checks Docker: no container, anonymous volume or network of the
/// test is left (the test's own network excepted, which the test removes itself).
async fn delete_cluster_and_check_nothing_is_left(
    admin: &Client,
    cluster: &str,
    env: &DockerEnv,
) -> anyhow::Result<()> {
    let mut volumes = Vec::new();
    for container in node_containers(env).await? {
        volumes.extend(volumes_of(&container));
    }
    anyhow::ensure!(!volumes.is_empty(), "nodes have their /var volume");
    let clusters = dynamic_api(admin, NAMESPACE, "cluster.x-k8s.io/v1beta2", "Cluster").await?;
    clusters.delete(cluster, &DeleteParams::default()).await?;
    until("the Cluster is gone", async || {
        matches!(clusters.get_opt(cluster).await, Ok(None)).then_some(())
    })
    .await?;
    let left = env.rt.list_by_labels(&run_labels(&env.run_id)).await?;
    anyhow::ensure!(left.is_empty(), "containers left: {left:?}");
    let kept: Vec<&String> = volumes
        .iter()
        .filter(|volume| docker(&["volume", "inspect", volume]).is_some())
        .collect();
    anyhow::ensure!(kept.is_empty(), "volumes left: {kept:?}");
    let filter = format!("label=io.x-k8s.capdkc.test-run={}", env.run_id);
    let networks = docker(&[
        "network",
        "ls",
        "-q",
        "--filter",
        &filter,
        "--format",
        "{{.Name}}",
    ]);
    let networks: Vec<String> = networks
        .unwrap_or_default()
        .lines()
        .filter(|name| *name != env.network)
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(networks.is_empty(), "networks left: {networks:?}");
    Ok(())
}

/// Polls `attempt` every 2 s until it yields a value, for up to [`WAIT`].
async fn until<T>(what: &str, mut attempt: impl AsyncFnMut() -> Option<T>) -> anyhow::Result<T> {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = attempt().await {
            return Ok(value);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// What a person debugging a failed run looks at first: each node's boot log and kubelet.
async fn diagnose_nodes(env: &DockerEnv) {
    let Ok(containers) = env.rt.list_by_labels(&run_labels(&env.run_id)).await else {
        return;
    };
    for container in containers {
        let name = &container.name;
        let logs = docker(&["logs", "--tail", "20", name]).unwrap_or_default();
        say(&format!("--- {name}: docker logs ---\n{logs}"));
        let journal = docker(&[
            "exec",
            name,
            "journalctl",
            "-u",
            "kubelet",
            "--no-pager",
            "-n",
            "25",
        ]);
        say(&format!(
            "--- {name}: kubelet ---\n{}",
            journal.unwrap_or_default()
        ));
    }
}
