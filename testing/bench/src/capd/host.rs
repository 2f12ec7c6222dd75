//! What a CAPD run does to the Docker host, and undoes: the load balancer image tag, kind's
//! network, the containers CAPD leaves, the `/lib/modules` directory Docker creates for CAPD's
//! bind mount.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use capdkc_docker::test_support::{LB_TEST_IMAGE, NODE_TEST_IMAGE};

use super::{CLUSTER_LABEL, CapdAssets, ROLE_LABEL};

/// CAPD always starts its in-memory backend's workload cluster mux on this port (all
/// interfaces, no flag to change it), so only one CAPD can run on a host at a time.
pub(super) const MUX_PORT: u16 = 19000;
/// Marks the Docker network this bench created (CAPD needs kind's, and does not create it).
const NETWORK_LABEL: &str = "capdkc.bench/capd";
/// What this run does to the Docker host, and undoes.
pub(super) struct DockerHost {
    /// Every cluster name (and so every container's cluster label) starts with it.
    pub(super) prefix: String,
    lb_image: String,
    /// This run tagged the stand-in as CAPD's load balancer image.
    tagged: bool,
    network: String,
    created_network: bool,
    /// Docker creates a missing bind-mount source; CAPD mounts /lib/modules into every container.
    lib_modules_was_absent: bool,
    cleaned: bool,
}

impl DockerHost {
    pub(super) fn prepare(capd: &CapdAssets) -> anyhow::Result<Self> {
        docker(&["version", "--format", "{{.Server.Version}}"])
            .context("no Docker daemon answers (scripts/start-dockerd.sh)")?;
        for image in [NODE_TEST_IMAGE, LB_TEST_IMAGE] {
            docker(&["image", "inspect", "--format", "{{.Id}}", image]).with_context(|| {
                format!("test image {image} is missing (scripts/build-test-images.sh)")
            })?;
        }
        std::net::TcpListener::bind(("0.0.0.0", MUX_PORT)).with_context(|| {
            format!(
                "port {MUX_PORT} is taken: CAPD binds it unconditionally (another CAPD running?)"
            )
        })?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut host = Self {
            prefix: format!("capdb{:06x}", (nanos ^ std::process::id()) & 0xff_ffff),
            lb_image: capd.lb_image().to_owned(),
            tagged: false,
            network: capd.network().to_owned(),
            created_network: false,
            lib_modules_was_absent: !Path::new("/lib/modules").exists(),
            cleaned: false,
        };
        let stand_in = docker(&["image", "inspect", "--format", "{{.Id}}", LB_TEST_IMAGE])?;
        match docker(&["image", "inspect", "--format", "{{.Id}}", &host.lb_image]) {
            // Our own tag, left by an interrupted run: ours to remove.
            Ok(id) => host.tagged = id == stand_in,
            Err(_) => {
                docker(&["tag", LB_TEST_IMAGE, &host.lb_image])?;
                host.tagged = true;
            }
        }
        let owner = format!("{{{{index .Labels \"{NETWORK_LABEL}\"}}}}");
        match docker(&["network", "inspect", "--format", &owner, &host.network]) {
            // Created by an earlier run of this bench (Docker would not remove it then): ours.
            Ok(run) => host.created_network = !run.is_empty() && run != "<no value>",
            Err(_) => {
                docker(&[
                    "network",
                    "create",
                    "--label",
                    &format!("{NETWORK_LABEL}={}", host.prefix),
                    &host.network,
                ])?;
                host.created_network = true;
            }
        }
        Ok(host)
    }

    /// What the engine answers to a privileged container.
    pub(super) fn privileged_error(&self) -> String {
        let name = format!("{}-privileged-probe", self.prefix);
        let label = format!("{CLUSTER_LABEL}={}", self.prefix);
        match docker(&[
            "run",
            "--rm",
            "--privileged",
            "--name",
            &name,
            "--label",
            &label,
            NODE_TEST_IMAGE,
            "true",
        ]) {
            Ok(_) => "none: privileged containers start on this host".to_owned(),
            Err(error) => {
                let _ = docker(&["rm", "-f", "-v", &name]);
                // The CLI's first line, without its `docker: ` prefix and usage hint.
                let text = error.to_string();
                let first = text.lines().next().unwrap_or_default();
                first.strip_prefix("docker: ").unwrap_or(first).to_owned()
            }
        }
    }

