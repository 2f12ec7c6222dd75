//! The upstream Go provider, CAPD (`sigs.k8s.io/cluster-api/test/infrastructure/docker`), measured
//! the way `runtime` measures ours, for the book's peers table.
//!
//! CAPD owns the same API group and kinds as our provider, so it gets an API server of its own
//! (per batch), with the Cluster API core CRDs and the core manager, its own CRDs (with the
//! contract labels its kustomization adds), and its shipped ClusterRole: it runs as its
//! ServiceAccount, so the audit log separates its writes from ours.
//!
//! Definitions shared with `runtime`:
//! - start to ready: spawn the process, poll `/readyz` every 5 ms until 200;
//! - idle RSS: VmRSS 2 s after ready, no objects;
//! - reconciles per object to converge: the controller's `controller_runtime_reconcile_total`
//!   from before creating the objects until all converged, plus 3 s, divided by N;
//! - API writes per converged object: every converged object is poked (an annotation), and the
//!   create/update/patch/delete requests of the manager's ServiceAccount are counted in the audit
//!   log until it reconciled all of them, plus 2 s;
//! - and, asked for here: reconciles and writes per converged object over a quiet window (60 s).
//!
//! What CAPD can and cannot do on this build host: its container runtime starts every container
//! privileged, the load balancer included, and the Docker engine here refuses privileged
//! containers. So the as-is run records the exact error, and the scale runs put [`relay`] in
//! front of Docker: it turns `Privileged` off for load balancer containers only. DockerClusters
//! then provision (with the stand-in haproxy image tagged as CAPD's default load balancer image,
//! nothing pulled); DockerMachines still fail when their node container starts, and that error is
//! recorded too. N DockerMachines are therefore "created and failing", not converged. In those
//! runs CAPD gets one DockerMachine worker (`--dockermachine-concurrency=1`; DockerClusters keep
//! their default concurrency): Docker 20.10 leaks a network's endpoint count when many
//! containers fail to start on it at once (see `host::DockerHost::remove_network`).
//!
//! Everything created in Docker carries the `io.x-k8s.kind.cluster` label with this run's prefix
//! and is removed at the end (also on errors), with the `kind` network and the image tag when
//! this run created them. CAPD binds port 19000 whatever its flags, so one CAPD runs at a time.

mod figures;
mod host;
mod relay;

use figures::{CapdFigures, PeerRow, ScaleFigures};
use host::DockerHost;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use apiserver_harness::{
    Assets, AuditEvent, CapiManager, ControlPlane, ShippedRbac, crds_from_files, create_from_yaml,
    create_namespace, dynamic_api, install_crds, install_shipped_rbac, refusals, requests_of,
    summary,
};
use capdkc_docker::test_support::NODE_TEST_IMAGE;
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client, ResourceExt as _};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::report::Raw;

/// The directory `scripts/capd-assets.sh` prints.
pub const ASSETS_ENV: &str = "CAPDKC_CAPD_ASSETS";
const NAMESPACE: &str = "capd-bench";
const INFRA_VERSION: &str = "infrastructure.cluster.x-k8s.io/v1beta2";
const CORE_VERSION: &str = "cluster.x-k8s.io/v1beta2";
/// The label CAPD puts on every container of a cluster (kind's).
const CLUSTER_LABEL: &str = "io.x-k8s.kind.cluster";
const ROLE_LABEL: &str = "io.x-k8s.kind.role";
/// The labels CAPD's `config/crd` kustomization adds; core reads the contract version from them.
const CONTRACT_LABELS: [(&str, &str); 2] = [
    ("cluster.x-k8s.io/v1beta1", "v1beta1"),
    ("cluster.x-k8s.io/v1beta2", "v1beta2"),
];
/// A log line of CAPD's when a node container cannot be created or started.
const MACHINE_FAILURE: &str = "failed to create worker DockerMachine";
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the machine phase waits for CAPD to have tried every node container.
const MACHINES_TIMEOUT: Duration = Duration::from_secs(180);

/// `scripts/capd-assets.sh` output.
#[derive(Clone, Debug)]
pub struct CapdAssets {
    dir: PathBuf,
    /// `cluster-api vX.Y.Z`, ... from versions.txt.
    versions: BTreeMap<String, String>,
}

