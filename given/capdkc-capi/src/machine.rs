//! A read-only view of core's Machine (`cluster.x-k8s.io/v1beta2`); like the Cluster view, never
//! written back.

use kube::{CustomResource, ResourceExt};
use serde::{Deserialize, Serialize};

use crate::cluster::ContractVersionedObjectReference;
use crate::contract::{CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL};

/// The parts of a Machine an infrastructure provider reads.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "cluster.x-k8s.io",
    version = "v1beta2",
    kind = "Machine",
    namespaced,
    status = "MachineStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct MachineSpec {
    pub cluster_name: String,
    /// The Kubernetes version the node runs (picks the node image).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default)]
    pub bootstrap: Bootstrap,
    /// The InfraMachine (a DockerMachine, say) this Machine runs on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrastructure_ref: Option<ContractVersionedObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_domain: Option<String>,
}

/// Where the bootstrap provider left the machine's bootstrap data.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Bootstrap {
    /// A Secret in the Machine's namespace, keys `value` and `format`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_secret_name: Option<String>,
}

/// What core reports about a Machine.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MachineStatus {
    /// The workload cluster's Node, once it has joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_ref: Option<MachineNodeReference>,
}

/// A Node of the workload cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineNodeReference {
    pub name: String,
}

impl Machine {
    /// Control-plane Machines carry the control-plane label.
    pub fn is_control_plane(&self) -> bool {
        self.labels().contains_key(CONTROL_PLANE_LABEL)
    }

    /// The Cluster this Machine belongs to: its cluster-name label, else `spec.clusterName`.
    pub fn cluster_name(&self) -> &str {
        self.labels()
            .get(CLUSTER_NAME_LABEL)
            .map_or(self.spec.cluster_name.as_str(), String::as_str)
    }

    /// The name of the workload cluster's Node, once core has seen it join.
    pub fn node_name(&self) -> Option<&str> {
        let node = self.status.as_ref()?.node_ref.as_ref()?;
        Some(node.name.as_str())
    }

    /// The name of the InfraMachine of kind `kind` this Machine points at, if any.
    pub fn infrastructure_name(&self, kind: &str) -> Option<&str> {
        let reference = self.spec.infrastructure_ref.as_ref()?;
        reference
            .is_infrastructure(kind)
            .then_some(reference.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_machine_view_reads_bootstrap_data_role_cluster_and_node() {
        let machine: Machine = serde_json::from_value(serde_json::json!({
            "apiVersion": "cluster.x-k8s.io/v1beta2",
            "kind": "Machine",
            "metadata": {"name": "demo-cp-1", "labels": {"cluster.x-k8s.io/control-plane": ""}},
            "spec": {"clusterName": "demo", "version": "v1.36.1",
                     "bootstrap": {"dataSecretName": "demo-cp-1", "configRef": {"apiGroup": "bootstrap.cluster.x-k8s.io", "kind": "KubeadmConfig", "name": "x"}},
                     "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DockerMachine", "name": "demo-cp-1"}},
            "status": {"nodeRef": {"name": "demo-cp-1"}, "phase": "Running"}
        }))
        .expect("a v1beta2 Machine parses");
        assert!(machine.is_control_plane());
        assert_eq!(machine.cluster_name(), "demo");
        assert_eq!(
            machine.spec.bootstrap.data_secret_name.as_deref(),
            Some("demo-cp-1")
        );
        assert_eq!(machine.node_name(), Some("demo-cp-1"));
        assert_eq!(
            machine.infrastructure_name("DockerMachine"),
            Some("demo-cp-1")
        );
        assert_eq!(machine.infrastructure_name("DockerCluster"), None);
    }
}
