//! The conditions our kinds report, and their reasons (Go providers keep these in
//! `condition_consts.go`). `Ready` and `Paused` are every provider's; the rest are ours.

use capdkc_capi::ReportsConditions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::{DockerCluster, DockerClusterStatus, DockerMachine, DockerMachineStatus};

pub use capdkc_capi::conditions::{PAUSED, READY};

/// `LoadBalancerAvailable`: the DockerCluster's load-balancer container runs and is configured.
pub const LOAD_BALANCER_AVAILABLE: &str = "LoadBalancerAvailable";
/// `ContainerProvisioned`: the DockerMachine's node container runs.
pub const CONTAINER_PROVISIONED: &str = "ContainerProvisioned";
/// `BootstrapSucceeded`: the Machine's bootstrap data ran in the node container.
pub const BOOTSTRAP_SUCCEEDED: &str = "BootstrapSucceeded";

/// The reasons our conditions carry.
pub mod reasons {
    pub use capdkc_capi::conditions::reasons::*;
    pub const AVAILABLE: &str = "Available";
    pub const CONTAINER_NOT_RUNNING: &str = "ContainerNotRunning";
    pub const NAME_CONFLICT: &str = "NameConflict";
    pub const ENDPOINT_MISMATCH: &str = "EndpointMismatch";
    pub const CONFIGURATION_FAILED: &str = "ConfigurationFailed";
    // ContainerProvisioned
    pub const CREATING: &str = "Creating";
    pub const PROVISIONED: &str = "Provisioned";
    pub const WAITING_FOR_CLUSTER_INFRASTRUCTURE: &str = "WaitingForClusterInfrastructure";
    pub const WAITING_FOR_CONTROL_PLANE_INITIALIZED: &str = "WaitingForControlPlaneInitialized";
    pub const WAITING_FOR_BOOTSTRAP_DATA: &str = "WaitingForBootstrapData";
    pub const CONTAINER_NOT_FOUND: &str = "ContainerNotFound";
    pub const HOST_MOUNT_NOT_ALLOWED: &str = "HostMountNotAllowed";
    // BootstrapSucceeded
    pub const SUCCEEDED: &str = "Succeeded";
    pub const WAITING_FOR_CONTAINER: &str = "WaitingForContainer";
    pub const RUNNING: &str = "Running";
    pub const BOOTSTRAP_DATA_UNAVAILABLE: &str = "BootstrapDataUnavailable";
    pub const BOOTSTRAP_FAILED: &str = "BootstrapFailed";
}

// ANCHOR: reports_conditions
impl ReportsConditions for DockerCluster {
    type Status = DockerClusterStatus;
    const READY_FROM: &'static [&'static str] = &[LOAD_BALANCER_AVAILABLE];
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn conditions(status: &mut Self::Status) -> &mut Vec<Condition> {
        &mut status.conditions
    }
}
// ANCHOR_END: reports_conditions

impl ReportsConditions for DockerMachine {
    type Status = DockerMachineStatus;
    const READY_FROM: &'static [&'static str] = &[CONTAINER_PROVISIONED, BOOTSTRAP_SUCCEEDED];
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn conditions(status: &mut Self::Status) -> &mut Vec<Condition> {
        &mut status.conditions
    }
}
