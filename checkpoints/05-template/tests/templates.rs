//! The cluster templates in `templates/`, checked the way clusterctl uses them and the way the
//! API server judges our kinds in them:
//!
//! - clusterctl's variable rules (`tests/support/clusterctl.rs`), unit-tested on their edge cases;
//! - every template renders with its required variables only, reports all missing ones at once,
//!   and documents exactly the variables it uses in its header comment;
//! - every object of our kinds matches our CRD's `openAPIV3Schema` (a JSON-schema validator,
//!   unknown fields refused as `kubectl apply` refuses them) and our CEL rules;
//! - every reference resolves: Cluster to DockerCluster and KubeadmControlPlane, the templates
//!   behind KubeadmControlPlane and MachineDeployment, a ClusterClass's templates, a topology's
//!   class; names, namespaces, groups and kinds all match.
//!
//! Cluster API's own kinds are judged by their real CRDs on kube-apiserver in
//! `testing/apiserver-harness/tests/checkpoint_templates.rs`.

mod support;

use support::checkpoint;

use std::collections::{BTreeMap, BTreeSet};

use capdkc_capi::contract::INFRASTRUCTURE_GROUP;
use checkpoint::api::{
    DockerCluster, DockerClusterSpec, DockerClusterTemplate, DockerClusterTemplateSpec,
    DockerMachine, DockerMachineSpec, DockerMachineTemplate, DockerMachineTemplateSpec,
};
use kube::CustomResourceExt;
use kube::core::cel::validate_cel_schema;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use support::clusterctl::{self, Error};

const PLAIN: &str = "cluster-template.yaml";
const TOPOLOGY: &str = "cluster-template-topology.yaml";
const CLASS: &str = "clusterclass-quick-start.yaml";
const ALL: [&str; 3] = [PLAIN, TOPOLOGY, CLASS];

const NAMESPACE: &str = "capdkc-demo";

/// The variables clusterctl always sets for `clusterctl generate cluster demo
/// --kubernetes-version v1.36.1 --target-namespace capdkc-demo`, except the two machine counts
/// (so that the templates' defaults show).
const REQUIRED: [(&str, &str); 3] = [
    ("CLUSTER_NAME", "demo"),
    ("NAMESPACE", NAMESPACE),
    ("KUBERNETES_VERSION", "v1.36.1"),
];

/// Variables clusterctl itself knows; every other one is ours and starts with `CAPDKC_`.
const CLUSTERCTL_VARIABLES: [&str; 5] = [
    "CLUSTER_NAME",
    "NAMESPACE",
    "KUBERNETES_VERSION",
    "CONTROL_PLANE_MACHINE_COUNT",
    "WORKER_MACHINE_COUNT",
];

/// The kubelet of a kind node, in the template's order.
const KUBELET_ARGS: [(&str, &str); 5] = [
    ("cgroup-root", "/kubelet"),
    ("runtime-cgroups", "/system.slice/containerd.service"),
    ("image-gc-high-threshold", "100"),
    (
        "eviction-hard",
        "nodefs.available<0%,nodefs.inodesFree<0%,imagefs.available<0%",
    ),
    ("fail-swap-on", "false"),
];
const CRI_SOCKET: &str = "unix:///var/run/containerd/containerd.sock";

fn text(file: &str) -> String {
    let path = format!("{}/templates/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The objects of a YAML stream; each has apiVersion, kind and metadata.name.
fn documents(yaml: &str, origin: &str) -> Vec<Value> {
    let documents: Vec<Value> =
        serde_saphyr::from_multiple(yaml).unwrap_or_else(|e| panic!("{origin}: {e}"));
    let objects: Vec<Value> = documents.into_iter().filter(|d| !d.is_null()).collect();
    for object in &objects {
        for field in ["/apiVersion", "/kind", "/metadata/name"] {
            assert!(
                object.pointer(field).is_some_and(Value::is_string),
                "{origin}: an object without {field}: {object}"
            );
        }
    }
    objects
}

/// The template's objects, rendered with the required variables only.
fn rendered(file: &str) -> Vec<Value> {
    let output =
        clusterctl::render_with(&text(file), &REQUIRED).unwrap_or_else(|e| panic!("{file}: {e}"));
    documents(&output, file)
}

fn kind(object: &Value) -> &str {
    object["kind"].as_str().unwrap_or_default()
}

fn name(object: &Value) -> &str {
    object["metadata"]["name"].as_str().unwrap_or_default()
}

fn namespace(object: &Value) -> &str {
    object["metadata"]["namespace"].as_str().unwrap_or_default()
}

fn group(object: &Value) -> &str {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

fn id(object: &Value) -> String {
    format!("{}/{}", kind(object), name(object))
}

fn find<'a>(objects: &'a [Value], wanted_kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| kind(o) == wanted_kind).collect()
}

fn one<'a>(objects: &'a [Value], wanted_kind: &str) -> &'a Value {
    let found = find(objects, wanted_kind);
    assert_eq!(found.len(), 1, "exactly one {wanted_kind}");
    found[0]
}

