//! Read-only views of the Cluster API core kinds (`cluster.x-k8s.io/v1beta2`) this provider reads.
//!
//! Each type declares only the fields we use; serde ignores the rest. That keeps us independent of
//! a generated crate for all of Cluster API, but it also means a view must never be written back:
//! an update built from it would drop every field it does not declare. We only GET, LIST and watch
//! them (the RBAC rules say so too).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use crate::api::GROUP;

/// Label core puts on every object of a cluster: the Cluster's name.
pub const CLUSTER_NAME_LABEL: &str = "cluster.x-k8s.io/cluster-name";
/// Annotation that pauses reconciliation of one object.
pub const PAUSED_ANNOTATION: &str = "cluster.x-k8s.io/paused";
/// Annotation of an InfraCluster whose infrastructure someone else manages.
pub const MANAGED_BY_ANNOTATION: &str = "cluster.x-k8s.io/managed-by";
/// Label of control-plane Machines (empty value).
pub const CONTROL_PLANE_LABEL: &str = "cluster.x-k8s.io/control-plane";

// ANCHOR: cluster
/// The parts of a Cluster the infrastructure provider reads.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "cluster.x-k8s.io",
    version = "v1beta2",
    kind = "Cluster",
    namespaced,
    status = "ClusterStatus",
    schema = "disabled"
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSpec {
    /// Stops every controller from touching the cluster's objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// The InfraCluster (our DockerCluster) that provides this cluster's infrastructure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrastructure_ref: Option<ContractVersionedObjectReference>,
}

/// What core reports about a Cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initialization: Option<ClusterInitialization>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// `status.initialization` of a Cluster: which providers have finished.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInitialization {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrastructure_provisioned: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane_initialized: Option<bool>,
}

/// A v1beta2 reference: group, kind and name; the version comes from the CRD's contract label.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct ContractVersionedObjectReference {
    pub api_group: String,
    pub kind: String,
    pub name: String,
}

impl ContractVersionedObjectReference {
    /// True when this reference points at one of our kinds.
    pub fn is_ours(&self, kind: &str) -> bool {
        self.api_group == GROUP && self.kind == kind
    }
}

impl Cluster {
    /// Paused through `spec.paused` or the paused annotation.
    pub fn is_paused(&self) -> bool {
        self.spec.paused == Some(true) || has_paused_annotation(&self.metadata)
    }

    /// `status.initialization.infrastructureProvisioned`: our DockerCluster is ready.
    pub fn is_infrastructure_provisioned(&self) -> bool {
        let initialization = self.status.as_ref().and_then(|s| s.initialization.as_ref());
        initialization.and_then(|i| i.infrastructure_provisioned) == Some(true)
    }

    /// The workload cluster's API server answers: core's `ControlPlaneInitialized` condition,
    /// which covers both a control-plane provider (it also sets
    /// `status.initialization.controlPlaneInitialized`) and stand-alone control-plane Machines.
    pub fn is_control_plane_initialized(&self) -> bool {
        let Some(status) = self.status.as_ref() else {
            return false;
        };
        status
            .initialization
            .as_ref()
            .and_then(|i| i.control_plane_initialized)
            == Some(true)
            || status
                .conditions
                .iter()
                .any(|c| c.type_ == CONTROL_PLANE_INITIALIZED && c.status == "True")
    }
}

/// Core's Cluster condition: the first control-plane node is up.
pub const CONTROL_PLANE_INITIALIZED: &str = "ControlPlaneInitialized";
// ANCHOR_END: cluster

// ANCHOR: machine
/// The parts of a Machine the infrastructure provider reads.
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
        self.metadata
            .labels
            .as_ref()
            .is_some_and(|labels| labels.contains_key(CONTROL_PLANE_LABEL))
    }
}
// ANCHOR_END: machine

/// True when the object carries the paused annotation (any value).
pub fn has_paused_annotation(meta: &kube::api::ObjectMeta) -> bool {
    meta.annotations
        .as_ref()
        .is_some_and(|annotations| annotations.contains_key(PAUSED_ANNOTATION))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Cluster as core v1.14 serves it, with fields the view does not declare.
    const CLUSTER: &str = r#"{
      "apiVersion": "cluster.x-k8s.io/v1beta2",
      "kind": "Cluster",
      "metadata": {"name": "demo", "namespace": "default", "uid": "c-1",
                   "annotations": {"cluster.x-k8s.io/paused": ""}},
      "spec": {
        "clusterNetwork": {"pods": {"cidrBlocks": ["192.168.0.0/16"]}},
        "controlPlaneRef": {"apiGroup": "controlplane.cluster.x-k8s.io", "kind": "KubeadmControlPlane", "name": "demo-cp"},
        "infrastructureRef": {"apiGroup": "infrastructure.cluster.x-k8s.io", "kind": "DockerCluster", "name": "demo"}
      },
      "status": {
        "initialization": {"infrastructureProvisioned": true},
        "conditions": [{"type": "Available", "status": "False", "reason": "NotAvailable",
                        "message": "", "lastTransitionTime": "2026-11-29T10:00:00Z"}],
        "phase": "Provisioning"
      }
    }"#;

    #[test]
    fn a_cluster_view_reads_what_it_declares_and_ignores_the_rest() {
        let cluster: Cluster = serde_json::from_str(CLUSTER).expect("a v1beta2 Cluster parses");
        let reference = cluster.spec.infrastructure_ref.clone().unwrap_or_default();
        assert!(reference.is_ours("DockerCluster"));
        assert!(!reference.is_ours("DockerMachine"));
        assert_eq!(reference.name, "demo");
        assert!(
            cluster.is_paused(),
            "the paused annotation pauses, whatever its value"
        );
        let initialization = cluster.status.and_then(|s| s.initialization);
        assert_eq!(
            initialization.and_then(|i| i.infrastructure_provisioned),
            Some(true)
        );
    }

    #[test]
    fn spec_paused_pauses_too() {
        let mut cluster: Cluster = serde_json::from_str(CLUSTER).expect("parses");
        cluster.metadata.annotations = None;
        assert!(!cluster.is_paused());
        cluster.spec.paused = Some(true);
        assert!(cluster.is_paused());
    }

    #[test]
    fn a_machine_view_reads_bootstrap_data_and_role() {
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
        assert_eq!(
            machine.spec.bootstrap.data_secret_name.as_deref(),
            Some("demo-cp-1")
        );
        assert_eq!(
            machine.status.and_then(|s| s.node_ref).map(|n| n.name),
            Some("demo-cp-1".to_owned())
        );
    }
}
