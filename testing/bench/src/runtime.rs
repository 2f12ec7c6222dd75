//! The figures that need real parts: kube-apiserver and etcd (twice: management and workload
//! cluster), the Cluster API core manager, a Docker engine, and our manager as a process of its
//! own (`bench-manager`) under the ServiceAccount and ClusterRole checkpoint-05 ships.
//!
//! 1. Start to ready: spawn the manager, poll `/readyz` until 200; resident memory when idle.
//! 2. A cluster (DockerCluster with its load balancer, a control-plane Machine) so that workers
//!    may join; the workload cluster's Nodes are registered as kubelets would.
//! 3. One worker Machine at a time: from creating the Machine (its bootstrap Secret and
//!    DockerMachine exist) until the DockerMachine is `Ready` with `provisioned: true`.
//! 4. N worker Machines at once, the same way; resident memory with N machines; then the
//!    converged ones are poked and the manager's writes counted in the audit log.
//! 5. The same container and bootstrap work done directly, through the Docker layer and with the
//!    docker CLI, one machine and N machines at once.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail, ensure};
use apiserver_harness::{
    Assets, CapiManager, ControlPlane, Needs, ShippedRbac, create_from_yaml, create_namespace,
    dynamic_api, install_crds, install_shipped_rbac, requests_of,
};
use capdkc_capi::conditions;
use capdkc_capi::workload::UNINITIALIZED_TAINT;
use capdkc_docker::labels::TEST_RUN_LABEL;
use capdkc_docker::node::{NodeRequest, Role};
use capdkc_docker::test_support::{LB_TEST_IMAGE, NODE_TEST_IMAGE, docker_env};
use capdkc_docker::{BollardRuntime, ContainerRuntime, Identity};
use checkpoint_05::api::DockerMachine;
use checkpoint_05::api::conditions::{BOOTSTRAP_SUCCEEDED, READY, reasons};
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::direct::{self, Work};
use crate::report::Raw;

const SERVICE_ACCOUNT: &str =
    include_str!("../../../checkpoints/05-template/config/rbac/service_account.yaml");
const ROLE: &str = include_str!("../../../checkpoints/05-template/config/rbac/role.yaml");
const ROLE_BINDING: &str =
    include_str!("../../../checkpoints/05-template/config/rbac/role_binding.yaml");
const NAMESPACE: &str = "bench";
/// Generous: two cores run two API servers, etcd, core, our manager and Docker.
const TIMEOUT: Duration = Duration::from_secs(180);

/// How many times each figure is taken, and how many machines the scale figures use.
pub struct Options {
    pub runs: usize,
    pub scale_runs: usize,
    pub machines: usize,
}

