//! Workload clusters: clients for them (Go's `ClusterCache`), and the Node initialization a cloud
//! provider's node controller would do (our providerID on the Node, the "uninitialized" taint
//! lifted); Docker has no cloud provider, so the infrastructure provider does it.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::{Node, Secret};
use kube::api::{Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config, ResourceExt};
use serde_json::{Value, json};

/// The taint kubelet sets when it expects a cloud provider to initialize the node.
pub const UNINITIALIZED_TAINT: &str = "node.cloudprovider.kubernetes.io/uninitialized";

/// Why the workload cluster could not be reached or updated.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("Secret {0} has no key `value`")]
    NoKubeconfig(String),
    #[error("the kubeconfig in Secret {0} is not usable")]
    BadKubeconfig(String, #[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("workload cluster API")]
    Api(#[from] kube::Error),
}

/// What happened to the Node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeOutcome {
    /// Not registered yet: look again later.
    NotRegistered,
    /// Patched now.
    Initialized,
    /// Nothing to do.
    UpToDate,
}

// ANCHOR: cluster_cache
/// Clients for workload clusters, kept per cluster while its kubeconfig Secret is unchanged, so
/// that a converged machine does not build one (and a TLS connection) on every reconcile.
#[derive(Default)]
pub struct ClusterCache {
    clients: Mutex<HashMap<(String, String), (String, Client)>>,
}

impl ClusterCache {
    /// A client for the workload cluster, from the `<cluster>-kubeconfig` Secret Cluster API
    /// writes (the control-plane provider does). `None` while there is no such Secret.
    pub async fn get(
        &self,
        management: &Client,
        namespace: &str,
        cluster: &str,
    ) -> Result<Option<Client>, WorkloadError> {
        let name = format!("{cluster}-kubeconfig");
        let Some(secret) = Api::<Secret>::namespaced(management.clone(), namespace)
            .get_opt(&name)
            .await?
        else {
            return Ok(None);
        };
        let key = (namespace.to_owned(), cluster.to_owned());
        let version = secret.resource_version().unwrap_or_default();
        if let Some((seen, client)) = self.lock().get(&key)
            && *seen == version
        {
            return Ok(Some(client.clone()));
        }
        let client = client_from_secret(&secret, &name).await?;
        self.lock().insert(key, (version, client.clone()));
        Ok(Some(client))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), (String, Client)>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner())
    }
}
// ANCHOR_END: cluster_cache

async fn client_from_secret(secret: &Secret, name: &str) -> Result<Client, WorkloadError> {
    let value = secret
        .data
        .as_ref()
        .and_then(|data| data.get("value"))
        .ok_or_else(|| WorkloadError::NoKubeconfig(name.to_owned()))?;
    let bad = |e: Box<dyn std::error::Error + Send + Sync>| {
        WorkloadError::BadKubeconfig(name.to_owned(), e)
    };
    let text = std::str::from_utf8(&value.0).map_err(|e| bad(Box::new(e)))?;
    let kubeconfig = Kubeconfig::from_yaml(text).map_err(|e| bad(Box::new(e)))?;
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| bad(Box::new(e)))?;
    // The workload API is on the Docker network, next to us: never through the manager's
    // HTTP(S) proxy, which the kubeconfig loader would otherwise pick up from the environment.
    config.proxy_url = None;
    Client::try_from(config).map_err(|e| bad(Box::new(e)))
}

// ANCHOR: initialize_node
/// Sets the Node's `spec.providerID` if empty and removes the uninitialized taint.
pub async fn initialize_node(
    workload: &Client,
    node_name: &str,
    provider_id: &str,
) -> Result<NodeOutcome, kube::Error> {
    let nodes = Api::<Node>::all(workload.clone());
    let Some(node) = nodes.get_opt(node_name).await? else {
        return Ok(NodeOutcome::NotRegistered);
    };
    let Some(patch) = node_patch(&node, provider_id) else {
        return Ok(NodeOutcome::UpToDate);
    };
    let patch: json_patch::Patch =
        serde_json::from_value(patch).map_err(kube::Error::SerdeError)?;
    nodes
        .patch(
            node_name,
            &PatchParams::default(),
            &Patch::Json::<()>(patch),
        )
        .await?;
    Ok(NodeOutcome::Initialized)
}

/// The JSON patch that initializes `node`, or `None` when it already is. It fails (and is
/// retried) if the Node changed since it was read.
pub fn node_patch(node: &Node, provider_id: &str) -> Option<Value> {
    let spec = node.spec.clone().unwrap_or_default();
    let mut operations = vec![json!({
        "op": "test", "path": "/metadata/resourceVersion", "value": node.resource_version(),
    })];
    if spec.provider_id.as_deref().unwrap_or_default().is_empty() {
        operations.push(json!({ "op": "add", "path": "/spec/providerID", "value": provider_id }));
    }
    let taints = spec.taints.unwrap_or_default();
    if taints.iter().any(|t| t.key == UNINITIALIZED_TAINT) {
        let kept: Vec<_> = taints
            .into_iter()
            .filter(|t| t.key != UNINITIALIZED_TAINT)
            .collect();
        operations.push(json!({ "op": "replace", "path": "/spec/taints", "value": kept }));
    }
    (operations.len() > 1).then_some(Value::Array(operations))
}
// ANCHOR_END: initialize_node

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeSpec, Taint};

    fn node(provider_id: Option<&str>, taints: &[&str]) -> Node {
        let mut node = Node {
            spec: Some(NodeSpec {
                provider_id: provider_id.map(str::to_owned),
                taints: Some(
                    taints
                        .iter()
                        .map(|key| Taint {
                            key: (*key).to_owned(),
                            effect: "NoSchedule".to_owned(),
                            ..Taint::default()
                        })
                        .collect(),
                ),
                ..NodeSpec::default()
            }),
            ..Node::default()
        };
        node.metadata.resource_version = Some("7".into());
        node
    }

    #[test]
    fn a_new_node_gets_the_provider_id_and_loses_only_the_uninitialized_taint() {
        let patch = node_patch(
            &node(
                None,
                &[UNINITIALIZED_TAINT, "node-role.kubernetes.io/control-plane"],
            ),
            "docker:////demo-cp-1",
        )
        .expect("a patch");
        assert_eq!(
            patch[0],
            json!({"op": "test", "path": "/metadata/resourceVersion", "value": "7"})
        );
        assert_eq!(
            patch[1],
            json!({"op": "add", "path": "/spec/providerID", "value": "docker:////demo-cp-1"})
        );
        assert_eq!(
            patch[2]["value"][0]["key"],
            "node-role.kubernetes.io/control-plane"
        );
        assert_eq!(patch[2]["value"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn an_initialized_node_needs_no_patch() {
        assert_eq!(
            node_patch(
                &node(Some("docker:////demo-cp-1"), &[]),
                "docker:////demo-cp-1"
            ),
            None
        );
        // A providerID someone else set is never overwritten.
        let patch = node_patch(
            &node(Some("other://x"), &[UNINITIALIZED_TAINT]),
            "docker:////a",
        );
        assert_eq!(patch.map(|p| p.as_array().map(Vec::len)), Some(Some(2)));
    }
}
