//! Shared by the end-to-end tests of the checkpoints' managers on real parts: the shipped RBAC
//! under a ServiceAccount, polling, and what Docker itself recorded.

#![allow(dead_code)] // each test binary uses a part

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use apiserver_harness::ShippedRbac;
use apiserver_harness::{ControlPlane, install_shipped_rbac};
use k8s_openapi::api::rbac::v1::PolicyRule;
use kube::Client;
use kube::api::{DynamicObject, PostParams};
use serde_json::Value;

/// Generous: two cores are shared by the API servers, etcd, core, our manager and Docker.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// A client impersonating the shipped ServiceAccount, bound to the shipped ClusterRole; the
/// user name the audit log shows; and the rules granted.
pub async fn shipped_service_account(
    control_plane: &ControlPlane,
    admin: &Client,
    rbac: ShippedRbac<'_>,
) -> anyhow::Result<(Client, String, Vec<PolicyRule>)> {
    let installed = install_shipped_rbac(admin, rbac).await?;
    let client = control_plane
        .client_as_service_account(&installed.namespace, &installed.name)
        .await?;
    Ok((client, installed.user, installed.rules))
}

/// The manager needed every rule its shipped ClusterRole grants, and no more: nothing it asked
/// for was refused, and no granted rule went unused.
pub fn assert_rbac_is_exact(
    events: &[apiserver_harness::AuditEvent],
    user: &str,
    rules: &[PolicyRule],
) {
    let audit = apiserver_harness::requests_of(events, user);
    let refused = apiserver_harness::refusals(&audit);
    assert!(refused.is_empty(), "refused by RBAC: {refused:#?}");
    let unused = apiserver_harness::unused_permissions(rules, &audit);
    assert!(
        unused.is_empty(),
        "granted but never used (remove them from config/rbac/role.yaml): {unused:#?}"
    );
}

/// Polls `done` every 200 ms until it holds, for up to [`TIMEOUT`].
pub async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + TIMEOUT;
    while !done().await {
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// A v1beta2 condition of an object read without types.
pub fn condition<'a>(object: &'a DynamicObject, type_: &str) -> Option<&'a Value> {
    object
        .data
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// What Docker recorded for `container` between two times (`docker events`), one line per
/// event in `format` (a Go template, e.g. `{{.Action}}`): Docker's own account of what was done.
pub fn docker_events(container: &str, since: u64, until: u64, format: &str) -> Vec<String> {
    let output = docker_cli(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &until.to_string(),
        "--filter",
        &format!("container={container}"),
        "--format",
        format,
    ]);
    output.lines().map(str::to_owned).collect()
}

pub fn docker_cli(args: &[&str]) -> String {
    let output = Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("docker {args:?}: {e}"));
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Sends every case of an admission table (`tests/cases/*_admission.yaml` of a checkpoint) to
/// the API server as a `kind` object in `namespace` and returns the cases it judged otherwise
/// than the table says. Transition cases (`old`) create the object first, then replace it.
pub async fn judge_admission_table(
    client: &Client,
    namespace: &str,
    kind: &str,
    table: &str,
) -> anyhow::Result<Vec<String>> {
    let cases: Vec<Value> = serde_saphyr::from_str(table)?;
    anyhow::ensure!(cases.len() >= 10, "the {kind} table has its cases");
    let api = apiserver_harness::dynamic_api(
        client,
        namespace,
        "infrastructure.cluster.x-k8s.io/v1alpha1",
        kind,
    )
    .await?;
    let mut failures = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let title = case["case"].as_str().unwrap_or_default().to_owned();
        let name = format!("{}-case-{index}", kind.to_lowercase());
        let object = |spec: &Value| -> anyhow::Result<DynamicObject> {
            Ok(serde_json::from_value(serde_json::json!({
                "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1",
                "kind": kind,
                "metadata": { "name": name },
                "spec": spec,
            }))?)
        };
        let verdict = match case.get("old") {
            Some(old) => {
                let created = api.create(&PostParams::default(), &object(old)?).await?;
                let mut updated = object(&case["spec"])?;
                updated.metadata.resource_version = created.metadata.resource_version;
                api.replace(&name, &PostParams::default(), &updated).await
            }
            None => {
                api.create(&PostParams::default(), &object(&case["spec"])?)
                    .await
            }
        };
        match (verdict, case["rejected"].as_str()) {
            (Ok(_), None) => {}
            (Err(kube::Error::Api(status)), Some(expected)) if status.code == 422 => {
                if !status.message.contains(expected) {
                    failures.push(format!(
                        "{kind}, {title}: rejected, but the message lacks {expected:?}: {}",
                        status.message
                    ));
                }
            }
            (Ok(_), Some(expected)) => failures.push(format!(
                "{kind}, {title}: accepted, expected a rejection ({expected})"
            )),
            (Err(error), _) => failures.push(format!("{kind}, {title}: {error}")),
        }
    }
    Ok(failures)
}

/// A Cluster whose infrastructure is the DockerCluster of the same name.
pub fn cluster_yaml(name: &str) -> String {
    format!(
        "apiVersion: cluster.x-k8s.io/v1beta2
kind: Cluster
metadata:
  name: {name}
spec:
  infrastructureRef:
    apiGroup: infrastructure.cluster.x-k8s.io
    kind: DockerCluster
    name: {name}
"
    )
}

/// A DockerCluster on the locally built load-balancer image (the seed workshop's
/// LoadBalancerImage step in use: nothing can be pulled in CI).
pub fn docker_cluster_yaml(name: &str) -> String {
    let image = capdkc_docker::test_support::LB_TEST_IMAGE;
    format!(
        "apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1
kind: DockerCluster
metadata:
  name: {name}
spec:
  loadBalancer:
    image: {image}
"
    )
}
