// The end-to-end test of the machine-managing checkpoints (04 and 05), included by
// `checkpoint_04.rs` and `checkpoint_05.rs` after they name the crate `checkpoint` and define
// the constants for its shipped RBAC files and admission tables, and which capture of the book
// its `kubectl get dockermachines` writes (`KUBECTL_GET_CAPTURE`, checkpoint 04's only).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apiserver_harness::{
    AuditEvent, CapiManager, ControlPlane, Needs, assets_for_test, create_from_yaml,
    create_namespace, dynamic_api, install_crds, requests_of, summary,
    wait_for,
};
use capdkc_docker::bootstrap::RunOptions;
use capdkc_docker::loadbalancer::HealthCheck;
use capdkc_docker::runtime::ExecRequest;
use capdkc_docker::test_support::{NODE_TEST_IMAGE, docker_env, run_labels};
use capdkc_capi::conditions;
use capdkc_capi::workload::UNINITIALIZED_TAINT;
use capdkc_docker::{BollardRuntime, ContainerRuntime, Docker};
use capdkc_manager::{Cli, Manager};
use checkpoint::api::DockerMachine;
use checkpoint::api::conditions::{BOOTSTRAP_SUCCEEDED, CONTAINER_PROVISIONED, READY};
use clap::Parser;
use common::{
    assert_rbac_is_exact,
    ShippedRbac, TIMEOUT, docker_cli, docker_events, judge_admission_table, shipped_service_account, unix_now,
    wait_until, cluster_yaml, docker_cluster_yaml,
};
use k8s_openapi::api::core::v1::{Node, Secret};
use k8s_openapi::api::events::v1::Event;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

const NAMESPACE: &str = "e2e";
/// A kubeadm-shaped join token, planted in bootstrap data that fails.
const TOKEN: &str = "abcdef.0123456789abcdef";

