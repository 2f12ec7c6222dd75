//! The release (`scripts/release.sh`) as clusterctl and a security review see it: the components,
//! `metadata.yaml`, the templates, the local clusterctl repository and its configuration; the
//! release workflow; and `scripts/e2e.sh --dry-run`. Rendering needs `kustomize` on PATH (or
//! `KUSTOMIZE=<path>`): those tests skip without it on a laptop and fail without it in CI.

mod support;

use support::checkpoint;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use capdkc_capi::contract::CONTRACT_LABEL;
use capdkc_manager::crds;
use checkpoint::crdgen;
use regex::Regex;
use serde_json::Value;

const PROVIDER_NAME: &str = "docker-kubecon";
const PROVIDER_LABEL: (&str, &str) = ("cluster.x-k8s.io/provider", "infrastructure-docker-kubecon");
const NAMESPACE: &str = "capdkc-system";
const DEFAULT_IMAGE: &str = "ghcr.io/capdkc/capdkc-manager";
const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// The clusterctl variables the components may keep: each has a default and is documented in
/// the Releasing chapter.
const DOCUMENTED_VARIABLES: &[&str] = &["CAPDKC_DOCKER_GID"];
const CHAPTER: &str = "book/src/07-releasing.md";

/// The version released by the tests: the crate's own, so that bumping the crate's minor version
/// without a release series in `metadata.yaml` fails here.
fn version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn checkpoint() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

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

/// kustomize, or `None` (after saying why) when it is absent outside CI.
fn required_kustomize() -> Option<PathBuf> {
    let found = kustomize();
    if found.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "kustomize is required in CI: .ci/run installs it"
        );
        eprintln!("SKIPPED: kustomize not found on PATH (install kustomize 5.8 or set KUSTOMIZE)");
    }
    found
}

