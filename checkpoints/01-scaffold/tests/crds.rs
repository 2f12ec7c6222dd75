//! The CRDs: generated without panicking, carrying the contract metadata, identical to the
//! committed `config/crd/bases` files and the snapshots, and readable back.

mod support;

use support::checkpoint;

use std::path::PathBuf;

use capdkc_capi::contract::{CONTRACT_LABEL, INFRASTRUCTURE_GROUP};
use capdkc_manager::crds;
use checkpoint::api::{DockerCluster, DockerClusterSpec};
use checkpoint::crdgen;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

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

#[test]
fn every_kind_generates_a_crd_with_the_contract_metadata() {
    // `crd()` panics at run time on some schema shapes, so call it for every kind.
    let crds = crdgen::crds();
    let kinds: Vec<&str> = crds
        .iter()
        .map(|crd| crd.spec.names.kind.as_str())
        .collect();
    assert_eq!(kinds, support::KINDS);
    for crd in &crds {
        let kind = &crd.spec.names.kind;
        assert_eq!(crd.spec.group, INFRASTRUCTURE_GROUP);
        assert_eq!(crd.spec.scope, "Namespaced", "{kind}");
        // Core looks our CRDs up by `<plural>.<group>`, the plural being lower-case kind + "s".
        assert_eq!(crd.spec.names.plural, format!("{}s", kind.to_lowercase()));
        let labels = crd.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get(CONTRACT_LABEL).map(String::as_str),
            Some("v1alpha1"),
            "{kind}"
        );
        assert_eq!(
            crd.spec.names.categories.as_deref(),
            Some(&["cluster-api".to_string()][..])
        );
        let version = &crd.spec.versions[0];
        assert_eq!(
            (version.name.as_str(), version.served, version.storage),
            ("v1alpha1", true, true)
        );
        // Templates have no status: nothing reconciles them.
        let has_status = version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some();
        assert_eq!(
            has_status,
            !kind.ends_with("Template"),
            "{kind} status subresource"
        );
        let columns: Vec<&str> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert!(columns.contains(&"Age"), "{kind}: {columns:?}");
        if !kind.ends_with("Template") {
            assert!(columns.contains(&"Cluster"), "{kind}: {columns:?}");
        }
    }
}

// ANCHOR: snapshot_test
#[test]
fn each_crd_matches_its_snapshot() {
    for crd in crdgen::crds() {
        let yaml = crds::to_yaml(&crd).expect("CRD serialises");
        insta::assert_snapshot!(crds::file_name(&crd), yaml);
    }
}
// ANCHOR_END: snapshot_test

// ANCHOR: freshness_test
#[test]
fn committed_crd_bases_are_up_to_date() {
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
  foo: bar
";
    let cluster: DockerCluster = serde_saphyr::from_str(yaml).expect("valid DockerCluster");
    assert_eq!(
        cluster.spec,
        DockerClusterSpec {
            foo: Some("bar".into())
        }
    );
    let again: DockerCluster =
        serde_saphyr::from_str(&serde_saphyr::to_string(&cluster).expect("serialises"))
            .expect("reads back");
    assert_eq!(again.spec, cluster.spec);
    assert_eq!(again.metadata.name.as_deref(), Some("demo"));
}
