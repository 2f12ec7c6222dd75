//! Checkpoint 05's cluster templates on a real kube-apiserver with the real CRDs: Cluster API
//! core, KubeadmControlPlane and kubeadm bootstrap (v1.14, from the Go module cache that
//! `scripts/test-assets.sh` fills) and ours.
//!
//! Each template is rendered as `clusterctl generate cluster` renders it and every object is
//! applied server-side with strict field validation, as `kubectl apply --server-side` sends it:
//! a misspelled field, a wrong type, a broken v1beta2 reference shape or one of our CEL rules
//! fails here with the API server's own message. (The checkpoint's `tests/templates.rs` checks
//! our kinds and the references without a server.)

// Shared with the checkpoint's own tests, which use more of it.
#[allow(dead_code)]
#[path = "../../../checkpoints/05-template/tests/support/clusterctl.rs"]
mod clusterctl;

use std::path::{Path, PathBuf};
use std::time::Instant;

use apiserver_harness::{
    ControlPlane, Needs, assets_for_test, crds_from_files, create_namespace, dynamic_api,
    install_crds, is_ci,
};
use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

const TEMPLATES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../checkpoints/05-template/templates"
);

/// Cluster API's version when the assets do not say (`versions.txt` of `scripts/test-assets.sh`).
const DEFAULT_CAPI_VERSION: &str = "v1.14.2";

/// The CRD directories of the Cluster API module this test installs from.
const CRD_DIRS: [&str; 3] = [
    "core/config/crd/bases",
    "controlplane/kubeadm/config/crd/bases",
    "bootstrap/kubeadm/config/crd/bases",
];

/// The Cluster API version the assets were built for.
fn capi_version(assets_dir: &Path) -> String {
    std::fs::read_to_string(assets_dir.join("versions.txt"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("cluster-api ").map(str::to_owned))
        })
        .map(|version| {
            version
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .filter(|version| !version.is_empty())
        .unwrap_or_else(|| DEFAULT_CAPI_VERSION.to_owned())
}

/// The Go module cache: `$GOMODCACHE`, else what `go env GOMODCACHE` says (the Go tool may be
/// where the official installer puts it, off PATH), else Go's default `$GOPATH/pkg/mod` or
/// `~/go/pkg/mod`.
fn go_module_cache() -> Option<PathBuf> {
    let non_empty = |value: std::ffi::OsString| (!value.is_empty()).then(|| PathBuf::from(value));
    if let Some(dir) = std::env::var_os("GOMODCACHE").and_then(non_empty) {
        return Some(dir);
    }
    for go in ["go", "/usr/local/go/bin/go"] {
        let Ok(output) = std::process::Command::new(go)
            .args(["env", "GOMODCACHE"])
            .output()
        else {
            continue;
        };
        let dir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if output.status.success() && !dir.is_empty() {
            return Some(PathBuf::from(dir));
        }
    }
    let gopath = std::env::var_os("GOPATH")
        .and_then(non_empty)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join("go")))?;
    Some(gopath.join("pkg/mod"))
}

