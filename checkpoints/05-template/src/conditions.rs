//! Conditions as Cluster API v1beta2 expects them (metav1.Condition), without any I/O.
//!
//! Two rules keep a controller quiet: `lastTransitionTime` changes only when the status does
//! (otherwise every reconcile writes, and the write wakes the controller again), and the list
//! keeps its order (so an unchanged status compares equal and is not written).

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// `Ready`: the summary of the object's other conditions.
pub const READY: &str = "Ready";
/// `Paused`: the Cluster or this object is paused.
pub const PAUSED: &str = "Paused";
/// `LoadBalancerAvailable`: the DockerCluster's load-balancer container runs and is configured.
pub const LOAD_BALANCER_AVAILABLE: &str = "LoadBalancerAvailable";
/// `ContainerProvisioned`: the DockerMachine's node container runs.
pub const CONTAINER_PROVISIONED: &str = "ContainerProvisioned";
/// `BootstrapSucceeded`: the Machine's bootstrap data ran in the node container.
pub const BOOTSTRAP_SUCCEEDED: &str = "BootstrapSucceeded";

/// The reasons this provider uses (provider-spec, conditions and reasons).
pub mod reasons {
    pub const READY: &str = "Ready";
    pub const NOT_READY: &str = "NotReady";
    pub const DELETING: &str = "Deleting";
    pub const PAUSED: &str = "Paused";
    pub const NOT_PAUSED: &str = "NotPaused";
    pub const AVAILABLE: &str = "Available";
    pub const CREATING: &str = "Creating";
    pub const CONTAINER_NOT_RUNNING: &str = "ContainerNotRunning";
    pub const NAME_CONFLICT: &str = "NameConflict";
    pub const ENDPOINT_MISMATCH: &str = "EndpointMismatch";
    // ContainerProvisioned
    pub const PROVISIONED: &str = "Provisioned";
    pub const WAITING_FOR_CLUSTER_INFRASTRUCTURE: &str = "WaitingForClusterInfrastructure";
    pub const WAITING_FOR_CONTROL_PLANE_INITIALIZED: &str = "WaitingForControlPlaneInitialized";
    pub const WAITING_FOR_BOOTSTRAP_DATA: &str = "WaitingForBootstrapData";
    pub const CONTAINER_NOT_FOUND: &str = "ContainerNotFound";
    // BootstrapSucceeded
    pub const SUCCEEDED: &str = "Succeeded";
    pub const WAITING_FOR_CONTAINER: &str = "WaitingForContainer";
    pub const RUNNING: &str = "Running";
    pub const BOOTSTRAP_DATA_UNAVAILABLE: &str = "BootstrapDataUnavailable";
    pub const BOOTSTRAP_FAILED: &str = "BootstrapFailed";
}

/// Where "now" comes from; tests pass a fixed clock.
pub type Clock = Arc<dyn Fn() -> Time + Send + Sync>;

/// The system clock, to whole seconds (what the API server stores).
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let now = k8s_openapi::jiff::Timestamp::now();
        Time(k8s_openapi::jiff::Timestamp::from_second(now.as_second()).unwrap_or(now))
    })
}

// ANCHOR: observation
/// What a reconcile observed about one condition type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observation {
    pub type_: &'static str,
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Observation {
    pub fn truth(type_: &'static str, reason: &'static str) -> Self {
        Self {
            type_,
            status: true,
            reason,
            message: String::new(),
        }
    }

    pub fn falsehood(
        type_: &'static str,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            status: false,
            reason,
            message: message.into(),
        }
    }
}
// ANCHOR_END: observation

// ANCHOR: set
/// Records `observation` in `conditions`, in place: an existing entry of its type keeps its
/// position and, if its status is unchanged, its `lastTransitionTime`.
pub fn set(
    conditions: &mut Vec<Condition>,
    observation: Observation,
    generation: Option<i64>,
    now: &Time,
) {
    let status = if observation.status { "True" } else { "False" }.to_owned();
    let updated = |last_transition_time: Time| Condition {
        type_: observation.type_.to_owned(),
        status: status.clone(),
        reason: observation.reason.to_owned(),
        message: observation.message.clone(),
        observed_generation: generation,
        last_transition_time,
    };
    match conditions.iter_mut().find(|c| c.type_ == observation.type_) {
        Some(existing) if existing.status == status => {
            let kept = existing.last_transition_time.clone();
            *existing = updated(kept);
        }
        Some(existing) => *existing = updated(now.clone()),
        None => conditions.push(updated(now.clone())),
    }
}
// ANCHOR_END: set

