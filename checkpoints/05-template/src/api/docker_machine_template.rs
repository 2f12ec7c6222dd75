use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::DockerMachineSpec;

// ANCHOR: docker_machine_template
/// A DockerMachine to stamp out: KubeadmControlPlane and MachineDeployments clone
/// `spec.template` into a new DockerMachine for every Machine they create.
// EXERCISE: 5.1 Give DockerMachineTemplate an Image column, the labels and annotations to pass on, and a rule refusing a providerID.
// Each `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "infrastructure.cluster.x-k8s.io",
    version = "v1alpha1",
    kind = "DockerMachineTemplate",
    namespaced,
    category = "cluster-api",
    label("cluster.x-k8s.io/v1beta2", "v1alpha1"),
    printcolumn(
        name = "Image",
        type_ = "string",
        json_path = ".spec.template.spec.customImage",
        description = "Node image, when not the default for the Machine's version"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "DockerMachineTemplate is the Schema for the dockermachinetemplates API."
)]
pub struct DockerMachineTemplateSpec {
    pub template: DockerMachineTemplateResource,
}

/// What every DockerMachine cloned from the template starts as.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[x_kube(validation = Rule::new("!has(self.spec.providerID)")
    .message("providerID is set by the controller on each DockerMachine, never in a template"))]
pub struct DockerMachineTemplateResource {
    /// Labels and annotations the cloned DockerMachines get.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMetaTemplate>,
    pub spec: DockerMachineSpec,
}
// EXERCISE_START_STATE
// #[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
// #[kube(
//     group = "infrastructure.cluster.x-k8s.io",
//     version = "v1alpha1",
//     kind = "DockerMachineTemplate",
//     namespaced,
//     category = "cluster-api",
//     label("cluster.x-k8s.io/v1beta2", "v1alpha1"),
//     printcolumn(
//         name = "Age",
//         type_ = "date",
//         json_path = ".metadata.creationTimestamp"
//     ),
//     doc = "DockerMachineTemplate is the Schema for the dockermachinetemplates API."
// )]
// pub struct DockerMachineTemplateSpec {
//     pub template: DockerMachineTemplateResource,
// }
//
// /// What every DockerMachine cloned from the template starts as.
// #[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
// pub struct DockerMachineTemplateResource {
//     pub spec: DockerMachineSpec,
// }
// EXERCISE_END

/// The metadata a template passes on: labels and annotations only.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMetaTemplate {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 64))]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 64))]
    pub annotations: BTreeMap<String, String>,
}
// ANCHOR_END: docker_machine_template
