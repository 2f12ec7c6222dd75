//! Admission rules of the DockerCluster CRD, evaluated without an API server: the CEL rules with
//! kube's CEL interpreter and the image-reference pattern with the regex crate. The same table
//! (`tests/cases/docker_cluster_admission.yaml`) is sent to a real kube-apiserver by
//! testing/apiserver-harness, which also judges the schema-only cases (ranges, lengths, keys).

mod support;

use support::checkpoint;

use checkpoint::api::{DockerCluster, DockerClusterSpec, IMAGE_REFERENCE};
use kube::CustomResourceExt;
use kube::core::cel::validate_cel_schema;
use serde::Deserialize;
use serde_json::Value;

/// One row of the table.
#[derive(Debug, Deserialize)]
struct Case {
    case: String,
    spec: Value,
    #[serde(default)]
    old: Option<Value>,
    /// Part of the API server's message; absent means accepted.
    #[serde(default)]
    rejected: Option<String>,
    /// Which part of the CRD rejects it: `cel`, `pattern` or `schema`.
    #[serde(default)]
    rule: Option<String>,
}

fn cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/cases/docker_cluster_admission.yaml"
    );
    let text = std::fs::read_to_string(path).expect("the admission table");
    serde_saphyr::from_str(&text).expect("the admission table parses")
}

fn image_of(spec: &Value) -> Option<&str> {
    spec.pointer("/loadBalancer/image").and_then(Value::as_str)
}

#[test]
fn accepted_cases_pass_every_local_check_and_parse() {
    let pattern = regex::Regex::new(IMAGE_REFERENCE).expect("the pattern compiles");
    for case in cases().iter().filter(|case| case.rejected.is_none()) {
        let verdict = validate_cel_schema::<DockerClusterSpec>(&case.spec, case.old.as_ref());
        assert!(verdict.is_ok(), "{}: {verdict:?}", case.case);
        if let Some(image) = image_of(&case.spec) {
            assert!(pattern.is_match(image), "{}: {image}", case.case);
        }
        let parsed: Result<DockerClusterSpec, _> = serde_json::from_value(case.spec.clone());
        assert!(parsed.is_ok(), "{}: {parsed:?}", case.case);
    }
}

#[test]
fn cel_rules_reject_their_cases_with_the_expected_message() {
    let cel_cases: Vec<Case> = cases()
        .into_iter()
        .filter(|case| case.rule.as_deref() == Some("cel"))
        .collect();
    assert!(cel_cases.len() >= 4, "every CEL rule has a rejected case");
    for case in cel_cases {
        let expected = case.rejected.as_deref().expect("a rejected case");
        let verdict = validate_cel_schema::<DockerClusterSpec>(&case.spec, case.old.as_ref());
        let message = format!("{:?}", verdict.expect_err(&case.case));
        assert!(message.contains(expected), "{}: {message}", case.case);
    }
}

#[test]
fn the_image_pattern_rejects_malformed_references() {
    let pattern = regex::Regex::new(IMAGE_REFERENCE).expect("the pattern compiles");
    for case in cases()
        .iter()
        .filter(|case| case.rule.as_deref() == Some("pattern"))
    {
        let image = image_of(&case.spec).expect("a pattern case has an image");
        assert!(!pattern.is_match(image), "{} was accepted", case.case);
    }
    for good in [
        "kindest/haproxy:v20230606-42a2262b",
        "capdkc-test/haproxy:dev",
        "localhost:5000/haproxy",
        "docker.io/kindest/haproxy@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ] {
        assert!(pattern.is_match(good), "{good}");
    }
}

/// DockerCluster `demo` with `spec`, from JSON: the tests compile before step 3.1 adds the
/// load balancer's field (an unknown field is then dropped, and the test says so).
fn docker_cluster_with(spec: Value) -> DockerCluster {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1",
        "kind": "DockerCluster",
        "metadata": { "name": "demo", "namespace": "default" },
        "spec": spec,
    }))
    .expect("a DockerCluster")
}

#[test]
fn step_3_1_the_spec_keeps_a_load_balancer_image_that_never_changes() {
    let with_image = serde_json::json!({ "loadBalancer": { "image": "kindest/haproxy:v2" } });
    let docker_cluster = docker_cluster_with(with_image.clone());
    let kept = serde_json::to_value(&docker_cluster.spec).expect("serialises");
    assert_eq!(
        kept, with_image,
        "step 3.1: spec.loadBalancer.image is not kept (no `load_balancer` field?)"
    );
    let old = docker_cluster.clone();
    let changed =
        docker_cluster_with(serde_json::json!({ "loadBalancer": { "image": "other:v3" } }));
    let verdict = changed.validate_cel_update(&old);
    assert!(
        verdict
            .as_ref()
            .is_err_and(|e| format!("{e:?}").contains("loadBalancer cannot change")),
        "step 3.1: changing the image should be refused (\"loadBalancer cannot change\"): {verdict:?}"
    );
    let schema = serde_json::to_value(DockerCluster::crd()).expect("the CRD");
    let image = schema.pointer(
        "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/loadBalancer/properties/image",
    );
    let pattern = image.and_then(|image| image["pattern"].as_str());
    assert_eq!(
        pattern,
        Some(IMAGE_REFERENCE),
        "step 3.1: the image must be a bounded image reference (`regex(pattern = IMAGE_REFERENCE)`)"
    );
}

#[test]
fn a_whole_object_is_checked_by_the_generated_method_too() {
    let empty = docker_cluster_with(serde_json::json!({}));
    let with_image = docker_cluster_with(
        serde_json::json!({ "loadBalancer": { "image": "kindest/haproxy:v2" } }),
    );
    assert!(with_image.validate_cel().is_ok(), "creation rules hold");
    assert!(
        with_image.validate_cel_update(&empty).is_err(),
        "the image cannot be added later"
    );
}
