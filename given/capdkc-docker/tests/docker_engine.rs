//! Layer 4: the layer against a real Docker engine (Docker 20.10 / API 1.41 in CI).
//! Each test has its own network and run label; see `common`.

mod common;

use std::time::Duration;

use capdkc_docker::bootstrap::{self, Outcome, RunOptions};
use capdkc_docker::ensure::{Action, EnsureError};
use capdkc_docker::loadbalancer::{self, ApplyOutcome, Backend, HealthCheck, LbConfig};
use capdkc_docker::node::{self, NodeRequest, Role};
use capdkc_docker::runtime::{ContainerRuntime, ExecRequest};
use capdkc_docker::{BootstrapData, Sensitive};
use common::{docker_env, eventually};
use tokio::io::AsyncReadExt;

fn node_request(env: &common::DockerEnv, machine: &str) -> NodeRequest {
    NodeRequest {
        machine: machine.into(),
        identity: env.identity(&format!("machine-{machine}")),
        role: Role::ControlPlane,
        failure_domain: None,
        custom_image: Some(capdkc_docker::test_support::NODE_TEST_IMAGE.into()),
        version: None,
        extra_mounts: Vec::new(),
    }
}

/// Connect through the LB's published port; the node stand-in answers with its hostname.
async fn who_answers(port: u16) -> Option<String> {
    let mut conn = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    .ok()?
    .ok()?;
    let mut buf = String::new();
    tokio::time::timeout(Duration::from_secs(2), conn.read_to_string(&mut buf))
        .await
        .ok()?
        .ok()?;
    let name = buf.trim().to_owned();
    (!name.is_empty()).then_some(name)
}

