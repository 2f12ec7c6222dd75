//! A scripted API server for per-reconcile tests (layer 2). The test awaits each request the
//! reconciler should make, in order, checks it and answers it. A request that does not come
//! within a second, a request nobody expected, and a write to anything but the reconciled object
//! (or an event about anything else) fail the test.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use futures::FutureExt;
use http::{Method, Request, Response};
use kube::Resource;
use kube::client::Body;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;
use tower_test::mock::{Handle, SendResponse};

/// How long an expected request may take to arrive.
const EXPECTED_WITHIN: Duration = Duration::from_secs(1);
/// How long we listen for requests that should not come.
const SILENCE: Duration = Duration::from_millis(50);

/// Where the event recorder creates Events (`regarding` objects in the `default` namespace).
pub const EVENTS_PATH: &str = "/apis/events.k8s.io/v1/namespaces/default/events";
/// Server-side apply as our controllers do it: our field manager, taking fields over.
pub const SSA_QUERY: [(&str, &str); 2] = [
    ("fieldManager", capdkc_capi::patch::FIELD_MANAGER),
    ("force", "true"),
];

const APPLY_PATCH: &str = "application/apply-patch+yaml";
const JSON_PATCH: &str = "application/json-patch+json";

/// The object a reconcile is about: every write must target it, every event must regard it.
#[derive(Clone, Debug)]
pub struct Target {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Its URL path, without subresource.
    pub path: String,
}

impl Target {
    pub fn of<K: Resource<DynamicType = ()>>(object: &K) -> Self {
        let namespace = object
            .meta()
            .namespace
            .clone()
            .expect("a namespaced target");
        let name = object.meta().name.clone().expect("a named target");
        Self {
            api_version: K::api_version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            path: format!(
                "/apis/{}/namespaces/{namespace}/{}/{name}",
                K::api_version(&()),
                K::plural(&())
            ),
            namespace,
            name,
        }
    }
}

/// The test's end of the API connection.
pub struct ApiScript {
    handle: Handle<Request<Body>, Response<Body>>,
    target: Target,
    /// Every request received so far, as `METHOD path`.
    log: Vec<String>,
    /// Why a reconcile started with [`ApiScript::spawn`] panicked, if one did: a `todo!()` that
    /// is still there, say. A test waiting for a request says so instead of timing out.
    panicked: Arc<Mutex<Option<String>>>,
}

