//! Finalizers through JSON patches guarded by `test`, against a scripted API server.

use capdkc_capi::Cluster;
use capdkc_manager::finalizer;
use capdkc_test_support::scripted::{ApiScript, Target, spawn};
use kube::{Api, ResourceExt};

const OURS: &str = "dockercluster.infrastructure.cluster.x-k8s.io";

fn holding(finalizers: &[&str]) -> Cluster {
    let mut cluster = Cluster::new("demo", Default::default());
    cluster.metadata.namespace = Some("default".into());
    cluster.metadata.finalizers = Some(finalizers.iter().map(|f| f.to_string()).collect());
    cluster
}

#[tokio::test]
async fn removing_tests_the_position_first_so_another_finalizer_is_never_lost() {
    let object = holding(&["someone.else/keep", OURS]);
    let (client, mut api) = ApiScript::new(Target::of(&object));
    let sent = object.clone();
    let remove = spawn(async move {
        let api = Api::<Cluster>::namespaced(client, "default");
        finalizer::remove(&api, &sent, OURS).await
    });
    let patch = api.json_patch().await;
    assert_eq!(
        patch.body,
        serde_json::json!([
            { "op": "test", "path": "/metadata/finalizers/1", "value": OURS },
            { "op": "remove", "path": "/metadata/finalizers/1" },
        ])
    );
    patch.answer_patched(&object);
    let left = api.done(remove).await.expect("removed");
    assert_eq!(left.finalizers(), ["someone.else/keep"]);
}

#[tokio::test]
async fn removing_from_an_object_already_deleted_is_done() {
    // Two reconciles of one deletion, the second from a store a moment behind: the object
    // went away between them.
    let object = holding(&[OURS]);
    let (client, mut api) = ApiScript::new(Target::of(&object));
    let sent = object.clone();
    let remove = spawn(async move {
        let api = Api::<Cluster>::namespaced(client, "default");
        finalizer::remove(&api, &sent, OURS).await
    });
    api.json_patch().await.respond_not_found();
    api.done(remove).await.expect("gone is what we wanted");
}