// ---------------------------------------------------------------------------------------------
// clusterctl's variable rules. Every expected value here is what clusterctl v1.14's template
// processor returns for the same text.

fn render(template: &str, values: &[(&str, &str)]) -> Result<String, Error> {
    clusterctl::render_with(template, values)
}

#[test]
fn a_variable_is_replaced_by_its_value_and_empty_counts_as_set() {
    assert_eq!(render("a: ${A}", &[("A", "v")]), Ok("a: v".into()));
    assert_eq!(render("a: ${A}", &[("A", "")]), Ok("a: ".into()));
    assert_eq!(
        render("${A}-${B}", &[("A", "x"), ("B", "y")]),
        Ok("x-y".into())
    );
    assert_eq!(render("a: ${A_1b}", &[("A_1b", "ok")]), Ok("a: ok".into()));
}

#[test]
fn every_default_operator_applies_when_the_variable_is_unset_or_empty() {
    for operator in [":=", ":-", "=", ":?", ":+"] {
        let template = format!("a: ${{A{operator}x}}");
        assert_eq!(render(&template, &[]), Ok("a: x".into()), "{template}");
        assert_eq!(
            render(&template, &[("A", "")]),
            Ok("a: x".into()),
            "{template}"
        );
        assert_eq!(
            render(&template, &[("A", "v")]),
            Ok("a: v".into()),
            "{template}"
        );
        let variables = clusterctl::variables(&template).expect("parses");
        assert_eq!(variables["A"], Some("x".into()), "{template}");
    }
}

#[test]
fn the_dash_forms_without_a_colon_are_refused_as_clusterctl_refuses_them() {
    for template in ["a: ${A-x}", "a: ${A+x}"] {
        assert_eq!(
            render(template, &[("A", "v")]),
            Err(Error::Parse("missing closing brace")),
            "{template}"
        );
    }
}

#[test]
fn every_missing_required_variable_is_reported_at_once_and_sorted() {
    let error = render("${B} ${A} ${C:=c} ${B} ${D}", &[("D", "")]).expect_err("missing");
    assert_eq!(error, Error::Missing(vec!["A".into(), "B".into()]));
    assert!(error.to_string().contains("[A, B]"), "{error}");
}

#[test]
fn the_first_occurrence_decides_whether_a_variable_is_required() {
    assert_eq!(
        render("${X} ${X:=d}", &[]),
        Err(Error::Missing(vec!["X".into()]))
    );
    // A default is not assigned: the second, plain occurrence stays empty.
    assert_eq!(render("${X:=d} ${X}", &[]), Ok("d ".into()));
}

#[test]
fn an_empty_default_is_no_default() {
    assert_eq!(
        render("a: ${A:=}", &[]),
        Err(Error::Missing(vec!["A".into()]))
    );
    assert_eq!(render("a: ${A:-}", &[("A", "")]), Ok("a: ".into()));
}

#[test]
fn a_default_may_hold_another_variable_which_is_then_never_required() {
    assert_eq!(render("a: ${A:=${B}}", &[]), Ok("a: ".into()));
    assert_eq!(
        render("a: ${A:=x${B}y}", &[("B", "1")]),
        Ok("a: x1y".into())
    );
    let variables = clusterctl::variables("a: ${A:=x${B}y}").expect("parses");
    assert_eq!(
        variables,
        BTreeMap::from([("A".to_owned(), Some("x${B}y".to_owned()))])
    );
}

#[test]
fn default_text_is_taken_verbatim_up_to_the_first_closing_brace() {
    assert_eq!(render("a: ${A:=x:y=z}", &[]), Ok("a: x:y=z".into()));
    assert_eq!(render("a: ${A:=a b}", &[]), Ok("a: a b".into()));
    assert_eq!(render("a: ${A:=a}b}", &[]), Ok("a: ab}".into()));
    assert_eq!(render("a: ${A:=\\}}", &[]), Ok("a: \\}".into()));
    // No escapes inside a default: `$$` is text, `${B}` a (never required) variable.
    assert_eq!(render("a: ${A:=$${B}}", &[]), Ok("a: $".into()));
}

