//! The figures of a CAPD run, as raw lines, a markdown table and a row of the peers table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::CLUSTER_LABEL;
use super::host::Cleanup;
use crate::report::{Raw, median};

/// One run with N DockerClusters (and then N DockerMachines).
#[derive(Clone, Debug, Default)]
pub struct ScaleFigures {
    pub n: usize,
    /// Creating N Clusters + DockerClusters until the last DockerCluster reports
    /// `status.initialization.provisioned: true`.
    pub provision_s: f64,
    /// The provider's share: from core setting the first owner to the last one provisioned.
    pub provision_from_owner_s: f64,
    /// Until core marked the last Cluster `infrastructureProvisioned`.
    pub cluster_infrastructure_s: f64,
    /// Load balancer containers running once provisioned (should be N).
    pub lb_running: usize,
    /// VmRSS with N DockerClusters provisioned, 3 s after the last one.
    pub rss_clusters_mib: f64,
    /// DockerCluster reconciles from creation until converged (+3 s), per DockerCluster.
    pub reconciles_per_cluster: f64,
    /// Writes by CAPD's ServiceAccount per converged DockerCluster when each one is poked.
    pub api_writes_per_object_poked: f64,
    /// Reconciles (all controllers) per converged DockerCluster in the quiet window.
    pub window_reconciles_per_object: f64,
    /// Writes per converged DockerCluster in the quiet window.
    pub window_api_writes_per_object: f64,
    /// What those window writes were (`verb group/resource -> code`).
    pub window_writes: Vec<String>,
    /// Which controllers reconciled in the quiet window, and how often (all objects).
    pub window_reconciles_by_controller: BTreeMap<String, u64>,
    /// VmRSS once N DockerMachines (owned by Machines, with bootstrap data) exist as well and
    /// CAPD has been failing to start their node containers for a few seconds.
    pub rss_clusters_and_machines_mib: f64,
    /// The DockerMachines CAPD tried and failed to start a container for.
    pub machines_failing: usize,
}

/// Everything measured for CAPD.
#[derive(Clone, Debug, Default)]
pub struct CapdFigures {
    pub version: String,
    pub binary_mb: f64,
    pub binary_stripped_mb: Option<f64>,
    /// Start to `/readyz` 200, every run.
    pub ready_ms: Vec<f64>,
    /// VmRSS 2 s after ready, every run.
    pub rss_idle_mib: Vec<f64>,
    pub scale: Vec<ScaleFigures>,
    /// From `build-times.tsv` (seconds): build.first, build.noop, build.edit, build.cold.
    pub build_s: BTreeMap<String, Vec<f64>>,
    /// `docker run --privileged` on this host: the engine's answer.
    pub privileged_error: String,
    /// The DockerCluster's LoadBalancerAvailable message when CAPD talks to Docker directly.
    pub lb_error_as_is: String,
    /// CAPD's error for a DockerMachine's node container (through the relay, still privileged).
    pub machine_error: String,
    /// Load balancer creates the relay made unprivileged.
    pub relay_rewrites: usize,
    pub lb_image: String,
    /// Requests of CAPD's ServiceAccount that RBAC refused (none expected).
    pub refusals: BTreeSet<String>,
    /// What the Docker cleanup removed and could not remove.
    pub cleanup: Cleanup,
    /// Every cluster name of this run (and so every container's cluster label) starts with it.
    pub run_prefix: String,
}

impl CapdFigures {
    /// Raw lines in `runtime`'s format, keys prefixed `capd.`.
    pub fn push_raw(&self, raw: &mut Raw) {
        raw.push("capd.size.binary", self.binary_mb);
        if let Some(mb) = self.binary_stripped_mb {
            raw.push("capd.size.binary_stripped", mb);
        }
        for ms in &self.ready_ms {
            raw.push("capd.manager.ready", *ms);
        }
        for mib in &self.rss_idle_mib {
            raw.push("capd.manager.rss_idle", *mib);
        }
        for s in &self.scale {
            let key = |name: &str| format!("capd.n{}.{name}", s.n);
            raw.push(&key("provision_clusters"), s.provision_s);
            raw.push(
                &key("provision_clusters_from_owner"),
                s.provision_from_owner_s,
            );
            raw.push(&key("rss_clusters"), s.rss_clusters_mib);
            raw.push(
                &key("rss_clusters_and_machines"),
                s.rss_clusters_and_machines_mib,
            );
            raw.push(&key("reconciles_per_cluster"), s.reconciles_per_cluster);
            raw.push(
                &key("api_writes_per_object_poked"),
                s.api_writes_per_object_poked,
            );
            raw.push(
                &key("window_reconciles_per_object"),
                s.window_reconciles_per_object,
            );
            raw.push(
                &key("window_api_writes_per_object"),
                s.window_api_writes_per_object,
            );
        }
        for (key, values) in &self.build_s {
            for value in values {
                raw.push(&format!("capd.{key}"), *value);
            }
        }
    }

