//! Admission rules of the CRDs, evaluated without an API server: the CEL rules with kube's CEL
//! interpreter and the `pattern`s of the schema with the regex crate. The same tables
//! (`tests/cases/*_admission.yaml`) are sent to a real kube-apiserver by
//! testing/apiserver-harness, which also judges the schema-only cases (ranges, lengths, keys).

mod support;

use support::checkpoint;

use checkpoint::api::{
    DockerCluster, DockerClusterSpec, DockerMachine, DockerMachineSpec, IMAGE_REFERENCE,
};
use kube::CustomResourceExt;
use kube::core::cel::validate_cel_schema;
use serde::Deserialize;
use serde_json::Value;

/// One row of a table.
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

/// A kind's table, its spec's CEL rules and its spec's schema.
struct Table {
    file: &'static str,
    cel: fn(&Value, Option<&Value>) -> Result<(), String>,
    spec_schema: Value,
}

fn tables() -> [Table; 2] {
    fn spec_schema(
        crd: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    ) -> Value {
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).expect("schema");
        schema["openAPIV3Schema"]["properties"]["spec"].clone()
    }
    [
        Table {
            file: "docker_cluster_admission.yaml",
            cel: |spec, old| {
                validate_cel_schema::<DockerClusterSpec>(spec, old).map_err(|e| format!("{e:?}"))
            },
            spec_schema: spec_schema(DockerCluster::crd()),
        },
        Table {
            file: "docker_machine_admission.yaml",
            cel: |spec, old| {
                validate_cel_schema::<DockerMachineSpec>(spec, old).map_err(|e| format!("{e:?}"))
            },
            spec_schema: spec_schema(DockerMachine::crd()),
        },
    ]
}

fn cases(table: &Table) -> Vec<Case> {
    let path = format!("{}/tests/cases/{}", env!("CARGO_MANIFEST_DIR"), table.file);
    let text = std::fs::read_to_string(&path).expect("the admission table");
    serde_saphyr::from_str(&text).expect("the admission table parses")
}

/// The strings in `value` that break a `pattern` of `schema` (a small part of JSON Schema:
/// objects, arrays and string patterns, which is all our specs use patterns in).
fn pattern_violations(schema: &Value, value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => match schema["pattern"].as_str() {
            Some(pattern) if !regex::Regex::new(pattern).expect("pattern").is_match(text) => {
                vec![text.clone()]
            }
            _ => Vec::new(),
        },
        Value::Object(fields) => fields
            .iter()
            .flat_map(|(key, field)| pattern_violations(&schema["properties"][key], field))
            .collect(),
        Value::Array(items) => items
            .iter()
            .flat_map(|item| pattern_violations(&schema["items"], item))
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn accepted_cases_pass_every_local_check_and_parse() {
    for table in tables() {
        for case in cases(&table).iter().filter(|case| case.rejected.is_none()) {
            let verdict = (table.cel)(&case.spec, case.old.as_ref());
            assert!(verdict.is_ok(), "{}: {verdict:?}", case.case);
            let broken = pattern_violations(&table.spec_schema, &case.spec);
            assert!(broken.is_empty(), "{}: {broken:?}", case.case);
        }
    }
    for case in cases(&tables()[0]).iter().filter(|c| c.rejected.is_none()) {
        let parsed: Result<DockerClusterSpec, _> = serde_json::from_value(case.spec.clone());
        assert!(parsed.is_ok(), "{}: {parsed:?}", case.case);
    }
    for case in cases(&tables()[1]).iter().filter(|c| c.rejected.is_none()) {
        let parsed: Result<DockerMachineSpec, _> = serde_json::from_value(case.spec.clone());
        assert!(parsed.is_ok(), "{}: {parsed:?}", case.case);
    }
}

#[test]
fn cel_rules_reject_their_cases_with_the_expected_message() {
    for table in tables() {
        let cel_cases: Vec<Case> = cases(&table)
            .into_iter()
            .filter(|case| case.rule.as_deref() == Some("cel"))
            .collect();
        assert!(
            cel_cases.len() >= 4,
            "{}: every CEL rule has a rejected case",
            table.file
        );
        for case in cel_cases {
            let expected = case.rejected.as_deref().expect("a rejected case");
            let message = (table.cel)(&case.spec, case.old.as_ref()).expect_err(&case.case);
            assert!(message.contains(expected), "{}: {message}", case.case);
        }
    }
}

#[test]
fn patterns_reject_their_cases() {
    for table in tables() {
        for case in cases(&table)
            .iter()
            .filter(|case| case.rule.as_deref() == Some("pattern"))
        {
            let broken = pattern_violations(&table.spec_schema, &case.spec);
            assert!(!broken.is_empty(), "{} was accepted", case.case);
        }
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

#[test]
fn step_4_1_provider_id_is_spelled_as_the_contract_does_and_never_changes() {
    let mut problems = Vec::new();
    let id = "docker:////demo-md-0-a";
    let read: DockerMachineSpec =
        serde_json::from_value(serde_json::json!({ "providerID": id })).expect("a spec");
    let written = serde_json::to_value(&read).expect("serialises");
    if written.get("providerID").and_then(Value::as_str) != Some(id) {
        problems.push(format!(
            "spec.providerID does not round-trip (written back as {written}): serde would spell \
             the field `providerId`; Cluster API spells it `providerID` (`#[serde(rename = ...)]`)"
        ));
    }
    let schema = serde_json::to_value(DockerMachine::crd()).expect("the CRD");
    let provider_id = schema
        .pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/providerID");
    if provider_id.and_then(|p| p["maxLength"].as_u64()).is_none() {
        problems.push(
            "the CRD has no bounded spec.providerID (`#[schemars(length(...))]` on the field \
             named as the contract spells it)"
                .to_owned(),
        );
    }
    let old = serde_json::json!({ "providerID": id });
    for new in [
        serde_json::json!({ "providerID": "docker:////other" }),
        serde_json::json!({}),
    ] {
        if validate_cel_schema::<DockerMachineSpec>(&new, Some(&old)).is_ok() {
            problems.push(format!(
                "an update from {old} to {new} is accepted: providerID must not change once set \
                 (a transition rule, `#[x_kube(validation = ...)]` with `oldSelf`)"
            ));
        }
    }
    let first = serde_json::json!({ "providerID": id });
    if let Err(error) =
        validate_cel_schema::<DockerMachineSpec>(&first, Some(&serde_json::json!({})))
    {
        problems.push(format!(
            "the controller setting providerID the first time is refused: {error:?}"
        ));
    }
    assert!(problems.is_empty(), "step 4.1:\n{}\n", problems.join("\n"));
}