#[test]
fn dollar_escapes_and_dollar_without_braces_are_text() {
    assert_eq!(render("a: $${A}", &[("A", "v")]), Ok("a: ${A}".into()));
    assert_eq!(render("a: $$A $$$ $a $", &[]), Ok("a: $A $$ $a $".into()));
    assert_eq!(render("a: $$${A}", &[("A", "v")]), Ok("a: $v".into()));
    assert_eq!(render("a: \\${A}", &[("A", "1")]), Ok("a: \\1".into()));
    assert_eq!(clusterctl::variables("$${A} $A"), Ok(BTreeMap::new()));
}

#[test]
fn whitespace_inside_the_braces_is_dropped() {
    assert_eq!(
        render("${ A } ${B } ${ C}", &[("A", "1"), ("B", "2"), ("C", "3")]),
        Ok("1 2 3".into())
    );
}

#[test]
fn broken_substitutions_are_drone_envsubst_parse_errors() {
    assert_eq!(
        render("a: ${A", &[]),
        Err(Error::Parse("missing closing brace"))
    );
    assert_eq!(
        render("a: ${A:=x", &[]),
        Err(Error::Parse("unable to parse substitution within function"))
    );
    assert_eq!(
        render("a: ${}", &[]),
        Err(Error::Parse("unable to parse variable name"))
    );
}

