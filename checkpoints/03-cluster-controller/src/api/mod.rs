//! `infrastructure.cluster.x-k8s.io/v1alpha1`: the kinds this provider serves, and the
//! conditions they report.

pub mod conditions;
mod docker_cluster;
mod docker_machine;

pub use docker_cluster::*;
pub use docker_machine::*;