impl CapdAssets {
    /// Checks `dir`; the error says what is missing.
    pub fn locate(dir: impl Into<PathBuf>) -> Result<Self, String> {
        let dir = dir.into();
        let text = std::fs::read_to_string(dir.join("versions.txt"))
            .map_err(|e| format!("no versions.txt in {}: {e}", dir.display()))?;
        let versions: BTreeMap<String, String> = text
            .lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(key, value)| (key.to_owned(), value.trim().to_owned()))
            .collect();
        let assets = Self { dir, versions };
        for key in ["cluster-api", "lb-image", "network"] {
            if !assets.versions.contains_key(key) {
                return Err(format!("versions.txt has no {key} line"));
            }
        }
        if !assets.binary().is_file() {
            return Err(format!("no {}", assets.binary().display()));
        }
        if assets.crd_files().is_empty() {
            return Err(format!("no CRDs in {}", assets.dir.join("crds").display()));
        }
        for file in ["service_account", "role", "role_binding"] {
            let path = assets.dir.join("rbac").join(format!("{file}.yaml"));
            if !path.is_file() {
                return Err(format!("no {}", path.display()));
            }
        }
        Ok(assets)
    }

    /// Reads [`ASSETS_ENV`] and checks it.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var_os(ASSETS_ENV) {
            Some(dir) if !dir.is_empty() => Self::locate(PathBuf::from(dir))
                .map_err(|reason| format!("{ASSETS_ENV} is incomplete: {reason}")),
            _ => Err(format!(
                "{ASSETS_ENV} is not set (export {ASSETS_ENV}=\"$(bash scripts/capd-assets.sh | tail -n1)\")"
            )),
        }
    }

    pub fn binary(&self) -> PathBuf {
        self.dir.join("capd-manager")
    }

    /// The Cluster API release CAPD was built from.
    pub fn version(&self) -> &str {
        &self.versions["cluster-api"]
    }

    /// CAPD's default load balancer image, read from its source by the build script.
    pub fn lb_image(&self) -> &str {
        &self.versions["lb-image"]
    }

    /// The Docker network CAPD puts every container on (kind's).
    pub fn network(&self) -> &str {
        &self.versions["network"]
    }

    fn crd_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("crds"))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|ext| ext == "yaml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    fn rbac(&self, file: &str) -> anyhow::Result<String> {
        let path = self.dir.join("rbac").join(format!("{file}.yaml"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        // controller-gen starts role.yaml with a document marker.
        Ok(text.trim_start().trim_start_matches("---").to_owned())
    }

    /// `build-times.tsv`: every value per key (build.first, build.noop, build.edit, build.cold).
    pub fn build_times(&self) -> BTreeMap<String, Vec<f64>> {
        let mut times: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let text = std::fs::read_to_string(self.dir.join("build-times.tsv")).unwrap_or_default();
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('\t')
                && let Ok(value) = value.trim().parse()
            {
                times.entry(key.to_owned()).or_default().push(value);
            }
        }
        times
    }
}

/// How much to measure.
#[derive(Clone, Debug)]
pub struct Options {
    /// Start-to-ready runs (each one a fresh process).
    pub runs: usize,
    /// Runs of each N (each one a fresh API server and process).
    pub scale_runs: usize,
    /// The N values: DockerClusters (and then DockerMachines) created at once.
    pub sizes: Vec<usize>,
    /// The quiet window after convergence in which reconciles and writes are counted.
    pub window: Duration,
    /// How long N DockerClusters may take to provision (and to be deleted).
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            runs: 5,
            scale_runs: 1,
            sizes: vec![20, 100],
            window: Duration::from_secs(60),
            timeout: Duration::from_secs(600),
        }
    }
}

/// Measures CAPD: sizes, start and memory, the as-is errors, then each N through the relay.
/// Docker is cleaned up before this returns, whether it succeeded or not.
pub async fn measure(
    options: &Options,
    assets: &Assets,
    capd: &CapdAssets,
) -> anyhow::Result<CapdFigures> {
    let mut host = DockerHost::prepare(capd)?;
    let result = measure_with(options, assets, capd, &host).await;
    let cleanup = host.cleanup();
    let mut figures = result?;
    figures.cleanup = cleanup;
    Ok(figures)
}