#[test]
fn other_drone_envsubst_functions_are_refused_here() {
    for template in [
        "${#A}", "${A:1}", "${A,,}", "${A^}", "${A/x/y}", "${A#x}", "${A%x}",
    ] {
        assert!(
            matches!(render(template, &[("A", "v")]), Err(Error::Unsupported(_))),
            "{template}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The templates as clusterctl renders them.

#[test]
fn the_files_follow_clusterctls_naming() {
    let dir = format!("{}/templates", env!("CARGO_MANIFEST_DIR"));
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .expect("templates/")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    present.sort();
    let mut expected = ALL.map(String::from).to_vec();
    expected.sort();
    assert_eq!(present, expected, "a new template needs its tests here");

    // `--flavor topology` reads cluster-template-topology.yaml; the class it names is fetched
    // from clusterclass-<name>.yaml.
    let (class_objects, topology_objects) = (rendered(CLASS), rendered(TOPOLOGY));
    let class = one(&class_objects, "ClusterClass");
    assert_eq!(CLASS, format!("clusterclass-{}.yaml", name(class)));
    let cluster = one(&topology_objects, "Cluster");
    assert_eq!(cluster["spec"]["topology"]["classRef"]["name"], name(class));
}

#[test]
fn every_template_renders_with_its_required_variables_only() {
    let expected_kinds = BTreeMap::from([
        (
            PLAIN,
            vec![
                "Cluster",
                "DockerCluster",
                "KubeadmControlPlane",
                "DockerMachineTemplate",
                "MachineDeployment",
                "DockerMachineTemplate",
                "KubeadmConfigTemplate",
            ],
        ),
        (TOPOLOGY, vec!["Cluster"]),
        (
            CLASS,
            vec![
                "ClusterClass",
                "DockerClusterTemplate",
                "KubeadmControlPlaneTemplate",
                "DockerMachineTemplate",
                "DockerMachineTemplate",
                "KubeadmConfigTemplate",
            ],
        ),
    ]);
    for file in ALL {
        let source = text(file);
        let output = clusterctl::render_with(&source, &REQUIRED).expect(file);
        assert!(!output.contains("${"), "{file}: a substitution left over");
        let objects = documents(&output, file);
        let kinds: Vec<&str> = objects.iter().map(kind).collect();
        assert_eq!(kinds, expected_kinds[file], "{file}");
        for object in &objects {
            assert_eq!(namespace(object), NAMESPACE, "{file}: {}", id(object));
        }
        // The same text with nothing set names every required variable, as clusterctl does.
        let required: Vec<String> = clusterctl::variables(&source)
            .expect(file)
            .into_iter()
            .filter(|(_, default)| default.is_none())
            .map(|(name, _)| name)
            .collect();
        assert_eq!(
            clusterctl::render_with(&source, &[]),
            Err(Error::Missing(required)),
            "{file}"
        );
    }
    assert_eq!(
        clusterctl::render_with(&text(PLAIN), &[]),
        Err(Error::Missing(vec![
            "CLUSTER_NAME".into(),
            "KUBERNETES_VERSION".into(),
            "NAMESPACE".into()
        ]))
    );
}

#[test]
fn defaults_apply_and_values_replace_them() {
    for file in [PLAIN, TOPOLOGY] {
        let objects = rendered(file);
        let cluster = one(&objects, "Cluster");
        let network = &cluster["spec"]["clusterNetwork"];
        assert_eq!(network["pods"]["cidrBlocks"], json!(["192.168.0.0/16"]));
        assert_eq!(network["services"]["cidrBlocks"], json!(["10.128.0.0/12"]));
        let (control_plane, workers) = replicas(&objects);
        assert_eq!((control_plane, workers), (json!(1), json!(1)), "{file}");

        // What `clusterctl generate cluster demo` sets without --worker-machine-count: zero
        // workers. An empty value counts as unset for a default (drone/envsubst).
        let mut values = REQUIRED.to_vec();
        values.extend([
            ("CONTROL_PLANE_MACHINE_COUNT", "3"),
            ("WORKER_MACHINE_COUNT", "0"),
            ("CAPDKC_POD_CIDR", "10.244.0.0/16"),
            ("CAPDKC_SERVICE_CIDR", ""),
        ]);
        let output = clusterctl::render_with(&text(file), &values).expect(file);
        let objects = documents(&output, file);
        let network = &one(&objects, "Cluster")["spec"]["clusterNetwork"];
        assert_eq!(network["pods"]["cidrBlocks"], json!(["10.244.0.0/16"]));
        assert_eq!(network["services"]["cidrBlocks"], json!(["10.128.0.0/12"]));
        assert_eq!(replicas(&objects), (json!(3), json!(0)), "{file}");
    }
}

/// Control-plane and worker replicas, from the KubeadmControlPlane and MachineDeployment or
/// from the topology.
fn replicas(objects: &[Value]) -> (Value, Value) {
    let cluster = one(objects, "Cluster");
    match cluster["spec"].get("topology") {
        Some(topology) => (
            topology["controlPlane"]["replicas"].clone(),
            topology["workers"]["machineDeployments"][0]["replicas"].clone(),
        ),
        None => (
            one(objects, "KubeadmControlPlane")["spec"]["replicas"].clone(),
            one(objects, "MachineDeployment")["spec"]["replicas"].clone(),
        ),
    }
}

/// The variables a header comment documents: `#   NAME (required): ...` or
/// `#   NAME (default VALUE): ...`, before the first document.
fn documented_variables(source: &str) -> BTreeMap<String, Option<String>> {
    let line = regex::Regex::new(r"^#\s+([A-Z][A-Z0-9_]*) \((required|default ([^)]+))\):")
        .expect("valid");
    let header = source.split("\n---").next().unwrap_or_default();
    header
        .lines()
        .filter_map(|text| line.captures(text))
        .map(|c| (c[1].to_owned(), c.get(3).map(|d| d.as_str().to_owned())))
        .collect()
}

#[test]
fn the_header_comments_document_exactly_the_variables_used() {
    for file in ALL {
        let source = text(file);
        let used = clusterctl::variables(&source).expect(file);
        assert!(!used.is_empty(), "{file}");
        assert_eq!(documented_variables(&source), used, "{file}");
        for name in used.keys() {
            assert!(
                CLUSTERCTL_VARIABLES.contains(&name.as_str()) || name.starts_with("CAPDKC_"),
                "{file}: {name} is ours, so it needs the CAPDKC_ prefix"
            );
        }
        // Nothing substitutes inside a comment either: clusterctl would see it as a variable.
        let header = source.split("\n---").next().unwrap_or_default();
        assert!(
            !header.contains("${"),
            "{file}: a substitution in the header"
        );
    }
}

#[test]
fn every_occurrence_of_a_variable_has_the_same_default() {
    // Otherwise the first occurrence alone decides, and a later plain one renders empty.
    for file in ALL {
        let mut seen: BTreeMap<String, Option<String>> = BTreeMap::new();
        for (name, default) in clusterctl::occurrences(&text(file)).expect(file) {
            let first = seen.entry(name.clone()).or_insert_with(|| default.clone());
            assert_eq!(*first, default, "{file}: {name}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Our kinds against our CRDs.

/// Our CRD's `openAPIV3Schema` for `kind`, as a JSON-schema (draft 4) validator.
fn crd_validator(kind: &str) -> jsonschema::Validator {
    let crd = checkpoint::crdgen::crds()
        .into_iter()
        .find(|crd| crd.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD of ours serves {kind}"));
    let version = crd
        .spec
        .versions
        .iter()
        .find(|v| v.name == "v1alpha1")
        .expect("v1alpha1");
    let schema = version
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("openAPIV3Schema");
    let mut schema = serde_json::to_value(schema).expect("schema");
    // The API server handles these three itself, whatever the CRD declares.
    let properties = schema["properties"].as_object_mut().expect("properties");
    for (field, type_) in [
        ("apiVersion", "string"),
        ("kind", "string"),
        ("metadata", "object"),
    ] {
        properties
            .entry(field)
            .or_insert_with(|| json!({"type": type_}));
    }
    to_json_schema(&mut schema);
    jsonschema::draft4::new(&schema).unwrap_or_else(|e| panic!("{kind}: {e}"))
}

// ANCHOR: json_schema
/// Turns a structural (OpenAPI v3) schema into JSON Schema: `nullable: true` allows null,
/// int-or-string allows both, and an object with declared properties refuses any other key
/// (the API server's strict field validation, `kubectl apply`'s default) unless it preserves
/// unknown fields. `x-kubernetes-*` keys are dropped; CEL rules are run separately.
fn to_json_schema(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.remove("nullable") == Some(Value::Bool(true))
        && let Some(Value::String(type_)) = object.get("type").cloned()
    {
        object.insert("type".into(), json!([type_, "null"]));
    }
    if object.remove("x-kubernetes-int-or-string") == Some(Value::Bool(true)) {
        object.insert(
            "anyOf".into(),
            json!([{"type": "integer"}, {"type": "string"}]),
        );
    }
    let preserves = object.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if object.contains_key("properties")
        && !object.contains_key("additionalProperties")
        && !preserves
    {
        object.insert("additionalProperties".into(), Value::Bool(false));
    }
    object.retain(|key, _| !key.starts_with("x-kubernetes-"));
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        properties.values_mut().for_each(to_json_schema);
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = object.get_mut(key) {
            to_json_schema(child);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(children)) = object.get_mut(key) {
            children.iter_mut().for_each(to_json_schema);
        }
    }
}
// ANCHOR_END: json_schema

/// Everything the API server (and our CEL interpreter) would say against one object of ours.
fn judge(object: &Value) -> Vec<String> {
    let object_kind = kind(object);
    let mut problems: Vec<String> = crd_validator(object_kind)
        .iter_errors(object)
        .map(|e| format!("schema: {}: {e}", e.instance_path()))
        .collect();
    let spec = &object["spec"];
    let cel = match object_kind {
        "DockerCluster" => validate_cel_schema::<DockerClusterSpec>(spec, None),
        "DockerMachine" => validate_cel_schema::<DockerMachineSpec>(spec, None),
        "DockerMachineTemplate" => validate_cel_schema::<DockerMachineTemplateSpec>(spec, None),
        "DockerClusterTemplate" => validate_cel_schema::<DockerClusterTemplateSpec>(spec, None),
        other => panic!("not one of our kinds: {other}"),
    };
    if let Err(errors) = cel {
        problems.push(format!("cel: {errors:?}"));
    }
    let typed = match object_kind {
        "DockerCluster" => serde_json::from_value::<DockerCluster>(object.clone()).err(),
        "DockerMachine" => serde_json::from_value::<DockerMachine>(object.clone()).err(),
        "DockerMachineTemplate" => {
            serde_json::from_value::<DockerMachineTemplate>(object.clone()).err()
        }
        _ => serde_json::from_value::<DockerClusterTemplate>(object.clone()).err(),
    };
    if let Some(error) = typed {
        problems.push(format!("our Rust type: {error}"));
    }
    problems
}

#[test]
fn our_objects_in_every_template_pass_our_crd_schemas_and_cel_rules() {
    let ours: Vec<String> = checkpoint::crdgen::crds()
        .into_iter()
        .map(|crd| crd.spec.names.kind)
        .collect();
    let mut judged = BTreeSet::new();
    for file in ALL {
        for object in rendered(file)
            .iter()
            .filter(|o| group(o) == INFRASTRUCTURE_GROUP)
        {
            assert_eq!(
                object["apiVersion"],
                "infrastructure.cluster.x-k8s.io/v1alpha1"
            );
            assert!(ours.contains(&kind(object).to_owned()), "{}", id(object));
            let problems = judge(object);
            assert!(problems.is_empty(), "{file}: {}: {problems:#?}", id(object));
            judged.insert(kind(object).to_owned());
        }
    }
    assert_eq!(
        judged,
        BTreeSet::from(
            [
                "DockerCluster",
                "DockerClusterTemplate",
                "DockerMachineTemplate"
            ]
            .map(String::from)
        ),
    );
}

#[test]
fn the_checks_refuse_what_the_api_server_would_refuse() {
    let template = |spec: Value| {
        json!({
            "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1",
            "kind": "DockerMachineTemplate",
            "metadata": {"name": "t", "namespace": NAMESPACE},
            "spec": {"template": {"spec": spec}},
        })
    };
    let refused = |object: &Value, expected: &str| {
        let problems = judge(object).join("\n");
        assert!(
            problems.contains(expected),
            "expected `{expected}`:\n{problems}"
        );
    };
    assert_eq!(judge(&template(json!({}))), Vec::<String>::new());
    // Optional fields are nullable in our CRDs: null is accepted, as the API server accepts it.
    assert_eq!(
        judge(&template(json!({"customImage": null}))),
        Vec::<String>::new()
    );
    refused(
        &template(json!({"customimage": "kindest/node:v1"})),
        "customimage",
    );
    refused(
        &template(json!({"bootstrapTimeout": 5})),
        "bootstrapTimeout",
    );
    refused(
        &template(json!({"customImage": "Kindest/Node"})),
        "does not match",
    );
    refused(
        &template(json!({"providerID": "docker:////demo"})),
        "never in a template",
    );
    let cluster_template = json!({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1",
        "kind": "DockerClusterTemplate",
        "metadata": {"name": "t", "namespace": NAMESPACE},
        "spec": {"template": {"spec": {"controlPlaneEndpoint": {"host": "10.0.0.1", "port": 6443}}}},
    });
    refused(&cluster_template, "never in a template");
    let mut no_spec = cluster_template.clone();
    no_spec["spec"]["template"] = json!({});
    refused(&no_spec, "spec");
}

// ---------------------------------------------------------------------------------------------
// The template kinds.

/// What a template of `Spec` drops of the labels and annotations it passes on to its clones.
fn metadata_dropped<Spec: Serialize + DeserializeOwned>() -> Option<String> {
    let metadata = json!({"labels": {"tier": "workers"}, "annotations": {"team": "blue"}});
    let given = json!({"template": {"metadata": metadata, "spec": {}}});
    let read: Spec = serde_json::from_value(given).expect("a template with an empty spec reads");
    let written = serde_json::to_value(&read).expect("serialises");
    (written["template"]["metadata"] != metadata).then(|| {
        "spec.template.metadata (labels, annotations) is dropped: the resource needs a \
         `metadata: Option<ObjectMetaTemplate>` field"
            .to_owned()
    })
}

#[test]
fn step_5_1_docker_machine_template_is_one_of_our_kinds() {
    let mut problems = support::kinds::problems(&DockerMachineTemplate::crd(), &["Image"]);
    let with_provider_id = json!({"template": {"spec": {"providerID": "docker:////demo-md-0-a"}}});
    if validate_cel_schema::<DockerMachineTemplateSpec>(&with_provider_id, None).is_ok() {
        problems.push(
            "a template setting spec.template.spec.providerID is accepted: refuse it with a \
             `#[x_kube(validation = ...)]` rule on DockerMachineTemplateResource"
                .to_owned(),
        );
    }
    problems.extend(metadata_dropped::<DockerMachineTemplateSpec>());
    assert!(problems.is_empty(), "step 5.1:\n{}\n", problems.join("\n"));
}

#[test]
fn step_5_2_docker_cluster_template_is_one_of_our_kinds() {
    let mut problems = support::kinds::problems(&DockerClusterTemplate::crd(), &[]);
    let endpoint = json!({"host": "10.0.0.1", "port": 6443});
    let with_endpoint = json!({"template": {"spec": {"controlPlaneEndpoint": endpoint}}});
    if validate_cel_schema::<DockerClusterTemplateSpec>(&with_endpoint, None).is_ok() {
        problems.push(
            "a template setting spec.template.spec.controlPlaneEndpoint is accepted: refuse it \
             with a `#[x_kube(validation = ...)]` rule on DockerClusterTemplateResource"
                .to_owned(),
        );
    }
    problems.extend(metadata_dropped::<DockerClusterTemplateSpec>());
    assert!(problems.is_empty(), "step 5.2:\n{}\n", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// References.

/// Every reference inside `value`: objects with `kind`, `name` and an `apiGroup` (v1beta2
/// refs) or `apiVersion` (ClusterClass templateRefs), and `classRef`s.
fn references<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(fields) => {
            let is_ref = fields.contains_key("kind")
                && fields.contains_key("name")
                && (fields.contains_key("apiGroup") || fields.contains_key("apiVersion"));
            if is_ref || path.ends_with(".classRef") {
                out.push((path, value));
                return;
            }
            for (key, child) in fields {
                references(child, format!("{path}.{key}"), out);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                references(item, format!("{path}[{index}]"), out);
            }
        }
        _ => {}
    }
}

/// `Kind/name .path -> Kind/name` for every reference of every object, unresolved ones as
/// `UNRESOLVED <reference>`; and the objects nothing refers to.
fn reference_graph(objects: &[Value]) -> (Vec<String>, Vec<String>) {
    let mut edges = Vec::new();
    let mut targets = BTreeSet::new();
    for object in objects {
        let mut found = Vec::new();
        references(&object["spec"], ".spec".into(), &mut found);
        for (path, reference) in found {
            let wanted_namespace = reference["namespace"]
                .as_str()
                .unwrap_or_else(|| namespace(object));
            let target = objects.iter().find(|candidate| {
                let same_kind = match reference.get("kind") {
                    Some(wanted) => kind(candidate) == wanted,
                    None => kind(candidate) == "ClusterClass",
                };
                let same_api = match (reference.get("apiGroup"), reference.get("apiVersion")) {
                    (Some(wanted), _) => group(candidate) == wanted,
                    (None, Some(wanted)) => candidate["apiVersion"] == *wanted,
                    (None, None) => candidate["apiVersion"] == "cluster.x-k8s.io/v1beta2",
                };
                same_kind
                    && same_api
                    && name(candidate) == reference["name"]
                    && namespace(candidate) == wanted_namespace
            });
            let to = match target {
                Some(target) => {
                    targets.insert(id(target));
                    id(target)
                }
                None => format!("UNRESOLVED {reference}"),
            };
            edges.push(format!("{} {path} -> {to}", id(object)));
        }
    }
    edges.sort();
    let unreferenced = objects
        .iter()
        .map(id)
        .filter(|object| !targets.contains(object))
        .collect();
    (edges, unreferenced)
}

#[test]
fn step_5_3_every_reference_in_the_cluster_template_resolves() {
    let objects = rendered(PLAIN);
    let (edges, unreferenced) = reference_graph(&objects);
    assert_eq!(
        edges,
        [
            "Cluster/demo .spec.controlPlaneRef -> KubeadmControlPlane/demo-control-plane",
            "Cluster/demo .spec.infrastructureRef -> DockerCluster/demo",
            "KubeadmControlPlane/demo-control-plane .spec.machineTemplate.spec.infrastructureRef -> DockerMachineTemplate/demo-control-plane",
            "MachineDeployment/demo-md-0 .spec.template.spec.bootstrap.configRef -> KubeadmConfigTemplate/demo-md-0",
            "MachineDeployment/demo-md-0 .spec.template.spec.infrastructureRef -> DockerMachineTemplate/demo-md-0",
        ],
        "step 5.3: the references of {PLAIN}"
    );
    assert_eq!(
        unreferenced,
        ["Cluster/demo", "MachineDeployment/demo-md-0"],
        "step 5.3: the objects of {PLAIN} nothing refers to"
    );

    // The MachineDeployment belongs to the Cluster; all machines run the same version.
    let deployment = one(&objects, "MachineDeployment");
    assert_eq!(deployment["spec"]["clusterName"], "demo");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["clusterName"],
        "demo"
    );
    assert_eq!(deployment["spec"]["template"]["spec"]["version"], "v1.36.1");
    assert_eq!(
        one(&objects, "KubeadmControlPlane")["spec"]["version"],
        "v1.36.1"
    );
}

#[test]
fn every_reference_of_the_topology_flavor_resolves_through_its_class() {
    // clusterctl puts the class's objects in front of the Cluster that uses it.
    let mut objects = rendered(CLASS);
    objects.extend(rendered(TOPOLOGY));
    let (edges, unreferenced) = reference_graph(&objects);
    assert_eq!(
        edges,
        [
            "Cluster/demo .spec.topology.classRef -> ClusterClass/quick-start",
            "ClusterClass/quick-start .spec.controlPlane.machineInfrastructure.templateRef -> DockerMachineTemplate/quick-start-control-plane",
            "ClusterClass/quick-start .spec.controlPlane.templateRef -> KubeadmControlPlaneTemplate/quick-start-control-plane",
            "ClusterClass/quick-start .spec.infrastructure.templateRef -> DockerClusterTemplate/quick-start-cluster",
            "ClusterClass/quick-start .spec.workers.machineDeployments[0].bootstrap.templateRef -> KubeadmConfigTemplate/quick-start-default-worker",
            "ClusterClass/quick-start .spec.workers.machineDeployments[0].infrastructure.templateRef -> DockerMachineTemplate/quick-start-default-worker",
        ]
    );
    assert_eq!(unreferenced, ["Cluster/demo"]);

    // Each machine deployment of the topology names a class the ClusterClass defines.
    let classes: Vec<&Value> =
        one(&objects, "ClusterClass")["spec"]["workers"]["machineDeployments"]
            .as_array()
            .expect("worker classes")
            .iter()
            .map(|class| &class["class"])
            .collect();
    let topology = &one(&objects, "Cluster")["spec"]["topology"];
    for deployment in topology["workers"]["machineDeployments"]
        .as_array()
        .expect("machine deployments")
    {
        assert!(classes.contains(&&deployment["class"]), "{deployment}");
    }
    assert_eq!(topology["version"], "v1.36.1");
}

// ---------------------------------------------------------------------------------------------
// Kind nodes.

/// Every `nodeRegistration` inside `value`.
fn node_registrations<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Object(fields) => {
            for (key, child) in fields {
                if key == "nodeRegistration" {
                    out.push(child);
                } else {
                    node_registrations(child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| node_registrations(item, out)),
        _ => {}
    }
}

#[test]
fn every_node_runs_the_kubelet_as_kind_nodes_need_it() {
    let expected = json!({
        "criSocket": CRI_SOCKET,
        "kubeletExtraArgs": KUBELET_ARGS
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect::<Vec<_>>(),
    });
    let mut count = 0;
    for file in ALL {
        let objects = rendered(file);
        let mut found = Vec::new();
        for object in &objects {
            node_registrations(object, &mut found);
        }
        for registration in found {
            assert_eq!(*registration, expected, "{file}");
            count += 1;
        }
        // The API server's certificate also answers to the address published on the host.
        for kind_name in ["KubeadmControlPlane", "KubeadmControlPlaneTemplate"] {
            for object in find(&objects, kind_name) {
                let spec = match kind_name {
                    "KubeadmControlPlane" => &object["spec"],
                    _ => &object["spec"]["template"]["spec"],
                };
                let sans =
                    &spec["kubeadmConfigSpec"]["clusterConfiguration"]["apiServer"]["certSANs"];
                assert_eq!(*sans, json!(["localhost", "127.0.0.1"]), "{file}");
            }
        }
    }
    // init and join of two control planes, join of two worker templates.
    assert_eq!(count, 6);
}

#[test]
fn both_flavors_build_the_same_machines() {
    let plain = rendered(PLAIN);
    let class = rendered(CLASS);
    assert_eq!(
        one(&plain, "KubeadmControlPlane")["spec"]["kubeadmConfigSpec"],
        one(&class, "KubeadmControlPlaneTemplate")["spec"]["template"]["spec"]["kubeadmConfigSpec"]
    );
    assert_eq!(
        one(&plain, "KubeadmConfigTemplate")["spec"],
        one(&class, "KubeadmConfigTemplate")["spec"]
    );
    let machine_specs = |objects: &[Value]| -> Vec<Value> {
        find(objects, "DockerMachineTemplate")
            .into_iter()
            .map(|t| t["spec"].clone())
            .collect()
    };
    assert_eq!(machine_specs(&plain), machine_specs(&class));
    assert_eq!(
        one(&plain, "DockerCluster")["spec"],
        one(&class, "DockerClusterTemplate")["spec"]["template"]["spec"]
    );
    assert_eq!(
        one(&plain, "Cluster")["spec"]["clusterNetwork"],
        one(&rendered(TOPOLOGY), "Cluster")["spec"]["clusterNetwork"]
    );
}
