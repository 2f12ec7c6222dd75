//! Fault F16 on the real engine: the Docker daemon restarts. Node and load-balancer containers
//! come back by themselves (restart policy `unless-stopped`), and ensuring them again finds the
//! same containers: nothing is recreated.
//!
//! Restarting a daemon is only acceptable for one this project started (`scripts/start-dockerd.sh`,
//! as CI does); with any other daemon the test says so and skips, and in CI it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use capdkc_docker::BollardRuntime;
use capdkc_docker::ensure::Action;
use capdkc_docker::loadbalancer;
use capdkc_docker::node::{self, NodeRequest, Role};
use capdkc_docker::runtime::ContainerRuntime;
use common::{docker_env, eventually};

const TEST: &str = "daemon-restart";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/start-dockerd.sh")
}

/// The pid file the script writes for a daemon it started (and only then).
fn started_by_our_script() -> bool {
    let state = std::env::var("XDG_RUNTIME_DIR").unwrap_or_else(|_| "/tmp".into());
    let pid_file = Path::new(&state).join("capdkc-dockerd/started-by-script.pid");
    std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|pid| pid.trim().parse::<u32>().ok())
        .is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

fn run_script(argument: &str) {
    let status = Command::new("bash")
        .arg(script())
        .arg(argument)
        .status()
        .expect("bash runs");
    assert!(
        status.success(),
        "scripts/start-dockerd.sh {argument} failed"
    );
}

#[tokio::test]
async fn containers_survive_a_daemon_restart_and_are_not_recreated() {
    if !started_by_our_script() {
        let reason = "the Docker daemon was not started by scripts/start-dockerd.sh, so this test may not restart it";
        assert!(
            std::env::var("CI").is_err(),
            "{TEST}: {reason} (CI=true: mandatory)"
        );
        eprintln!("SKIPPED {TEST}: {reason}");
        return;
    }
    let Some(env) = docker_env(TEST).await else {
        return;
    };
    let identity = env.identity("dc");
    let lb = loadbalancer::ensure_lb(&env.rt, &env.lb_settings(), &identity)
        .await
        .expect("LB");
    let request = NodeRequest {
        machine: "cp-restart".into(),
        identity: env.identity("machine-cp-restart"),
        role: Role::ControlPlane,
        failure_domain: None,
        custom_image: Some(capdkc_docker::test_support::NODE_TEST_IMAGE.into()),
        version: None,
        extra_mounts: Vec::new(),
    };
    let (_, node) = node::ensure_node(&env.rt, &env.node_settings(), &request)
        .await
        .expect("node");

    run_script("stop");
    run_script("start");

    // A fresh client: the old one's pooled connections died with the daemon.
    let rt = BollardRuntime::connect().await.expect("the daemon is back");
    eventually(
        "both containers run again",
        Duration::from_secs(30),
        || async {
            let lb_running = rt.inspect(&lb.container.name).await.ok()?.running;
            let node_running = rt.inspect(&node.name).await.ok()?.running;
            (lb_running && node_running).then_some(())
        },
    )
    .await;

    let (action, again) = node::ensure_node(&rt, &env.node_settings(), &request)
        .await
        .expect("node");
    assert_eq!(
        (action, again.id.as_str()),
        (Action::Existing, node.id.as_str()),
        "the node was recreated"
    );
    let lb_again = loadbalancer::ensure_lb(&rt, &env.lb_settings(), &identity)
        .await
        .expect("LB");
    assert_eq!(lb_again.action, Action::Existing);
    assert_eq!(
        lb_again.container.id, lb.container.id,
        "the load balancer was recreated"
    );
    env.cleanup().await;
}
