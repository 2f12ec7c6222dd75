//! An API server for a whole manager (its watches, not its writes): list requests wait until the
//! test releases them, then answer with the objects the test gave for that resource (an empty
//! list otherwise); watch requests stay open without events; resources named missing answer
//! 404, as the API server does for a CRD that is not installed.

use std::collections::BTreeMap;
use std::sync::Arc;

use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use tokio::sync::{Notify, OnceCell};

/// What the server answers, by resource plural (`dockerclusters`, `clusters`, ...).
#[derive(Default)]
pub struct WatchServer {
    lists: BTreeMap<String, Vec<Value>>,
    missing: Vec<String>,
    requests: Requests,
}

/// Every request the server received, as `GET /path?query`.
#[derive(Clone, Default)]
pub struct Requests(Arc<std::sync::Mutex<Vec<String>>>);

impl Requests {
    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn push(&self, request: String) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(request);
    }
}

impl WatchServer {
    /// Lists of `plural` answer with `objects`.
    pub fn with_list(mut self, plural: &str, objects: Vec<Value>) -> Self {
        self.lists.insert(plural.to_owned(), objects);
        self
    }

    /// Requests for `plural` answer 404 Not Found, as for a CRD that is not installed.
    pub fn without(mut self, plural: &str) -> Self {
        self.missing.push(plural.to_owned());
        self
    }

    /// The requests the server will receive, as they come.
    pub fn requests(&self) -> Requests {
        self.requests.clone()
    }

    /// A client for the manager, and the notification that releases the lists.
    pub fn start(self) -> (kube::Client, Arc<Notify>) {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let release = Arc::new(Notify::new());
        let released = release.clone();
        tokio::spawn(async move {
            let mut open_watches = Vec::new();
            let gate = Arc::new(OnceCell::<()>::new());
            while let Some((request, respond)) = handle.next_request().await {
                let path = request.uri().path().to_owned();
                let query = request
                    .uri()
                    .query()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default();
                self.requests
                    .push(format!("{} {path}{query}", request.method()));
                let plural = path.rsplit('/').next().unwrap_or_default().to_owned();
                if self.missing.contains(&plural) {
                    let response = Response::builder()
                        .status(404)
                        .body(Body::from(b"404 page not found\n".to_vec()));
                    respond.send_response(response.expect("a response"));
                    continue;
                }
                if request
                    .uri()
                    .query()
                    .unwrap_or_default()
                    .contains("watch=true")
                {
                    open_watches.push(respond);
                    continue;
                }
                let items = self.lists.get(&plural).cloned().unwrap_or_default();
                let (gate, released) = (gate.clone(), released.clone());
                tokio::spawn(async move {
                    gate.get_or_init(|| async { released.notified().await })
                        .await;
                    let list = json!({
                        "apiVersion": "v1",
                        "kind": "List",
                        "metadata": { "resourceVersion": "1" },
                        "items": items,
                    });
                    let body = Body::from(serde_json::to_vec(&list).expect("json"));
                    let response = Response::builder().status(200).body(body);
                    respond.send_response(response.expect("a response"));
                });
            }
        });
        (kube::Client::new(service, "default"), release)
    }
}

/// An object of `kind` as the API server would list it: `name` in namespace `default`, with a
/// UID and a resource version, and an empty spec.
pub fn listed_object(api_version: &str, kind: &str, name: &str) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {
            "name": name, "namespace": "default", "uid": format!("uid-{name}"),
            "resourceVersion": "1",
        },
        "spec": {},
    })
}