#[tokio::test]
async fn machines_live_and_die_on_real_parts() -> anyhow::Result<()> {
    let test = "machines_live_and_die_on_real_parts";
    let logs = capture_logs();
    let Some(assets) = assets_for_test(test, Needs::ClusterApi)? else {
        return Ok(());
    };
    let Some(docker_env) = docker_env(test).await else {
        return Ok(());
    };
    let control_plane = ControlPlane::start(&assets).await?;
    let workload = ControlPlane::start(&assets).await?;
    let admin = control_plane.client().await?;
    install_crds(&admin, &checkpoint::crdgen::crds()).await?;
    let capi = CapiManager::start(&control_plane, &assets).await?;
    let rbac = ShippedRbac {
        service_account: SERVICE_ACCOUNT,
        cluster_role: ROLE,
        cluster_role_binding: ROLE_BINDING,
    };
    let (client, user, rules) = shipped_service_account(&control_plane, &admin, rbac).await?;

    // Our manager with Docker confined to this test: its network and run label, the capability
    // profile (privileged containers cannot start here), stand-in node and LB images.
    let mut docker = Docker::new(BollardRuntime::connect().await?, &docker_env.network)
        .without_privileged_nodes();
    docker.nodes.extra_labels = run_labels(&docker_env.run_id);
    docker.nodes.mount_lib_modules = false;
    docker.lb_health_check = HealthCheck::TcpConnect;
    docker.bootstrap_retries = RunOptions {
        file_attempts: 2,
        retry_delay: Duration::from_millis(200),
    };
    let options = Cli::parse_from([
        "manager",
        "--health-probe-bind-address=127.0.0.1:0",
        "--metrics-bind-address=0",
    ])
    .manager;
    let mut manager = Manager::start(client, options).await?;
    checkpoint::controllers::setup(&mut manager, docker);
    let running = manager.spawn();

    let cluster = format!(
        "c04-{}",
        &docker_env.network[docker_env.network.len() - 8..]
    );
    let (cp, worker) = (format!("{cluster}-cp-0"), format!("{cluster}-md-0"));
    let runtime = &docker_env.rt;
    let explain = |error: anyhow::Error| {
        anyhow::anyhow!(
            "{error}\n--- cluster-api-manager log tail ---\n{}\n--- our log tail ---\n{}",
            capi.log_tail(),
            tail(&logs, 60)
        )
    };

    create_namespace(&admin, NAMESPACE).await?;
    create_from_yaml(&admin, NAMESPACE, &cluster_yaml(&cluster)).await?;
    create_from_yaml(&admin, NAMESPACE, &docker_cluster_yaml(&cluster)).await?;
    // What a control-plane provider would provide: the workload cluster's kubeconfig. Its Nodes
    // register as kubelets would, tainted until a cloud provider (here: we) initializes them.
    let kubeconfig = std::fs::read_to_string(workload.kubeconfig_path())?;
    create_secret(
        &admin,
        &format!("{cluster}-kubeconfig"),
        &cluster,
        &kubeconfig,
    )
    .await?;
    let workload_client = workload.client().await?;
    for node in [&cp, &worker] {
        register_node(&workload_client, node).await?;
    }

    // A control-plane and a worker Machine with bootstrap data we write.
    for (machine, control_plane_machine) in [(&cp, true), (&worker, false)] {
        create_machine(
            &admin,
            &cluster,
            machine,
            control_plane_machine,
            &good_bootstrap(machine),
        )
        .await?;
    }
    let docker_machines = Api::<DockerMachine>::namespaced(admin.clone(), NAMESPACE);
    for machine in [&cp, &worker] {
        wait_for(&docker_machines, machine, TIMEOUT, |dm| {
            is(dm, READY, "True")
        })
        .await
        .map_err(|e| explain(e.into()))?;
    }

    // The containers, the bootstrap's files and their modes.
    for machine in [&cp, &worker] {
        let dm = docker_machines.get(machine).await?;
        assert_eq!(dm.spec.provider_id, Some(format!("docker:////{machine}")));
        let container = runtime.inspect(machine).await?;
        assert!(container.running);
        let ip = container.ip_on(&docker_env.network).map(str::to_owned);
        let status = dm.status.clone().unwrap_or_default();
        let addresses: Vec<(String, String)> = status
            .addresses
            .iter()
            .map(|a| (a.type_.clone(), a.address.clone()))
            .collect();
        assert_eq!(
            addresses,
            [
                ("Hostname".to_owned(), machine.to_string()),
                ("InternalIP".to_owned(), ip.clone().unwrap_or_default()),
                ("ExternalIP".to_owned(), ip.unwrap_or_default()),
            ]
        );
        assert_eq!(
            sh(runtime, machine, "stat -c %a /etc/capdkc/hello.txt").await?,
            "600"
        );
        assert_eq!(
            sh(runtime, machine, "cat /etc/capdkc/hello.txt").await?,
            format!("hello from {machine}")
        );
        assert_eq!(
            sh(runtime, machine, "cat /etc/capdkc/runcmd.txt").await?,
            format!("ran on {machine}")
        );
    }

    // `kubectl get dockermachines` shows what a person needs.
    let table = apiserver_harness::get_table(
        &admin,
        &format!("/apis/infrastructure.cluster.x-k8s.io/v1alpha1/namespaces/{NAMESPACE}/dockermachines"),
    )
    .await?;
    for machine in [&cp, &worker] {
        assert_eq!(table.cell(machine, "Cluster"), Some(&json!(cluster)));
        assert_eq!(table.cell(machine, "Machine"), Some(&json!(machine)));
        assert_eq!(
            table.cell(machine, "ProviderID"),
            Some(&json!(format!("docker:////{machine}")))
        );
        assert_eq!(table.cell(machine, "Provisioned"), Some(&json!(true)));
        assert_eq!(table.cell(machine, "Ready"), Some(&json!("True")));
    }
    // What chapter 4 shows; checked at the end, so that a stale capture still lets the test run
    // through and clean up.
    let table_capture = KUBECTL_GET_CAPTURE.map(|name| {
        let output = format!("$ kubectl get dockermachines\n{}", table.kubectl_text());
        captures::check_or_update(name, &output, KUBECTL_GET_VOLATILE)
    });

    // The load balancer routes to the control-plane node (the stand-in answers its name).
    let lb = runtime.inspect(&format!("{cluster}-lb")).await?;
    let port = lb
        .published_ports
        .get("6443/tcp")
        .copied()
        .unwrap_or_default();
    wait_until(
        "the load balancer routes to the control-plane node",
        async || who_answers(port).await.as_deref() == Some(cp.as_str()),
    )
    .await
    .map_err(explain)?;

    // The workload Nodes: our providerID, no uninitialized taint. Core then finds them (its
    // nodeRef) and copies our providerID to the Machines.
    let nodes = Api::<Node>::all(workload_client.clone());
    for name in [&cp, &worker] {
        wait_until(&format!("Node {name} is initialized"), async || {
            nodes.get(name).await.is_ok_and(|node| {
                let spec = node.spec.unwrap_or_default();
                spec.provider_id == Some(format!("docker:////{name}"))
                    && !spec
                        .taints
                        .unwrap_or_default()
                        .iter()
                        .any(|t| t.key == UNINITIALIZED_TAINT)
            })
        })
        .await
        .map_err(explain)?;
    }
    let machines = dynamic_api(&admin, NAMESPACE, "cluster.x-k8s.io/v1beta2", "Machine").await?;
    for name in [&cp, &worker] {
        let provider_id = json!(format!("docker:////{name}"));
        wait_for(&machines, name, TIMEOUT, |machine| {
            machine.data.pointer("/spec/providerID") == Some(&provider_id)
                && machine
                    .data
                    .pointer("/status/initialization/infrastructureProvisioned")
                    == Some(&Value::Bool(true))
                && machine.data.pointer("/status/nodeRef/name").is_some()
        })
        .await
        .map_err(|e| explain(e.into()))?;
    }

    // Converged: reconciling again writes nothing, to the API or to Docker.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = running.metrics.reconciles("dockermachine");
    let audit_mark = control_plane.audit_events()?.len();
    let docker_mark = unix_now();
    for name in [&cp, &worker] {
        poke(&docker_machines, name).await?;
    }
    let deadline = Instant::now() + TIMEOUT;
    while running.metrics.reconciles("dockermachine") < before + 2 {
        anyhow::ensure!(Instant::now() < deadline, "the pokes caused no reconcile");
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
        "converged DockerMachines were written: {:#?}",
        summary(&writes)
    );
    for name in [&cp, &worker] {
        let actions = docker_events(name, docker_mark, unix_now() + 1, "{{.Action}}");
        assert!(
            actions.is_empty(),
            "a converged DockerMachine changed its container: {actions:?}"
        );
    }

    // A failing bootstrap is terminal and leaks no token: not in conditions, events, our logs,
    // or the commands Docker ran.
    let failing = format!("{cluster}-md-bad");
    let leak_mark = unix_now();
    let bad = failing_bootstrap();
    create_machine(&admin, &cluster, &failing, false, &bad).await?;
    let failed = wait_for(&docker_machines, &failing, TIMEOUT, |dm| {
        reason(dm, BOOTSTRAP_SUCCEEDED) == Some(checkpoint::api::conditions::reasons::BOOTSTRAP_FAILED.to_owned())
    })
    .await
    .map_err(|e| explain(e.into()))?;
    let message = serde_json::to_string(&failed.status)?;
    eprintln!("failed bootstrap: {message}");
    let events = Api::<Event>::namespaced(admin.clone(), NAMESPACE)
        .list(&ListParams::default())
        .await?;
    let docker_record = docker_events(&failing, leak_mark, unix_now() + 1, "{{json .}}").join("\n");
    let payload = base64_of(&bad);
    for (place, text) in [
        ("the DockerMachine's status", message),
        ("events", serde_json::to_string(&events.items)?),
        ("our logs", captured(&logs)),
        ("Docker's record of the container", docker_record),
    ] {
        assert!(!text.contains(TOKEN), "the join token leaked into {place}");
        assert!(
            !text.contains(&payload),
            "the bootstrap payload leaked into {place}"
        );
    }

    // Deleting a Machine while its bootstrap runs: the task stops, the container goes.
    let slow = format!("{cluster}-md-slow");
    create_machine(&admin, &cluster, &slow, false, &slow_bootstrap()).await?;
    wait_for(&docker_machines, &slow, TIMEOUT, |dm| {
        reason(dm, BOOTSTRAP_SUCCEEDED) == Some(checkpoint::api::conditions::reasons::RUNNING.to_owned())
    })
    .await
    .map_err(|e| explain(e.into()))?;
    machines.delete(&slow, &DeleteParams::default()).await?;
    wait_until(
        "the slow Machine's DockerMachine and container are gone",
        async || {
            matches!(docker_machines.get_opt(&slow).await, Ok(None))
                && runtime.inspect(&slow).await.is_err()
        },
    )
    .await
    .map_err(explain)?;

    // Healing through Docker's events, in seconds and with no resync involved (ours come every
    // five minutes): a stopped load balancer runs again, a removed node is reported.
    assert!(checkpoint::controllers::docker_machine::RESYNC >= Duration::from_secs(60));
    let lb_name = format!("{cluster}-lb");
    docker_cli(&["stop", "--time", "1", &lb_name]);
    let stopped = Instant::now();
    within_seconds(5, &format!("{lb_name} runs again"), async || {
        runtime.inspect(&lb_name).await.is_ok_and(|c| c.running)
    })
    .await
    .map_err(explain)?;
    let healed = stopped.elapsed();
    docker_cli(&["rm", "--force", "--volumes", &worker]);
    let removed = Instant::now();
    within_seconds(5, &format!("{worker}'s missing container is reported"), async || {
        docker_machines.get(&worker).await.is_ok_and(|dm| {
            reason(&dm, CONTAINER_PROVISIONED)
                == Some(checkpoint::api::conditions::reasons::CONTAINER_NOT_FOUND.to_owned())
        })
    })
    .await
    .map_err(explain)?;
    eprintln!(
        "healing through Docker events: load balancer running again {} ms after it stopped, \
         removed node reported {} ms after `docker rm`",
        healed.as_millis(),
        removed.elapsed().as_millis()
    );

    // Deleting the Cluster: core deletes the Machines, then the DockerCluster; nothing remains.
    let clusters = dynamic_api(&admin, NAMESPACE, "cluster.x-k8s.io/v1beta2", "Cluster").await?;
    clusters.delete(&cluster, &DeleteParams::default()).await?;
    wait_until("the Cluster and everything in it are gone", async || {
        matches!(clusters.get_opt(&cluster).await, Ok(None))
            && docker_machines
                .list(&ListParams::default())
                .await
                .is_ok_and(|list| list.items.is_empty())
    })
    .await
    .map_err(explain)?;
    let left = runtime
        .list_by_labels(&run_labels(&docker_env.run_id))
        .await?;
    assert!(left.is_empty(), "containers left behind: {left:?}");
    running.stop().await?;

    assert_rbac_is_exact(&control_plane.audit_events()?, &user, &rules);
    docker_env.cleanup().await;
    table_capture.transpose()?;
    Ok(())
}