    /// How many of `clusters` have a running load balancer container.
    pub(super) fn running_load_balancers(&self, clusters: &[String]) -> anyhow::Result<usize> {
        let filter = format!("label={ROLE_LABEL}=external-load-balancer");
        let format = format!("{{{{.Label \"{CLUSTER_LABEL}\"}}}}");
        let running = docker(&["ps", "--filter", &filter, "--format", &format])?;
        let running: BTreeSet<&str> = running.lines().collect();
        Ok(clusters
            .iter()
            .filter(|c| running.contains(c.as_str()))
            .count())
    }

    /// Containers of this run (all states).
    fn containers(&self) -> anyhow::Result<Vec<String>> {
        let format = format!("{{{{.Names}}}}\t{{{{.Label \"{CLUSTER_LABEL}\"}}}}");
        let list = docker(&[
            "ps",
            "-a",
            "--filter",
            &format!("label={CLUSTER_LABEL}"),
            "--format",
            &format,
        ])?;
        Ok(list
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .filter(|(_, cluster)| cluster.starts_with(&self.prefix))
            .map(|(name, _)| name.to_owned())
            .collect())
    }

    /// Removes what CAPD left and what this run added, every step even when one fails.
    pub(super) fn cleanup(&mut self) -> Cleanup {
        let mut cleanup = Cleanup::default();
        if self.cleaned {
            return cleanup;
        }
        self.cleaned = true;
        match self.containers() {
            Ok(leftovers) => {
                for name in &leftovers {
                    if let Err(error) = docker(&["rm", "-f", "-v", name]) {
                        cleanup.problems.push(format!("container {name}: {error}"));
                    }
                }
                cleanup.removed = leftovers;
            }
            Err(error) => cleanup
                .problems
                .push(format!("listing containers: {error}")),
        }
        if self.created_network {
            self.remove_network(&mut cleanup);
        }
        if self.tagged
            && let Err(error) = docker(&["image", "rm", &self.lb_image])
        {
            cleanup
                .problems
                .push(format!("tag {}: {error}", self.lb_image));
        }
        if self.lib_modules_was_absent {
            // Only the empty directory Docker made; rmdir refuses anything else.
            let _ = std::fs::remove_dir("/lib/modules");
        }
        match self.containers() {
            Ok(left) if left.is_empty() => {}
            Ok(left) => cleanup.problems.push(format!("containers left: {left:?}")),
            Err(error) => cleanup
                .problems
                .push(format!("listing containers: {error}")),
        }
        cleanup
    }

    /// Removes the network this run created, retrying while Docker releases endpoints.
    ///
    /// Docker 20.10 loses count of a network's endpoints when several containers on it fail to
    /// start at the same moment (CAPD's privileged node containers, at its default concurrency):
    /// the network then has no container but "has active endpoints" until the engine restarts.
    /// That is left in place and reported, not counted as a failed cleanup.
    fn remove_network(&self, cleanup: &mut Cleanup) {
        let mut last = String::new();
        for _ in 0..10 {
            match docker(&["network", "rm", &self.network]) {
                Ok(_) => return,
                // The CLI adds an "exit status" line.
                Err(error) => {
                    last = error
                        .to_string()
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                }
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        let attached = docker(&[
            "network",
            "inspect",
            "--format",
            "{{len .Containers}}",
            &self.network,
        ]);
        if last.contains("has active endpoints") && attached.is_ok_and(|count| count == "0") {
            cleanup.network_left = Some(format!(
                "{} (no container attached; Docker still counts endpoints: {last})",
                self.network
            ));
        } else {
            cleanup
                .problems
                .push(format!("network {}: {last}", self.network));
        }
    }
}

impl Drop for DockerHost {
    fn drop(&mut self) {
        let cleanup = self.cleanup();
        for problem in &cleanup.problems {
            eprintln!("capd: cleanup: {problem}");
        }
    }
}

/// What the Docker cleanup did.
#[derive(Clone, Debug, Default)]
pub struct Cleanup {
    /// Containers CAPD left that the cleanup removed.
    pub removed: Vec<String>,
    /// The network, when Docker would not remove it for a reason of its own (see
    /// `DockerHost::remove_network`).
    pub network_left: Option<String>,
    /// What could not be undone; empty when the host is as it was.
    pub problems: Vec<String>,
}

/// Runs the docker CLI; stdout on success, stderr as the error.
pub(super) fn docker(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run the docker CLI")?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        bail!("{}", String::from_utf8_lossy(&output.stderr).trim())
    }
}
