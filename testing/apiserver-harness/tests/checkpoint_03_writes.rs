//! How checkpoint 03 writes, checked against kube-apiserver rather than assumed: server-side
//! apply under our field manager (conflicts with another manager, `force` wins, an identical
//! apply changes nothing) and finalizer patches guarded by a JSON Patch `test` (a stale view can
//! never drop another controller's finalizer).

use apiserver_harness::{ControlPlane, Needs, assets_for_test, create_namespace, install_crds};
use capdkc_capi::patch as status;
use capdkc_manager::finalizer;
use checkpoint_03::api::{DockerCluster, DockerClusterSpec, DockerClusterStatus, Initialization};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

const NAMESPACE: &str = "writes";

async fn api_with_a_docker_cluster(
    test: &str,
) -> anyhow::Result<Option<(ControlPlane, Api<DockerCluster>, DockerCluster)>> {
    let Some(assets) = assets_for_test(test, Needs::ControlPlane)? else {
        return Ok(None);
    };
    let control_plane = ControlPlane::start(&assets).await?;
    let client = control_plane.client().await?;
    install_crds(&client, &checkpoint_03::crdgen::crds()).await?;
    create_namespace(&client, NAMESPACE).await?;
    let api = Api::<DockerCluster>::namespaced(client, NAMESPACE);
    let created = api
        .create(
            &PostParams::default(),
            &DockerCluster::new("writes", DockerClusterSpec::default()),
        )
        .await?;
    Ok(Some((control_plane, api, created)))
}

fn provisioned(value: bool) -> DockerClusterStatus {
    DockerClusterStatus {
        initialization: Some(Initialization {
            provisioned: Some(value),
        }),
        ..DockerClusterStatus::default()
    }
}

#[tokio::test]
async fn status_applies_conflict_with_other_managers_and_force_wins() -> anyhow::Result<()> {
    let test = "status_applies_conflict_with_other_managers_and_force_wins";
    let Some((_control_plane, api, created)) = api_with_a_docker_cluster(test).await? else {
        return Ok(());
    };

    let wrote = status::apply_status(&api, &created, None, &provisioned(true)).await?;
    assert!(wrote);
    let ours = api.get("writes").await?;
    let version = ours.resource_version();

    // The same content again, sent anyway: the API server itself turns it into a no-op.
    let body = json!({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1",
        "kind": "DockerCluster",
        "status": provisioned(true),
    });
    api.patch_status("writes", &status::apply_params(), &Patch::Apply(&body))
        .await?;
    assert_eq!(api.get("writes").await?.resource_version(), version);
    // And our writer does not even send it.
    let current = ours.status.clone();
    let wrote = status::apply_status(&api, &ours, current.as_ref(), &provisioned(true)).await?;
    assert!(!wrote, "an unchanged status is not written");

    // Another manager claiming our field conflicts, naming us; with force it takes the field.
    let other = json!({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1",
        "kind": "DockerCluster",
        "status": provisioned(false),
    });
    let conflict = api
        .patch_status(
            "writes",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(&other),
        )
        .await
        .expect_err("a second manager conflicts on a field we own");
    match &conflict {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 409, "{status:?}");
            assert!(status.message.contains(status::FIELD_MANAGER), "{status:?}");
        }
        error => panic!("expected a 409 conflict, got {error}"),
    }
    api.patch_status(
        "writes",
        &PatchParams::apply("someone-else").force(),
        &Patch::Apply(&other),
    )
    .await?;
    let taken = api.get("writes").await?;
    assert_eq!(taken.status, Some(provisioned(false)));

    // Our controller applies with force too: the next reconcile takes its field back.
    let wrote =
        status::apply_status(&api, &taken, taken.status.as_ref(), &provisioned(true)).await?;
    assert!(wrote);
    assert_eq!(api.get("writes").await?.status, Some(provisioned(true)));
    Ok(())
}

#[tokio::test]
async fn finalizer_patches_never_drop_another_controllers_finalizer() -> anyhow::Result<()> {
    let test = "finalizer_patches_never_drop_another_controllers_finalizer";
    let Some((_control_plane, api, created)) = api_with_a_docker_cluster(test).await? else {
        return Ok(());
    };
    let ours = "dockercluster.infrastructure.cluster.x-k8s.io";
    let theirs = "example.com/backup";

    let with_ours = finalizer::add(&api, &created, ours).await?;
    assert_eq!(with_ours.finalizers(), [ours]);
    // Someone else adds theirs after we read the object.
    api.patch(
        "writes",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "finalizers": [ours, theirs] } })),
    )
    .await?;
    // Adding from the stale view fails the `test` instead of overwriting the list...
    let mut stale = with_ours.clone();
    stale.metadata.finalizers = None;
    let refused = finalizer::add(&api, &stale, ours).await;
    assert!(
        matches!(&refused, Err(kube::Error::Api(status)) if status.code == 422),
        "{refused:?}"
    );
    // ...and removing ours from a fresh view leaves theirs alone.
    let fresh = api.get("writes").await?;
    let removed = finalizer::remove(&api, &fresh, ours).await?;
    assert_eq!(removed.finalizers(), [theirs]);
    Ok(())
}