/// What differs from run to run in `kubectl get dockermachines`: the age, and the 8 hex digits
/// in the test's names (`c04-`, in NAME, CLUSTER, MACHINE and PROVIDERID). The header, the other
/// cells and the number of rows are compared exactly.
const KUBECTL_GET_VOLATILE: &[captures::Volatile] = &[
    captures::Volatile::Column("AGE", captures::Shape::Age),
    captures::Volatile::After("c04-", captures::Shape::Hex(8)),
];

/// Every case of checkpoint 04's admission tables, judged by kube-apiserver itself.
#[tokio::test]
async fn the_api_server_judges_the_admission_tables_as_the_unit_tests_do() -> anyhow::Result<()> {
    let test = "the_api_server_judges_the_admission_tables_as_the_unit_tests_do";
    let Some(assets) = assets_for_test(test, Needs::ControlPlane)? else {
        return Ok(());
    };
    let control_plane = ControlPlane::start(&assets).await?;
    let client = control_plane.client().await?;
    install_crds(&client, &checkpoint::crdgen::crds()).await?;
    create_namespace(&client, "admission").await?;
    let mut failures = Vec::new();
    for (kind, table) in [
        ("DockerCluster", DOCKER_CLUSTER_CASES),
        ("DockerMachine", DOCKER_MACHINE_CASES),
    ] {
        failures.extend(judge_admission_table(&client, "admission", kind, table).await?);
    }
    assert!(failures.is_empty(), "{failures:#?}");
    Ok(())
}