    /// The medians of one N's runs.
    fn scale_medians(&self, n: usize) -> Option<ScaleFigures> {
        let runs: Vec<&ScaleFigures> = self.scale.iter().filter(|s| s.n == n).collect();
        let first = runs.first()?;
        let m =
            |f: fn(&ScaleFigures) -> f64| median(&runs.iter().map(|s| f(s)).collect::<Vec<_>>());
        Some(ScaleFigures {
            n,
            provision_s: m(|s| s.provision_s),
            provision_from_owner_s: m(|s| s.provision_from_owner_s),
            cluster_infrastructure_s: m(|s| s.cluster_infrastructure_s),
            lb_running: runs.iter().map(|s| s.lb_running).min().unwrap_or(0),
            rss_clusters_mib: m(|s| s.rss_clusters_mib),
            reconciles_per_cluster: m(|s| s.reconciles_per_cluster),
            api_writes_per_object_poked: m(|s| s.api_writes_per_object_poked),
            window_reconciles_per_object: m(|s| s.window_reconciles_per_object),
            window_api_writes_per_object: m(|s| s.window_api_writes_per_object),
            window_writes: first.window_writes.clone(),
            window_reconciles_by_controller: first.window_reconciles_by_controller.clone(),
            rss_clusters_and_machines_mib: m(|s| s.rss_clusters_and_machines_mib),
            machines_failing: runs.iter().map(|s| s.machines_failing).min().unwrap_or(0),
        })
    }

    /// CAPD's row of the peers table, with the figures at `n`.
    pub fn peer_row(&self, n: usize) -> PeerRow {
        let scale = self.scale_medians(n);
        PeerRow {
            provider: format!("CAPD {} (Go)", self.version),
            workload: format!(
                "{n} DockerClusters provisioned + {n} DockerMachines failing; object: DockerCluster"
            ),
            binary_mb: self.binary_stripped_mb.or(Some(self.binary_mb)),
            ready_ms: Some(median(&self.ready_ms)),
            rss_idle_mib: Some(median(&self.rss_idle_mib)),
            rss_n_mib: scale.as_ref().map(|s| s.rss_clusters_and_machines_mib),
            reconciles_per_object: scale.as_ref().map(|s| s.reconciles_per_cluster),
            writes_per_object: scale.as_ref().map(|s| s.api_writes_per_object_poked),
            edit_rebuild_s: self.build_s.get("build.edit").map(|v| median(v)),
        }
    }
}

/// Every figure, as a markdown table, then what CAPD could not do here.
impl fmt::Display for CapdFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = |v: f64| crate_number(v);
        writeln!(f, "| CAPD {} | median |", self.version)?;
        writeln!(f, "|---|---:|")?;
        writeln!(
            f,
            "| binary (`make manager-capd` flags), MB | {} |",
            n(self.binary_mb)
        )?;
        if let Some(mb) = self.binary_stripped_mb {
            writeln!(f, "| binary, stripped, MB | {} |", n(mb))?;
        }
        writeln!(
            f,
            "| start to /readyz 200, ms | {} |",
            n(median(&self.ready_ms))
        )?;
        writeln!(f, "| RSS idle, MiB | {} |", n(median(&self.rss_idle_mib)))?;
        let mut sizes: Vec<usize> = self.scale.iter().map(|s| s.n).collect();
        sizes.dedup();
        for size in sizes {
            let Some(s) = self.scale_medians(size) else {
                continue;
            };
            writeln!(
                f,
                "| {size} DockerClusters: created to last provisioned, s | {} |",
                n(s.provision_s)
            )?;
            writeln!(
                f,
                "| {size} DockerClusters: provider's share (first owner to last provisioned), s | {} |",
                n(s.provision_from_owner_s)
            )?;
            writeln!(
                f,
                "| {size} DockerClusters: until core marks the last Cluster infrastructureProvisioned, s | {} |",
                n(s.cluster_infrastructure_s)
            )?;
            writeln!(
                f,
                "| {size} DockerClusters: load balancer containers running | {} |",
                s.lb_running
            )?;
            writeln!(
                f,
                "| RSS, {size} DockerClusters provisioned, MiB | {} |",
                n(s.rss_clusters_mib)
            )?;
            writeln!(
                f,
                "| RSS, {size} DockerClusters + {size} DockerMachines (failing), MiB | {} |",
                n(s.rss_clusters_and_machines_mib)
            )?;
            writeln!(
                f,
                "| {size} DockerMachines: node container refused (CAPD's log) | {} |",
                s.machines_failing
            )?;
            writeln!(
                f,
                "| reconciles per DockerCluster to converge (+3 s) | {} |",
                n(s.reconciles_per_cluster)
            )?;
            writeln!(
                f,
                "| API writes per converged DockerCluster, poked | {} |",
                n(s.api_writes_per_object_poked)
            )?;
            writeln!(
                f,
                "| reconciles (all controllers) per converged DockerCluster, quiet window | {} |",
                n(s.window_reconciles_per_object)
            )?;
            writeln!(
                f,
                "| API writes per converged DockerCluster, quiet window | {} |",
                n(s.window_api_writes_per_object)
            )?;
        }
        for (key, label) in [
            ("build.first", "first build (shared Go cache), s"),
            ("build.noop", "rebuild, nothing changed, s"),
            (
                "build.edit",
                "rebuild after editing dockermachine_controller.go, s",
            ),
            ("build.cold", "build with an empty Go build cache, s"),
        ] {
            if let Some(values) = self.build_s.get(key) {
                writeln!(f, "| {label} | {} |", n(median(values)))?;
            }
        }
        writeln!(f)?;
        let mut sizes: Vec<usize> = self.scale.iter().map(|s| s.n).collect();
        sizes.dedup();
        for s in sizes
            .into_iter()
            .filter_map(|size| self.scale_medians(size))
        {
            writeln!(
                f,
                "- N = {}, quiet window ({} run): reconciles by controller {:?}, writes {:?}",
                s.n,
                if self.scale.iter().filter(|r| r.n == s.n).count() > 1 {
                    "first"
                } else {
                    "one"
                },
                s.window_reconciles_by_controller,
                s.window_writes
            )?;
        }
        writeln!(
            f,
            "- `docker run --privileged` here: {}",
            self.privileged_error
        )?;
        writeln!(
            f,
            "- CAPD's load balancer, as is (privileged): {}",
            self.lb_error_as_is
        )?;
        writeln!(
            f,
            "- CAPD's node containers (privileged, through the relay too): {}",
            self.machine_error
        )?;
        writeln!(
            f,
            "- the relay made {} load balancer creates unprivileged; image {} was the local stand-in",
            self.relay_rewrites, self.lb_image
        )?;
        writeln!(
            f,
            "- this run's containers: label {CLUSTER_LABEL}={}-*, all removed",
            self.run_prefix
        )?;
        if !self.refusals.is_empty() {
            writeln!(f, "- RBAC refused: {:?}", self.refusals)?;
        }
        if !self.cleanup.removed.is_empty() {
            writeln!(
                f,
                "- containers CAPD left behind (removed): {:?}",
                self.cleanup.removed
            )?;
        }
        if let Some(reason) = &self.cleanup.network_left {
            writeln!(f, "- network left in place: {reason}")?;
        }
        for problem in &self.cleanup.problems {
            writeln!(f, "- CLEANUP FAILED: {problem}")?;
        }
        Ok(())
    }
}

