use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// ANCHOR: docker_cluster
/// The desired state of a DockerCluster: the Docker infrastructure (a load balancer in front of
/// the control plane) that one Cluster API Cluster runs on.
// Each `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
// EXERCISE: 1.1 Declare the DockerCluster kind: group, version, scope, status, category, contract label.
#[kube(
    group = "infrastructure.cluster.x-k8s.io",
    version = "v1alpha1",
    kind = "DockerCluster",
    namespaced,
    status = "DockerClusterStatus",
    category = "cluster-api",
    label("cluster.x-k8s.io/v1beta2", "v1alpha1")
)]
// EXERCISE_START_STATE
// #[kube(group = "example.com", version = "v1", kind = "DockerCluster", namespaced)]
// EXERCISE_END
#[kube(
    printcolumn(
        name = "Cluster",
        type_ = "string",
        json_path = ".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']",
        description = "Cluster to which this DockerCluster belongs"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "DockerCluster is the Schema for the dockerclusters API."
)]
#[serde(rename_all = "camelCase")]
pub struct DockerClusterSpec {
    /// An example field, as the scaffold generates it. The cluster controller chapter replaces
    /// it with the fields of the Cluster API contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub foo: Option<String>,
}

/// The observed state of a DockerCluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DockerClusterStatus {
    /// The current state of the DockerCluster, one entry per condition type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
// ANCHOR_END: docker_cluster
