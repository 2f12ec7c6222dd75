//! Layer 2: node and load-balancer lifecycles on the recording fake (fault rows F7, F8, F10,
//! F14, F15), plus the exact node create settings.

use capdkc_docker::Identity;
use capdkc_docker::ensure::{Action, EnsureError};
use capdkc_docker::fake::{Call, FakeRuntime};
use capdkc_docker::loadbalancer::{
    self, ApplyError, ApplyOutcome, Backend, CONFIG_PATH, LbConfig, LbSettings,
};
use capdkc_docker::node::{self, NodeRequest, NodeSettings, Role};
use capdkc_docker::runtime::{ContainerInfo, ContainerRuntime, RuntimeError, SecurityProfile};

fn identity(owner: &str) -> Identity {
    Identity {
        cluster_name: "demo".into(),
        namespace: "default".into(),
        cluster_uid: "cluster-uid-1".into(),
        owner_uid: owner.into(),
    }
}

fn cp_request() -> NodeRequest {
    NodeRequest {
        machine: "demo-cp-x7k2p".into(),
        identity: identity("machine-uid-1"),
        role: Role::ControlPlane,
        failure_domain: Some("fd-a".into()),
        custom_image: None,
        version: Some("v1.35.5".into()),
        extra_mounts: Vec::new(),
    }
}

#[test]
fn control_plane_node_spec_matches_upstream_settings() {
    let spec = node::node_spec(&NodeSettings::default(), &cp_request()).unwrap();
    insta::assert_debug_snapshot!("control_plane_node_spec", spec);
    let mut settings = NodeSettings {
        security: SecurityProfile::Capabilities,
        ..Default::default()
    };
    settings.network = "capdkc-test-net".into();
    settings.mount_lib_modules = false;
    let worker = NodeRequest {
        role: Role::Worker,
        machine: "w1".into(),
        ..cp_request()
    };
    let spec = node::node_spec(&settings, &worker).unwrap();
    assert_eq!(spec.name, "demo-w1");
    assert_eq!(spec.security, Some(SecurityProfile::Capabilities));
    assert!(spec.ports.is_empty(), "workers publish nothing");
    assert!(spec.binds.is_empty());
    assert!(!spec.env.iter().any(|e| e.starts_with("KUBECONFIG=")));

    let with_mounts = NodeRequest {
        extra_mounts: vec![
            node::HostMount {
                host_path: "/srv/images".into(),
                container_path: "/images".into(),
                read_only: true,
            },
            node::HostMount {
                host_path: "/srv/scratch".into(),
                container_path: "/scratch".into(),
                read_only: false,
            },
        ],
        ..worker
    };
    let spec = node::node_spec(&settings, &with_mounts).unwrap();
    assert_eq!(
        spec.binds,
        ["/srv/images:/images:ro", "/srv/scratch:/scratch"]
    );
}

#[test]
fn nodes_boot_systemd_and_adapt_to_the_host() {
    let spec = node::node_spec(&NodeSettings::default(), &cp_request()).unwrap();
    assert!(spec.tty, "systemd's output shows in docker logs");
    assert_eq!(spec.stop_signal.as_deref(), Some("SIGRTMIN+3"));
    assert_eq!(spec.restart_policy.as_deref(), Some("unless-stopped"));
    assert!(spec.cgroupns_private);
    assert_eq!(spec.volumes, ["/var"]);
    assert!(spec.tmpfs.contains_key("/run") && spec.tmpfs.contains_key("/tmp"));
    for opt in ["seccomp=unconfined", "apparmor=unconfined"] {
        assert!(spec.security_opt.iter().any(|o| o == opt), "{opt}");
    }

    let host = capdkc_docker::host::DockerHost {
        storage_driver: "btrfs".into(),
        rootless: true,
        userns_remap: true,
        ..Default::default()
    };
    let settings = NodeSettings {
        mount_lib_modules: false,
        host: capdkc_docker::host::adaptations(&host),
        ..Default::default()
    };
    let spec = node::node_spec(&settings, &cp_request()).unwrap();
    assert_eq!(spec.binds, ["/dev/mapper:/dev/mapper"]);
    assert_eq!(spec.devices, ["/dev/fuse"]);
    assert!(spec.userns_host);
}

