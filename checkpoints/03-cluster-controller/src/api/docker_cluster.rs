use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

// ANCHOR: docker_cluster
/// The desired state of a DockerCluster: the Docker infrastructure (a load balancer in front of
/// the control plane) that one Cluster API Cluster runs on.
// Each `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
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
        name = "Provisioned",
        type_ = "boolean",
        json_path = ".status.initialization.provisioned",
        description = "The load balancer runs and the endpoint is set"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Summary of the other conditions"
    ),
    printcolumn(
        name = "Endpoint",
        type_ = "string",
        json_path = ".spec.controlPlaneEndpoint.host",
        description = "Where the control plane is reached (the load balancer)"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    cel,
    doc = "DockerCluster is the Schema for the dockerclusters API."
)]
// ANCHOR: spec
#[x_kube(validation = Rule::new(
    "!has(oldSelf.controlPlaneEndpoint) || has(self.controlPlaneEndpoint)"
).message("controlPlaneEndpoint cannot be removed once set"))]
// EXERCISE: 3.1 The load balancer's image can be chosen once: a rule that it never changes.
#[x_kube(validation = Rule::new(
    "has(self.loadBalancer) == has(oldSelf.loadBalancer) && (!has(self.loadBalancer) || self.loadBalancer == oldSelf.loadBalancer)"
).message("loadBalancer cannot change: its container is created once, from this image"))]
// EXERCISE_START_STATE
// EXERCISE_END
#[serde(rename_all = "camelCase")]
pub struct DockerClusterSpec {
    /// Where the workload cluster's API server is reached. Leave it empty: the controller sets
    /// the host to the load balancer's address and the port to 6443. A value you set is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane_endpoint: Option<ApiEndpoint>,

    /// Failure domains machines can be spread over; copied to the status for Cluster API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub failure_domains: Vec<FailureDomain>,

    // EXERCISE: 3.1 Let the spec choose the load balancer's image (the seed's LoadBalancerImage).
    /// The load-balancer container in front of the control-plane nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<DockerLoadBalancer>,
    // EXERCISE_START_STATE
    // EXERCISE_END
}
// ANCHOR_END: spec

/// A host and port, as Cluster API's `APIEndpoint`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[x_kube(validation = Rule::new("!has(oldSelf.host) || (has(self.host) && self.host == oldSelf.host)")
    .message("host cannot change once set"))]
#[x_kube(validation = Rule::new("!has(oldSelf.port) || (has(self.port) && self.port == oldSelf.port)")
    .message("port cannot change once set"))]
pub struct ApiEndpoint {
    /// A DNS name or an IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub host: Option<String>,

    /// The TCP port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,
}

// ANCHOR: load_balancer
// EXERCISE: 3.1 The load balancer's settings: its image, a bounded image reference.
/// The load balancer's settings.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct DockerLoadBalancer {
    /// The HAProxy image, as a full reference (`registry/name:tag` and/or `@sha256:<digest>`).
    /// Default: kind's haproxy image, pinned by digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512), regex(pattern = IMAGE_REFERENCE))]
    pub image: Option<String>,
}
// EXERCISE_START_STATE
// EXERCISE_END

/// The shape of an image reference: lower-case path components separated by `/` (the first may
/// be a registry host with a port), then a tag, a digest or both.
pub const IMAGE_REFERENCE: &str = r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$";
// ANCHOR_END: load_balancer

/// A failure domain: a place machines can be put so that one fault does not take them all.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FailureDomain {
    /// Unique among the failure domains.
    #[schemars(length(min = 1, max = 256))]
    pub name: String,

    /// Whether control-plane machines may be placed here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<bool>,

    /// Free-form facts about the failure domain.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 32))]
    pub attributes: BTreeMap<String, String>,
}

/// The observed state of a DockerCluster.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DockerClusterStatus {
    /// What Cluster API waits for before it creates machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initialization: Option<Initialization>,

    /// The current state of the DockerCluster, one entry per condition type: `Ready`,
    /// `LoadBalancerAvailable` and `Paused`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The failure domains of the spec, where Cluster API reads them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub failure_domains: Vec<FailureDomain>,
}

/// The contract's `status.initialization`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Initialization {
    /// True once the infrastructure is ready for machines; Cluster API copies it to the
    /// Cluster's `status.initialization.infrastructureProvisioned`. Never set back to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned: Option<bool>,
}
// ANCHOR_END: docker_cluster
