//! Prometheus metrics, under the `capdkc_` prefix: reconciles, errors and durations per
//! controller; Docker calls by operation and result; Docker events received, by action;
//! bootstrap durations.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReconcileLabels {
    controller: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabel {
    controller: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DockerCallLabels {
    op: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabel {
    action: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// Every metric the manager exports, under the `capdkc_` prefix.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ReconcileLabels, Counter>,
    durations: Family<ControllerLabel, Histogram>,
    docker_calls: Family<DockerCallLabels, Counter>,
    docker_events: Family<ActionLabel, Counter>,
    bootstraps: Family<OutcomeLabel, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("capdkc");
        let reconciles = Family::<ReconcileLabels, Counter>::default();
        registry.register(
            "reconcile",
            "Reconciles by controller and result (success or error)",
            reconciles.clone(),
        );
        let durations = Family::<ControllerLabel, Histogram>::new_with_constructor(|| {
            // 1 ms to about 16 s.
            Histogram::new(exponential_buckets(0.001, 2.0, 15))
        });
        registry.register(
            "reconcile_duration_seconds",
            "How long reconciles take",
            durations.clone(),
        );
        let docker_calls = Family::<DockerCallLabels, Counter>::default();
        registry.register(
            "docker_calls",
            "Docker API calls by operation and result (success or error)",
            docker_calls.clone(),
        );
        let docker_events = Family::<ActionLabel, Counter>::default();
        registry.register(
            "docker_events",
            "Docker events about our containers received, by action (die, destroy)",
            docker_events.clone(),
        );
        let bootstraps = Family::<OutcomeLabel, Histogram>::new_with_constructor(|| {
            // 1 s to about 17 min.
            Histogram::new(exponential_buckets(1.0, 2.0, 11))
        });
        registry.register(
            "bootstrap_duration_seconds",
            "How long bootstraps take, by outcome (succeeded or failed)",
            bootstraps.clone(),
        );
        Self {
            registry,
            reconciles,
            durations,
            docker_calls,
            docker_events,
            bootstraps,
        }
    }
}

impl Metrics {
    /// Records one reconcile of `controller` that took `elapsed` and succeeded or not.
    pub fn observe(&self, controller: &'static str, elapsed: Duration, succeeded: bool) {
        let result = if succeeded { "success" } else { "error" };
        self.reconciles
            .get_or_create(&ReconcileLabels { controller, result })
            .inc();
        self.durations
            .get_or_create(&ControllerLabel { controller })
            .observe(elapsed.as_secs_f64());
    }

    /// Records one Docker API call.
    pub fn observe_docker_call(&self, op: &'static str, succeeded: bool) {
        let result = if succeeded { "success" } else { "error" };
        self.docker_calls
            .get_or_create(&DockerCallLabels { op, result })
            .inc();
    }

    /// Records a Docker event about one of our containers.
    pub fn observe_docker_event(&self, action: &str) {
        self.docker_events
            .get_or_create(&ActionLabel {
                action: action.to_owned(),
            })
            .inc();
    }

    /// Records a finished bootstrap.
    pub fn observe_bootstrap(&self, elapsed: Duration, succeeded: bool) {
        let outcome = if succeeded { "succeeded" } else { "failed" };
        self.bootstraps
            .get_or_create(&OutcomeLabel { outcome })
            .observe(elapsed.as_secs_f64());
    }

    /// How many reconciles of `controller` finished, successful or not.
    pub fn reconciles(&self, controller: &'static str) -> u64 {
        ["success", "error"]
            .iter()
            .map(|result| {
                self.reconciles
                    .get_or_create(&ReconcileLabels { controller, result })
                    .get()
            })
            .sum()
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reconciles_and_errors_per_controller() {
        let metrics = Metrics::default();
        metrics.observe("dockercluster", Duration::from_millis(3), true);
        metrics.observe("dockercluster", Duration::from_millis(5), false);
        metrics.observe("dockermachine", Duration::from_millis(1), true);
        assert_eq!(metrics.reconciles("dockercluster"), 2);
        let text = metrics.encode().unwrap();
        assert!(
            text.contains(
                "capdkc_reconcile_total{controller=\"dockercluster\",result=\"error\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "capdkc_reconcile_duration_seconds_count{controller=\"dockermachine\"} 1"
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn counts_docker_calls_and_times_bootstraps() {
        let metrics = Metrics::default();
        metrics.observe_docker_call("create", true);
        metrics.observe_docker_call("create", false);
        metrics.observe_bootstrap(Duration::from_secs(42), true);
        metrics.observe_docker_event("die");
        let text = metrics.encode().unwrap();
        for line in [
            "capdkc_docker_events_total{action=\"die\"} 1",
            "capdkc_docker_calls_total{op=\"create\",result=\"success\"} 1",
            "capdkc_docker_calls_total{op=\"create\",result=\"error\"} 1",
            "capdkc_bootstrap_duration_seconds_count{outcome=\"succeeded\"} 1",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }
}