/// Runs a repository script with a clean release environment.
fn script(kustomize: &Path, script: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("bash");
    command
        .arg(repository().join("scripts").join(script))
        .args(args)
        .env("KUSTOMIZE", kustomize)
        .env_remove("CAPDKC_IMAGE")
        .env_remove("CAPDKC_IMAGE_DIGEST");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("bash runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A finished `scripts/release.sh` run into a temporary directory.
struct Release {
    _dir: tempfile::TempDir,
    out: PathBuf,
    version: String,
}

impl Release {
    /// Releases the crate's version, pinned by `DIGEST` when `digest` is set; `None` when skipped.
    fn build(digest: bool) -> Option<Self> {
        let kustomize = required_kustomize()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let version = version();
        let env: &[(&str, &str)] = if digest {
            &[("CAPDKC_IMAGE_DIGEST", DIGEST)]
        } else {
            &[]
        };
        let output = script(
            &kustomize,
            "release.sh",
            &[&version, out.to_str().expect("UTF-8 path")],
            env,
        );
        assert!(
            output.status.success(),
            "release.sh failed:\n{}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        let out = out.canonicalize().expect("out dir");
        Some(Self {
            _dir: dir,
            out,
            version,
        })
    }

    fn release_dir(&self) -> PathBuf {
        self.out.join(&self.version)
    }

    fn repository_dir(&self) -> PathBuf {
        self.out
            .join("clusterctl-repository")
            .join(PROVIDER_LABEL.1)
            .join(&self.version)
    }

    fn components_text(&self) -> String {
        std::fs::read_to_string(self.release_dir().join("infrastructure-components.yaml"))
            .expect("infrastructure-components.yaml")
    }

    fn components(&self) -> Vec<Value> {
        serde_saphyr::from_multiple(&self.components_text()).expect("the components are YAML")
    }
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn yaml_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `(major, minor) -> contract` from a metadata.yaml.
fn release_series(metadata: &Value) -> BTreeMap<(u64, u64), String> {
    metadata["releaseSeries"]
        .as_array()
        .expect("releaseSeries is a list")
        .iter()
        .map(|series| {
            let number = |key: &str| series[key].as_u64().unwrap_or_else(|| panic!("{key}"));
            let contract = series["contract"].as_str().expect("contract").to_string();
            ((number("major"), number("minor")), contract)
        })
        .collect()
}

/// The contract `metadata.yaml` declares for the series of `version` (`vMAJOR.MINOR.PATCH`).
fn contract_for(version: &str) -> Option<String> {
    let mut parts = version.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    release_series(&yaml_file(&checkpoint().join("metadata.yaml")))
        .get(&(major, minor))
        .cloned()
}

/// The files of a directory, by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&path).expect("read"))
        })
        .collect()
}

/// `text` without the book's marker lines: anchors, exercises and exercises' start states.
fn without_book_markers(text: &str) -> String {
    let mut kept = String::new();
    let mut in_start_state = false;
    for line in text.lines() {
        let marker = line.trim_start();
        if marker == "# EXERCISE_START_STATE" {
            in_start_state = true;
        } else if marker == "# EXERCISE_END" {
            in_start_state = false;
        } else if !in_start_state
            && !["# ANCHOR: ", "# ANCHOR_END: ", "# EXERCISE: "]
                .iter()
                .any(|m| marker.starts_with(m))
        {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

/// The checkpoint's templates that a release ships: `cluster-template*.yaml`, `clusterclass-*.yaml`.
fn shipped_templates() -> BTreeMap<String, Vec<u8>> {
    let dir = checkpoint().join("templates");
    if !dir.is_dir() {
        return BTreeMap::new();
    }
    files(&dir)
        .into_iter()
        .filter(|(name, _)| {
            name.ends_with(".yaml")
                && (name.starts_with("cluster-template") || name.starts_with("clusterclass-"))
        })
        .collect()
}

#[test]
fn the_components_install_one_namespace_and_label_and_prefix_every_object() {
    let Some(release) = Release::build(true) else {
        return;
    };
    let objects = release.components();
    let namespaces = of_kind(&objects, "Namespace");
    assert_eq!(
        namespaces.len(),
        1,
        "clusterctl needs exactly one Namespace"
    );
    assert_eq!(namespaces[0]["metadata"]["name"], NAMESPACE);
    let cluster_scoped = [
        "Namespace",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
    ];
    for object in &objects {
        let kind = object["kind"].as_str().expect("kind");
        let name = object["metadata"]["name"].as_str().expect("name");
        let labels = &object["metadata"]["labels"];
        assert_eq!(
            labels[PROVIDER_LABEL.0], PROVIDER_LABEL.1,
            "{kind} {name} lacks the provider label"
        );
        if !matches!(kind, "Namespace" | "CustomResourceDefinition") {
            assert!(
                name.starts_with("capdkc-"),
                "{kind} {name} lacks the prefix"
            );
        }
        if cluster_scoped.contains(&kind) {
            assert!(object["metadata"]["namespace"].is_null(), "{kind} {name}");
        } else {
            assert_eq!(object["metadata"]["namespace"], NAMESPACE, "{kind} {name}");
        }
    }
    // The prefix reaches the references too.
    for binding in of_kind(&objects, "RoleBinding")
        .into_iter()
        .chain(of_kind(&objects, "ClusterRoleBinding"))
    {
        let role = binding["roleRef"]["name"].as_str().expect("roleRef");
        assert!(
            objects.iter().any(|o| o["metadata"]["name"] == role),
            "{role} is bound but not shipped"
        );
        assert_eq!(binding["subjects"][0]["name"], "capdkc-manager");
        assert_eq!(binding["subjects"][0]["namespace"], NAMESPACE);
    }
    let deployment = of_kind(&objects, "Deployment")[0];
    assert_eq!(
        deployment["spec"]["template"]["spec"]["serviceAccountName"],
        "capdkc-manager"
    );
    assert_eq!(of_kind(&objects, "ServiceAccount").len(), 1);
}

#[test]
fn the_manager_image_is_the_release_tag_pinned_by_digest() {
    let Some(pinned) = Release::build(true) else {
        return;
    };
    let Some(tagged) = Release::build(false) else {
        return;
    };
    for (release, expected) in [
        (
            &pinned,
            format!("{DEFAULT_IMAGE}:{}@{DIGEST}", pinned.version),
        ),
        (&tagged, format!("{DEFAULT_IMAGE}:{}", tagged.version)),
    ] {
        let objects = release.components();
        let deployments = of_kind(&objects, "Deployment");
        assert_eq!(deployments.len(), 1);
        let containers = deployments[0]["spec"]["template"]["spec"]["containers"]
            .as_array()
            .expect("containers");
        assert_eq!(containers.len(), 1);
        assert_eq!(containers[0]["name"], "manager", "clusterctl's contract");
        assert_eq!(containers[0]["image"], expected.as_str());
    }
    // The release components pin the manager by digest.
    assert!(pinned.components_text().contains("@sha256:"));
    assert!(!pinned.components_text().contains("capdkc-manager:dev"));
}

/// Where two JSON values differ (a path and both values), if they do. Numbers compare by value:
/// kustomize prints `65535` where the YAML writer printed `65535.0`.
fn first_difference(shipped: &Value, expected: &Value, path: &str) -> Option<String> {
    match (shipped, expected) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|key| {
                first_difference(
                    a.get(key).unwrap_or(&Value::Null),
                    b.get(key).unwrap_or(&Value::Null),
                    &format!("{path}.{key}"),
                )
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{path}[{i}]"))),
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => None,
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: shipped {a}, generated {b}")),
    }
}

#[test]
fn the_crds_are_the_generated_ones_with_the_contract_of_metadata_yaml() {
    let Some(release) = Release::build(true) else {
        return;
    };
    let objects = release.components();
    let shipped: BTreeMap<String, &Value> = of_kind(&objects, "CustomResourceDefinition")
        .into_iter()
        .map(|crd| {
            (
                crd["metadata"]["name"].as_str().expect("name").to_string(),
                crd,
            )
        })
        .collect();
    let generated = crdgen::crds();
    let generated_names: BTreeSet<String> = generated
        .iter()
        .map(|crd| crd.metadata.name.clone().expect("name"))
        .collect();
    assert_eq!(
        shipped.keys().cloned().collect::<BTreeSet<_>>(),
        generated_names
    );
    let contract = contract_for(&release.version).expect("a release series");
    let contract_label = format!("cluster.x-k8s.io/{contract}");
    assert_eq!(contract_label, CONTRACT_LABEL, "metadata.yaml vs the API");
    for crd in &generated {
        let name = crd.metadata.name.clone().expect("name");
        // Through the same YAML reader as the release, so numbers compare alike.
        let mut expected: Value = serde_saphyr::from_str(&crds::to_yaml(crd).expect("YAML"))
            .expect("the generated CRD reads back");
        expected["metadata"]["labels"][PROVIDER_LABEL.0] = PROVIDER_LABEL.1.into();
        if let Some(difference) = first_difference(shipped[&name], &expected, "") {
            panic!("{name} differs from crdgen at {difference}");
        }
        // The label's value lists our served versions, underscore-separated.
        let served: BTreeSet<&str> = crd
            .spec
            .versions
            .iter()
            .filter(|v| v.served)
            .map(|v| v.name.as_str())
            .collect();
        let value = shipped[&name]["metadata"]["labels"][&contract_label]
            .as_str()
            .unwrap_or_else(|| panic!("{name} lacks {contract_label}"));
        for version in value.split('_') {
            assert!(served.contains(version), "{name}: {version} is not served");
        }
    }
}

#[test]
fn metadata_yaml_declares_the_series_of_the_release() {
    let metadata = yaml_file(&checkpoint().join("metadata.yaml"));
    assert_eq!(
        metadata["apiVersion"],
        "clusterctl.cluster.x-k8s.io/v1alpha3"
    );
    assert_eq!(metadata["kind"], "Metadata");
    let series = release_series(&metadata);
    assert!(
        !series.is_empty(),
        "clusterctl rejects an empty releaseSeries"
    );
    assert_eq!(series.get(&(0, 1)).map(String::as_str), Some("v1beta2"));
    assert!(
        contract_for(&version()).is_some(),
        "metadata.yaml has no release series for the crate's version {}",
        version()
    );
    let Some(release) = Release::build(false) else {
        return;
    };
    assert_eq!(
        std::fs::read(release.release_dir().join("metadata.yaml")).expect("released"),
        std::fs::read(checkpoint().join("metadata.yaml")).expect("committed"),
    );
}

#[test]
fn only_documented_variables_with_defaults_remain() {
    let Some(release) = Release::build(true) else {
        return;
    };
    let components = release.components_text();
    let variable = Regex::new(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}").expect("regex");
    let mut found = BTreeSet::new();
    for capture in variable.captures_iter(&components) {
        let name = capture[1].to_string();
        assert!(
            DOCUMENTED_VARIABLES.contains(&name.as_str()),
            "undocumented variable ${{{name}}} in the components"
        );
        // Without a default, `clusterctl init` fails unless every user sets it.
        assert!(
            capture[2].trim_start().starts_with(":="),
            "${{{name}}} has no default"
        );
        found.insert(name);
    }
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        DOCUMENTED_VARIABLES,
        "a documented variable is no longer used"
    );
    let chapter = std::fs::read_to_string(repository().join(CHAPTER)).expect("the chapter");
    for name in DOCUMENTED_VARIABLES {
        assert!(
            chapter.contains(&format!("`{name}`")),
            "{CHAPTER} lacks {name}"
        );
    }
}

#[test]
fn the_released_manager_pod_is_hardened() {
    let Some(release) = Release::build(true) else {
        return;
    };
    let objects = release.components();
    let deployment = of_kind(&objects, "Deployment")[0];
    let pod = &deployment["spec"]["template"]["spec"];
    let security = &pod["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["runAsUser"], 65532);
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(security["supplementalGroups"][0], "${CAPDKC_DOCKER_GID:=0}");
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        assert!(pod[key].is_null() || pod[key] == false, "{key}");
    }
    let containers: Vec<&Value> = ["initContainers", "containers"]
        .iter()
        .filter_map(|key| pod[*key].as_array())
        .flatten()
        .collect();
    assert_eq!(containers.len(), 1);
    for container in containers {
        let security = &container["securityContext"];
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert!(security["privileged"].is_null() || security["privileged"] == false);
        assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert!(
            security["capabilities"]["add"].is_null(),
            "no added capabilities"
        );
        assert!(security["runAsUser"].is_null() || security["runAsUser"] == 65532);
    }
    let host_paths: Vec<&Value> = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(|v| v.get("hostPath"))
        .collect();
    assert_eq!(
        host_paths,
        [&serde_json::json!({"path": "/var/run/docker.sock", "type": "Socket"})],
        "the only host path is the Docker socket"
    );
}

#[test]
fn the_release_is_a_local_clusterctl_repository_with_its_configuration() {
    let Some(release) = Release::build(true) else {
        return;
    };
    // The GitHub release assets and the repository's version directory hold the same files.
    let assets = files(&release.release_dir());
    assert_eq!(assets, files(&release.repository_dir()));
    let mut expected: BTreeSet<String> = ["infrastructure-components.yaml", "metadata.yaml"]
        .map(String::from)
        .into();
    for (name, content) in shipped_templates() {
        let shipped = assets
            .get(&name)
            .map(|s| String::from_utf8_lossy(s).into_owned());
        let text = String::from_utf8_lossy(&content);
        assert_eq!(
            shipped,
            Some(without_book_markers(&text)),
            "{name} shipped as it is, but for the book's markers"
        );
        expected.insert(name);
    }
    assert_eq!(assets.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(
        assets.contains_key("cluster-template.yaml"),
        "`clusterctl generate cluster` needs the default template"
    );

    let config = yaml_file(&release.out.join("clusterctl.yaml"));
    let providers = config["providers"].as_array().expect("providers");
    assert_eq!(providers.len(), 1);
    let provider = &providers[0];
    assert_eq!(provider["name"], PROVIDER_NAME);
    assert_eq!(provider["type"], "InfrastructureProvider");
    // clusterctl reads a local URL as {base}/{provider-label}/{version}/{components file}, with
    // an absolute path; the label is `infrastructure-<name>`.
    let url = PathBuf::from(provider["url"].as_str().expect("url"));
    assert!(url.is_absolute(), "{}", url.display());
    assert!(url.is_file(), "{} does not exist", url.display());
    let parts: Vec<String> = url
        .components()
        .rev()
        .take(3)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        parts,
        [
            "infrastructure-components.yaml",
            release.version.as_str(),
            &format!("infrastructure-{PROVIDER_NAME}")
        ]
    );
    assert_eq!(url.parent(), Some(release.repository_dir().as_path()));
}

#[test]
fn the_example_clusterctl_configuration_names_the_release_assets() {
    let config = yaml_file(&checkpoint().join("clusterctl.example.yaml"));
    let providers = config["providers"].as_array().expect("providers");
    assert_eq!(providers.len(), 1);
    assert_eq!(providers[0]["name"], PROVIDER_NAME);
    assert_eq!(providers[0]["type"], "InfrastructureProvider");
    // clusterctl's GitHub form: https://github.com/{owner}/{repo}/releases/{version}/{file}.
    let url = providers[0]["url"].as_str().expect("url");
    let github = Regex::new(
        r"^https://github\.com/[^/]+/[^/]+/releases/(latest|v[0-9]+\.[0-9]+\.[0-9]+)/infrastructure-components\.yaml$",
    )
    .expect("regex");
    assert!(github.is_match(url), "{url}");
    // Every other key is a variable of the components.
    for key in config.as_object().expect("a mapping").keys() {
        assert!(
            key == "providers" || DOCUMENTED_VARIABLES.contains(&key.as_str()),
            "{key} is no variable of the components"
        );
    }
}

#[test]
fn a_second_version_joins_the_repository_and_becomes_the_configured_one() {
    let Some(kustomize) = required_kustomize() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let out_arg = out.to_str().expect("UTF-8");
    for version in ["v0.1.0", "v0.1.1-rc.1"] {
        let output = script(&kustomize, "release.sh", &[version, out_arg], &[]);
        assert!(output.status.success(), "{}", text(&output.stderr));
    }
    let base = out.join("clusterctl-repository").join(PROVIDER_LABEL.1);
    for version in ["v0.1.0", "v0.1.1-rc.1"] {
        assert!(
            base.join(version).join("metadata.yaml").is_file(),
            "{version}"
        );
    }
    let config = std::fs::read_to_string(out.join("clusterctl.yaml")).expect("config");
    assert!(config.contains("/v0.1.1-rc.1/infrastructure-components.yaml"));
}

#[test]
fn bad_versions_and_digests_are_refused_with_a_readable_message() {
    let Some(kustomize) = required_kustomize() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let out_arg = out.to_str().expect("UTF-8");
    // (VERSION, environment, what the message must say)
    type Case = (
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static str,
    );
    let cases: &[Case] = &[
        ("0.1.0", &[], "is not a release version"),
        ("v0.1", &[], "is not a release version"),
        ("v0.1.0+build.1", &[], "is not a release version"),
        ("latest", &[], "is not a release version"),
        ("", &[], "is not a release version"),
        ("v0.2.0", &[], "metadata.yaml does not declare"),
        ("v1.0.0", &[], "metadata.yaml does not declare"),
        (
            "v0.1.0",
            &[("CAPDKC_IMAGE_DIGEST", "sha256:abc")],
            "CAPDKC_IMAGE_DIGEST",
        ),
        (
            "v0.1.0",
            &[("CAPDKC_IMAGE", "ghcr.io/capdkc/capdkc-manager:v9")],
            "has a tag",
        ),
        // clusterctl refuses a short name when it installs the components.
        (
            "v0.1.0",
            &[("CAPDKC_IMAGE", "capdkc-manager")],
            "not a canonical name",
        ),
    ];
    for (version, env, message) in cases {
        let output = script(&kustomize, "release.sh", &[version, out_arg], env);
        let stderr = text(&output.stderr);
        assert!(!output.status.success(), "{version:?} {env:?} was accepted");
        assert!(
            stderr.starts_with("release: ") && stderr.contains(message),
            "{version:?} {env:?}: unclear message: {stderr}"
        );
        if !version.is_empty() && env.is_empty() {
            assert!(stderr.contains(version), "{version:?}: {stderr}");
        }
        assert!(!out.exists(), "{version:?}: wrote {}", out.display());
    }
    let usage = script(&kustomize, "release.sh", &[], &[]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(text(&usage.stderr).contains("scripts/release.sh VERSION [OUT_DIR]"));
}

/// Every `scripts/...` path in a text.
fn script_paths(text: &str) -> Vec<String> {
    Regex::new(r"scripts/[A-Za-z0-9_.-]+")
        .expect("regex")
        .find_iter(text)
        .map(|m| m.as_str().to_string())
        .collect()
}

#[test]
fn the_release_workflow_runs_existing_scripts_on_version_tags() {
    let path = repository().join(".github/workflows/release.yml");
    let workflow = yaml_file(&path);
    assert_eq!(
        workflow["on"]["push"]["tags"],
        serde_json::json!(["v*"]),
        "releases start from a version tag"
    );
    assert_eq!(workflow["permissions"]["packages"], "write");
    assert_eq!(workflow["permissions"]["contents"], "write");
    let jobs = workflow["jobs"].as_object().expect("jobs");
    let steps: Vec<&Value> = jobs
        .values()
        .flat_map(|job| job["steps"].as_array().expect("steps"))
        .collect();
    let ids: BTreeSet<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();
    let output_ref = Regex::new(r"steps\.([A-Za-z0-9_-]+)\.outputs").expect("regex");

    let mut referenced = Vec::new();
    for step in &steps {
        let rendered = serde_json::to_string(step).expect("JSON");
        for capture in output_ref.captures_iter(&rendered) {
            assert!(ids.contains(&capture[1]), "no step with id {}", &capture[1]);
        }
        if let Some(run) = step["run"].as_str() {
            referenced.extend(script_paths(run));
        }
        if step["uses"].is_string() {
            assert!(
                step["uses"].as_str().is_some_and(|u| u.contains('@')),
                "actions are pinned: {step}"
            );
        }
    }
    assert!(referenced.contains(&"scripts/release.sh".to_string()));
    for script in &referenced {
        assert!(
            repository().join(script).is_file(),
            "{script} does not exist"
        );
    }

    let build = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("docker/build-push-action@"))
        })
        .expect("a docker/build-push-action step");
    let with = &build["with"];
    assert!(
        repository()
            .join(with["file"].as_str().expect("file"))
            .is_file()
    );
    assert!(
        repository()
            .join(with["context"].as_str().expect("context"))
            .is_dir()
    );
    let platforms: BTreeSet<&str> = with["platforms"]
        .as_str()
        .expect("platforms")
        .split(',')
        .map(str::trim)
        .collect();
    assert_eq!(platforms, BTreeSet::from(["linux/amd64", "linux/arm64"]));
    assert!(
        with["build-args"]
            .as_str()
            .is_some_and(|a| a.lines().any(|l| l.trim() == "CHECKPOINT=checkpoint-05")),
        "the image is built from checkpoint-05"
    );
    assert_eq!(with["push"], true);
    let dockerfile = std::fs::read_to_string(repository().join("Dockerfile")).expect("Dockerfile");
    assert!(dockerfile.contains("ARG CHECKPOINT"));

    // The artifacts pin the image by the digest the build step pushed.
    let build_id = build["id"].as_str().expect("the build step has an id");
    let release = steps
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("scripts/release.sh") && !r.contains("precheck"))
        })
        .expect("a release.sh step");
    assert_eq!(
        release["env"]["CAPDKC_IMAGE_DIGEST"],
        format!("${{{{ steps.{build_id}.outputs.digest }}}}")
    );
    let publish = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains("gh release create"))
        .expect("a step creating the GitHub release");
    assert!(publish.contains("out/release/"), "{publish}");
}

#[test]
fn the_e2e_dry_run_renders_the_release_without_docker_or_kind() {
    let Some(kustomize) = required_kustomize() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    let output = script(
        &kustomize,
        "e2e.sh",
        &["--dry-run"],
        &[("TMPDIR", tmp.path().to_str().expect("UTF-8"))],
    );
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "e2e.sh --dry-run failed:\n{stdout}{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("e2e: dry run passed"), "{stdout}");
    assert!(
        stdout.contains("--infrastructure docker-kubecon"),
        "{stdout}"
    );
    assert!(
        stdout.contains("release: local clusterctl repository"),
        "{stdout}"
    );
    // Nothing is left behind.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("tmp").collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    let unknown = script(&kustomize, "e2e.sh", &["--bogus"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("unknown argument '--bogus'"));
}
