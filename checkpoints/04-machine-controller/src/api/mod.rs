//! `infrastructure.cluster.x-k8s.io/v1alpha1`: the kinds this provider serves, and the
//! conditions they report.

pub mod conditions;
mod docker_cluster;
mod docker_machine;

pub use docker_cluster::{
    ApiEndpoint, DockerCluster, DockerClusterSpec, DockerClusterStatus, DockerLoadBalancer,
    FailureDomain, IMAGE_REFERENCE, Initialization,
};
pub use docker_machine::{
    DEFAULT_BOOTSTRAP_TIMEOUT, DockerMachine, DockerMachineSpec, DockerMachineStatus,
    MachineAddress, Mount, parse_duration,
};
