//! What the quick-start test needs besides the harness: the node image (skip or fail), the
//! phase clock, `clusterctl generate cluster`, the workload cluster's client and `kubectl` in
//! the control-plane node, and Docker's own view of what the test left behind.

#![allow(dead_code)] // helpers for one test binary

use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use apiserver_harness::{Assets, is_ci};
use k8s_openapi::api::core::v1::Node;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use serde_json::{Value, json};

/// Where `scripts/build-node-image.sh` puts its result (`eval "$(bash scripts/build-node-image.sh)"`).
pub const NODE_IMAGE_ENV: &str = "CAPDKC_NODE_IMAGE";
/// The preloaded busybox of the node image (its README: "Test pods use `$CAPDKC_TEST_IMAGE`").
pub const POD_IMAGE: &str = "capdkc.local/busybox:1.35.0";
/// The Kubernetes version the node image carries.
pub const KUBERNETES_VERSION: &str = "v1.36.3";
/// Pods get addresses no Docker network uses (Docker takes 172.17+ and 192.168.x for its own).
pub const POD_CIDR: &str = "10.244.0.0/16";

/// The node image named by `CAPDKC_NODE_IMAGE`, if Docker has it; else the skip or failure.
pub fn node_image(test: &str) -> anyhow::Result<Option<String>> {
    let how = "build it with `eval \"$(bash scripts/build-node-image.sh)\"` (about 30 min cold)";
    let reason = match std::env::var(NODE_IMAGE_ENV) {
        Ok(image) if !image.is_empty() => {
            let found = Command::new("docker")
                .args(["image", "inspect", "--format", "{{.Id}}", &image])
                .output()
                .is_ok_and(|output| output.status.success());
            if found {
                return Ok(Some(image));
            }
            format!("the node image {image} ({NODE_IMAGE_ENV}) is not in Docker; {how}")
        }
        _ => format!("{NODE_IMAGE_ENV} is not set; {how}"),
    };
    anyhow::ensure!(!is_ci(), "{reason} (CI=true: this test must run)");
    eprintln!("SKIPPED {test}: {reason}");
    Ok(None)
}

/// Prints how long each phase took, as it ends, past the test harness's output capture (so
/// `cargo test` shows it without `--nocapture`), and keeps them for the closing summary.
pub struct Phases {
    started: Instant,
    phase_started: Instant,
    done: Vec<(String, Duration)>,
}

impl Phases {
    pub fn start() -> Self {
        let now = Instant::now();
        Self {
            started: now,
            phase_started: now,
            done: Vec::new(),
        }
    }

    pub fn end(&mut self, phase: &str) {
        let took = self.phase_started.elapsed();
        say(&format!("quickstart: {phase}: {:.1} s", took.as_secs_f64()));
        self.done.push((phase.to_owned(), took));
        self.phase_started = Instant::now();
    }

    /// The phases and their seconds as a table, for the book.
    pub fn table(&self) -> String {
        let width = self
            .done
            .iter()
            .map(|(phase, _)| phase.len())
            .chain(["PHASE".len(), "total".len()])
            .max()
            .unwrap_or(0);
        let mut text = format!("{:<width$}   SECONDS\n", "PHASE");
        for (phase, took) in &self.done {
            text.push_str(&format!("{phase:<width$}   {:.1}\n", took.as_secs_f64()));
        }
        let total: f64 = self.done.iter().map(|(_, took)| took.as_secs_f64()).sum();
        text.push_str(&format!("{:<width$}   {total:.1}\n", "total"));
        text
    }

    pub fn summary(&self) {
        let mut text = String::from("quickstart phase durations:\n");
        for (phase, took) in &self.done {
            text.push_str(&format!("  {phase:<48} {:>6.1} s\n", took.as_secs_f64()));
        }
        let total = self.started.elapsed().as_secs_f64();
        text.push_str(&format!("  {:<48} {total:>6.1} s", "total"));
        say(&text);
    }
}