async fn sh(rt: &impl ContainerRuntime, container: &str, script: &str) -> String {
    let out = rt
        .exec(container, &ExecRequest::new(["/bin/sh", "-c", script]))
        .await
        .expect("exec");
    assert!(
        out.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test]
async fn load_balancer_routes_to_nodes_and_drains() {
    let Some(env) = docker_env("lb-routes").await else {
        return;
    };
    let rt = &env.rt;
    let lb = loadbalancer::ensure_lb(rt, &env.lb_settings(), &env.identity("dc"))
        .await
        .unwrap();
    assert_eq!(lb.action, Action::Created);
    let port = lb.host_port.expect("published port");
    let mut backends = Vec::new();
    for m in ["cp-a", "cp-b"] {
        let (_, info) = node::ensure_node(rt, &env.node_settings(), &node_request(&env, m))
            .await
            .unwrap();
        assert!(
            info.published_ports.contains_key("6443/tcp"),
            "control planes publish 6443"
        );
        backends.push(Backend {
            name: info.name.clone(),
            address: info.ip_on(&env.network).expect("node ip").to_owned(),
            draining: false,
        });
    }
    let names: Vec<String> = backends.iter().map(|b| b.name.clone()).collect();
    let mut cfg = LbConfig::new(backends);
    // The stand-in API server speaks plain TCP, not TLS.
    cfg.health_check = HealthCheck::TcpConnect;
    let lb_name = &lb.container.name;
    assert_eq!(
        loadbalancer::apply_config(rt, lb_name, &loadbalancer::render(&cfg))
            .await
            .unwrap(),
        ApplyOutcome::Reloaded
    );
    assert_eq!(
        loadbalancer::apply_config(rt, lb_name, &loadbalancer::render(&cfg))
            .await
            .unwrap(),
        ApplyOutcome::Unchanged
    );

    // Round robin over both nodes.
    eventually(
        "both nodes answer through the LB",
        Duration::from_secs(20),
        || async {
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..6 {
                seen.insert(who_answers(port).await?);
            }
            (seen.len() == 2).then_some(())
        },
    )
    .await;

    // Drain cp-a: every new connection goes to cp-b.
    cfg.backends[0].draining = true;
    assert_eq!(
        loadbalancer::apply_config(rt, lb_name, &loadbalancer::render(&cfg))
            .await
            .unwrap(),
        ApplyOutcome::Reloaded
    );
    eventually(
        "only the non-draining node answers",
        Duration::from_secs(20),
        || async {
            for _ in 0..6 {
                if who_answers(port).await? != names[1] {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;

    // The default (TLS /healthz) rendering is valid for the real haproxy binary too.
    let default_cfg = loadbalancer::render(&LbConfig::new(cfg.backends.clone()));
    let check = rt
        .exec(
            lb_name,
            &ExecRequest::new([
                "/bin/sh",
                "-c",
                "cat > /tmp/check.cfg && haproxy -c -q -f /tmp/check.cfg",
            ])
            .with_stdin(Sensitive::new(default_cfg)),
        )
        .await
        .unwrap();
    assert!(
        check.success(),
        "haproxy -c: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    env.cleanup().await;
}

const CLOUD_CONFIG: &str = r#"#cloud-config
write_files:
- path: /etc/capdkc/secret.conf
  owner: capdkc:capdkc
  permissions: '0600'
  content: |
    token: abcdef.0123456789abcdef
- path: /etc/capdkc/encoded.txt
  encoding: b64
  content: aGVsbG8gZnJvbSBiYXNlNjQK
- path: /etc/capdkc/secret.conf
  append: true
  owner: capdkc:capdkc
  permissions: '0600'
  content: |
    appended: true
- path: /run/kubeadm/kubeadm.yaml
  permissions: '0640'
  content: |
    kind: ClusterConfiguration
runcmd:
- echo ran >> /var/runcmd.log
- [ /bin/sh, -c, "echo argv >> /var/runcmd.log" ]
- mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete
"#;

#[tokio::test]
async fn bootstrap_runs_cloud_config_exactly_once() {
    let Some(env) = docker_env("bootstrap").await else {
        return;
    };
    let rt = &env.rt;
    let mut req = node_request(&env, "worker-1");
    req.role = Role::Worker;
    let (_, info) = node::ensure_node(rt, &env.node_settings(), &req)
        .await
        .unwrap();
    let steps = bootstrap::convert(&BootstrapData::new(CLOUD_CONFIG), "cloud-config").unwrap();
    let opts = RunOptions {
        file_attempts: 2,
        retry_delay: Duration::from_millis(100),
    };
    assert_eq!(
        bootstrap::run::run(rt, &info.name, &steps, &opts)
            .await
            .unwrap(),
        Outcome::Completed
    );

    assert_eq!(
        sh(rt, &info.name, "stat -c '%a %U:%G' /etc/capdkc/secret.conf").await,
        "600 capdkc:capdkc"
    );
    assert_eq!(
        sh(rt, &info.name, "cat /etc/capdkc/secret.conf").await,
        "token: abcdef.0123456789abcdef\nappended: true"
    );
    assert_eq!(
        sh(rt, &info.name, "cat /etc/capdkc/encoded.txt").await,
        "hello from base64"
    );
    assert_eq!(
        sh(rt, &info.name, "stat -c '%a %U' /etc/capdkc/encoded.txt").await,
        "644 root"
    );
    // /run is a tmpfs: the file must be visible inside the container (exec stdin, not docker cp).
    let kubeadm = sh(rt, &info.name, "cat /run/kubeadm/kubeadm.yaml").await;
    assert!(kubeadm.contains("kind: KubeProxyConfiguration") && kubeadm.contains("maxPerCore: 0"));
    assert_eq!(
        sh(rt, &info.name, "stat -c '%a' /run/kubeadm/kubeadm.yaml").await,
        "640"
    );
    assert_eq!(sh(rt, &info.name, "cat /var/runcmd.log").await, "ran\nargv");

    // Second run: nothing executes.
    assert_eq!(
        bootstrap::run::run(rt, &info.name, &steps, &opts)
            .await
            .unwrap(),
        Outcome::AlreadyCompleted
    );
    assert_eq!(sh(rt, &info.name, "cat /var/runcmd.log").await, "ran\nargv");

    // Nothing of the payload in the container's config (env, cmd, labels).
    let inspected = rt
        .docker()
        .inspect_container(&info.name, None)
        .await
        .unwrap();
    let config = format!("{:?}", inspected.config);
    assert!(!config.contains("abcdef.0123456789abcdef"));
    env.cleanup().await;
}

#[tokio::test]
async fn stopped_or_missing_load_balancer_is_healed() {
    let Some(env) = docker_env("lb-heal").await else {
        return;
    };
    let rt = &env.rt;
    let id = env.identity("dc");
    let lb = loadbalancer::ensure_lb(rt, &env.lb_settings(), &id)
        .await
        .unwrap();
    rt.docker()
        .stop_container(&lb.container.name, None)
        .await
        .unwrap();
    assert!(!rt.inspect(&lb.container.name).await.unwrap().running);
    let healed = loadbalancer::ensure_lb(rt, &env.lb_settings(), &id)
        .await
        .unwrap();
    assert_eq!(healed.action, Action::Restarted);
    assert!(healed.container.running && healed.ip.is_some() && healed.host_port.is_some());
    rt.remove(&lb.container.name).await.unwrap();
    let recreated = loadbalancer::ensure_lb(rt, &env.lb_settings(), &id)
        .await
        .unwrap();
    assert_eq!(recreated.action, Action::Created);
    env.cleanup().await;
}

#[tokio::test]
async fn foreign_container_with_our_name_is_not_adopted() {
    let Some(env) = docker_env("conflict").await else {
        return;
    };
    let rt = &env.rt;
    let mut other = env.identity("dc-other");
    other.namespace = "other-namespace".into();
    let foreign = loadbalancer::ensure_lb(rt, &env.lb_settings(), &other)
        .await
        .unwrap();
    rt.docker()
        .stop_container(&foreign.container.name, None)
        .await
        .unwrap();

    let ours = env.identity("dc");
    let err = loadbalancer::ensure_lb(rt, &env.lb_settings(), &ours)
        .await
        .unwrap_err();
    assert!(matches!(err, EnsureError::NameConflict { .. }), "{err}");
    let err = capdkc_docker::ensure::remove_if_ours(rt, &foreign.container.name, &ours)
        .await
        .unwrap_err();
    assert!(matches!(err, EnsureError::NameConflict { .. }));
    let after = rt.inspect(&foreign.container.name).await.unwrap();
    assert_eq!(after.id, foreign.container.id, "not replaced");
    assert!(!after.running, "not started");
    env.cleanup().await;
}

#[tokio::test]
async fn exec_reports_exit_codes_and_large_stdin() {
    let Some(env) = docker_env("exec").await else {
        return;
    };
    let rt = &env.rt;
    let mut req = node_request(&env, "w");
    req.role = Role::Worker;
    let (_, info) = node::ensure_node(rt, &env.node_settings(), &req)
        .await
        .unwrap();
    let out = rt
        .exec(
            &info.name,
            &ExecRequest::new(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]),
        )
        .await
        .unwrap();
    assert_eq!(
        (out.exit_code, out.stdout.as_slice(), out.stderr.as_slice()),
        (3, &b"out\n"[..], &b"err\n"[..])
    );
    // 2 MiB through stdin and back out: feeding and draining run concurrently.
    let big = vec![b'x'; 2 << 20];
    let out = rt
        .exec(
            &info.name,
            &ExecRequest::new(["cat"]).with_stdin(Sensitive::new(big.clone())),
        )
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), big.len());
    let missing = rt
        .exec("capdkc-no-such-container", &ExecRequest::new(["true"]))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, capdkc_docker::RuntimeError::NotFound(_)),
        "{missing}"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_missing_image_is_pulled_and_a_failed_pull_is_reported() {
    let Some(env) = docker_env("missing-image").await else {
        return;
    };
    // A registry on a port nothing listens on: the pull fails at once, with no network needed.
    let image = "127.0.0.1:1/capdkc-test/missing:v0";
    let settings = loadbalancer::LbSettings {
        image: Some(image.into()),
        ..env.lb_settings()
    };
    let error = loadbalancer::ensure_lb(&env.rt, &settings, &env.identity("dc"))
        .await
        .expect_err("the image cannot be pulled");
    let message = error.to_string();
    assert!(
        message.contains(&format!("pulling image {image}")),
        "the error names the pull and the image: {message}"
    );
    let left = env
        .rt
        .list_by_labels(&common::run_labels(&env.run_id))
        .await
        .expect("list");
    assert!(left.is_empty(), "nothing half-created: {left:?}");
    env.cleanup().await;
}

/// Names Kubernetes accepts but Docker's host names do not: a 100-character Machine name and a
/// 63-character cluster name (its load balancer's name is 66). Both containers run, with host
/// names of at most 63 characters (Docker refuses more: `sethostname: invalid argument`).
#[tokio::test]
async fn long_names_get_host_names_docker_accepts() {
    let Some(env) = docker_env("long-names").await else {
        return;
    };
    let rt = &env.rt;
    let long_machine = format!("m{}", "x".repeat(99));
    let (_, node) = node::ensure_node(rt, &env.node_settings(), &node_request(&env, &long_machine))
        .await
        .expect("a node with a 100-character Machine name runs");
    assert!(node.running);
    let hostname = sh(rt, &node.name, "hostname").await;
    assert!(
        hostname.len() <= 63 && hostname.starts_with("c"),
        "{hostname}"
    );

    let mut identity = env.identity("dc-long");
    identity.cluster_name = format!("{}{}", identity.cluster_name, "y".repeat(54));
    assert_eq!(identity.cluster_name.len(), 63);
    let lb = loadbalancer::ensure_lb(rt, &env.lb_settings(), &identity)
        .await
        .expect("a load balancer for a 63-character cluster name runs");
    assert!(lb.container.running, "{:?}", lb.container);
    env.cleanup().await;
}

/// An extraMount the manager does not allow never reaches Docker: no container is created.
#[tokio::test]
async fn a_mount_outside_the_allowlist_creates_no_container() {
    let Some(env) = docker_env("mount-refused").await else {
        return;
    };
    let mut request = node_request(&env, "mounts");
    request.extra_mounts = vec![node::HostMount {
        host_path: "/proc/1/root/run".into(),
        container_path: "/host-run".into(),
        read_only: true,
    }];
    let mut settings = env.node_settings();
    settings.allowed_host_mounts = vec!["/srv".into()];
    let refused = node::ensure_node(&env.rt, &settings, &request).await;
    assert!(
        matches!(refused, Err(node::NodeError::Mount(_))),
        "{refused:?}"
    );
    let name = request.container_name();
    assert!(env.rt.inspect(&name).await.is_err(), "no container {name}");
    env.cleanup().await;
}
