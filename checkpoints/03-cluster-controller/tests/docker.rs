//! The binary: without a usable Docker engine it stops at start, saying why, rather than fail in
//! every reconcile.

mod support;

use std::process::Command;

const MANAGER: &str = support::MANAGER;

/// A kubeconfig for a server nobody answers: the manager gets as far as setting up its
/// controllers, which is where it connects to Docker.
fn unreachable_cluster(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let kubeconfig = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:9\"}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u, namespace: default}\ncurrent-context: x\n";
    std::fs::write(&path, kubeconfig).expect("writes the kubeconfig");
    path
}

#[test]
fn without_a_usable_docker_engine_the_manager_stops_at_start() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kubeconfig = unreachable_cluster(dir.path());
    for (docker_host, expected) in [
        (
            "unix:///nonexistent/docker.sock",
            "cannot use the Docker engine",
        ),
        (
            "tcp://127.0.0.1:2375",
            "refusing DOCKER_HOST=tcp://127.0.0.1:2375",
        ),
    ] {
        let output = Command::new(MANAGER)
            .env("KUBECONFIG", &kubeconfig)
            .env("DOCKER_HOST", docker_host)
            .env_remove("DOCKER_TLS_VERIFY")
            .args([
                "--health-probe-bind-address=127.0.0.1:0",
                "--metrics-bind-address=0",
            ])
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{docker_host}: {stderr}");
        assert!(stderr.contains(expected), "{docker_host}: {stderr}");
    }
}
