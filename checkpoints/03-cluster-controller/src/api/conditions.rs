//! The conditions our kinds report, and their reasons (Go providers keep these in
//! `condition_consts.go`). `Ready` and `Paused` are every provider's; the rest are ours.

use capdkc_capi::ReportsConditions;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::{DockerCluster, DockerClusterStatus};

pub use capdkc_capi::conditions::{PAUSED, READY};

/// `LoadBalancerAvailable`: the DockerCluster's load-balancer container runs and is configured.
pub const LOAD_BALANCER_AVAILABLE: &str = "LoadBalancerAvailable";

/// The reasons our conditions carry.
pub mod reasons {
    pub use capdkc_capi::conditions::reasons::*;
    pub const AVAILABLE: &str = "Available";
    pub const CONTAINER_NOT_RUNNING: &str = "ContainerNotRunning";
    pub const NAME_CONFLICT: &str = "NameConflict";
    pub const ENDPOINT_MISMATCH: &str = "EndpointMismatch";
    pub const CONFIGURATION_FAILED: &str = "ConfigurationFailed";
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
