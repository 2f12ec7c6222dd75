use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

// ANCHOR: docker_machine
/// The desired state of a DockerMachine: the Docker container that one Cluster API Machine
/// runs in.
// Each `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
// EXERCISE: 1.2 Declare the DockerMachine kind the same way.
#[kube(
    group = "infrastructure.cluster.x-k8s.io",
    version = "v1alpha1",
    kind = "DockerMachine",
    namespaced,
    status = "DockerMachineStatus",
    category = "cluster-api",
    label("cluster.x-k8s.io/v1beta2", "v1alpha1")
)]
// EXERCISE_START_STATE
// #[kube(group = "example.com", version = "v1", kind = "DockerMachine", namespaced)]
// EXERCISE_END
#[kube(
    printcolumn(
        name = "Cluster",
        type_ = "string",
        json_path = ".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']",
        description = "Cluster to which this DockerMachine belongs"
    ),
    printcolumn(
        name = "Machine",
        type_ = "string",
        json_path = ".metadata.ownerReferences[?(@.kind==\"Machine\")].name",
        description = "Machine that owns this DockerMachine"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "DockerMachine is the Schema for the dockermachines API."
)]
#[serde(rename_all = "camelCase")]
pub struct DockerMachineSpec {
    /// An example field, as the scaffold generates it. The machine controller chapter replaces
    /// it with the fields of the Cluster API contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub foo: Option<String>,
}

/// The observed state of a DockerMachine.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DockerMachineStatus {
    /// The current state of the DockerMachine, one entry per condition type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}
// ANCHOR_END: docker_machine
