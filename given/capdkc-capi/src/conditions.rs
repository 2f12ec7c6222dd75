//! Conditions as Cluster API v1beta2 expects them (`metav1.Condition`), without any I/O: the Go
//! `util/conditions` package, for kube-rs.
//!
//! Two rules keep a controller quiet: `lastTransitionTime` changes only when the status does
//! (otherwise every reconcile writes, and the write wakes the controller again), and the list
//! keeps its order (so an unchanged status compares equal and is not written).

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `Ready`: the summary of an object's other conditions.
pub const READY: &str = "Ready";
/// `Paused`: the Cluster or the object itself is paused.
pub const PAUSED: &str = "Paused";

/// Reasons of the conditions every provider object has (`Ready`, `Paused`).
pub mod reasons {
    pub const READY: &str = "Ready";
    pub const NOT_READY: &str = "NotReady";
    pub const DELETING: &str = "Deleting";
    pub const PAUSED: &str = "Paused";
    pub const NOT_PAUSED: &str = "NotPaused";
}

// ANCHOR: reports_conditions
/// A kind whose status carries conditions (Go's `conditions.Setter`): the status type, where
/// its conditions live, and which of them `Ready` summarises.
pub trait ReportsConditions:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug
{
    type Status: Serialize + PartialEq + Clone + Default;
    /// The condition types `Ready` summarises, in the order they are looked at.
    const READY_FROM: &'static [&'static str];
    fn status(&self) -> Option<&Self::Status>;
    fn conditions(status: &mut Self::Status) -> &mut Vec<Condition>;
}
// ANCHOR_END: reports_conditions

/// Where "now" comes from; tests pass a fixed clock.
pub type Clock = Arc<dyn Fn() -> Time + Send + Sync>;

/// The system clock, to whole seconds (what the API server stores).
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let now = k8s_openapi::jiff::Timestamp::now();
        Time(k8s_openapi::jiff::Timestamp::from_second(now.as_second()).unwrap_or(now))
    })
}

// ANCHOR: condition_update
/// What a reconcile found out about one condition type; [`set`] turns it into a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionUpdate {
    pub type_: &'static str,
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}

impl ConditionUpdate {
    /// The condition holds: status `True`, no message.
    pub fn true_(type_: &'static str, reason: &'static str) -> Self {
        Self {
            type_,
            status: true,
            reason,
            message: String::new(),
        }
    }

    /// The condition does not hold, for `reason`; `message` tells a person what to do.
    pub fn false_(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            type_,
            status: false,
            reason,
            message: message.into(),
        }
    }
}
// ANCHOR_END: condition_update

// ANCHOR: set
/// Records `update` in `conditions`, in place: an existing entry of its type keeps its position
/// and, if its status is unchanged, its `lastTransitionTime`.
pub fn set(
    conditions: &mut Vec<Condition>,
    update: ConditionUpdate,
    generation: Option<i64>,
    now: &Time,
) {
    let status = if update.status { "True" } else { "False" }.to_owned();
    let updated = |last_transition_time: Time| Condition {
        type_: update.type_.to_owned(),
        status: status.clone(),
        reason: update.reason.to_owned(),
        message: update.message.clone(),
        observed_generation: generation,
        last_transition_time,
    };
    match conditions.iter_mut().find(|c| c.type_ == update.type_) {
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

/// True when the condition of `type_` is present with `reason`.
pub fn has_reason(conditions: &[Condition], type_: &str, reason: &str) -> bool {
    get(conditions, type_).is_some_and(|c| c.reason == reason)
}

// ANCHOR: ready
/// `Ready` from the conditions of `types`: True when all are True; otherwise False, naming the
/// first that is not. A deleting object is never Ready.
pub fn ready_summary(conditions: &[Condition], types: &[&str], deleting: bool) -> ConditionUpdate {
    if deleting {
        return ConditionUpdate::false_(READY, reasons::DELETING, "the object is being deleted");
    }
    for type_ in types {
        let why = match get(conditions, type_) {
            Some(c) if c.status == "True" => continue,
            Some(c) if c.message.is_empty() => format!("{type_} is {} ({})", c.status, c.reason),
            Some(c) => format!("{type_} is {} ({}): {}", c.status, c.reason, c.message),
            None => format!("{type_} is not reported yet"),
        };
        return ConditionUpdate::false_(READY, reasons::NOT_READY, why);
    }
    ConditionUpdate::true_(READY, reasons::READY)
}
// ANCHOR_END: ready

#[cfg(test)]
mod tests {
    use super::*;

    const AVAILABLE: &str = "LoadBalancerAvailable";

    fn at(second: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(second).expect("valid"))
    }

    #[test]
    fn an_unchanged_status_keeps_its_transition_time_and_position() {
        let mut conditions = Vec::new();
        let starting = ConditionUpdate::false_(AVAILABLE, "Creating", "starting");
        set(&mut conditions, starting, Some(1), &at(10));
        let paused = ConditionUpdate::true_(PAUSED, reasons::PAUSED);
        set(&mut conditions, paused, Some(1), &at(10));
        let conflict = ConditionUpdate::false_(AVAILABLE, "NameConflict", "taken");
        set(&mut conditions, conflict, Some(2), &at(20));
        assert_eq!(conditions[0].type_, AVAILABLE, "kept its place");
        assert_eq!(
            conditions[0].last_transition_time,
            at(10),
            "status unchanged"
        );
        assert_eq!(conditions[0].reason, "NameConflict");
        assert_eq!(conditions[0].observed_generation, Some(2));

        let available = ConditionUpdate::true_(AVAILABLE, "Available");
        set(&mut conditions, available, Some(2), &at(30));
        assert_eq!(conditions[0].last_transition_time, at(30), "status changed");
        assert_eq!(conditions[0].message, "");
        assert!(is_true(&conditions, AVAILABLE));
        assert!(has_reason(&conditions, PAUSED, reasons::PAUSED));
    }

    #[test]
    fn setting_the_same_update_twice_changes_nothing() {
        let mut once = Vec::new();
        let paused = ConditionUpdate::true_(PAUSED, reasons::PAUSED);
        set(&mut once, paused.clone(), Some(3), &at(1));
        let mut twice = once.clone();
        set(&mut twice, paused, Some(3), &at(99));
        assert_eq!(once, twice);
    }

    #[test]
    fn ready_names_the_first_condition_that_is_not_true() {
        let mut conditions = Vec::new();
        let types = [AVAILABLE];
        let summary = ready_summary(&conditions, &types, false);
        assert_eq!(
            (summary.status, summary.reason, summary.message.as_str()),
            (
                false,
                reasons::NOT_READY,
                "LoadBalancerAvailable is not reported yet"
            )
        );
        let starting = ConditionUpdate::false_(AVAILABLE, "Creating", "starting");
        set(&mut conditions, starting, None, &at(1));
        let summary = ready_summary(&conditions, &types, false);
        assert_eq!(
            summary.message,
            "LoadBalancerAvailable is False (Creating): starting"
        );
        let available = ConditionUpdate::true_(AVAILABLE, "Available");
        set(&mut conditions, available, None, &at(2));
        assert_eq!(
            ready_summary(&conditions, &types, false),
            ConditionUpdate::true_(READY, reasons::READY)
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
