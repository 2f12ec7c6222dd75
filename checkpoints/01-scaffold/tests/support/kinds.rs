//! What makes a CRD one of our kinds: the checks behind the tests of the steps that define one.

use capdkc_capi::contract::{CONTRACT_LABEL, INFRASTRUCTURE_GROUP};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

/// What is wrong with `crd` as one of our kinds, one line per problem, saying what to change.
pub fn problems(crd: &CustomResourceDefinition, columns_wanted: &[&str]) -> Vec<String> {
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
