//! The CRDs: generated without panicking, carrying the contract metadata, identical to the
//! committed `config/crd/bases` files and the snapshots, and readable back.

mod support;

use support::checkpoint;
use support::kinds::problems;

use std::path::PathBuf;

use capdkc_manager::crds;
use checkpoint::api::{DockerCluster, DockerMachine};
use checkpoint::crdgen;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// The command that writes the committed CRD files again: from the repository's root for a
/// checkpoint, from the crate's own directory for a learner's crate elsewhere.
fn regenerate() -> String {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = manifest.file_name().unwrap_or_default().to_string_lossy();
    let package = env!("CARGO_PKG_NAME");
    if manifest.parent().and_then(|p| p.file_name()) == Some("checkpoints".as_ref()) {
        format!("cargo run -p {package} -- crds --output-dir checkpoints/{dir}/config/crd/bases")
    } else {
        "cargo run -- crds --output-dir config/crd/bases".to_owned()
    }
}

fn bases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/crd/bases")
}

#[test]
fn step_1_1_docker_cluster_is_one_of_our_kinds() {
    let problems = problems(&DockerCluster::crd(), &["Cluster"]);
    assert!(problems.is_empty(), "step 1.1:\n{}\n", problems.join("\n"));
}

#[test]
fn step_1_2_docker_machine_is_one_of_our_kinds() {
    let problems = problems(&DockerMachine::crd(), &["Cluster", "Machine"]);
    assert!(problems.is_empty(), "step 1.2:\n{}\n", problems.join("\n"));
}

#[test]
fn step_1_3_the_crds_listed_are_our_kinds() {
    // `crd()` panics at run time on some schema shapes: listing them calls it for every kind.
    let crds = crdgen::crds();
    let kinds: Vec<&str> = crds
        .iter()
        .map(|crd| crd.spec.names.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        support::KINDS,
        "step 1.3: the kinds crdgen::crds() lists, in this order"
    );
}

#[test]
fn every_crd_listed_follows_the_contract() {
    for crd in crdgen::crds() {
        let problems = problems(&crd, &[]);
        assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
    }
}

#[test]
fn the_crds_match_their_snapshots() {
    for crd in crdgen::crds() {
        let yaml = crds::to_yaml(&crd).expect("CRD serialises");
        insta::assert_snapshot!(crds::file_name(&crd), yaml);
    }
}

#[test]
fn the_committed_crd_files_are_what_the_types_generate() {
    let regenerate = regenerate();
    let mut expected: Vec<String> = Vec::new();
    for crd in crdgen::crds() {
        let name = crds::file_name(&crd);
        let path = bases_dir().join(&name);
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("config/crd/bases/{name} is missing: run `{regenerate}`"));
        assert!(
            committed == crds::to_yaml(&crd).expect("CRD serialises"),
            "config/crd/bases/{name} differs from what the Rust types generate: run `{regenerate}`"
        );
        expected.push(name);
    }
    let mut present: Vec<String> = std::fs::read_dir(bases_dir())
        .expect("config/crd/bases exists")
        .map(|entry| {
            entry
                .expect("readable")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    present.sort();
    expected.sort();
    assert_eq!(
        present, expected,
        "config/crd/bases holds files no kind generates: delete them and run `{regenerate}`"
    );
}

#[test]
fn the_printed_stream_is_the_committed_files_in_order() {
    let printed = crds::all_to_yaml(&crdgen::crds()).expect("CRDs serialise");
    let files: String = crdgen::crds()
        .iter()
        .map(|crd| {
            let text =
                std::fs::read_to_string(bases_dir().join(crds::file_name(crd))).expect("committed");
            format!("---\n{text}")
        })
        .collect();
    assert_eq!(printed, files);
}

#[test]
fn the_printed_yaml_reads_back_into_the_same_crds() {
    let printed = crds::all_to_yaml(&crdgen::crds()).expect("CRDs serialise");
    let parsed: Vec<CustomResourceDefinition> =
        serde_saphyr::from_multiple(&printed).expect("valid YAML");
    assert_eq!(parsed, crdgen::crds());
}

#[test]
fn a_docker_cluster_round_trips_through_yaml() {
    let yaml = "\
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: DockerCluster
metadata:
  name: demo
  namespace: default
spec:
  controlPlaneEndpoint:
    host: 172.18.0.3
    port: 6443
  loadBalancer:
    image: kindest/haproxy:v20230606-42a2262b
";
    let cluster: DockerCluster = serde_saphyr::from_str(yaml).expect("valid DockerCluster");
    // Compared as JSON, so that this test compiles before step 3.1 adds the load balancer.
    assert_eq!(
        serde_json::to_value(&cluster.spec).expect("serialises"),
        serde_json::json!({
            "controlPlaneEndpoint": { "host": "172.18.0.3", "port": 6443 },
            "loadBalancer": { "image": "kindest/haproxy:v20230606-42a2262b" },
        })
    );
    let again: DockerCluster =
        serde_saphyr::from_str(&serde_saphyr::to_string(&cluster).expect("serialises"))
            .expect("reads back");
    assert_eq!(again.spec, cluster.spec);
    assert_eq!(again.metadata.name.as_deref(), Some("demo"));
}