/// One line on the process's stderr handle itself (not `eprintln!`, which the harness captures).
pub fn say(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// `clusterctl generate cluster` with the repository's template, as a user runs it for the
/// quick-start, from the clusterctl that `scripts/test-assets.sh` built.
pub fn generate_cluster(
    assets: &Assets,
    template: &Path,
    cluster: &str,
    namespace: &str,
) -> anyhow::Result<String> {
    let clusterctl = assets.dir().join("clusterctl");
    anyhow::ensure!(
        clusterctl.is_file(),
        "{} is missing: run scripts/test-assets.sh",
        clusterctl.display()
    );
    // clusterctl reads its configuration under $HOME: an empty one, so no user setting leaks in.
    let home = tempfile::tempdir()?;
    let output = Command::new(&clusterctl)
        .args(["generate", "cluster", cluster, "--from"])
        .arg(template)
        .args([
            "--kubernetes-version",
            KUBERNETES_VERSION,
            "--control-plane-machine-count",
            "1",
            "--worker-machine-count",
            "1",
            "--target-namespace",
            namespace,
        ])
        .env("HOME", home.path())
        .env("CLUSTERCTL_DISABLE_VERSIONCHECK", "true")
        .env("CAPDKC_POD_CIDR", POD_CIDR)
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "clusterctl generate cluster: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

/// The generated objects, with what this machine needs instead of the internet: our node image
/// for every DockerMachineTemplate, and the locally built HAProxy image for the load balancer.
pub fn for_this_machine(
    generated: &str,
    node_image: &str,
    lb_image: &str,
) -> anyhow::Result<Vec<Value>> {
    let mut objects: Vec<Value> = serde_saphyr::from_multiple(generated)?;
    objects.retain(|object| !object.is_null());
    for object in &mut objects {
        match object["kind"].as_str() {
            Some("DockerMachineTemplate") => {
                object["spec"]["template"]["spec"]["customImage"] = json!(node_image);
            }
            Some("DockerCluster") => {
                object["spec"]["loadBalancer"] = json!({ "image": lb_image });
            }
            _ => {}
        }
    }
    Ok(objects)
}

/// A client of the workload cluster from its kubeconfig Secret's value, and the server it names.
pub async fn workload_client(kubeconfig: &str) -> anyhow::Result<(Client, String)> {
    let kubeconfig = Kubeconfig::from_yaml(kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    let server = config.cluster_url.to_string();
    Ok((Client::try_from(config)?, server))
}

/// Every Node, with whether it is Ready and its providerID.
pub async fn nodes(workload: &Client) -> Vec<(String, bool, Option<String>)> {
    let Ok(list) = Api::<Node>::all(workload.clone())
        .list(&Default::default())
        .await
    else {
        return Vec::new();
    };
    list.items
        .into_iter()
        .map(|node| {
            let name = node.metadata.name.clone().unwrap_or_default();
            let ready = node
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            let provider_id = node.spec.and_then(|s| s.provider_id);
            (name, ready, provider_id)
        })
        .collect()
}

/// `kubectl` in the control-plane node, as the node's admin (`kubectl exec` needs a websocket
/// client, which the provider's kube build does not include).
pub fn kubectl(node: &str, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
    let mut command = Command::new("docker");
    command.args([
        "exec",
        "-i",
        node,
        "kubectl",
        "--kubeconfig",
        "/etc/kubernetes/admin.conf",
    ]);
    command.args(args);
    command.stdin(std::process::Stdio::piped());
    command.stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let mut child = command.spawn()?;
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.unwrap_or_default().as_bytes())?;
    }
    let output = child.wait_with_output()?;
    anyhow::ensure!(
        output.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// A pod that serves its own name on :8080 (busybox httpd) on `node`, tolerating every taint.
pub fn web_pod(name: &str, node: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  nodeName: {node}
  tolerations: [{{operator: Exists}}]
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: {POD_IMAGE}
      imagePullPolicy: Never
      command: ["sh", "-c", "mkdir -p /www && echo {name} >/www/index.html && httpd -p 8080 -h /www && exec sleep 100000"]
"#
    )
}

/// What `from` gets when it asks `ip`:8080 (busybox `nc`: the image's `wget` crashes, see the
/// node image README).
pub fn http_get(cp_node: &str, from: &str, ip: &str) -> Option<String> {
    let script = format!("printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {ip} 8080");
    let answer = kubectl(cp_node, &["exec", from, "--", "sh", "-c", &script], None).ok()?;
    answer.lines().last().map(|line| line.trim().to_owned())
}

/// Docker's anonymous volumes mounted in `container` (a node's `/var`).
pub fn volumes_of(container: &str) -> Vec<String> {
    let format = r#"{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}"#;
    docker(&["inspect", "--format", format, container])
        .map(|text| text.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// `docker ARGS`, its stdout if it succeeded.
pub fn docker(args: &[&str]) -> Option<String> {
    let output = Command::new("docker").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Mount `/lib/modules` into nodes only where the host has the running kernel's modules (the
/// node image README: a bind of a missing directory breaks kube-proxy later).
pub fn host_has_kernel_modules() -> bool {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    Path::new("/lib/modules").join(release.trim()).is_dir()
}
