//! Provisioning benchmark: one load balancer plus one control-plane node through the layer
//! versus the docker CLI doing the same steps (create + start + inspect each) on the same
//! engine. Prints the medians and the layer/CLI ratio. Run via `scripts/bench-docker.sh`.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use capdkc_docker::labels::TEST_RUN_LABEL;
use capdkc_docker::loadbalancer::{self, LbSettings};
use capdkc_docker::node::{self, NodeRequest, NodeSettings, Role};
use capdkc_docker::runtime::{ContainerRuntime, SecurityProfile};
use capdkc_docker::test_support::{LB_TEST_IMAGE, NODE_TEST_IMAGE};
use capdkc_docker::{BollardRuntime, Identity};

const NETWORK: &str = "capdkc-bench";
const RUN: &str = "bench";

fn identity(owner: &str) -> Identity {
    Identity {
        cluster_name: "bench".into(),
        namespace: "default".into(),
        cluster_uid: "bench-uid".into(),
        owner_uid: owner.into(),
    }
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([(TEST_RUN_LABEL.to_owned(), RUN.to_owned())])
}

async fn via_layer(rt: &BollardRuntime) -> anyhow::Result<Duration> {
    let lb_settings = LbSettings {
        network: NETWORK.into(),
        image: Some(LB_TEST_IMAGE.into()),
        extra_labels: labels(),
        ..LbSettings::default()
    };
    let node_settings = NodeSettings {
        network: NETWORK.into(),
        security: SecurityProfile::Capabilities,
        mount_lib_modules: false,
        extra_labels: labels(),
        ..NodeSettings::default()
    };
    let req = NodeRequest {
        machine: "bench-cp".into(),
        identity: identity("m"),
        role: Role::ControlPlane,
        failure_domain: None,
        custom_image: Some(NODE_TEST_IMAGE.into()),
        version: None,
        extra_mounts: Vec::new(),
    };
    let start = Instant::now();
    loadbalancer::ensure_lb(rt, &lb_settings, &identity("dc")).await?;
    node::ensure_node(rt, &node_settings, &req).await?;
    Ok(start.elapsed())
}

fn docker(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .context("running docker")?;
    if !out.status.success() {
        bail!("docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// The same requests the layer makes, issued by the CLI: inspect (absent), create, start,
/// inspect, for each container.
fn via_cli() -> anyhow::Result<Duration> {
    let label = format!("{TEST_RUN_LABEL}={RUN}");
    let start = Instant::now();
    let _ = Command::new("docker")
        .args(["inspect", "bench-lb"])
        .output();
    docker(&[
        "create",
        "--name",
        "bench-lb",
        "--hostname",
        "bench-lb",
        "--label",
        &label,
        "--label",
        "io.x-k8s.kind.cluster=bench",
        "--label",
        "io.x-k8s.kind.role=external-load-balancer",
        "--network",
        NETWORK,
        "--publish",
        "127.0.0.1::6443",
        "--restart",
        "unless-stopped",
        LB_TEST_IMAGE,
    ])?;
    docker(&["start", "bench-lb"])?;
    docker(&["inspect", "bench-lb"])?;
    let _ = Command::new("docker")
        .args(["inspect", "bench-cp"])
        .output();
    docker(&[
        "create",
        "--name",
        "bench-cp",
        "--hostname",
        "bench-cp",
        "--label",
        &label,
        "--label",
        "io.x-k8s.kind.cluster=bench",
        "--label",
        "io.x-k8s.kind.role=control-plane",
        "--cap-add",
        "ALL",
        "--cap-drop",
        "SYS_RESOURCE",
        "--security-opt",
        "seccomp=unconfined",
        "--security-opt",
        "apparmor=unconfined",
        "--cgroupns",
        "private",
        "--init=false",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/run",
        "--volume",
        "/var",
        "--network",
        NETWORK,
        "--publish",
        "127.0.0.1::6443",
        "--restart",
        "unless-stopped",
        "--env",
        "KUBECONFIG=/etc/kubernetes/admin.conf",
        NODE_TEST_IMAGE,
    ])?;
    docker(&["start", "bench-cp"])?;
    docker(&["inspect", "bench-cp"])?;
    Ok(start.elapsed())
}

async fn clean(rt: &BollardRuntime) -> anyhow::Result<()> {
    for c in rt.list_by_labels(&labels()).await? {
        rt.remove(&c.name).await?;
    }
    for name in ["bench-lb", "bench-cp"] {
        rt.remove(name).await?;
    }
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7);
    let rt = BollardRuntime::connect().await?;
    rt.ensure_network(NETWORK, &labels()).await?;
    clean(&rt).await?;
    // Warm-up: first container start on a fresh daemon pays one-off costs.
    via_layer(&rt).await?;
    clean(&rt).await?;
    let (mut layer, mut cli) = (Vec::new(), Vec::new());
    for i in 0..runs {
        // Alternate which goes first so drift in the engine hits both equally.
        if i % 2 == 0 {
            layer.push(via_layer(&rt).await?);
            clean(&rt).await?;
            cli.push(via_cli()?);
            clean(&rt).await?;
        } else {
            cli.push(via_cli()?);
            clean(&rt).await?;
            layer.push(via_layer(&rt).await?);
            clean(&rt).await?;
        }
    }
    rt.remove_network(NETWORK).await?;
    let (l, c) = (median(layer), median(cli));
    println!("runs: {runs}");
    println!("layer median: {:.1} ms", l.as_secs_f64() * 1e3);
    println!("cli   median: {:.1} ms", c.as_secs_f64() * 1e3);
    println!(
        "ratio layer/cli: {:.2} (target <= 1.20)",
        l.as_secs_f64() / c.as_secs_f64()
    );
    Ok(())
}
