//! `config/default` rendered by the real kustomize: the invariants clusterctl, Tilt and a
//! security review rely on. Needs `kustomize` on PATH (or `KUSTOMIZE=<path>`); skips without it
//! on a laptop, fails without it in CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::role_allows;

mod support;

const PROVIDER_LABEL: (&str, &str) = ("cluster.x-k8s.io/provider", "infrastructure-docker-kubecon");

fn kustomize() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KUSTOMIZE") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join("kustomize"))
        .find(|p| p.is_file())
}

/// The rendered objects, or `None` (after saying why) when kustomize is absent outside CI.
fn rendered() -> Option<Vec<Value>> {
    let Some(kustomize) = kustomize() else {
        assert!(
            std::env::var("CI").is_err(),
            "kustomize is required in CI: .ci/run installs it"
        );
        eprintln!("SKIPPED: kustomize not found on PATH (install kustomize 5.8 or set KUSTOMIZE)");
        return None;
    };
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default");
    let output = Command::new(&kustomize)
        .arg("build")
        .arg(&config)
        .output()
        .expect("kustomize runs");
    assert!(
        output.status.success(),
        "kustomize build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    Some(serde_saphyr::from_multiple(&text).expect("kustomize prints YAML"))
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

#[test]
fn one_namespace_and_every_object_labelled() {
    let Some(objects) = rendered() else { return };
    let namespaces = of_kind(&objects, "Namespace");
    assert_eq!(namespaces.len(), 1, "exactly one Namespace");
    assert_eq!(namespaces[0]["metadata"]["name"], "capdkc-system");
    for object in &objects {
        let name = format!("{} {}", object["kind"], object["metadata"]["name"]);
        assert_eq!(
            object["metadata"]["labels"][PROVIDER_LABEL.0], PROVIDER_LABEL.1,
            "{name} lacks the provider label"
        );
        if object["metadata"]["namespace"].is_string() {
            assert_eq!(object["metadata"]["namespace"], "capdkc-system", "{name}");
        }
    }
    assert_eq!(
        of_kind(&objects, "CustomResourceDefinition").len(),
        support::KINDS.len()
    );
}

#[test]
fn the_manager_is_hardened_and_probed_on_9440() {
    let Some(objects) = rendered() else { return };
    let deployments = of_kind(&objects, "Deployment");
    assert_eq!(deployments.len(), 1);
    let deployment = deployments[0];
    assert_eq!(deployment["metadata"]["name"], "capdkc-controller-manager");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    assert_eq!(
        pod["securityContext"]["supplementalGroups"][0],
        "${CAPDKC_DOCKER_GID:=0}"
    );
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let manager = &containers[0];
    assert_eq!(manager["name"], "manager");
    assert_eq!(manager["image"], "capdkc-manager:dev");
    assert_eq!(manager["command"][0], "/manager");
    assert!(
        manager["args"]
            .as_array()
            .expect("args")
            .iter()
            .any(|a| a == "--leader-elect")
    );
    let security = &manager["securityContext"];
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["privileged"], false);
    assert_eq!(security["capabilities"]["drop"][0], "ALL");
    let healthz = manager["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .find(|p| p["name"] == "healthz")
        .expect("port");
    assert_eq!(healthz["containerPort"], 9440);
    assert_eq!(manager["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(manager["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(manager["readinessProbe"]["httpGet"]["port"], "healthz");
    let env: Vec<&str> = manager["env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(env, ["POD_NAMESPACE", "POD_NAME", "POD_UID"]);
    // The only host path is the Docker socket.
    let host_paths: Vec<&Value> = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(|v| v.get("hostPath"))
        .collect();
    assert_eq!(host_paths.len(), 1);
    assert_eq!(host_paths[0]["path"], "/var/run/docker.sock");
}

#[test]
fn rbac_covers_leases_and_events_for_the_service_account() {
    let Some(objects) = rendered() else { return };
    let allows = |kind: &str, group: &str, resource: &str, verb: &str| {
        of_kind(&objects, kind)
            .iter()
            .any(|role| role_allows(role, group, resource, verb))
    };
    for verb in ["get", "create", "patch"] {
        assert!(
            allows("Role", "coordination.k8s.io", "leases", verb),
            "leases {verb}"
        );
    }
    assert!(allows("ClusterRole", "events.k8s.io", "events", "create"));
    for resource in ["dockerclusters", "dockermachines"] {
        assert!(allows(
            "ClusterRole",
            "infrastructure.cluster.x-k8s.io",
            resource,
            "watch"
        ));
    }
    for binding in of_kind(&objects, "RoleBinding")
        .iter()
        .chain(of_kind(&objects, "ClusterRoleBinding").iter())
    {
        assert_eq!(binding["subjects"][0]["name"], "capdkc-manager");
        assert_eq!(binding["subjects"][0]["namespace"], "capdkc-system");
    }
}
