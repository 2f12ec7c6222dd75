//! The `config/` tree is a valid kustomize layout: every referenced file exists and parses, the
//! CRD list matches the generated files, and RBAC allows what the controllers do.

use std::path::{Path, PathBuf};

use checkpoint::api::{DockerCluster, DockerMachine};
use serde_json::Value;
use support::role_allows;

mod support;

use support::checkpoint;

use capdkc_capi::contract::INFRASTRUCTURE_GROUP;

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config")
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

fn resources(kustomization: &Path) -> Vec<String> {
    let doc = documents(kustomization).remove(0);
    doc["resources"]
        .as_array()
        .expect("resources list")
        .iter()
        .map(|r| r.as_str().expect("string").to_string())
        .collect()
}

#[test]
fn every_kustomization_resource_exists_and_parses() {
    let mut pending = vec![config_dir().join("default")];
    let mut visited = 0;
    while let Some(dir) = pending.pop() {
        let kustomization = dir.join("kustomization.yaml");
        assert!(
            kustomization.is_file(),
            "{} has no kustomization.yaml",
            dir.display()
        );
        visited += 1;
        for resource in resources(&kustomization) {
            let path = dir.join(&resource);
            if path.is_dir() {
                pending.push(path);
            } else {
                assert!(
                    path.is_file(),
                    "{} lists {resource}, which does not exist",
                    kustomization.display()
                );
                for doc in documents(&path) {
                    assert!(
                        doc["apiVersion"].is_string() && doc["kind"].is_string(),
                        "{resource}: not an object"
                    );
                }
            }
        }
    }
    assert_eq!(visited, 4, "default, crd, rbac and manager");
}

#[test]
fn the_crd_kustomization_lists_exactly_the_generated_crds() {
    let listed = resources(&config_dir().join("crd/kustomization.yaml"));
    // From the kinds the checkpoint serves, not from its code: config/ is checked on its own.
    let generated: Vec<String> = support::KINDS
        .iter()
        .map(|kind| format!("bases/{INFRASTRUCTURE_GROUP}_{}s.yaml", kind.to_lowercase()))
        .collect();
    assert_eq!(listed, generated);
}

#[test]
fn default_installs_into_the_provider_namespace_with_the_provider_label() {
    let doc = documents(&config_dir().join("default/kustomization.yaml")).remove(0);
    assert_eq!(doc["namespace"], "capdkc-system");
    assert_eq!(doc["namePrefix"], "capdkc-");
    assert_eq!(
        doc["labels"][0]["pairs"]["cluster.x-k8s.io/provider"],
        "infrastructure-docker-kubecon"
    );
}

#[test]
fn rbac_lets_the_controllers_watch_their_kinds() {
    let role = documents(&config_dir().join("rbac/role.yaml")).remove(0);
    let allows = |resource: &str, verb: &str| {
        role_allows(&role, "infrastructure.cluster.x-k8s.io", resource, verb)
    };
    for kind in support::KINDS {
        let plural = format!("{}s", kind.to_lowercase());
        for verb in ["list", "watch"] {
            // The template kinds are only cloned, by core: no rule for them.
            if kind.ends_with("Template") {
                assert!(!allows(&plural, verb), "{verb} {kind}");
                continue;
            }
            assert!(allows(&plural, verb), "{verb} {plural}");
        }
    }
}

#[test]
fn step_2_1_the_manager_elects_a_leader_and_serves_probes_and_metrics() {
    let docs = documents(&config_dir().join("manager/manager.yaml"));
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("step 2.1: a Deployment in config/manager/manager.yaml");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str())
        .collect();
    for wanted in [
        "--leader-elect",
        "--health-probe-bind-address=:9440",
        "--metrics-bind-address=:8080",
    ] {
        assert!(
            args.contains(&wanted),
            "step 2.1: the manager's args {args:?} lack {wanted}"
        );
    }
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let http = &container[probe]["httpGet"];
        assert_eq!(
            (http["path"].as_str(), http["port"].as_str()),
            (Some(path), Some("healthz")),
            "step 2.1: the manager's {probe}"
        );
    }
}

#[test]
fn the_manager_container_runs_the_binary() {
    let docs = documents(&config_dir().join("manager/manager.yaml"));
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("a Deployment");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["name"], "manager");
    assert_eq!(container["command"][0], "/manager");
}

#[test]
fn the_samples_are_valid_objects_of_our_kinds() {
    let samples = config_dir().join("samples");
    let cluster: DockerCluster = serde_saphyr::from_str(
        &std::fs::read_to_string(samples.join("infrastructure_v1alpha1_dockercluster.yaml"))
            .expect("sample"),
    )
    .expect("a DockerCluster");
    assert_eq!(cluster.spec.foo.as_deref(), Some("bar"));
    let machine: DockerMachine = serde_saphyr::from_str(
        &std::fs::read_to_string(samples.join("infrastructure_v1alpha1_dockermachine.yaml"))
            .expect("sample"),
    )
    .expect("a DockerMachine");
    assert_eq!(machine.spec.foo.as_deref(), Some("bar"));
}
