//! Checkpoint 05 on real parts: kube-apiserver and etcd, the Cluster API core manager, a second
//! API server standing in for the workload cluster, a real Docker engine, and our manager under
//! the ServiceAccount and ClusterRole it ships.
//!
//! A cluster with a control-plane and a worker Machine, each with bootstrap data we write: the
//! containers run, the bootstrap files are there with their modes, the load balancer routes to
//! the control-plane node, providerIDs and addresses are set and core copies them, the workload
//! Nodes get their providerID; converged objects cause no writes; a failing bootstrap leaks no
//! token; deleting a Machine mid-bootstrap and then the whole Cluster leaves no container.

mod common;

use checkpoint_05 as checkpoint;

const SERVICE_ACCOUNT: &str =
    include_str!("../../../checkpoints/05-template/config/rbac/service_account.yaml");
const ROLE: &str = include_str!("../../../checkpoints/05-template/config/rbac/role.yaml");
const ROLE_BINDING: &str =
    include_str!("../../../checkpoints/05-template/config/rbac/role_binding.yaml");
const DOCKER_CLUSTER_CASES: &str =
    include_str!("../../../checkpoints/05-template/tests/cases/docker_cluster_admission.yaml");
const DOCKER_MACHINE_CASES: &str =
    include_str!("../../../checkpoints/05-template/tests/cases/docker_machine_admission.yaml");
/// Chapter 4 shows `kubectl get dockermachines` from checkpoint 04's test, not this one.
const KUBECTL_GET_CAPTURE: Option<&str> = None;
include!("common/machines_e2e.rs");