#[test]
fn a_long_machine_name_gets_a_hostname_docker_accepts() {
    let long = NodeRequest {
        machine: format!("demo-{}", "m".repeat(95)),
        ..cp_request()
    };
    let spec = node::node_spec(&NodeSettings::default(), &long).unwrap();
    assert_eq!(
        spec.name.len(),
        100,
        "the container keeps the Machine's name"
    );
    let hostname = spec.hostname.unwrap_or_default();
    assert!(hostname.len() <= 63, "{hostname}");
    assert!(hostname.starts_with("demo-mmm"), "{hostname}");
}

/// F7: a stopped leftover of ours is removed and recreated.
#[tokio::test]
async fn stopped_leftover_node_is_recreated() {
    let rt = FakeRuntime::new();
    let (a, _) = node::ensure_node(&rt, &NodeSettings::default(), &cp_request())
        .await
        .unwrap();
    assert_eq!(a, Action::Created);
    rt.stop("demo-cp-x7k2p");
    rt.clear_calls();
    let (a, info) = node::ensure_node(&rt, &NodeSettings::default(), &cp_request())
        .await
        .unwrap();
    assert_eq!(a, Action::Recreated);
    assert!(info.running);
    let kinds: Vec<&str> = rt
        .calls()
        .iter()
        .map(|c| match c {
            Call::Inspect(_) => "inspect",
            Call::Remove(_) => "remove",
            Call::Create(_) => "create",
            Call::Start(_) => "start",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["inspect", "remove", "create", "start", "inspect"]);
}

/// F8: same name, other namespace: NameConflict, and the foreign container is untouched.
#[tokio::test]
async fn foreign_container_is_never_adopted_or_touched() {
    let rt = FakeRuntime::new();
    let mut foreign = identity("other-owner").labels();
    foreign.insert(capdkc_docker::labels::NAMESPACE_LABEL.into(), "prod".into());
    rt.add_container(ContainerInfo {
        name: "demo-cp-x7k2p".into(),
        labels: foreign,
        state: "exited".into(),
        ..Default::default()
    });
    let err = node::ensure_node(&rt, &NodeSettings::default(), &cp_request())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        node::NodeError::Ensure(EnsureError::NameConflict { .. })
    ));
    let err = node::delete_node(&rt, "demo-cp-x7k2p", &identity("machine-uid-1"))
        .await
        .unwrap_err();
    assert!(matches!(err, EnsureError::NameConflict { .. }));
    assert!(
        rt.calls().iter().all(|c| !c.is_mutating()),
        "{:?}",
        rt.calls()
    );
}

/// F10: 409 on create -> re-inspect, adopt only ours; a failed start removes the container.
#[tokio::test]
async fn conflict_on_create_adopts_only_matching_identity_and_failed_start_cleans_up() {
    let rt = FakeRuntime::new();
    // Inspect says "missing", then the name turns out to be taken: a racing creator.
    rt.fail_next("inspect", RuntimeError::NotFound("gone".into()));
    let mut ours = identity("machine-uid-1").labels();
    ours.insert("io.x-k8s.kind.role".into(), "control-plane".into());
    rt.add_container(ContainerInfo {
        name: "demo-cp-x7k2p".into(),
        labels: ours,
        running: true,
        state: "running".into(),
        ..Default::default()
    });
    let (a, _) = node::ensure_node(&rt, &NodeSettings::default(), &cp_request())
        .await
        .unwrap();
    assert_eq!(a, Action::Existing);

    let rt = FakeRuntime::new();
    rt.fail_next(
        "start",
        RuntimeError::Other("port is already allocated".into()),
    );
    let err = node::ensure_node(&rt, &NodeSettings::default(), &cp_request())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("port is already allocated"));
    assert!(
        rt.container("demo-cp-x7k2p").is_none(),
        "half-created container removed"
    );
}