pub async fn run(options: &Options, raw: &mut Raw) -> anyhow::Result<()> {
    let assets = Assets::from_env(Needs::ClusterApi).map_err(|reason| {
        anyhow::anyhow!(
            "{reason}: export KUBEBUILDER_ASSETS=$(bash scripts/test-assets.sh | tail -n1)"
        )
    })?;
    let docker_env = docker_env("capdkc-bench").await.context(
        "no Docker daemon or test images (scripts/start-dockerd.sh, scripts/build-test-images.sh)",
    )?;
    let suffix = &docker_env.network[docker_env.network.len() - 6..];
    let cluster = format!("bench{suffix}");
    eprintln!("bench: starting two API servers and Cluster API core");
    let control_plane = ControlPlane::start(&assets).await?;
    let workload = ControlPlane::start(&assets).await?;
    let admin = control_plane.client().await?;
    install_crds(&admin, &checkpoint_05::crdgen::crds()).await?;
    let _capi = CapiManager::start(&control_plane, &assets).await?;
    let rbac = ShippedRbac {
        service_account: SERVICE_ACCOUNT,
        cluster_role: ROLE,
        cluster_role_binding: ROLE_BINDING,
    };
    let installed = install_shipped_rbac(&admin, rbac).await?;
    let user = installed.user.clone();
    let kubeconfig =
        control_plane.write_service_account_kubeconfig(&installed.namespace, &installed.name)?;
    let log = control_plane.dir().join("bench-manager.log");
    let manager = ManagerSetup {
        binary: std::env::current_exe()?.with_file_name("bench-manager"),
        kubeconfig,
        network: docker_env.network.clone(),
        run_id: docker_env.run_id.clone(),
        log,
    };

    // 1. Start to ready, and memory when idle (no objects yet).
    eprintln!("bench: manager start to ready, {} runs", options.runs);
    let mut running = None;
    for run in 0..options.runs {
        let mut process = manager.spawn()?;
        let ready = process.wait_ready().await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        raw.push("manager.ready", ready.as_secs_f64() * 1e3);
        raw.push("manager.rss_idle", process.rss_mib()?);
        eprintln!("  run {run}: ready after {ready:?}");
        if run + 1 == options.runs {
            running = Some(process);
        }
    }
    let manager_process = running.context("at least one run")?;

    // 2. The cluster and its control-plane Machine.
    eprintln!("bench: cluster {cluster} with a control-plane Machine");
    let workload_client = workload.client().await?;
    let converged = watch_converged(&admin);
    create_namespace(&admin, NAMESPACE).await?;
    create_from_yaml(&admin, NAMESPACE, &cluster_yaml(&cluster)).await?;
    create_from_yaml(&admin, NAMESPACE, &docker_cluster_yaml(&cluster)).await?;
    let workload_kubeconfig = std::fs::read_to_string(workload.kubeconfig_path())?;
    create_secret(
        &admin,
        &format!("{cluster}-kubeconfig"),
        &cluster,
        &workload_kubeconfig,
    )
    .await?;
    let control_plane_machine = format!("{cluster}-cp-0");
    let machines = Machines {
        admin: admin.clone(),
        workload: workload_client,
        cluster: cluster.clone(),
        converged: converged.clone(),
    };
    machines.prepare(&control_plane_machine, true).await?;
    machines.create(&control_plane_machine).await?;
    machines
        .wait_converged(std::slice::from_ref(&control_plane_machine))
        .await?;
    wait_control_plane_initialized(&admin, &cluster).await?;

    // 3. One worker at a time.
    eprintln!(
        "bench: one Machine through the provider, {} runs",
        options.runs
    );
    for run in 0..options.runs {
        let name = format!("{cluster}-one-{run}");
        machines.prepare(&name, false).await?;
        let start = Instant::now();
        machines.create(&name).await?;
        let done = machines.wait_converged(std::slice::from_ref(&name)).await?;
        let elapsed = done.duration_since(start);
        raw.push("provision.one.provider", elapsed.as_secs_f64() * 1e3);
        let owned = machines.first_owned(std::slice::from_ref(&name))?;
        raw.push(
            "provision.one.provider_from_owner",
            done.duration_since(owned).as_secs_f64() * 1e3,
        );
        let breakdown = machines.breakdown(&name, start);
        for (key, ms) in &breakdown {
            raw.push(key, *ms);
        }
        eprintln!("  run {run}: {elapsed:?} {breakdown:?}");
        machines.delete(std::slice::from_ref(&name)).await?;
    }

    // 4. N workers at once; memory with N machines; writes once converged.
    let n = options.machines;
    eprintln!(
        "bench: {n} Machines at once through the provider, {} runs",
        options.scale_runs
    );
    for run in 0..options.scale_runs {
        let names: Vec<String> = (0..n).map(|i| format!("{cluster}-s{run}-{i}")).collect();
        for name in &names {
            machines.prepare(name, false).await?;
        }
        let reconciles_before = manager_process.reconciles().await?;
        let start = Instant::now();
        futures::future::try_join_all(names.iter().map(|name| machines.create(name))).await?;
        let done = machines.wait_converged(&names).await?;
        let elapsed = done.duration_since(start);
        raw.push("provision.n.provider", elapsed.as_secs_f64());
        let owned = machines.first_owned(&names)?;
        raw.push(
            "provision.n.provider_from_owner",
            done.duration_since(owned).as_secs_f64(),
        );
        let stages = machines.last_milestones(&names, start);
        for (key, seconds) in &stages {
            raw.push(key, *seconds);
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        raw.push("manager.rss_n", manager_process.rss_mib()?);
        let reconciles = manager_process.reconciles().await? - reconciles_before;
        raw.push(
            "converge.reconciles_per_machine",
            reconciles as f64 / n as f64,
        );
        eprintln!("  run {run}: {elapsed:?}, {reconciles} reconciles, last machine at {stages:?}");
        if run + 1 == options.scale_runs {
            let mut all = names.clone();
            all.push(control_plane_machine.clone());
            let (writes, docker_events) = writes_when_converged(
                &control_plane,
                &admin,
                &manager_process,
                &user,
                &all,
                &docker_env.run_id,
            )
            .await?;
            raw.push(
                "converged.api_writes_per_object",
                writes as f64 / all.len() as f64,
            );
            raw.push(
                "converged.docker_events_per_object",
                docker_events as f64 / all.len() as f64,
            );
        }
        machines.delete(&names).await?;
    }

    // 5. Healing through Docker's events (no resync: the controllers' come every five minutes):
    // a stopped load balancer runs again; a removed node container is reported. The node goes
    // last, and with it the control-plane Machine's container.
    eprintln!(
        "bench: healing through Docker events, {} runs",
        options.runs
    );
    let lb = format!("{cluster}-lb");
    for run in 0..options.runs {
        docker_cli(&["stop", "--time", "1", &lb])?;
        let stopped = Instant::now();
        let runtime = &docker_env.rt;
        until(HEAL_WITHIN, "the load balancer runs again", async || {
            runtime.inspect(&lb).await.is_ok_and(|c| c.running)
        })
        .await?;
        raw.push("heal.load_balancer", stopped.elapsed().as_secs_f64() * 1e3);
        eprintln!("  run {run}: running again after {:?}", stopped.elapsed());
    }
    let docker_machines = Api::<DockerMachine>::namespaced(admin.clone(), NAMESPACE);
    docker_cli(&["rm", "--force", "--volumes", &control_plane_machine])?;
    let removed = Instant::now();
    until(HEAL_WITHIN, "the removed node is reported", async || {
        docker_machines
            .get(&control_plane_machine)
            .await
            .is_ok_and(|dm| {
                dm.status.as_ref().is_some_and(|s| {
                    conditions::has_reason(
                        &s.conditions,
                        checkpoint_05::api::conditions::CONTAINER_PROVISIONED,
                        reasons::CONTAINER_NOT_FOUND,
                    )
                })
            })
    })
    .await?;
    raw.push("heal.node_reported", removed.elapsed().as_secs_f64() * 1e3);
    eprintln!("  removed node reported after {:?}", removed.elapsed());
    drop(manager_process);

    // 5. The same work directly.
    eprintln!("bench: the same work through the Docker layer and the docker CLI");
    let runtime = docker_env.rt.clone();
    let work = |name: &str| Work {
        settings: docker_env.node_settings(),
        request: NodeRequest {
            machine: name.to_owned(),
            identity: Identity {
                cluster_name: cluster.clone(),
                namespace: NAMESPACE.to_owned(),
                cluster_uid: format!("direct-{suffix}"),
                owner_uid: format!("direct-{name}"),
            },
            role: Role::Worker,
            failure_domain: None,
            custom_image: Some(NODE_TEST_IMAGE.to_owned()),
            version: None,
            extra_mounts: Vec::new(),
        },
        cloud_config: cloud_config(name),
    };
    for run in 0..options.runs {
        let name = format!("{cluster}-layer-{run}");
        let start = Instant::now();
        direct::via_layer(&runtime, &work(&name)).await?;
        raw.push("provision.one.layer", start.elapsed().as_secs_f64() * 1e3);
        runtime.remove(&name).await?;

        let name = format!("{cluster}-cli-{run}");
        let one = work(&name);
        let start = Instant::now();
        tokio::task::spawn_blocking(move || direct::via_cli(&one)).await??;
        raw.push("provision.one.cli", start.elapsed().as_secs_f64() * 1e3);
        runtime.remove(&name).await?;
    }
    for run in 0..options.scale_runs {
        let names: Vec<String> = (0..n)
            .map(|i| format!("{cluster}-layer-s{run}-{i}"))
            .collect();
        let works: Vec<Work> = names.iter().map(|name| work(name)).collect();
        let start = Instant::now();
        futures::future::try_join_all(works.iter().map(|w| direct::via_layer(&runtime, w))).await?;
        raw.push("provision.n.layer", start.elapsed().as_secs_f64());
        remove_all(&runtime, &names).await?;

        let names: Vec<String> = (0..n)
            .map(|i| format!("{cluster}-cli-s{run}-{i}"))
            .collect();
        let start = Instant::now();
        let tasks: Vec<_> = names
            .iter()
            .map(|name| {
                let one = work(name);
                tokio::task::spawn_blocking(move || direct::via_cli(&one))
            })
            .collect();
        for task in futures::future::join_all(tasks).await {
            task??;
        }
        raw.push("provision.n.cli", start.elapsed().as_secs_f64());
        remove_all(&runtime, &names).await?;
    }
    docker_env.cleanup().await;
    Ok(())
}

async fn remove_all(runtime: &BollardRuntime, names: &[String]) -> anyhow::Result<()> {
    futures::future::try_join_all(names.iter().map(|name| runtime.remove(name))).await?;
    Ok(())
}

/// Bootstrap data like kubeadm's in shape: a file with a mode, two commands, the success
/// sentinel (the same as the end-to-end tests use).
fn cloud_config(machine: &str) -> String {
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

/// How to start the manager process.
struct ManagerSetup {
    binary: PathBuf,
    kubeconfig: PathBuf,
    network: String,
    run_id: String,
    log: PathBuf,
}

impl ManagerSetup {
    fn spawn(&self) -> anyhow::Result<ManagerProcess> {
        let (probe_port, metrics_port) = (free_port()?, free_port()?);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let started = Instant::now();
        let child = std::process::Command::new(&self.binary)
            .args([
                format!("--health-probe-bind-address=127.0.0.1:{probe_port}"),
                format!("--metrics-bind-address=127.0.0.1:{metrics_port}"),
                format!("--docker-network={}", self.network),
                "--log-level=info".to_owned(),
            ])
            .env("KUBECONFIG", &self.kubeconfig)
            .env("CAPDKC_BENCH_RUN_ID", &self.run_id)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        Ok(ManagerProcess {
            child,
            started,
            probe_port,
            metrics_port,
            log: self.log.clone(),
        })
    }
}

/// A running `bench-manager`; killed when dropped.
struct ManagerProcess {
    child: std::process::Child,
    started: Instant,
    probe_port: u16,
    metrics_port: u16,
    log: PathBuf,
}

impl ManagerProcess {
    /// From spawning the process until `/readyz` answers 200.
    async fn wait_ready(&mut self) -> anyhow::Result<Duration> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the manager exited ({status}); its log:\n{}",
                    apiserver_harness::log_tail(&self.log)
                );
            }
            if let Ok(response) = http_get(self.probe_port, "/readyz").await
                && response.starts_with("HTTP/1.1 200")
            {
                return Ok(self.started.elapsed());
            }
            ensure!(
                self.started.elapsed() < TIMEOUT,
                "the manager was not ready in {TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Resident memory (VmRSS) in MiB.
    fn rss_mib(&self) -> anyhow::Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .context("no VmRSS in /proc/<pid>/status")?;
        Ok(kib / 1024.0)
    }

    /// Reconciles of DockerMachines so far, from the manager's /metrics.
    async fn reconciles(&self) -> anyhow::Result<u64> {
        let text = http_get(self.metrics_port, "/metrics").await?;
        Ok(text
            .lines()
            .filter(|line| {
                line.starts_with("capdkc_reconcile_total{")
                    && line.contains("controller=\"dockermachine\"")
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64)
    }
}

impl Drop for ManagerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn http_get(port: u16, path: &str) -> anyhow::Result<String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        anyhow::Ok(response)
    };
    tokio::time::timeout(Duration::from_secs(5), exchange).await?
}