async fn measure_with(
    options: &Options,
    assets: &Assets,
    capd: &CapdAssets,
    host: &DockerHost,
) -> anyhow::Result<CapdFigures> {
    let binary_bytes = std::fs::metadata(capd.binary())?.len() as f64;
    let mut figures = CapdFigures {
        version: capd.version().to_owned(),
        binary_mb: binary_bytes / 1e6,
        binary_stripped_mb: stripped_size(&capd.binary()).map(|bytes| bytes / 1e6),
        build_s: capd.build_times(),
        lb_image: capd.lb_image().to_owned(),
        privileged_error: host.privileged_error(),
        run_prefix: host.prefix.clone(),
        ..CapdFigures::default()
    };

    // 1. Start to ready and idle memory; then one cluster as is, for the exact error.
    eprintln!("capd: API server, Cluster API core and CAPD's CRDs");
    let stage = Stage::start(assets, capd).await?;
    eprintln!("capd: start to ready, {} runs", options.runs);
    let mut last = None;
    for run in 0..options.runs.max(1) {
        // One CAPD at a time: each one binds the same fixed port (MUX_PORT).
        drop(last.take());
        let mut process = stage.spawn(capd, None, &[])?;
        let ready = process.wait_ready().await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        figures.ready_ms.push(ready.as_secs_f64() * 1e3);
        figures.rss_idle_mib.push(process.rss_mib()?);
        eprintln!("  run {run}: ready after {ready:?}");
        last = Some(process);
    }
    let process = last.context("at least one run")?;
    let as_is = format!("{}-asis", host.prefix);
    create_clusters(&stage.admin, std::slice::from_ref(&as_is)).await?;
    figures.lb_error_as_is = lb_error(&stage.admin, &as_is, &process).await?;
    eprintln!(
        "capd: as is, the load balancer fails: {}",
        figures.lb_error_as_is
    );
    delete_clusters(&stage.admin, std::slice::from_ref(&as_is), options.timeout).await?;
    figures.refusals.extend(stage.refusals()?);
    drop(process);
    drop(stage);

    // 2. N DockerClusters (through the relay), then N DockerMachines.
    for &n in &options.sizes {
        for run in 0..options.scale_runs.max(1) {
            eprintln!("capd: {n} DockerClusters, run {run}");
            let stage = Stage::start(assets, capd).await?;
            let relay_socket = stage.control_plane.dir().join("docker-relay.sock");
            let upstream = relay::upstream_socket()
                .context("the relay needs a Docker daemon on a Unix socket")?;
            let relay = relay::Relay::start(&relay_socket, upstream)?;
            // One DockerMachine worker: the node containers fail one at a time. Docker 20.10
            // loses count of the network's endpoints when many fail at once (see
            // DockerHost::remove_network); DockerCluster concurrency stays at its default.
            let mut process = stage.spawn(
                capd,
                Some(relay.docker_host()),
                &["--dockermachine-concurrency=1"],
            )?;
            process.wait_ready().await?;
            let names: Vec<String> = (0..n)
                .map(|i| format!("{}-n{n}r{run}-{i}", host.prefix))
                .collect();
            let scale = scale_run(&stage, &process, host, &names, options).await;
            if figures.machine_error.is_empty() {
                figures.machine_error = machine_error(&process.log).unwrap_or_default();
            }
            let deleted = delete_clusters(&stage.admin, &names, options.timeout).await;
            figures.relay_rewrites += relay.rewritten();
            figures.refusals.extend(stage.refusals()?);
            let scale = scale?;
            deleted?;
            eprintln!(
                "  provisioned in {:.2} s, RSS {:.1} MiB, with machines {:.1} MiB",
                scale.provision_s, scale.rss_clusters_mib, scale.rss_clusters_and_machines_mib
            );
            figures.scale.push(scale);
        }
    }
    Ok(figures)
}

