//! The request-by-request verifier itself: it refuses what a reconcile must never do.

use capdkc_capi::Cluster;
use capdkc_test_support::scripted::{ApiScript, Target, spawn};
use kube::Api;
use serde_json::json;

const PATH: &str = "/apis/cluster.x-k8s.io/v1beta2/namespaces/default/clusters/demo";

fn demo() -> Cluster {
    let mut cluster = Cluster::new("demo", Default::default());
    cluster.metadata.namespace = Some("default".into());
    cluster
}

#[tokio::test]
async fn an_expected_read_is_answered_and_counted() {
    let (client, mut api) = ApiScript::new(Target::of(&demo()));
    let read = spawn(async move {
        Api::<Cluster>::namespaced(client, "default")
            .get("demo")
            .await
    });
    api.get(PATH, &demo()).await;
    let cluster = api.done(read).await.expect("answered");
    assert_eq!(cluster.metadata.name.as_deref(), Some("demo"));
    assert_eq!(api.requests(), [format!("GET {PATH}")]);
    assert_eq!(api.writes(), 0);
}

#[tokio::test]
#[should_panic(expected = "a write to another object than the reconciled")]
async fn a_write_to_another_object_fails_the_test() {
    let mut other = demo();
    other.metadata.name = Some("other".into());
    let (client, mut api) = ApiScript::new(Target::of(&other));
    let _write = spawn(async move {
        let patch = kube::api::Patch::Merge(json!({ "status": {} }));
        Api::<Cluster>::namespaced(client, "default")
            .patch_status("demo", &Default::default(), &patch)
            .await
    });
    api.next("nothing in particular").await;
}

#[tokio::test]
#[should_panic(expected = "the reconcile should have returned, but it sent another request")]
async fn an_extra_request_fails_the_test() {
    let (client, mut api) = ApiScript::new(Target::of(&demo()));
    let twice = spawn(async move {
        let clusters = Api::<Cluster>::namespaced(client, "default");
        let _ = clusters.get("demo").await;
        let _ = clusters.get("demo").await;
    });
    api.get(PATH, &demo()).await;
    api.returned(twice).await;
}

#[tokio::test]
#[should_panic(
    expected = "expected a server-side apply of the status, but the reconciler sent no request"
)]
async fn a_missing_request_fails_the_test() {
    let (_client, mut api) = ApiScript::new(Target::of(&demo()));
    api.status_apply().await;
}
