//! The `config/` tree is a valid kustomize layout: every referenced file exists and parses, the
//! CRD list matches the generated files, and RBAC allows what the controllers do.

use std::path::{Path, PathBuf};

use capdkc_capi::{Cluster, Machine};
use checkpoint::api::{DockerCluster, DockerMachine};
use k8s_openapi::api::core::v1::Secret;
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
fn rbac_lets_the_cluster_controller_do_its_work_and_no_more() {
    let role = documents(&config_dir().join("rbac/role.yaml")).remove(0);
    let infrastructure = "infrastructure.cluster.x-k8s.io";
    assert!(role_allows(
        &role,
        infrastructure,
        "dockerclusters",
        "patch"
    ));
    assert!(role_allows(
        &role,
        infrastructure,
        "dockerclusters/status",
        "patch"
    ));
    // Owners come from the watch caches: no GET of a Cluster.
    for verb in ["list", "watch"] {
        assert!(
            role_allows(&role, "cluster.x-k8s.io", "clusters", verb),
            "{verb} clusters"
        );
    }
    assert!(role_allows(&role, "events.k8s.io", "events", "create"));
    // Core's kinds are read, never written; our kinds are never created or deleted by us.
    for verb in ["create", "update", "patch", "delete"] {
        assert!(
            !role_allows(&role, "cluster.x-k8s.io", "clusters", verb),
            "{verb} clusters"
        );
        assert!(!role_allows(&role, infrastructure, "dockerclusters", verb) || verb == "patch");
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
    let text = std::fs::read_to_string(samples.join("infrastructure_v1alpha1_dockercluster.yaml"))
        .expect("sample");
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text).expect("YAML documents");
    let [cluster, docker_cluster] = &documents[..] else {
        panic!("the sample is a Cluster and its DockerCluster");
    };
    let cluster: Cluster = serde_json::from_value(cluster.clone()).expect("a Cluster");
    let docker_cluster: DockerCluster =
        serde_json::from_value(docker_cluster.clone()).expect("a DockerCluster");
    let reference = cluster
        .spec
        .infrastructure_ref
        .expect("an infrastructureRef");
    assert!(reference.is_infrastructure("DockerCluster"));
    assert_eq!(Some(reference.name), docker_cluster.metadata.name);
    assert_eq!(
        cluster.metadata.namespace,
        docker_cluster.metadata.namespace
    );
    let text = std::fs::read_to_string(samples.join("infrastructure_v1alpha1_dockermachine.yaml"))
        .expect("sample");
    let documents: Vec<Value> = serde_saphyr::from_multiple(&text).expect("YAML documents");
    let [secret, machine, docker_machine] = &documents[..] else {
        panic!("the sample is a bootstrap Secret, a Machine and its DockerMachine");
    };
    let secret: Secret = serde_json::from_value(secret.clone()).expect("a Secret");
    let machine: Machine = serde_json::from_value(machine.clone()).expect("a Machine");
    let docker_machine: DockerMachine =
        serde_json::from_value(docker_machine.clone()).expect("a DockerMachine");
    assert!(machine.is_control_plane());
    assert_eq!(
        machine.spec.bootstrap.data_secret_name,
        secret.metadata.name
    );
    let reference = machine
        .spec
        .infrastructure_ref
        .expect("an infrastructureRef");
    assert!(reference.is_infrastructure("DockerMachine"));
    assert_eq!(Some(reference.name), docker_machine.metadata.name);
    assert_eq!(
        machine.spec.cluster_name,
        cluster.metadata.name.unwrap_or_default()
    );
    let value = secret
        .string_data
        .as_ref()
        .and_then(|data| data.get("value"))
        .expect("bootstrap data");
    let steps = capdkc_docker::bootstrap::convert(
        &capdkc_docker::BootstrapData::new(value.as_bytes()),
        "cloud-config",
    )
    .expect("the sample's cloud-config converts");
    assert!(steps.len() >= 3, "a file and two commands: {steps:?}");
}
