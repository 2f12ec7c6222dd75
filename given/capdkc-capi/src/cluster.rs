//! A read-only view of core's Cluster (`cluster.x-k8s.io/v1beta2`).
//!
//! A view declares only the fields a provider reads; serde ignores the rest. It must therefore
//! never be written back: an update built from it would drop every field it does not declare.
//! Providers only watch and read Clusters (their RBAC rules say so too).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use serde::{Deserialize, Serialize};

use crate::contract::{CONTROL_PLANE_INITIALIZED, INFRASTRUCTURE_GROUP};
use crate::predicates::has_paused_annotation;

// ANCHOR: cluster_view
/// The parts of a Cluster an infrastructure provider reads.
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
    /// The InfraCluster (a DockerCluster, say) that provides this cluster's infrastructure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrastructure_ref: Option<ContractVersionedObjectReference>,
}
// ANCHOR_END: cluster_view

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
    /// True when this reference points at an infrastructure kind named `kind`.
    pub fn is_infrastructure(&self, kind: &str) -> bool {
        self.api_group == INFRASTRUCTURE_GROUP && self.kind == kind
    }
}

impl Cluster {
    /// Paused through `spec.paused` or the paused annotation.
    pub fn is_paused(&self) -> bool {
        self.spec.paused == Some(true) || has_paused_annotation(&self.metadata)
    }

    /// `status.initialization.infrastructureProvisioned`: the InfraCluster is ready.
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
        let initialized = status.initialization.as_ref();
        initialized.and_then(|i| i.control_plane_initialized) == Some(true)
            || status
                .conditions
                .iter()
                .any(|c| c.type_ == CONTROL_PLANE_INITIALIZED && c.status == "True")
    }

    /// The name of the InfraCluster of kind `kind` this Cluster points at, if any.
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
        assert_eq!(cluster.infrastructure_name("DockerCluster"), Some("demo"));
        assert_eq!(cluster.infrastructure_name("DockerMachine"), None);
        assert!(
            cluster.is_paused(),
            "the paused annotation pauses, whatever its value"
        );
        assert!(cluster.is_infrastructure_provisioned());
        assert!(!cluster.is_control_plane_initialized());
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
    fn the_control_plane_is_initialized_by_the_field_or_the_condition() {
        let mut cluster: Cluster = serde_json::from_str(CLUSTER).expect("parses");
        let status = cluster.status.as_mut().expect("a status");
        status.conditions[0].type_ = CONTROL_PLANE_INITIALIZED.into();
        status.conditions[0].status = "True".into();
        assert!(cluster.is_control_plane_initialized(), "by the condition");
        let status = cluster.status.as_mut().expect("a status");
        status.conditions.clear();
        status.initialization = Some(ClusterInitialization {
            control_plane_initialized: Some(true),
            ..ClusterInitialization::default()
        });
        assert!(cluster.is_control_plane_initialized(), "by the field");
    }
}
