use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{DockerClusterSpec, ObjectMetaTemplate};

// ANCHOR: docker_cluster_template
/// A DockerCluster to stamp out: a ClusterClass names this template, and the topology controller
/// clones `spec.template` into the DockerCluster of every Cluster built from the class.
// EXERCISE: 5.2 Give DockerClusterTemplate the labels and annotations to pass on, and a rule refusing a controlPlaneEndpoint.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "infrastructure.cluster.x-k8s.io",
    version = "v1alpha1",
    kind = "DockerClusterTemplate",
    namespaced,
    category = "cluster-api",
    label("cluster.x-k8s.io/v1beta2", "v1alpha1"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "DockerClusterTemplate is the Schema for the dockerclustertemplates API."
)]
pub struct DockerClusterTemplateSpec {
    pub template: DockerClusterTemplateResource,
}

/// What every DockerCluster cloned from the template starts as.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[x_kube(validation = Rule::new("!has(self.spec.controlPlaneEndpoint)")
    .message("controlPlaneEndpoint is set per cluster (by the controller), never in a template"))]
pub struct DockerClusterTemplateResource {
    /// Labels and annotations the cloned DockerClusters get.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMetaTemplate>,
    pub spec: DockerClusterSpec,
}
// EXERCISE_START_STATE
// #[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
// #[kube(
//     group = "infrastructure.cluster.x-k8s.io",
//     version = "v1alpha1",
//     kind = "DockerClusterTemplate",
//     namespaced,
//     category = "cluster-api",
//     label("cluster.x-k8s.io/v1beta2", "v1alpha1"),
//     printcolumn(
//         name = "Age",
//         type_ = "date",
//         json_path = ".metadata.creationTimestamp"
//     ),
//     doc = "DockerClusterTemplate is the Schema for the dockerclustertemplates API."
// )]
// pub struct DockerClusterTemplateSpec {
//     pub template: DockerClusterTemplateResource,
// }
//
// /// What every DockerCluster cloned from the template starts as.
// #[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
// pub struct DockerClusterTemplateResource {
//     pub spec: DockerClusterSpec,
// }
// EXERCISE_END
// ANCHOR_END: docker_cluster_template