async fn scale_run(
    stage: &Stage,
    process: &CapdProcess,
    host: &DockerHost,
    names: &[String],
    options: &Options,
) -> anyhow::Result<ScaleFigures> {
    let n = names.len();
    let docker_clusters =
        dynamic_api(&stage.admin, NAMESPACE, INFRA_VERSION, "DockerCluster").await?;
    let clusters = dynamic_api(&stage.admin, NAMESPACE, CORE_VERSION, "Cluster").await?;
    let seen_docker_clusters = watch_first_seen(docker_clusters.clone(), |o| {
        o.data.pointer("/status/initialization/provisioned") == Some(&json!(true))
    });
    let seen_clusters = watch_first_seen(clusters, |o| {
        o.data
            .pointer("/status/initialization/infrastructureProvisioned")
            == Some(&json!(true))
    });

    let reconciles_before = process.reconciles(Some("dockercluster")).await?;
    let start = Instant::now();
    create_clusters(&stage.admin, names).await?;
    let provisioned = wait_all(&seen_docker_clusters, names, options.timeout, |s| s.done)
        .await
        .with_context(|| format!("CAPD's log:\n{}", apiserver_harness::log_tail(&process.log)))?;
    let infrastructure = wait_all(&seen_clusters, names, options.timeout, |s| s.done).await?;
    let first_owner = first_of(&seen_docker_clusters, names, |s| s.owned)
        .context("core set no owner reference")?;
    let lb_running = host.running_load_balancers(names)?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_clusters_mib = process.rss_mib()?;
    let reconciles = process.reconciles(Some("dockercluster")).await? - reconciles_before;

    // Writes when poked, as runtime measures ours.
    let audit_mark = stage.control_plane.audit_events()?.len();
    let before = process.reconciles(Some("dockercluster")).await?;
    for name in names {
        let patch = json!({ "metadata": { "annotations": { "capdkc.bench/poke": "converged" } } });
        docker_clusters
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await?;
    }
    let deadline = Instant::now() + options.timeout;
    while process.reconciles(Some("dockercluster")).await? < before + n as u64 {
        ensure!(Instant::now() < deadline, "the pokes caused no reconciles");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let poked = stage.writes_since(audit_mark)?;

    // The quiet window.
    let audit_mark = stage.control_plane.audit_events()?.len();
    let before = reconciles_by_controller(&process.metrics().await?);
    tokio::time::sleep(options.window).await;
    let after = reconciles_by_controller(&process.metrics().await?);
    let window_by_controller: BTreeMap<String, u64> = after
        .into_iter()
        .map(|(controller, total)| {
            let delta = total - before.get(&controller).copied().unwrap_or(0);
            (controller, delta)
        })
        .filter(|(_, delta)| *delta > 0)
        .collect();
    let window_reconciles: u64 = window_by_controller.values().sum();
    let window = stage.writes_since(audit_mark)?;

    // N DockerMachines: owned, with bootstrap data, on provisioned clusters.
    create_machines(&stage.admin, names).await?;
    let failing =
        wait_machines_failing(process, names.len(), options.timeout.min(MACHINES_TIMEOUT)).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_clusters_and_machines_mib = process.rss_mib()?;

    Ok(ScaleFigures {
        n,
        provision_s: provisioned.duration_since(start).as_secs_f64(),
        provision_from_owner_s: provisioned.duration_since(first_owner).as_secs_f64(),
        cluster_infrastructure_s: infrastructure.duration_since(start).as_secs_f64(),
        lb_running,
        rss_clusters_mib,
        reconciles_per_cluster: reconciles as f64 / n as f64,
        api_writes_per_object_poked: poked.len() as f64 / n as f64,
        window_reconciles_per_object: window_reconciles as f64 / n as f64,
        window_api_writes_per_object: window.len() as f64 / n as f64,
        window_writes: summary(&window).into_iter().collect(),
        window_reconciles_by_controller: window_by_controller,
        rss_clusters_and_machines_mib,
        machines_failing: failing,
    })
}

/// An API server with core, CAPD's CRDs and its ServiceAccount.
struct Stage {
    // Declaration order is drop order: core stops before its API server.
    _capi: CapiManager,
    control_plane: ControlPlane,
    admin: Client,
    user: String,
    kubeconfig: PathBuf,
}

impl Stage {
    async fn start(assets: &Assets, capd: &CapdAssets) -> anyhow::Result<Self> {
        let control_plane = ControlPlane::start(assets).await?;
        let admin = control_plane.client().await?;
        let mut crds = crds_from_files(&capd.crd_files())?;
        for crd in &mut crds {
            let labels = crd.metadata.labels.get_or_insert_with(BTreeMap::new);
            for (key, value) in CONTRACT_LABELS {
                labels.insert(key.to_owned(), value.to_owned());
            }
        }
        install_crds(&admin, &crds).await?;
        let capi = CapiManager::start(&control_plane, assets).await?;
        let (service_account, role, binding) = (
            capd.rbac("service_account")?,
            capd.rbac("role")?,
            capd.rbac("role_binding")?,
        );
        let installed = install_shipped_rbac(
            &admin,
            ShippedRbac {
                service_account: &service_account,
                cluster_role: &role,
                cluster_role_binding: &binding,
            },
        )
        .await?;
        let kubeconfig = control_plane
            .write_service_account_kubeconfig(&installed.namespace, &installed.name)?;
        create_namespace(&admin, NAMESPACE).await?;
        Ok(Self {
            _capi: capi,
            control_plane,
            admin,
            user: installed.user,
            kubeconfig,
        })
    }

    /// Starts CAPD as its ServiceAccount; `docker_host` points it at the relay.
    fn spawn(
        &self,
        capd: &CapdAssets,
        docker_host: Option<String>,
        extra_args: &[&str],
    ) -> anyhow::Result<CapdProcess> {
        let dir = self.control_plane.dir();
        let cert_dir = dir.join("capd-webhook-certs");
        if !cert_dir.join("tls.crt").exists() {
            std::fs::create_dir_all(&cert_dir)?;
            let cert = rcgen::generate_simple_self_signed(vec![
                "127.0.0.1".to_owned(),
                "localhost".to_owned(),
            ])?;
            std::fs::write(cert_dir.join("tls.crt"), cert.cert.pem())?;
            std::fs::write(cert_dir.join("tls.key"), cert.signing_key.serialize_pem())?;
        }
        let (health_port, metrics_port, webhook_port) = (free_port()?, free_port()?, free_port()?);
        let log = dir.join("capd-manager.log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        let mut command = Command::new(capd.binary());
        command
            .args([
                format!("--health-addr=127.0.0.1:{health_port}"),
                format!("--diagnostics-address=127.0.0.1:{metrics_port}"),
                "--insecure-diagnostics".to_owned(),
                format!("--webhook-port={webhook_port}"),
                format!("--webhook-cert-dir={}", cert_dir.display()),
                "--leader-elect=false".to_owned(),
            ])
            .args(extra_args)
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        if let Some(host) = docker_host {
            command.env("DOCKER_HOST", host);
        }
        let started = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", capd.binary().display()))?;
        Ok(CapdProcess {
            child,
            started,
            health_port,
            metrics_port,
            log,
        })
    }

    /// Writes by CAPD's ServiceAccount since the audit log had `mark` events.
    fn writes_since(&self, mark: usize) -> anyhow::Result<Vec<AuditEvent>> {
        let events = self.control_plane.audit_events()?.split_off(mark);
        Ok(requests_of(&events, &self.user)
            .into_iter()
            .filter(|e| matches!(e.verb.as_str(), "create" | "update" | "patch" | "delete"))
            .collect())
    }

    fn refusals(&self) -> anyhow::Result<BTreeSet<String>> {
        let events = self.control_plane.audit_events()?;
        Ok(refusals(&requests_of(&events, &self.user)))
    }
}

/// A running CAPD; killed when dropped.
struct CapdProcess {
    child: std::process::Child,
    started: Instant,
    health_port: u16,
    metrics_port: u16,
    log: PathBuf,
}

impl CapdProcess {
    /// From spawning the process until `/readyz` answers 200.
    async fn wait_ready(&mut self) -> anyhow::Result<Duration> {
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "CAPD exited ({status}); its log:\n{}",
                    apiserver_harness::log_tail(&self.log)
                );
            }
            if let Ok(response) = http_get(self.health_port, "/readyz").await
                && response.starts_with("HTTP/1.1 200")
            {
                return Ok(self.started.elapsed());
            }
            ensure!(
                self.started.elapsed() < READY_TIMEOUT,
                "CAPD was not ready in {READY_TIMEOUT:?}; its log:\n{}",
                apiserver_harness::log_tail(&self.log)
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

    /// `controller_runtime_reconcile_total` of one controller (all results), or of all.
    async fn reconciles(&self, controller: Option<&str>) -> anyhow::Result<u64> {
        Ok(reconcile_total(&self.metrics().await?, controller))
    }

    /// The text of `/metrics`.
    async fn metrics(&self) -> anyhow::Result<String> {
        http_get(self.metrics_port, "/metrics").await
    }
}

impl Drop for CapdProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn reconcile_total(metrics: &str, controller: Option<&str>) -> u64 {
    let wanted = controller.map(|c| format!("controller=\"{c}\""));
    metrics
        .lines()
        .filter(|line| line.starts_with("controller_runtime_reconcile_total{"))
        .filter(|line| wanted.as_ref().is_none_or(|w| line.contains(w.as_str())))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// `controller_runtime_reconcile_total` per controller (all results).
fn reconciles_by_controller(metrics: &str) -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::new();
    for line in metrics
        .lines()
        .filter(|line| line.starts_with("controller_runtime_reconcile_total{"))
    {
        let Some((_, rest)) = line.split_once("controller=\"") else {
            continue;
        };
        let controller = rest.split('"').next().unwrap_or_default().to_owned();
        let value = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        *totals.entry(controller).or_insert(0) += value as u64;
    }
    totals
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

/// When an object was first seen owned by a Cluster, and first seen done.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    owned: Option<Instant>,
    done: Option<Instant>,
}

type SeenMap = Arc<Mutex<HashMap<String, Seen>>>;

fn watch_first_seen(
    api: Api<DynamicObject>,
    done: impl Fn(&DynamicObject) -> bool + Send + 'static,
) -> SeenMap {
    let seen = SeenMap::default();
    let map = seen.clone();
    tokio::spawn(async move {
        let mut events = watcher(api, watcher::Config::default())
            .default_backoff()
            .applied_objects()
            .boxed();
        while let Some(event) = events.next().await {
            let Ok(object) = event else { continue };
            let now = Instant::now();
            let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
            let entry = map.entry(object.name_any()).or_default();
            if entry.owned.is_none()
                && object
                    .owner_references()
                    .iter()
                    .any(|owner| owner.kind == "Cluster")
            {
                entry.owned = Some(now);
            }
            if entry.done.is_none() && done(&object) {
                entry.done = Some(now);
            }
        }
    });
    seen
}

/// Waits until `field` is set for every one of `names`; returns the latest.
async fn wait_all(
    seen: &SeenMap,
    names: &[String],
    timeout: Duration,
    field: fn(&Seen) -> Option<Instant>,
) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + timeout;
    loop {
        {
            let map = seen.lock().unwrap_or_else(|p| p.into_inner());
            let times: Vec<Instant> = names
                .iter()
                .filter_map(|name| map.get(name).and_then(field))
                .collect();
            if times.len() == names.len() {
                return times.into_iter().max().context("no names");
            }
            if Instant::now() > deadline {
                bail!("{} of {} done within {timeout:?}", times.len(), names.len());
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn first_of(
    seen: &SeenMap,
    names: &[String],
    field: fn(&Seen) -> Option<Instant>,
) -> Option<Instant> {
    let map = seen.lock().unwrap_or_else(|p| p.into_inner());
    names
        .iter()
        .filter_map(|name| map.get(name).and_then(field))
        .min()
}

/// Cluster + DockerCluster (default load balancer image) for each name, all at once.
async fn create_clusters(admin: &Client, names: &[String]) -> anyhow::Result<()> {
    futures::future::try_join_all(names.iter().map(|name| async move {
        create_from_yaml(
            admin,
            NAMESPACE,
            &format!(
                "apiVersion: {CORE_VERSION}
kind: Cluster
metadata:
  name: {name}
spec:
  infrastructureRef:
    apiGroup: infrastructure.cluster.x-k8s.io
    kind: DockerCluster
    name: {name}
"
            ),
        )
        .await?;
        create_from_yaml(
            admin,
            NAMESPACE,
            &format!(
                "apiVersion: {INFRA_VERSION}
kind: DockerCluster
metadata:
  name: {name}
spec: {{}}
"
            ),
        )
        .await?;
        anyhow::Ok(())
    }))
    .await?;
    Ok(())
}

/// One worker Machine per cluster with its bootstrap Secret and DockerMachine (the stand-in node
/// image), all at once: what core and a bootstrap provider would have created.
async fn create_machines(admin: &Client, clusters: &[String]) -> anyhow::Result<()> {
    futures::future::try_join_all(clusters.iter().map(|cluster| async move {
        let name = format!("{cluster}-w0");
        let secret: Secret = serde_json::from_value(json!({
            "metadata": { "name": format!("{name}-bootstrap"), "labels": { "cluster.x-k8s.io/cluster-name": cluster } },
            "type": "cluster.x-k8s.io/secret",
            "stringData": { "value": "#cloud-config\nruncmd:\n  - echo hello\n", "format": "cloud-config" },
        }))?;
        Api::<Secret>::namespaced(admin.clone(), NAMESPACE)
            .create(&PostParams::default(), &secret)
            .await?;
        create_from_yaml(
            admin,
            NAMESPACE,
            &format!(
                "apiVersion: {INFRA_VERSION}
kind: DockerMachine
metadata:
  name: {name}
spec:
  customImage: {NODE_TEST_IMAGE}
"
            ),
        )
        .await?;
        create_from_yaml(
            admin,
            NAMESPACE,
            &format!(
                "apiVersion: {CORE_VERSION}
kind: Machine
metadata:
  name: {name}
  labels:
    cluster.x-k8s.io/cluster-name: {cluster}
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
        anyhow::Ok(())
    }))
    .await?;
    Ok(())
}

/// Deletes the Clusters (core deletes what hangs off them, CAPD its containers) and waits
/// until nothing of them is left in the API.
async fn delete_clusters(
    admin: &Client,
    names: &[String],
    timeout: Duration,
) -> anyhow::Result<()> {
    let clusters = dynamic_api(admin, NAMESPACE, CORE_VERSION, "Cluster").await?;
    for name in names {
        match clusters.delete(name, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => return Err(error.into()),
        }
    }
    let docker_clusters = dynamic_api(admin, NAMESPACE, INFRA_VERSION, "DockerCluster").await?;
    let deadline = Instant::now() + timeout;
    for name in names {
        while clusters.get_opt(name).await?.is_some()
            || docker_clusters.get_opt(name).await?.is_some()
        {
            ensure!(
                Instant::now() < deadline,
                "Cluster {name} was not deleted in {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(())
}

/// The LoadBalancerAvailable message of a DockerCluster whose load balancer cannot start.
async fn lb_error(admin: &Client, name: &str, process: &CapdProcess) -> anyhow::Result<String> {
    let docker_clusters = dynamic_api(admin, NAMESPACE, INFRA_VERSION, "DockerCluster").await?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let object = docker_clusters.get(name).await?;
        let conditions = object
            .data
            .pointer("/status/conditions")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        for condition in &conditions {
            if condition["type"] == "LoadBalancerAvailable" && condition["status"] == "False" {
                let message = condition["message"].as_str().unwrap_or_default();
                if message.contains("container") {
                    return Ok(message.to_owned());
                }
            }
            if condition["type"] == "LoadBalancerAvailable" && condition["status"] == "True" {
                return Ok("none: the load balancer started".to_owned());
            }
        }
        ensure!(
            Instant::now() < deadline,
            "no load balancer outcome for {name}; CAPD's log:\n{}",
            apiserver_harness::log_tail(&process.log)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits (bounded) until CAPD logged failures for `n` node containers; returns how many.
async fn wait_machines_failing(process: &CapdProcess, n: usize, timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let failing = failing_machines(&process.log).len();
        if failing >= n || Instant::now() > deadline {
            return failing;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The DockerMachines with a node-container failure in CAPD's log.
fn failing_machines(log: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|line| line.contains(MACHINE_FAILURE))
        .filter_map(|line| {
            let (_, rest) = line.split_once("DockerMachine=\"")?;
            Some(rest.split('"').next()?.to_owned())
        })
        .collect()
}

/// The first node-container error in CAPD's log, unquoted.
fn machine_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().find(|line| line.contains(MACHINE_FAILURE))?;
    let (_, rest) = line.split_once("err=\"")?;
    Some(go_unquote(rest))
}

/// The contents of a Go-quoted string whose opening quote was already consumed.
fn go_unquote(rest: &str) -> String {
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    out
}

/// The size of `binary` after `strip`, if the tool is there.
fn stripped_size(binary: &Path) -> Option<f64> {
    let target = std::env::temp_dir().join(format!("capd-stripped-{}", std::process::id()));
    let ok = Command::new("strip")
        .arg("-o")
        .arg(&target)
        .arg(binary)
        .status()
        .is_ok_and(|s| s.success());
    let size = ok
        .then(|| std::fs::metadata(&target).ok().map(|m| m.len() as f64))
        .flatten();
    let _ = std::fs::remove_file(&target);
    size
}

/// `capdkc-bench capd`: measures, writes the raw file, prints the tables.
pub async fn run_command(
    options: &Options,
    raw_path: &Path,
    measured: &str,
    results: Option<&Path>,
) -> anyhow::Result<()> {
    let assets = Assets::from_env(apiserver_harness::Needs::ClusterApi).map_err(|reason| {
        anyhow::anyhow!(
            "{reason}: export KUBEBUILDER_ASSETS=$(bash scripts/test-assets.sh | tail -n1)"
        )
    })?;
    let capd = CapdAssets::from_env().map_err(|reason| anyhow::anyhow!(reason))?;
    let figures = measure(options, &assets, &capd).await?;
    let mut raw = Raw::default();
    figures.push_raw(&mut raw);
    raw.write(raw_path, measured)?;
    ensure!(
        figures.cleanup.problems.is_empty(),
        "the Docker cleanup failed: {:?}",
        figures.cleanup.problems
    );
    println!("{figures}");
    println!("{}", PeerRow::header());
    if let Some(path) = results {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        println!("{}", PeerRow::ours(&serde_json::from_str(&text)?));
    }
    for &n in &options.sizes {
        println!("{}", figures.peer_row(n));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use apiserver_harness::{Needs, is_ci};
    use capdkc_docker::test_support::LB_TEST_IMAGE;

    use super::host::docker;

    use super::*;

    /// Skips (printing why) on a developer machine, fails in CI.
    fn skip(reason: &str) {
        assert!(!is_ci(), "CI=true: {reason}");
        let _ = writeln!(std::io::stderr(), "SKIPPED: {reason}");
    }

    #[test]
    fn reconciles_are_summed_per_controller() {
        let metrics = "# HELP controller_runtime_reconcile_total x\n\
            controller_runtime_reconcile_total{controller=\"dockercluster\",result=\"success\"} 7\n\
            controller_runtime_reconcile_total{controller=\"dockercluster\",result=\"error\"} 2\n\
            controller_runtime_reconcile_total{controller=\"dockermachine\",result=\"success\"} 5\n";
        assert_eq!(reconcile_total(metrics, Some("dockercluster")), 9);
        assert_eq!(reconcile_total(metrics, None), 14);
        assert_eq!(
            reconciles_by_controller(metrics),
            BTreeMap::from([
                ("dockercluster".to_owned(), 9),
                ("dockermachine".to_owned(), 5)
            ])
        );
    }

    #[test]
    fn errors_are_read_from_capd_log_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        std::fs::write(
            &log,
            "I1205 ok\nE1205 12:00:00.1 1 controller.go:1] \"Reconciler error\" \
             err=\"failed to create worker DockerMachine: error starting container \\\"c-w0\\\": boom\" \
             controller=\"dockermachine\" DockerMachine=\"capd-bench/c-w0\" x=\"y\"\n",
        )
        .unwrap();
        assert_eq!(
            machine_error(&log).unwrap(),
            "failed to create worker DockerMachine: error starting container \"c-w0\": boom"
        );
        assert_eq!(
            failing_machines(&log),
            BTreeSet::from(["capd-bench/c-w0".to_owned()])
        );
    }

    #[test]
    fn the_peer_row_reads_our_results() {
        let results = json!({ "machines": 20.0, "figures": [
            { "key": "manager.ready", "median": 12.5 },
            { "key": "size.binary_stripped", "median": 9.1 },
        ] });
        let row = PeerRow::ours(&results).to_string();
        assert!(
            row.contains("| 20 Machines converged; object: DockerMachine | 9.10 | 12.5 | n/a |"),
            "{row}"
        );
    }

    /// The CAPD measurement on real parts, N = 2: sane figures, and nothing left in Docker.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn capd_provisions_clusters_and_is_cleaned_up() -> anyhow::Result<()> {
        let assets = match Assets::from_env(Needs::ClusterApi) {
            Ok(assets) => assets,
            Err(reason) => {
                skip(&format!("{reason} (scripts/test-assets.sh)"));
                return Ok(());
            }
        };
        let capd = match CapdAssets::from_env() {
            Ok(capd) => capd,
            Err(reason) => {
                skip(&reason);
                return Ok(());
            }
        };
        let docker_ready = docker(&["version"]).is_ok()
            && [NODE_TEST_IMAGE, LB_TEST_IMAGE]
                .iter()
                .all(|image| docker(&["image", "inspect", image]).is_ok());
        if !docker_ready {
            skip(
                "no Docker daemon or test images (scripts/start-dockerd.sh, scripts/build-test-images.sh)",
            );
            return Ok(());
        }
        let options = Options {
            runs: 1,
            scale_runs: 1,
            sizes: vec![2],
            window: Duration::from_secs(5),
            timeout: Duration::from_secs(180),
        };
        let figures = measure(&options, &assets, &capd).await?;
        eprintln!("{figures}");
        assert!(figures.binary_mb > 1.0, "{figures:?}");
        assert!(figures.rss_idle_mib[0] > 1.0, "{figures:?}");
        assert!(figures.ready_ms[0] < READY_TIMEOUT.as_secs_f64() * 1e3);
        assert!(
            figures.lb_error_as_is.contains("error starting container"),
            "{}",
            figures.lb_error_as_is
        );
        let scale = &figures.scale[0];
        assert!(scale.lb_running >= 1, "{scale:?}");
        assert!(
            scale.provision_s > 0.0 && scale.rss_clusters_mib > 1.0,
            "{scale:?}"
        );
        assert!(figures.relay_rewrites >= 2, "{figures:?}");
        assert!(figures.refusals.is_empty(), "{:?}", figures.refusals);
        assert!(
            figures.cleanup.problems.is_empty(),
            "{:?}",
            figures.cleanup.problems
        );
        let prefix_left = docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("label={CLUSTER_LABEL}"),
            "--format",
            "{{.Label \"io.x-k8s.kind.cluster\"}}",
        ])?;
        assert!(
            !prefix_left
                .lines()
                .any(|c| c.starts_with(&figures.run_prefix)),
            "containers left: {prefix_left}"
        );
        Ok(())
    }
}