impl ApiScript {
    /// A client for the reconciler and the script that answers it.
    pub fn new(target: Target) -> (kube::Client, Self) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        (
            kube::Client::new(service, "default"),
            Self {
                handle,
                target,
                log: Vec::new(),
                panicked: Arc::default(),
            },
        )
    }

    /// Runs `future` (a reconcile) in the background while the script answers its requests;
    /// if it panics, the next expectation fails with the panic's message.
    pub fn spawn<T: Send + 'static>(
        &self,
        future: impl Future<Output = T> + Send + 'static,
    ) -> Running<T> {
        let panicked = self.panicked.clone();
        Running(tokio::spawn(async move {
            match AssertUnwindSafe(future).catch_unwind().await {
                Ok(value) => value,
                Err(payload) => {
                    let message = panic_message(payload.as_ref());
                    *panicked.lock().unwrap_or_else(|p| p.into_inner()) = Some(message.clone());
                    std::panic::resume_unwind(payload)
                }
            }
        }))
    }

    /// Fails the test if a spawned reconcile panicked, quoting its message.
    fn assert_no_panic(&self, expected: &str) {
        let panicked = self
            .panicked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(message) = panicked {
            panic!("expected {expected}, but the reconcile panicked: {message}");
        }
    }

    /// The next request, whatever it is. `expected` names it in the failure message.
    pub async fn next(&mut self, expected: &str) -> Received {
        let next = tokio::time::timeout(EXPECTED_WITHIN, self.handle.next_request()).await;
        let Ok(Some((request, respond))) = next else {
            self.assert_no_panic(expected);
            panic!(
                "expected {expected}, but the reconciler sent no request within {EXPECTED_WITHIN:?}"
            );
        };
        let received = Received::read(request, respond).await;
        self.log
            .push(format!("{} {}", received.method, received.path));
        self.assert_concerns_target(&received);
        received
    }

    /// Every request received so far, as `METHOD path`.
    pub fn requests(&self) -> &[String] {
        &self.log
    }

    /// How many of them were writes (anything but GET).
    pub fn writes(&self) -> usize {
        self.log
            .iter()
            .filter(|request| !request.starts_with("GET "))
            .count()
    }

    /// The next request, which must be `method path`.
    pub async fn expect(&mut self, method: Method, path: &str, expected: &str) -> Received {
        let received = self.next(expected).await;
        assert!(
            received.method == method && received.path == path,
            "expected {expected} ({method} {path}), got {received}"
        );
        received
    }

    /// A GET of `path`, answered with `object`.
    pub async fn get(&mut self, path: &str, object: &impl Serialize) {
        let what = format!("GET {path}");
        self.expect(Method::GET, path, &what).await.respond(
            200,
            &serde_json::to_value(object).expect("serializable object"),
        );
    }

    /// A GET of `path`, answered 404 Not Found.
    pub async fn get_not_found(&mut self, path: &str) {
        let what = format!("GET {path}");
        self.expect(Method::GET, path, &what)
            .await
            .respond_not_found();
    }

    /// A LIST of `path` filtered by `label_selector`, answered with `items`. A LIST is a read,
    /// so it may concern objects other than the target.
    pub async fn list<K>(&mut self, path: &str, label_selector: &str, items: &[K])
    where
        K: Resource<DynamicType = ()> + Serialize,
    {
        let what = format!("a LIST of {path} with labelSelector={label_selector}");
        let received = self.expect(Method::GET, path, &what).await;
        let selector = received
            .query
            .get("labelSelector")
            .map(|s| percent_decode(s));
        assert_eq!(
            selector.as_deref(),
            Some(label_selector),
            "the label selector of {received}"
        );
        let list = json!({
            "apiVersion": K::api_version(&()),
            "kind": format!("{}List", K::kind(&())),
            "metadata": { "resourceVersion": "42" },
            "items": items,
        });
        received.respond(200, &list);
    }

    /// A server-side apply of the target's status; answer it with [`Received::answer_patched`].
    pub async fn status_apply(&mut self) -> Received {
        let path = format!("{}/status", self.target.path);
        let received = self
            .expect(Method::PATCH, &path, "a server-side apply of the status")
            .await;
        self.assert_server_side_apply(&received);
        received
    }

    /// A server-side apply of the target itself (its spec).
    pub async fn spec_apply(&mut self) -> Received {
        let path = self.target.path.clone();
        let received = self
            .expect(Method::PATCH, &path, "a server-side apply of the spec")
            .await;
        self.assert_server_side_apply(&received);
        received
    }

    /// A JSON patch of the target (how finalizers are added and removed).
    pub async fn json_patch(&mut self) -> Received {
        let path = self.target.path.clone();
        let received = self
            .expect(Method::PATCH, &path, "a JSON patch of the finalizers")
            .await;
        assert_eq!(
            received.content_type.as_deref(),
            Some(JSON_PATCH),
            "{received}"
        );
        received
    }

    /// An Event of `type_` (`Normal`, `Warning`) and `reason`; answered as created. Returns it.
    pub async fn event(&mut self, type_: &str, reason: &str) -> Value {
        let what = format!("a {type_} event {reason}");
        let received = self.expect(Method::POST, EVENTS_PATH, &what).await;
        let event = received.body.clone();
        assert_eq!(
            (event["type"].as_str(), event["reason"].as_str()),
            (Some(type_), Some(reason)),
            "expected {what}, got {event}"
        );
        received.respond(201, &event);
        event
    }

    /// Waits for the reconcile to return; a request it sends meanwhile fails the test.
    pub async fn returned<T>(&mut self, running: Running<T>) -> T {
        let mut task = running.0;
        tokio::select! {
            biased;
            result = &mut task => match result {
                Ok(value) => value,
                Err(error) => panic!("the reconcile panicked: {}", join_panic(error)),
            },
            request = self.handle.next_request() => match request {
                Some((request, respond)) => {
                    let described = Received::read(request, respond).await;
                    panic!("the reconcile should have returned, but it sent another request: {described}");
                }
                // The reconcile ended and dropped its client: its result is there.
                None => match task.await {
                    Ok(value) => value,
                    Err(error) => panic!("the reconcile panicked: {}", join_panic(error)),
                },
            },
            () = tokio::time::sleep(EXPECTED_WITHIN) => {
                panic!("the reconcile did not return within {EXPECTED_WITHIN:?} of its last expected request");
            }
        }
    }

    /// Answers the Events the reconcile publishes until it returns, then makes sure nothing else
    /// arrives: its result and the Events. For a test that checks some of the Events a reconcile
    /// publishes, not all of them in order.
    pub async fn events_then_done<T>(&mut self, running: Running<T>) -> (T, Vec<Value>) {
        let mut events = Vec::new();
        let result = self
            .answer_until_done(running, |received| {
                assert!(
                    received.method == Method::POST && received.path == EVENTS_PATH,
                    "expected only Events until the reconcile returns, got {received}"
                );
                let event = received.body.clone();
                received.respond(201, &event);
                events.push(event);
            })
            .await;
        (result, events)
    }

    /// Hands every request to `answer` until the reconcile returns, then makes sure nothing else
    /// arrives. For a test that lets some requests come or not (a later step's, say) and checks
    /// what it cares about afterwards; `answer` must respond to each request it is given.
    pub async fn answer_until_done<T>(
        &mut self,
        running: Running<T>,
        mut answer: impl FnMut(Received),
    ) -> T {
        let mut task = running.0;
        loop {
            tokio::select! {
                biased;
                result = &mut task => {
                    let value = result.unwrap_or_else(|error| {
                        panic!("the reconcile panicked: {}", join_panic(error))
                    });
                    self.assert_silent().await;
                    return value;
                }
                request = self.handle.next_request() => {
                    let Some((request, respond)) = request else {
                        return task.await.unwrap_or_else(|error| {
                            panic!("the reconcile panicked: {}", join_panic(error))
                        });
                    };
                    let received = Received::read(request, respond).await;
                    self.log.push(format!("{} {}", received.method, received.path));
                    self.assert_concerns_target(&received);
                    answer(received);
                }
                () = tokio::time::sleep(EXPECTED_WITHIN) => {
                    panic!("the reconcile did not return within {EXPECTED_WITHIN:?} of its last request");
                }
            }
        }
    }

    /// Waits for the reconcile to return, then makes sure nothing else arrives.
    pub async fn done<T>(&mut self, running: Running<T>) -> T {
        let result = self.returned(running).await;
        self.assert_silent().await;
        result
    }

    /// Fails if any request arrives within 50 ms.
    pub async fn assert_silent(&mut self) {
        if let Ok(Some((request, respond))) =
            tokio::time::timeout(SILENCE, self.handle.next_request()).await
        {
            let received = Received::read(request, respond).await;
            panic!("no more requests were expected, got {received}");
        }
    }

    fn assert_server_side_apply(&self, received: &Received) {
        let expected: BTreeMap<String, String> = SSA_QUERY
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        assert_eq!(received.query, expected, "query of {received}");
        assert_eq!(
            received.content_type.as_deref(),
            Some(APPLY_PATCH),
            "{received}"
        );
        assert_eq!(
            (&received.body["apiVersion"], &received.body["kind"]),
            (&json!(self.target.api_version), &json!(self.target.kind)),
            "an apply names the kind it applies: {received}"
        );
    }

    /// The rule upstream broke once (a machine condition written onto the cluster): a reconcile
    /// writes only to the object it reconciles, and its events are about that object.
    fn assert_concerns_target(&self, received: &Received) {
        if received.method == Method::GET {
            return;
        }
        let target = &self.target;
        if received.path == EVENTS_PATH || received.path.starts_with(&format!("{EVENTS_PATH}/")) {
            let regarding = &received.body["regarding"];
            assert_eq!(
                (
                    &regarding["apiVersion"],
                    &regarding["kind"],
                    &regarding["namespace"],
                    &regarding["name"]
                ),
                (
                    &json!(target.api_version),
                    &json!(target.kind),
                    &json!(target.namespace),
                    &json!(target.name)
                ),
                "an event about another object than the reconciled one: {received}"
            );
            return;
        }
        let status = format!("{}/status", target.path);
        assert!(
            received.path == target.path || received.path == status,
            "a write to another object than the reconciled {}: {received}",
            target.path
        );
    }
}

