//! `infrastructure.cluster.x-k8s.io/v1alpha1`: the kinds this provider serves.

mod docker_cluster;
mod docker_cluster_template;
mod docker_machine;
mod docker_machine_template;

pub use docker_cluster::{
    ApiEndpoint, DockerCluster, DockerClusterSpec, DockerClusterStatus, DockerLoadBalancer,
    FailureDomain, IMAGE_REFERENCE, Initialization,
};
pub use docker_cluster_template::{
    DockerClusterTemplate, DockerClusterTemplateResource, DockerClusterTemplateSpec,
};
pub use docker_machine::{
    DEFAULT_BOOTSTRAP_TIMEOUT, DockerMachine, DockerMachineSpec, DockerMachineStatus,
    MachineAddress, Mount, parse_duration,
};
pub use docker_machine_template::{
    DockerMachineTemplate, DockerMachineTemplateResource, DockerMachineTemplateSpec,
    ObjectMetaTemplate,
};

// ANCHOR: contract_label
/// The API group of every kind a Cluster API infrastructure provider serves.
pub const GROUP: &str = "infrastructure.cluster.x-k8s.io";

/// Cluster API finds the version of our kinds that implements its v1beta2 contract through this
/// label on each CRD. Its value lists our served versions, separated by underscores.
pub const CONTRACT_LABEL: (&str, &str) = ("cluster.x-k8s.io/v1beta2", "v1alpha1");
// ANCHOR_END: contract_label