/// Bootstrap data that writes a file with a mode, runs a command, and reports success the way
/// kubeadm's bootstrap data does (the success sentinel).
fn good_bootstrap(machine: &str) -> String {
    format!(
        r#"#cloud-config
write_files:
  - path: /etc/capdkc/hello.txt
    permissions: "0600"
    content: |
      hello from {machine}
runcmd:
  - echo "ran on $(hostname)" > /etc/capdkc/runcmd.txt
  - mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete
"#
    )
}

/// Bootstrap data shaped like kubeadm's join: the token in a file (never on a command line, as
/// with kubeadm), then a command that prints it to stdout and stderr and fails.
fn failing_bootstrap() -> String {
    format!(
        r#"#cloud-config
write_files:
  - path: /run/kubeadm/kubeadm-join-config.yaml
    permissions: "0640"
    content: |
      discovery:
        bootstrapToken:
          token: {TOKEN}
runcmd:
  - cat /run/kubeadm/kubeadm-join-config.yaml; cat /run/kubeadm/kubeadm-join-config.yaml >&2; exit 1
"#
    )
}

/// Bootstrap data that takes a minute: long enough to delete its Machine meanwhile.
fn slow_bootstrap() -> String {
    "#cloud-config\nruncmd:\n  - sleep 60\n".to_owned()
}

async fn create_secret(
    client: &Client,
    name: &str,
    cluster: &str,
    value: &str,
) -> anyhow::Result<()> {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": { "name": name, "labels": { "cluster.x-k8s.io/cluster-name": cluster } },
        "type": "cluster.x-k8s.io/secret",
        "stringData": { "value": value, "format": "cloud-config" },
    }))?;
    Api::<Secret>::namespaced(client.clone(), NAMESPACE)
        .create(&PostParams::default(), &secret)
        .await?;
    Ok(())
}