/// When each DockerMachine first reached each milestone on its way to converged, from a watch.
type Converged = Arc<Mutex<HashMap<String, Milestones>>>;

/// Reads one milestone of a machine.
type Stage = fn(&Milestones) -> Option<Instant>;

/// First sightings, in the order a machine passes them.
#[derive(Clone, Copy, Debug, Default)]
struct Milestones {
    /// Core made the Machine its owner: from here on the provider can work.
    owned: Option<Instant>,
    /// The container runs and the providerID is set.
    provider_id: Option<Instant>,
    /// The bootstrap task was started (`BootstrapSucceeded` false, reason `Running`).
    bootstrap_started: Option<Instant>,
    /// `BootstrapSucceeded` true.
    bootstrapped: Option<Instant>,
    /// `Ready` true and `provisioned: true`: converged.
    ready: Option<Instant>,
}

fn watch_converged(admin: &Client) -> Converged {
    let converged = Converged::default();
    let api = Api::<DockerMachine>::namespaced(admin.clone(), NAMESPACE);
    let seen = converged.clone();
    tokio::spawn(async move {
        let mut events = watcher(api, watcher::Config::default())
            .default_backoff()
            .applied_objects()
            .boxed();
        while let Some(event) = events.next().await {
            let Ok(docker_machine) = event else { continue };
            let now = Instant::now();
            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            let milestones = seen.entry(docker_machine.name_any()).or_default();
            let mark = |slot: &mut Option<Instant>, reached: bool| {
                if reached && slot.is_none() {
                    *slot = Some(now);
                }
            };
            let conditions = docker_machine
                .status
                .as_ref()
                .map(|s| s.conditions.as_slice())
                .unwrap_or_default();
            let bootstrap = conditions::get(conditions, BOOTSTRAP_SUCCEEDED);
            mark(
                &mut milestones.owned,
                docker_machine
                    .owner_references()
                    .iter()
                    .any(|owner| owner.kind == "Machine"),
            );
            mark(
                &mut milestones.provider_id,
                docker_machine.spec.provider_id.is_some(),
            );
            mark(
                &mut milestones.bootstrap_started,
                bootstrap.is_some_and(|c| c.reason == reasons::RUNNING || c.status == "True"),
            );
            mark(
                &mut milestones.bootstrapped,
                bootstrap.is_some_and(|c| c.status == "True"),
            );
            mark(&mut milestones.ready, is_converged(&docker_machine));
        }
    });
    converged
}

