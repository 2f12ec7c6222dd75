//! The CRDs this provider serves, generated from its Rust types (`kube::CustomResourceExt`): the
//! counterpart of kubebuilder's `make manifests`. The manager's `crds` subcommand prints them;
//! `crds --output-dir config/crd/bases` writes them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use crate::api::{DockerCluster, DockerMachine};

// ANCHOR: crds
/// Every CRD this checkpoint serves, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    // EXERCISE: 1.3 List the CRD of each kind, DockerCluster first.
    vec![DockerCluster::crd(), DockerMachine::crd()]
    // EXERCISE_END
}
// ANCHOR_END: crds