/// The condition of `type_`, if present.
pub fn get<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// True when the condition of `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    get(conditions, type_).is_some_and(|c| c.status == "True")
}

// ANCHOR: ready
/// `Ready` from the conditions of `types`: True when all are True; otherwise False, naming the
/// first that is not. A deleting object is never Ready.
pub fn ready_summary(conditions: &[Condition], types: &[&str], deleting: bool) -> Observation {
    if deleting {
        return Observation::falsehood(READY, reasons::DELETING, "the object is being deleted");
    }
    for type_ in types {
        match get(conditions, type_) {
            Some(c) if c.status == "True" => {}
            Some(c) if c.message.is_empty() => {
                return Observation::falsehood(
                    READY,
                    reasons::NOT_READY,
                    format!("{type_} is {} ({})", c.status, c.reason),
                );
            }
            Some(c) => {
                return Observation::falsehood(
                    READY,
                    reasons::NOT_READY,
                    format!("{type_} is {} ({}): {}", c.status, c.reason, c.message),
                );
            }
            None => {
                return Observation::falsehood(
                    READY,
                    reasons::NOT_READY,
                    format!("{type_} is not reported yet"),
                );
            }
        }
    }
    Observation::truth(READY, reasons::READY)
}
// ANCHOR_END: ready

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(second).expect("valid"))
    }

    #[test]
    fn an_unchanged_status_keeps_its_transition_time_and_position() {
        let mut conditions = Vec::new();
        set(
            &mut conditions,
            Observation::falsehood(LOAD_BALANCER_AVAILABLE, reasons::CREATING, "starting"),
            Some(1),
            &at(10),
        );
        set(
            &mut conditions,
            Observation::truth(PAUSED, reasons::PAUSED),
            Some(1),
            &at(10),
        );
        set(
            &mut conditions,
            Observation::falsehood(LOAD_BALANCER_AVAILABLE, reasons::NAME_CONFLICT, "taken"),
            Some(2),
            &at(20),
        );
        assert_eq!(
            conditions[0].type_, LOAD_BALANCER_AVAILABLE,
            "kept its place"
        );
        assert_eq!(
            conditions[0].last_transition_time,
            at(10),
            "status unchanged"
        );
        assert_eq!(conditions[0].reason, reasons::NAME_CONFLICT);
        assert_eq!(conditions[0].observed_generation, Some(2));

        set(
            &mut conditions,
            Observation::truth(LOAD_BALANCER_AVAILABLE, reasons::AVAILABLE),
            Some(2),
            &at(30),
        );
        assert_eq!(conditions[0].last_transition_time, at(30), "status changed");
        assert_eq!(conditions[0].message, "");
    }

    #[test]
    fn setting_the_same_observation_twice_changes_nothing() {
        let mut once = Vec::new();
        set(
            &mut once,
            Observation::truth(PAUSED, reasons::PAUSED),
            Some(3),
            &at(1),
        );
        let mut twice = once.clone();
        set(
            &mut twice,
            Observation::truth(PAUSED, reasons::PAUSED),
            Some(3),
            &at(99),
        );
        assert_eq!(once, twice);
    }

    #[test]
    fn ready_names_the_first_condition_that_is_not_true() {
        let mut conditions = Vec::new();
        let types = [LOAD_BALANCER_AVAILABLE];
        let summary = ready_summary(&conditions, &types, false);
        assert_eq!(
            (summary.status, summary.reason, summary.message.as_str()),
            (
                false,
                reasons::NOT_READY,
                "LoadBalancerAvailable is not reported yet"
            )
        );
        set(
            &mut conditions,
            Observation::falsehood(LOAD_BALANCER_AVAILABLE, reasons::CREATING, "starting"),
            None,
            &at(1),
        );
        let summary = ready_summary(&conditions, &types, false);
        assert_eq!(
            summary.message,
            "LoadBalancerAvailable is False (Creating): starting"
        );
        set(
            &mut conditions,
            Observation::truth(LOAD_BALANCER_AVAILABLE, reasons::AVAILABLE),
            None,
            &at(2),
        );
        assert_eq!(
            ready_summary(&conditions, &types, false),
            Observation::truth(READY, reasons::READY)
        );
        let deleting = ready_summary(&conditions, &types, true);
        assert_eq!(
            (deleting.status, deleting.reason),
            (false, reasons::DELETING)
        );
    }

    #[test]
    fn the_system_clock_has_whole_seconds() {
        assert_eq!(system_clock()().0.subsec_nanosecond(), 0);
    }
}