/// One request as the reconciler sent it, waiting for its answer.
pub struct Received {
    pub method: Method,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub content_type: Option<String>,
    /// The body as JSON (`null` when empty).
    pub body: Value,
    respond: SendResponse<Response<Body>>,
}

impl Received {
    async fn read(request: Request<Body>, respond: SendResponse<Response<Body>>) -> Self {
        let (parts, body) = request.into_parts();
        let query = parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (key.to_owned(), value.to_owned())
            })
            .collect();
        let content_type = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let bytes = body.collect_bytes().await.expect("a readable request body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON request body")
        };
        Self {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query,
            content_type,
            body,
            respond,
        }
    }

    /// Answers with `status` and `body`.
    pub fn respond(self, status: u16, body: &Value) {
        let bytes = serde_json::to_vec(body).expect("a serializable answer");
        let response = Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Body::from(bytes))
            .expect("a valid response");
        self.respond.send_response(response);
    }

    /// Answers 404 Not Found, as the API server does once the object is gone.
    pub fn respond_not_found(self) {
        let message = format!("{} not found", self.path);
        self.respond(
            404,
            &json!({
                "apiVersion": "v1", "kind": "Status", "status": "Failure",
                "reason": "NotFound", "code": 404, "message": message,
            }),
        );
    }

    /// Answers a patch of `current` with the object as the API server would leave it, and
    /// returns that object: a JSON patch is applied (its `test` operations must hold); an apply
    /// is merged in, which is what server-side apply does for the fields a single manager owns.
    pub fn answer_patched<K: Serialize + DeserializeOwned>(self, current: &K) -> K {
        let mut object = serde_json::to_value(current).expect("a serializable object");
        match self.content_type.as_deref() {
            Some(JSON_PATCH) => {
                // The API server's JSON patch treats a missing field as null in a `test`.
                if object["metadata"].get("finalizers").is_none() {
                    object["metadata"]["finalizers"] = Value::Null;
                }
                let patch: json_patch::Patch =
                    serde_json::from_value(self.body.clone()).expect("a JSON patch");
                if let Err(error) = json_patch::patch(&mut object, &patch) {
                    panic!("the API server would refuse this patch ({error}): {self}");
                }
            }
            Some(APPLY_PATCH) => json_patch::merge(&mut object, &self.body),
            other => panic!("not a patch ({other:?}): {self}"),
        }
        let patched = serde_json::from_value(object.clone()).expect("the patched object parses");
        self.respond(200, &object);
        patched
    }
}

impl fmt::Display for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if !self.query.is_empty() {
            let query: Vec<String> = self
                .query
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            write!(f, "?{}", query.join("&"))?;
        }
        if !self.body.is_null() {
            write!(f, " {}", self.body)?;
        }
        Ok(())
    }
}

/// A reconcile running in the background while the script answers its requests.
pub struct Running<T>(JoinHandle<T>);

pub fn spawn<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> Running<T> {
    Running(tokio::spawn(future))
}

/// The panic message of a task that panicked.
fn join_panic(error: tokio::task::JoinError) -> String {
    match error.try_into_panic() {
        Ok(payload) => panic_message(payload.as_ref()),
        Err(error) => error.to_string(),
    }
}

/// The text a panic carried (`todo!("step 3.2: ...")` carries "not yet implemented: ...").
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Decodes a query value as `application/x-www-form-urlencoded` (how kube encodes selectors).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], escaped) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (b'+', _) => {
                decoded.push(b' ');
                i += 1;
            }
            (other, _) => {
                decoded.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}