/// `sigs.k8s.io/cluster-api@<version>` in the Go module cache, or why not.
fn capi_module(version: &str) -> Result<PathBuf, String> {
    let cache = go_module_cache().ok_or("no Go module cache: GOMODCACHE, go and HOME are unset")?;
    let module = cache.join(format!("sigs.k8s.io/cluster-api@{version}"));
    let missing: Vec<String> = CRD_DIRS
        .iter()
        .map(|dir| module.join(dir))
        .filter(|dir| !dir.is_dir())
        .map(|dir| dir.display().to_string())
        .collect();
    if missing.is_empty() {
        Ok(module)
    } else {
        Err(format!(
            "Cluster API's CRDs are not in the Go module cache ({}); `bash scripts/test-assets.sh` \
             downloads the module",
            missing.join(", ")
        ))
    }
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// The template's objects as clusterctl renders them for `cluster` in `namespace`.
fn render(file: &str, cluster: &str, namespace: &str) -> anyhow::Result<Vec<Value>> {
    let text = std::fs::read_to_string(Path::new(TEMPLATES).join(file))?;
    let output = clusterctl::render_with(
        &text,
        &[
            ("CLUSTER_NAME", cluster),
            ("NAMESPACE", namespace),
            ("KUBERNETES_VERSION", "v1.36.1"),
            // What clusterctl sets for --worker-machine-count 1.
            ("CONTROL_PLANE_MACHINE_COUNT", "1"),
            ("WORKER_MACHINE_COUNT", "1"),
        ],
    )?;
    let documents: Vec<Value> = serde_saphyr::from_multiple(&output)?;
    Ok(documents.into_iter().filter(|d| !d.is_null()).collect())
}

/// Applies `object` server-side with strict field validation; the API server's refusal as text.
async fn apply(client: &kube::Client, namespace: &str, object: &Value) -> Result<(), String> {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let api = dynamic_api(client, namespace, api_version, kind)
        .await
        .map_err(|e| format!("{kind}: {e}"))?;
    let typed: DynamicObject = serde_json::from_value(object.clone()).map_err(|e| e.to_string())?;
    let params = PatchParams::apply("capdkc-template-test").validation_strict();
    api.patch(name, &params, &Patch::Apply(&typed))
        .await
        .map(drop)
        .map_err(|e| format!("{kind}/{name}: {e}"))
}

#[tokio::test]
async fn the_cluster_templates_are_accepted_by_the_real_crds() -> anyhow::Result<()> {
    let test = "the_cluster_templates_are_accepted_by_the_real_crds";
    let Some(assets) = assets_for_test(test, Needs::ControlPlane)? else {
        return Ok(());
    };
    let module = match capi_module(&capi_version(assets.dir())) {
        Ok(module) => module,
        Err(reason) if is_ci() => anyhow::bail!("{reason}"),
        Err(reason) => {
            eprintln!("SKIPPED {test}: {reason}");
            return Ok(());
        }
    };
    let started = Instant::now();
    let control_plane = ControlPlane::start(&assets).await?;
    let client = control_plane.client().await?;
    let mut crds = checkpoint_05::crdgen::crds();
    for dir in CRD_DIRS {
        crds.extend(crds_from_files(&yaml_files(&module.join(dir)))?);
    }
    install_crds(&client, &crds).await?;
    let ready = started.elapsed();

    // The plain template in one namespace; the ClusterClass first and then the Cluster that uses
    // it in another, in clusterctl's order.
    let runs = [
        ("plain", vec!["cluster-template.yaml"]),
        (
            "topology",
            vec![
                "clusterclass-quick-start.yaml",
                "cluster-template-topology.yaml",
            ],
        ),
    ];
    let mut refused = Vec::new();
    let mut applied = 0;
    for (namespace, files) in &runs {
        create_namespace(&client, namespace).await?;
        for file in files {
            for object in render(file, "demo", namespace)? {
                match apply(&client, namespace, &object).await {
                    Ok(()) => applied += 1,
                    Err(message) => refused.push(format!("{file}: {message}")),
                }
            }
        }
    }
    assert!(refused.is_empty(), "refused:\n{}", refused.join("\n"));
    assert_eq!(applied, 7 + 6 + 1);

    // The same path refuses what it should: a misspelled field of Cluster API's and our CEL rule.
    let mut broken = render("cluster-template.yaml", "broken", "plain")?;
    let deployment = broken
        .iter_mut()
        .find(|o| o["kind"] == "MachineDeployment")
        .expect("a MachineDeployment");
    deployment["spec"]["template"]["spec"]["infrastructureref"] =
        deployment["spec"]["template"]["spec"]["infrastructureRef"].clone();
    let message = apply(&client, "plain", deployment)
        .await
        .expect_err("a misspelled field is refused");
    assert!(message.contains("infrastructureref"), "{message}");
    let machine_template = json!({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1",
        "kind": "DockerMachineTemplate",
        "metadata": {"name": "with-provider-id", "namespace": "plain"},
        "spec": {"template": {"spec": {"providerID": "docker:////demo"}}},
    });
    let message = apply(&client, "plain", &machine_template)
        .await
        .expect_err("providerID in a template is refused");
    assert!(message.contains("never in a template"), "{message}");

    eprintln!(
        "{test}: API server and {} CRDs ready in {:.1?}, {applied} objects applied in {:.1?}",
        crds.len(),
        ready,
        started.elapsed() - ready
    );
    Ok(())
}

/// The command line chapter 5 shows, run in the checkpoint's directory: its arguments, and the
/// line as the chapter breaks it.
const LIST_VARIABLES: [&str; 8] = [
    "generate",
    "cluster",
    "demo",
    "--list-variables",
    "--target-namespace",
    "default",
    "--from",
    "templates/cluster-template.yaml",
];
const LIST_VARIABLES_SHOWN: &str = "$ clusterctl generate cluster demo --list-variables \
                                    --target-namespace default \\\n  \
                                    --from templates/cluster-template.yaml\n";

/// `clusterctl generate cluster ... --list-variables` on the default template, from the
/// clusterctl that `scripts/test-assets.sh` builds: what chapter 5 shows (the capture
/// `clusterctl-list-variables`, compared exactly: nothing in it changes from run to run).
#[test]
fn clusterctl_lists_the_variables_of_the_default_template() -> anyhow::Result<()> {
    let test = "clusterctl_lists_the_variables_of_the_default_template";
    let Some(assets) = assets_for_test(test, Needs::ControlPlane)? else {
        return Ok(());
    };
    let clusterctl = assets.dir().join("clusterctl");
    if !clusterctl.is_file() {
        let reason = "no clusterctl in KUBEBUILDER_ASSETS: `bash scripts/test-assets.sh` builds it";
        anyhow::ensure!(!is_ci(), "{reason}");
        eprintln!("SKIPPED {test}: {reason}");
        return Ok(());
    }
    // clusterctl reads its configuration under $HOME and variables from the environment: none
    // of the user's may leak in.
    let home = tempfile::tempdir()?;
    let output = std::process::Command::new(&clusterctl)
        .args(LIST_VARIABLES)
        .current_dir(Path::new(TEMPLATES).join(".."))
        .env_clear()
        .env("HOME", home.path())
        .env("CLUSTERCTL_DISABLE_VERSIONCHECK", "true")
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "clusterctl {}: {}",
        LIST_VARIABLES.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout)?;
    assert!(stdout.contains("KUBERNETES_VERSION"), "{stdout}");
    captures::check_or_update(
        "clusterctl-list-variables",
        &format!("{LIST_VARIABLES_SHOWN}{stdout}"),
        &[],
    )?;
    Ok(())
}
