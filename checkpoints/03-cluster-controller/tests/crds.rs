//! The CRDs: generated without panicking, carrying the contract metadata, identical to the
//! committed `config/crd/bases` files and the snapshots, and readable back.

mod support;

use support::checkpoint;

use std::path::PathBuf;

use capdkc_capi::contract::{CONTRACT_LABEL, INFRASTRUCTURE_GROUP};
use capdkc_manager::crds;
use checkpoint::api::{DockerCluster, DockerMachine};
use checkpoint::crdgen;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// The command that writes the committed CRD files again.
fn regenerate() -> String {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = manifest.file_name().unwrap_or_default().to_string_lossy();
    let package = env!("CARGO_PKG_NAME");
    format!("cargo run -p {package} -- crds --output-dir checkpoints/{dir}/config/crd/bases")
}

fn bases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/crd/bases")
}

/// What is wrong with `crd` as one of our kinds, one line per problem, saying what to change.
fn problems(crd: &CustomResourceDefinition, columns_wanted: &[&str]) -> Vec<String> {
    let kind = &crd.spec.names.kind;
    let mut problems = Vec::new();
    let mut expect = |what: &str, got: String, want: &str, fix: &str| {
        if got != want {
            problems.push(format!(
                "{kind}: {what} is {got:?}, expected {want:?} ({fix})"
            ));
        }
    };
    expect(
        "the API group",
        crd.spec.group.clone(),
        INFRASTRUCTURE_GROUP,
        "`group = ...`",
    );
    expect(
        "the scope",
        crd.spec.scope.clone(),
        "Namespaced",
        "`namespaced`",
    );
    // Core looks our CRDs up by `<plural>.<group>`, the plural being lower-case kind + "s".
    let plural = format!("{}s", kind.to_lowercase());
    expect(
        "the plural",
        crd.spec.names.plural.clone(),
        &plural,
        "the kind's name",
    );
    let labels = crd.metadata.labels.clone().unwrap_or_default();
    let contract = labels.get(CONTRACT_LABEL).cloned().unwrap_or_default();
    let fix = "`label(\"cluster.x-k8s.io/v1beta2\", \"v1alpha1\")`";
    expect("the contract label", contract, "v1alpha1", fix);
    let categories = crd
        .spec
        .names
        .categories
        .clone()
        .unwrap_or_default()
        .join(",");
    expect(
        "the category",
        categories,
        "cluster-api",
        "`category = ...`",
    );
    let Some(version) = crd.spec.versions.first() else {
        problems.push(format!("{kind}: no version"));
        return problems;
    };
    let served = format!(
        "{} served={} storage={}",
        version.name, version.served, version.storage
    );
    expect(
        "the version",
        served,
        "v1alpha1 served=true storage=true",
        "`version = ...`",
    );
    // Templates have no status: nothing reconciles them.
    let has_status = version
        .subresources
        .as_ref()
        .and_then(|s| s.status.as_ref())
        .is_some();
    let want_status = if kind.ends_with("Template") {
        "false"
    } else {
        "true"
    };
    expect(
        "a status subresource",
        has_status.to_string(),
        want_status,
        "`status = ...`",
    );
    let columns: Vec<&str> = version
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| c.name.as_str())
        .collect();
    for wanted in columns_wanted.iter().chain(&["Age"]) {
        if !columns.contains(wanted) {
            problems.push(format!(
                "{kind}: no {wanted} column in {columns:?} (`printcolumn(...)`)"
            ));
        }
    }
    problems
}

// ANCHOR: kind_tests
#[test]
fn step_1_1_docker_cluster_is_one_of_our_kinds() {
    let problems = problems(&DockerCluster::crd(), &["Cluster"]);
    assert!(problems.is_empty(), "step 1.1:\n{}\n", problems.join("\n"));
}
// ANCHOR_END: kind_tests

#[test]
fn step_1_2_docker_machine_is_one_of_our_kinds() {
    let problems = problems(&DockerMachine::crd(), &["Cluster", "Machine"]);
    assert!(problems.is_empty(), "step 1.2:\n{}\n", problems.join("\n"));
}

#[test]
fn the_kinds_listed_are_ours() {
    // `crd()` panics at run time on some schema shapes, so call it for every kind.
    let crds = crdgen::crds();
    let kinds: Vec<&str> = crds
        .iter()
        .map(|crd| crd.spec.names.kind.as_str())
        .collect();
    assert_eq!(kinds, support::KINDS, "the kinds crdgen::crds() lists");
    for crd in &crds {
        let problems = problems(crd, &[]);
        assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
    }
}

// ANCHOR: snapshot_test
#[test]
fn the_crds_match_their_snapshots() {
    for crd in crdgen::crds() {
        let yaml = crds::to_yaml(&crd).expect("CRD serialises");
        insta::assert_snapshot!(crds::file_name(&crd), yaml);
    }
}
// ANCHOR_END: snapshot_test

// ANCHOR: freshness_test
#[test]
fn step_1_3_the_crds_listed_are_the_committed_files() {
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
// ANCHOR_END: freshness_test

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