/// F15: a stopped load balancer is started again; a missing one is recreated.
#[tokio::test]
async fn stopped_or_missing_load_balancer_is_healed() {
    let rt = FakeRuntime::new();
    let settings = LbSettings::default();
    let lb = loadbalancer::ensure_lb(&rt, &settings, &identity("dc-uid"))
        .await
        .unwrap();
    assert_eq!(lb.action, Action::Created);
    assert!(lb.ip.is_some() && lb.host_port.is_some());
    let Some(Call::Create(spec)) = rt
        .calls()
        .into_iter()
        .find(|c| matches!(c, Call::Create(_)))
    else {
        panic!("no create")
    };
    assert_eq!(spec.name, "demo-lb");
    assert_eq!(spec.security, None, "the load balancer is never privileged");
    assert!(
        spec.image
            .starts_with("kindest/haproxy:v20230606-42a2262b@sha256:")
    );
    assert_eq!(spec.ports.len(), 1, "only the endpoint port, not stats");
    assert_eq!(spec.ports[0].host_ip, "127.0.0.1");

    rt.stop("demo-lb");
    let lb = loadbalancer::ensure_lb(&rt, &settings, &identity("dc-uid"))
        .await
        .unwrap();
    assert_eq!(lb.action, Action::Restarted);
    rt.remove("demo-lb").await.unwrap();
    let lb = loadbalancer::ensure_lb(&rt, &settings, &identity("dc-uid"))
        .await
        .unwrap();
    assert_eq!(lb.action, Action::Created);
    rt.clear_calls();
    let lb = loadbalancer::ensure_lb(&rt, &settings, &identity("dc-uid"))
        .await
        .unwrap();
    assert_eq!(lb.action, Action::Existing);
    assert!(
        rt.calls().iter().all(|c| !c.is_mutating()),
        "converged: zero mutating calls"
    );
}

/// F14: write, read back, compare, then SIGHUP; unchanged -> nothing; mismatch -> no SIGHUP.
#[tokio::test]
async fn config_apply_protocol() {
    let rt = FakeRuntime::new();
    loadbalancer::ensure_lb(&rt, &LbSettings::default(), &identity("dc-uid"))
        .await
        .unwrap();
    let cfg = loadbalancer::render(&LbConfig::new(vec![Backend {
        name: "demo-cp-1".into(),
        address: "172.18.0.3".into(),
        draining: false,
    }]));
    rt.clear_calls();
    assert_eq!(
        loadbalancer::apply_config(&rt, "demo-lb", &cfg)
            .await
            .unwrap(),
        ApplyOutcome::Reloaded
    );
    let calls = rt.calls();
    assert!(matches!(&calls[0], Call::ReadFile { path, .. } if path == CONFIG_PATH));
    assert!(matches!(&calls[1], Call::CopyIn { .. }));
    assert!(matches!(&calls[2], Call::ReadFile { .. }));
    assert!(matches!(&calls[3], Call::Signal { signal, .. } if signal == "SIGHUP"));
    // What HAProxy reloads is the whole rendered file: the global connection cap stays.
    let reloaded = rt.file("demo-lb", CONFIG_PATH).expect("config written");
    assert!(
        String::from_utf8_lossy(&reloaded)
            .contains("\nglobal\n  log stdout format raw local0 notice\n  maxconn 100000\n")
    );

    rt.clear_calls();
    assert_eq!(
        loadbalancer::apply_config(&rt, "demo-lb", &cfg)
            .await
            .unwrap(),
        ApplyOutcome::Unchanged
    );
    assert_eq!(rt.calls().len(), 1);

    let drained = cfg.replace("weight 100", "weight 0");
    rt.tamper_next_upload();
    rt.clear_calls();
    let err = loadbalancer::apply_config(&rt, "demo-lb", &drained)
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::ReadBackMismatch { .. }));
    assert!(
        !rt.calls().iter().any(|c| matches!(c, Call::Signal { .. })),
        "no reload of a bad file"
    );
}
