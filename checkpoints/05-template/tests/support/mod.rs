//! Shared by the tests: a scripted API server, a tiny HTTP client and an RBAC rule matcher;
//! for the per-reconcile tests, a request-by-request API script, fixture builders for both
//! controllers and a stand-in for a workload cluster's API server.

#![allow(dead_code)] // each test file uses a different part

pub mod clusterctl;
pub mod fixtures;
pub mod machines;
pub mod scripted;
pub mod workload;

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response};
use kube::client::Body;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

/// An API server for the manager's watches: list requests wait until `release` is notified,
/// then answer with `clusters` (DockerCluster JSON objects) for DockerClusters and an empty list
/// for the other kinds; watch requests stay open without events.
pub fn scripted_api_server(clusters: Vec<serde_json::Value>) -> (kube::Client, Arc<Notify>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let release = Arc::new(Notify::new());
    let released = release.clone();
    tokio::spawn(async move {
        let mut open_watches = Vec::new();
        let gate = Arc::new(tokio::sync::OnceCell::<()>::new());
        while let Some((request, respond)) = handle.next_request().await {
            let query = request.uri().query().unwrap_or_default().to_string();
            if query.contains("watch=true") {
                open_watches.push(respond);
                continue;
            }
            let path = request.uri().path().to_string();
            let (kind, items) = if path.ends_with("/dockerclusters") {
                ("DockerClusterList", clusters.clone())
            } else if path.ends_with("/dockermachines") {
                ("DockerMachineList", Vec::new())
            } else {
                ("ClusterList", Vec::new())
            };
            let (gate, released) = (gate.clone(), released.clone());
            tokio::spawn(async move {
                gate.get_or_init(|| async { released.notified().await })
                    .await;
                let list = serde_json::json!({
                    "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1",
                    "kind": kind,
                    "metadata": { "resourceVersion": "1" },
                    "items": items,
                });
                let body = Body::from(serde_json::to_vec(&list).expect("json"));
                respond.send_response(
                    Response::builder()
                        .status(200)
                        .body(body)
                        .expect("response"),
                );
            });
        }
    });
    (kube::Client::new(service, "default"), release)
}

/// A DockerCluster as the API server would return it.
pub fn docker_cluster(name: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1alpha1",
        "kind": "DockerCluster",
        "metadata": { "name": name, "namespace": "default", "uid": format!("uid-{name}"), "resourceVersion": "1" },
        "spec": {},
    })
}

/// A Docker engine for tests that never reach Docker: a recording fake.
pub fn fake_docker() -> checkpoint_05::controllers::Docker<capdkc_docker::fake::FakeRuntime> {
    checkpoint_05::controllers::Docker::new(capdkc_docker::fake::FakeRuntime::new(), "capdkc-test")
}

/// GETs `path` over plain HTTP/1.1 and returns the status code and body.
pub async fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("sends");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("reads");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Polls `condition` every 10 ms for up to 5 s.
pub async fn eventually(what: &str, mut condition: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        if condition().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Whether a Role or ClusterRole (as JSON) grants `verb` on `group`/`resource`.
pub fn role_allows(role: &serde_json::Value, group: &str, resource: &str, verb: &str) -> bool {
    let lists = |rule: &serde_json::Value, key: &str, wanted: &str| {
        rule[key]
            .as_array()
            .is_some_and(|items| items.iter().any(|item| item == wanted))
    };
    role["rules"].as_array().into_iter().flatten().any(|rule| {
        lists(rule, "apiGroups", group)
            && lists(rule, "resources", resource)
            && lists(rule, "verbs", verb)
    })
}