fn is_converged(docker_machine: &DockerMachine) -> bool {
    docker_machine.status.as_ref().is_some_and(|status| {
        conditions::is_true(&status.conditions, READY)
            && status.initialization.as_ref().and_then(|i| i.provisioned) == Some(true)
    })
}

/// Creating and deleting Machines the way core and a bootstrap provider would leave them.
struct Machines {
    admin: Client,
    workload: Client,
    cluster: String,
    converged: Converged,
}

impl Machines {
    /// Everything but the Machine: its Node (as kubelet registers it), its bootstrap Secret and
    /// its DockerMachine, which waits for an owner.
    async fn prepare(&self, name: &str, control_plane: bool) -> anyhow::Result<()> {
        let node: Node = serde_json::from_value(json!({
            "metadata": { "name": name },
            "spec": { "taints": [{ "key": UNINITIALIZED_TAINT, "value": "true", "effect": "NoSchedule" }] },
        }))?;
        Api::<Node>::all(self.workload.clone())
            .create(&PostParams::default(), &node)
            .await?;
        create_secret(
            &self.admin,
            &format!("{name}-bootstrap"),
            &self.cluster,
            &cloud_config(name),
        )
        .await?;
        create_from_yaml(
            &self.admin,
            NAMESPACE,
            &format!(
                "apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: DockerMachine
metadata:
  name: {name}
  labels:
    capdkc.bench/control-plane: \"{control_plane}\"
spec:
  customImage: {NODE_TEST_IMAGE}
  bootstrapTimeout: 90s
"
            ),
        )
        .await?;
        Ok(())
    }

