//! The scaffold's controllers: each watches its kind, and its reconcile logs and waits (no API
//! call, no requeue).

mod support;

use support::checkpoint;

use std::sync::Arc;
use std::time::Duration;

use capdkc_test_support::watch_server::WatchServer;
use checkpoint::api::{DockerCluster, DockerClusterSpec, DockerMachine, DockerMachineSpec};
use checkpoint::controllers::{Context, docker_cluster, docker_machine};
use http::{Request, Response};
use kube::client::Body;
use kube::runtime::controller::Action;

// ANCHOR: scaffold_makes_no_calls
/// A client whose every request would be visible on the returned handle.
fn recording_client() -> (
    Arc<Context>,
    tower_test::mock::Handle<Request<Body>, Response<Body>>,
) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (
        Arc::new(Context {
            client: kube::Client::new(service, "default"),
        }),
        handle,
    )
}

async fn assert_no_request(handle: &mut tower_test::mock::Handle<Request<Body>, Response<Body>>) {
    let next = tokio::time::timeout(Duration::from_millis(50), handle.next_request()).await;
    assert!(
        next.is_err() || next.as_ref().is_ok_and(Option::is_none),
        "the reconciler called the API"
    );
}

#[tokio::test]
async fn step_1_4_reconciling_a_docker_cluster_waits_for_the_next_change() {
    let (ctx, mut handle) = recording_client();
    let cluster = Arc::new(DockerCluster::new("demo", DockerClusterSpec::default()));
    // Nobody answers the mock, so a reconcile that called the API would never finish.
    let action = tokio::time::timeout(
        Duration::from_secs(1),
        docker_cluster::reconcile(cluster, ctx),
    )
    .await
    .expect("reconcile finished without waiting on the API")
    .expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert_no_request(&mut handle).await;
}

// ANCHOR_END: scaffold_makes_no_calls

#[tokio::test]
async fn step_1_4_reconciling_a_docker_machine_waits_for_the_next_change() {
    let (ctx, mut handle) = recording_client();
    let machine = Arc::new(DockerMachine::new(
        "demo-md-0",
        DockerMachineSpec::default(),
    ));
    // Nobody answers the mock, so a reconcile that called the API would never finish.
    let action = tokio::time::timeout(
        Duration::from_secs(1),
        docker_machine::reconcile(machine, ctx),
    )
    .await
    .expect("reconcile finished without waiting on the API")
    .expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert_no_request(&mut handle).await;
}

/// Whether `requests` holds a list and a watch of `plural`, our group's.
fn lists_and_watches(requests: &[String], plural: &str) -> bool {
    let path = format!("GET /apis/infrastructure.cluster.x-k8s.io/v1alpha1/{plural}");
    let listed = requests
        .iter()
        .any(|r| r.starts_with(&path) && !r.contains("watch=true"));
    let watched = requests
        .iter()
        .any(|r| r.starts_with(&path) && r.contains("watch=true"));
    listed && watched
}

#[tokio::test]
async fn step_1_5_each_controller_lists_and_watches_its_kind_in_every_namespace() {
    let server = WatchServer::default();
    let requests = server.requests();
    let (client, release_lists) = server.start();
    release_lists.notify_one();
    let ctx = Arc::new(Context { client });
    let mut controllers = vec![
        tokio::spawn(docker_cluster::run(ctx.clone())),
        tokio::spawn(docker_machine::run(ctx)),
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !(lists_and_watches(&requests.all(), "dockerclusters")
        && lists_and_watches(&requests.all(), "dockermachines"))
    {
        if let Some(stopped) = controllers.iter().position(|c| c.is_finished()) {
            let why = match controllers.swap_remove(stopped).await {
                Err(error) if error.is_panic() => panic_text(error.into_panic()),
                outcome => format!("{outcome:?}"),
            };
            panic!("step 1.5: a controller stopped instead of watching: {why}");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "step 1.5: expected a list and a watch of dockerclusters and of dockermachines in \
             every namespace (/apis/infrastructure.cluster.x-k8s.io/v1alpha1/...); got {:#?}",
            requests.all()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for controller in controllers {
        controller.abort();
    }
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}