fn crate_number(value: f64) -> String {
    let magnitude = value.abs();
    if value.is_nan() {
        "n/a".to_owned()
    } else if value == 0.0 || magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// One provider's row of the peers table.
#[derive(Clone, Debug, Default)]
pub struct PeerRow {
    pub provider: String,
    /// What "at N" and "per object" mean for this provider's figures.
    pub workload: String,
    pub binary_mb: Option<f64>,
    pub ready_ms: Option<f64>,
    pub rss_idle_mib: Option<f64>,
    pub rss_n_mib: Option<f64>,
    pub reconciles_per_object: Option<f64>,
    pub writes_per_object: Option<f64>,
    pub edit_rebuild_s: Option<f64>,
}

impl PeerRow {
    /// The table's header and separator lines.
    pub fn header() -> &'static str {
        "| provider | workload (N, object) | binary, stripped (MB) | start to ready (ms) | RSS idle (MiB) | RSS at N (MiB) | reconciles per object to converge | API writes per converged object, poked | edit-rebuild (s) |\n\
             |---|---|---:|---:|---:|---:|---:|---:|---:|"
    }

    /// Our provider's row from scripts/bench.sh's results.json (medians).
    pub fn ours(results: &serde_json::Value) -> Self {
        let figure = |key: &str| {
            results["figures"]
                .as_array()?
                .iter()
                .find(|f| f["key"] == key)?["median"]
                .as_f64()
        };
        let n = results["machines"].as_f64().unwrap_or(f64::NAN);
        Self {
            provider: "capdkc checkpoint-05 (Rust)".to_owned(),
            workload: format!("{n} Machines converged; object: DockerMachine"),
            binary_mb: figure("size.binary_stripped"),
            ready_ms: figure("manager.ready"),
            rss_idle_mib: figure("manager.rss_idle"),
            rss_n_mib: figure("manager.rss_n"),
            reconciles_per_object: figure("converge.reconciles_per_machine"),
            writes_per_object: figure("converged.api_writes_per_object"),
            edit_rebuild_s: figure("build.incremental_checkpoint"),
        }
    }
}

impl fmt::Display for PeerRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cell = |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), crate_number);
        write!(
            f,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            self.provider,
            self.workload,
            cell(self.binary_mb),
            cell(self.ready_ms),
            cell(self.rss_idle_mib),
            cell(self.rss_n_mib),
            cell(self.reconciles_per_object),
            cell(self.writes_per_object),
            cell(self.edit_rebuild_s),
        )
    }
}