    /// The Machine, with its bootstrap data available: from here on the provider works.
    async fn create(&self, name: &str) -> anyhow::Result<()> {
        let docker_machines = Api::<DockerMachine>::namespaced(self.admin.clone(), NAMESPACE);
        let control_plane = docker_machines
            .get(name)
            .await?
            .labels()
            .get("capdkc.bench/control-plane")
            .is_some_and(|value| value == "true");
        let role = if control_plane {
            "\n    cluster.x-k8s.io/control-plane: \"\""
        } else {
            ""
        };
        let cluster = &self.cluster;
        create_from_yaml(
            &self.admin,
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
    dataSecretName: {name}-bootstrap
  infrastructureRef:
    apiGroup: infrastructure.cluster.x-k8s.io
    kind: DockerMachine
    name: {name}
"
            ),
        )
        .await?;
        Ok(())
    }

    /// Waits until every one of `names` converged; returns when the last one did.
    async fn wait_converged(&self, names: &[String]) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            {
                let seen = self.converged.lock().unwrap_or_else(|p| p.into_inner());
                let times: Vec<Instant> = names
                    .iter()
                    .filter_map(|name| seen.get(name).and_then(|m| m.ready))
                    .collect();
                if times.len() == names.len() {
                    return times.into_iter().max().context("no names");
                }
            }
            if Instant::now() > deadline {
                let seen = self.converged.lock().unwrap_or_else(|p| p.into_inner());
                let missing: Vec<&String> = names
                    .iter()
                    .filter(|name| seen.get(*name).and_then(|m| m.ready).is_none())
                    .collect();
                bail!("not converged within {TIMEOUT:?}: {missing:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// When core first made one of `names` its Machine's: the provider could start from here.
    fn first_owned(&self, names: &[String]) -> anyhow::Result<Instant> {
        let seen = self.converged.lock().unwrap_or_else(|p| p.into_inner());
        names
            .iter()
            .filter_map(|name| seen.get(name).and_then(|m| m.owned))
            .min()
            .context("no owner reference was seen")
    }

    /// When the last of `names` passed each milestone, in seconds since `start`: which stage
    /// the slowest machines wait in, with N at once.
    fn last_milestones(&self, names: &[String], start: Instant) -> Vec<(&'static str, f64)> {
        let seen = self.converged.lock().unwrap_or_else(|p| p.into_inner());
        let stages: [(&'static str, Stage); 4] = [
            ("breakdown.n.owned", |m| m.owned),
            ("breakdown.n.provider_id", |m| m.provider_id),
            ("breakdown.n.bootstrap_started", |m| m.bootstrap_started),
            ("breakdown.n.bootstrapped", |m| m.bootstrapped),
        ];
        stages
            .into_iter()
            .filter_map(|(key, stage)| {
                let last = names
                    .iter()
                    .filter_map(|name| seen.get(name).and_then(stage))
                    .max()?;
                Some((key, last.duration_since(start).as_secs_f64()))
            })
            .collect()
    }

    /// The milestones `name` passed, as milliseconds since `start`.
    fn breakdown(&self, name: &str, start: Instant) -> Vec<(&'static str, f64)> {
        let seen = self.converged.lock().unwrap_or_else(|p| p.into_inner());
        let Some(m) = seen.get(name).copied() else {
            return Vec::new();
        };
        [
            ("breakdown.owned", m.owned),
            ("breakdown.provider_id", m.provider_id),
            ("breakdown.bootstrap_started", m.bootstrap_started),
            ("breakdown.bootstrapped", m.bootstrapped),
        ]
        .into_iter()
        .filter_map(|(key, at)| Some((key, at?.duration_since(start).as_secs_f64() * 1e3)))
        .collect()
    }

    /// Deletes the Machines (core deletes their DockerMachines) and waits until they are gone.
    async fn delete(&self, names: &[String]) -> anyhow::Result<()> {
        let machines = dynamic_api(
            &self.admin,
            NAMESPACE,
            "cluster.x-k8s.io/v1beta2",
            "Machine",
        )
        .await?;
        for name in names {
            machines.delete(name, &DeleteParams::default()).await?;
        }
        let docker_machines = Api::<DockerMachine>::namespaced(self.admin.clone(), NAMESPACE);
        let deadline = Instant::now() + TIMEOUT;
        for name in names {
            while docker_machines.get_opt(name).await?.is_some()
                || machines.get_opt(name).await?.is_some()
            {
                ensure!(Instant::now() < deadline, "{name} was not deleted");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(())
    }
}

async fn wait_control_plane_initialized(admin: &Client, cluster: &str) -> anyhow::Result<()> {
    let clusters = dynamic_api(admin, NAMESPACE, "cluster.x-k8s.io/v1beta2", "Cluster").await?;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let object = clusters.get(cluster).await?;
        let initialized = object
            .data
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .is_some_and(|conditions| {
                conditions
                    .iter()
                    .any(|c| c["type"] == "ControlPlaneInitialized" && c["status"] == "True")
            });
        if initialized {
            return Ok(());
        }
        ensure!(
            Instant::now() < deadline,
            "Cluster API core did not mark {cluster} ControlPlaneInitialized"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Pokes every converged DockerMachine (an annotation: a change the controller reconciles) and
/// counts what the manager wrote meanwhile: API writes by its ServiceAccount (audit log) and
/// Docker events on containers of this run.
async fn writes_when_converged(
    control_plane: &ControlPlane,
    admin: &Client,
    manager: &ManagerProcess,
    user: &str,
    names: &[String],
    run_id: &str,
) -> anyhow::Result<(usize, usize)> {
    tokio::time::sleep(Duration::from_secs(3)).await;
    let audit_mark = control_plane.audit_events()?.len();
    let docker_since = unix_now();
    let before = manager.reconciles().await?;
    let docker_machines = Api::<DockerMachine>::namespaced(admin.clone(), NAMESPACE);
    for name in names {
        let patch = json!({ "metadata": { "annotations": { "capdkc.bench/poke": "converged" } } });
        docker_machines
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
    }
    let deadline = Instant::now() + TIMEOUT;
    while manager.reconciles().await? < before + names.len() as u64 {
        ensure!(Instant::now() < deadline, "the pokes caused no reconciles");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = control_plane.audit_events()?.split_off(audit_mark);
    let writes = requests_of(&events, user)
        .into_iter()
        .filter(|e| matches!(e.verb.as_str(), "create" | "update" | "patch" | "delete"))
        .count();
    let docker_events = docker_events_since(docker_since, run_id)?;
    Ok((writes, docker_events))
}

/// How long healing may take before the bench gives up (the target is 2 s).
const HEAL_WITHIN: Duration = Duration::from_secs(30);

/// Waits up to `limit` for `done`, polling every 20 ms.
async fn until(
    limit: Duration,
    what: &str,
    mut done: impl AsyncFnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !done().await {
        ensure!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Runs the docker CLI, as a person changing things behind the provider's back would.
fn docker_cli(args: &[&str]) -> anyhow::Result<()> {
    let output = std::process::Command::new("docker").args(args).output()?;
    ensure!(
        output.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// Container events (create, start, exec, kill, ...) on this run's containers since `since`.
fn docker_events_since(since: u64, run_id: &str) -> anyhow::Result<usize> {
    let output = std::process::Command::new("docker")
        .args([
            "events",
            "--since",
            &since.to_string(),
            "--until",
            &(unix_now() + 1).to_string(),
            "--filter",
            "type=container",
            "--filter",
            &format!("label={TEST_RUN_LABEL}={run_id}"),
            "--format",
            "{{.Action}}",
        ])
        .output()?;
    ensure!(
        output.status.success(),
        "docker events: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).lines().count())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn cluster_yaml(name: &str) -> String {
    format!(
        "apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata:
  name: {name}
spec:
  infrastructureRef:
    apiGroup: infrastructure.cluster.x-k8s.io
    kind: DockerCluster
    name: {name}
"
    )
}

fn docker_cluster_yaml(name: &str) -> String {
    format!(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: DockerCluster
metadata:
  name: {name}
spec:
  loadBalancer:
    image: {LB_TEST_IMAGE}
"
    )
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