/// A Machine (with its bootstrap Secret) and its DockerMachine on the stand-in node image.
async fn create_machine(
    client: &Client,
    cluster: &str,
    name: &str,
    control_plane: bool,
    bootstrap: &str,
) -> anyhow::Result<()> {
    let secret = format!("{name}-bootstrap");
    create_secret(client, &secret, cluster, bootstrap).await?;
    let role = if control_plane {
        "\n    cluster.x-k8s.io/control-plane: \"\""
    } else {
        ""
    };
    create_from_yaml(
        client,
        NAMESPACE,
        &format!(
            "apiVersion: cluster.x-k8s.io/v1beta2
kind: Machine
metadata:
  name: {name}
  labels:
    cluster.x-k8s.io/cluster-name: {cluster}{role}
spec:
  clusterName: {cluster}
  version: v1.36.1
  bootstrap:
    dataSecretName: {secret}
  infrastructureRef:
    apiGroup: infrastructure.cluster.x-k8s.io
    kind: DockerMachine
    name: {name}
"
        ),
    )
    .await?;
    create_from_yaml(
        client,
        NAMESPACE,
        &format!(
            "apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: DockerMachine
metadata:
  name: {name}
spec:
  customImage: {NODE_TEST_IMAGE}
  bootstrapTimeout: 90s
"
        ),
    )
    .await?;
    Ok(())
}

/// A Node as kubelet registers it when it expects a cloud provider.
/// Waits up to `seconds` for `done`, polling every 50 ms.
async fn within_seconds(
    seconds: u64,
    what: &str,
    mut done: impl AsyncFnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done().await {
        anyhow::ensure!(Instant::now() < deadline, "{what}: not within {seconds} s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn register_node(workload: &Client, name: &str) -> anyhow::Result<()> {
    let node: Node = serde_json::from_value(json!({
        "metadata": { "name": name },
        "spec": { "taints": [{ "key": UNINITIALIZED_TAINT, "value": "true", "effect": "NoSchedule" }] },
    }))?;
    Api::<Node>::all(workload.clone())
        .create(&PostParams::default(), &node)
        .await?;
    Ok(())
}

async fn poke(api: &Api<DockerMachine>, name: &str) -> anyhow::Result<()> {
    let patch = json!({ "metadata": { "annotations": { "e2e.capdkc.test/poke": "converged" } } });
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    Ok(())
}

fn is(docker_machine: &DockerMachine, type_: &str, status: &str) -> bool {
    docker_machine
        .status
        .as_ref()
        .is_some_and(|s| conditions::get(&s.conditions, type_).is_some_and(|c| c.status == status))
        && (type_ != READY || is_provisioned(docker_machine))
}

fn is_provisioned(docker_machine: &DockerMachine) -> bool {
    docker_machine.status.as_ref().is_some_and(|s| {
        conditions::is_true(&s.conditions, CONTAINER_PROVISIONED)
            && s.initialization.as_ref().and_then(|i| i.provisioned) == Some(true)
    })
}

fn reason(docker_machine: &DockerMachine, type_: &str) -> Option<String> {
    let status = docker_machine.status.as_ref()?;
    conditions::get(&status.conditions, type_).map(|c| c.reason.clone())
}

async fn sh(runtime: &BollardRuntime, container: &str, script: &str) -> anyhow::Result<String> {
    let output = runtime
        .exec(container, &ExecRequest::new(["/bin/sh", "-c", script]))
        .await?;
    anyhow::ensure!(
        output.success(),
        "{script}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Connects through the load balancer's published port; the stand-in node answers its name.
async fn who_answers(port: u16) -> Option<String> {
    let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
    let mut stream = tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .ok()?
        .ok()?;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(2), stream.read_to_string(&mut answer))
        .await
        .ok()?
        .ok()?;
    Some(answer.trim().to_owned()).filter(|name| !name.is_empty())
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Every log line this test process writes, kept in memory for the leak check.
type Logs = Arc<Mutex<Vec<u8>>>;

fn capture_logs() -> Logs {
    #[derive(Clone)]
    struct Capture(Logs);
    impl Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let logs = Logs::default();
    let writer = Capture(logs.clone());
    let _ = tracing_subscriber::fmt()
        .with_env_filter("debug,hyper=info,tower=info,kube_client=info,rustls=info,h2=info")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init();
    logs
}

fn captured(logs: &Logs) -> String {
    String::from_utf8_lossy(&logs.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

fn tail(logs: &Logs, lines: usize) -> String {
    let text = captured(logs);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
