//! A stand-in for a workload cluster's API server, enough for the machine controller's Node
//! phase: GET and JSON-patch Nodes. The controller builds its workload client from the
//! kubeconfig in the `<cluster>-kubeconfig` Secret, so this one listens on a loopback port that
//! [`WorkloadApi::kubeconfig`] names, and records every request it gets.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::core::v1::{Node, NodeSpec, Taint};
use kube::api::ObjectMeta;
use serde_json::{Value, json};

/// One request the workload API server received.
#[derive(Clone, Debug)]
pub struct WorkloadRequest {
    pub method: Method,
    pub path: String,
    pub content_type: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct WorkloadState {
    nodes: BTreeMap<String, Value>,
    requests: Vec<WorkloadRequest>,
}

/// The running stand-in; clones share its state.
#[derive(Clone)]
pub struct WorkloadApi {
    /// `http://127.0.0.1:<port>`.
    pub server: String,
    state: Arc<Mutex<WorkloadState>>,
}

impl WorkloadApi {
    /// Listens on a free loopback port until the test's runtime ends.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let address = listener.local_addr().expect("a local address");
        let state = Arc::new(Mutex::new(WorkloadState::default()));
        let router = Router::new().fallback(serve).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            server: format!("http://{address}"),
            state,
        }
    }

    fn lock(&self) -> MutexGuard<'_, WorkloadState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A kubeconfig for this server, as the `value` of the `<cluster>-kubeconfig` Secret.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: demo\n  cluster:\n    server: {}\n\
             contexts:\n- name: demo-admin@demo\n  context:\n    cluster: demo\n    user: demo-admin\n\
             current-context: demo-admin@demo\nusers:\n- name: demo-admin\n  user: {{}}\n",
            self.server
        )
    }

    /// Registers `node`, as kubelet does when it joins.
    pub fn add_node(&self, node: &Node) {
        let name = node.metadata.name.clone().expect("a named node");
        let value = serde_json::to_value(node).expect("a serializable node");
        self.lock().nodes.insert(name, value);
    }

    /// The Node as the server holds it now.
    pub fn node(&self, name: &str) -> Option<Node> {
        let value = self.lock().nodes.get(name).cloned()?;
        Some(serde_json::from_value(value).expect("a Node"))
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<WorkloadRequest> {
        self.lock().requests.clone()
    }

    /// Every request so far, as `METHOD path`.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }
}

/// A Node as kubelet registers it in a cluster that expects a cloud provider: no providerID
/// yet, the "uninitialized" taint, and the control-plane taint kubeadm adds.
pub fn registered_node(name: &str) -> Node {
    let taint = |key: &str| Taint {
        key: key.into(),
        effect: "NoSchedule".into(),
        ..Taint::default()
    };
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            resource_version: Some("11".into()),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec {
            taints: Some(vec![
                taint("node.cloudprovider.kubernetes.io/uninitialized"),
                taint("node-role.kubernetes.io/control-plane"),
            ]),
            ..NodeSpec::default()
        }),
        ..Node::default()
    }
}

/// A Node some earlier reconcile initialized: our providerID, no "uninitialized" taint.
pub fn initialized_node(name: &str) -> Node {
    let mut node = registered_node(name);
    let spec = node.spec.get_or_insert_default();
    spec.provider_id = Some(format!("docker:////{name}"));
    spec.taints = None;
    node
}

const NODES: &str = "/api/v1/nodes/";

async fn serve(State(state): State<Arc<Mutex<WorkloadState>>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let received = WorkloadRequest {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    };
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    state.requests.push(received.clone());
    let Some(name) = received.path.strip_prefix(NODES).map(str::to_owned) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            "only Nodes are served here",
        );
    };
    let Some(node) = state.nodes.get_mut(&name) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("nodes {name:?} not found"),
        );
    };
    match received.method {
        Method::GET => json_response(StatusCode::OK, node),
        Method::PATCH => {
            let Ok(patch) = serde_json::from_value::<json_patch::Patch>(received.body) else {
                return status(StatusCode::BAD_REQUEST, "BadRequest", "not a JSON patch");
            };
            let mut patched = node.clone();
            if let Err(error) = json_patch::patch(&mut patched, &patch) {
                return status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid",
                    &error.to_string(),
                );
            }
            *node = patched;
            json_response(StatusCode::OK, node)
        }
        _ => status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "GET and PATCH only",
        ),
    }
}

fn json_response(code: StatusCode, body: &Value) -> Response {
    let body = Body::from(serde_json::to_vec(body).expect("JSON"));
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "apiVersion": "v1", "kind": "Status", "status": "Failure",
        "reason": reason, "code": code.as_u16(), "message": message,
    });
    json_response(code, &body)
}
