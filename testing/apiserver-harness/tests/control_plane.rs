//! The harness itself against the real binaries: it starts, RBAC is enforced for impersonated
//! ServiceAccounts, and nothing is left behind after drop.

use std::time::{Duration, Instant};

use apiserver_harness::{ControlPlane, Needs, assets_for_test, create_namespace};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::Api;
use kube::api::{ListParams, ObjectMeta, PostParams};

#[tokio::test]
async fn control_plane_starts_enforces_rbac_and_cleans_up() -> anyhow::Result<()> {
    let test = "control_plane_starts_enforces_rbac_and_cleans_up";
    let Some(assets) = assets_for_test(test, Needs::ControlPlane)? else {
        return Ok(());
    };
    let started = Instant::now();
    let control_plane = ControlPlane::start(&assets).await?;
    let client = control_plane.client().await?;
    let version = client.apiserver_version().await?;
    eprintln!(
        "kube-apiserver {} ready in {:?} at {}",
        version.git_version,
        started.elapsed(),
        control_plane.server_url()
    );

    // A ServiceAccount without bindings may not read ConfigMaps: RBAC is on.
    let namespace = "rbac";
    create_namespace(&client, namespace).await?;
    let as_sa = control_plane
        .client_as_service_account(namespace, "reader")
        .await?;
    let config_maps: Api<ConfigMap> = Api::namespaced(as_sa, namespace);
    match config_maps.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 403, "{status:?}");
            assert!(
                status.message.contains("system:serviceaccount:rbac:reader"),
                "{}",
                status.message
            );
        }
        other => panic!("expected 403 Forbidden, got {other:?}"),
    }

    // After a Role and RoleBinding, the same impersonated client may.
    grant_config_map_read(&client, namespace, "reader").await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match config_maps.list(&ListParams::default()).await {
            Ok(_) => break,
            // The RBAC authorizer reads bindings from an informer: allow it to catch up.
            Err(kube::Error::Api(status)) if status.code == 403 && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }

    let pids = control_plane.pids();
    let dir = control_plane.dir().to_path_buf();
    drop(client);
    drop(control_plane);
    for pid in pids {
        assert!(!is_running(pid), "process {pid} survived the drop");
    }
    assert!(!dir.exists(), "{} survived the drop", dir.display());
    Ok(())
}

async fn grant_config_map_read(
    client: &kube::Client,
    namespace: &str,
    service_account: &str,
) -> anyhow::Result<()> {
    let meta = || ObjectMeta {
        name: Some("config-map-reader".to_owned()),
        namespace: Some(namespace.to_owned()),
        ..ObjectMeta::default()
    };
    let role = Role {
        metadata: meta(),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["configmaps".to_owned()]),
            verbs: vec!["list".to_owned()],
            ..PolicyRule::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: meta(),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".to_owned(),
            kind: "Role".to_owned(),
            name: "config-map-reader".to_owned(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_owned(),
            name: service_account.to_owned(),
            namespace: Some(namespace.to_owned()),
            ..Subject::default()
        }]),
    };
    let post = PostParams::default();
    Api::<Role>::namespaced(client.clone(), namespace)
        .create(&post, &role)
        .await?;
    Api::<RoleBinding>::namespaced(client.clone(), namespace)
        .create(&post, &binding)
        .await?;
    Ok(())
}

/// Alive and not a zombie (a reaped child has no /proc entry at all).
fn is_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(|state| state != "Z"))
        })
        .unwrap_or(false)
}
