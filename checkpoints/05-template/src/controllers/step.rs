//! One reconcile's record of what it observed: the status it will write and the events it will
//! publish, both only when something changed. Both controllers use it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Context;
use super::status::apply_status;
use crate::api::{DockerCluster, DockerClusterStatus, DockerMachine, DockerMachineStatus};
use crate::conditions::{self, Observation};

// ANCHOR: reports_conditions
/// A kind whose status carries conditions, and which of them `Ready` summarises.
pub trait ReportsConditions:
    Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug
{
    type Status: Serialize + PartialEq + Clone + Default;
    /// The condition types `Ready` summarises.
    const READY_FROM: &'static [&'static str];
    fn status(&self) -> Option<&Self::Status>;
    fn conditions(status: &mut Self::Status) -> &mut Vec<Condition>;
}

impl ReportsConditions for DockerCluster {
    type Status = DockerClusterStatus;
    const READY_FROM: &'static [&'static str] = &[conditions::LOAD_BALANCER_AVAILABLE];
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn conditions(status: &mut Self::Status) -> &mut Vec<Condition> {
        &mut status.conditions
    }
}

impl ReportsConditions for DockerMachine {
    type Status = DockerMachineStatus;
    const READY_FROM: &'static [&'static str] = &[
        conditions::CONTAINER_PROVISIONED,
        conditions::BOOTSTRAP_SUCCEEDED,
    ];
    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }
    fn conditions(status: &mut Self::Status) -> &mut Vec<Condition> {
        &mut status.conditions
    }
}
// ANCHOR_END: reports_conditions

// ANCHOR: step
/// What one reconcile has observed so far: the status it will write and the events it will
/// publish, both only if something changed.
pub struct Step<'a, K: ReportsConditions, D> {
    ctx: &'a Context<D>,
    pub status: K::Status,
    generation: Option<i64>,
    now: Time,
    events: Vec<Event>,
}

impl<'a, K: ReportsConditions, D> Step<'a, K, D> {
    pub fn new(object: &K, ctx: &'a Context<D>) -> Self {
        Self {
            ctx,
            status: object.status().cloned().unwrap_or_default(),
            generation: object.meta().generation,
            now: (ctx.clock)(),
            events: Vec::new(),
        }
    }

    /// The time this reconcile stamps on changed conditions.
    pub fn now(&self) -> &Time {
        &self.now
    }

    pub fn observe(&mut self, observation: Observation) {
        conditions::set(
            K::conditions(&mut self.status),
            observation,
            self.generation,
            &self.now,
        );
    }

    /// True when the condition of `type_` already has `reason` (so this is no transition).
    pub fn was(&mut self, type_: &str, reason: &str) -> bool {
        conditions::get(K::conditions(&mut self.status), type_).is_some_and(|c| c.reason == reason)
    }

    pub fn event(&mut self, type_: EventType, reason: &str, note: &str) {
        self.events.push(Event {
            type_,
            reason: reason.to_owned(),
            note: Some(note.to_owned()),
            action: "Reconcile".to_owned(),
            secondary: None,
        });
    }

    /// Writes the status (only if it changed) without summarising: used while paused.
    pub async fn save(mut self, api: &Api<K>, object: &K) -> Result<(), kube::Error> {
        apply_status(api, object, object.status(), &self.status).await?;
        self.publish_events(object).await;
        Ok(())
    }

    /// Summarises `Ready`, writes the status if it changed, and publishes the events.
    pub async fn finish(&mut self, api: &Api<K>, object: &K) -> Result<(), kube::Error> {
        let deleting = object.meta().deletion_timestamp.is_some();
        let ready =
            conditions::ready_summary(K::conditions(&mut self.status), K::READY_FROM, deleting);
        self.observe(ready);
        apply_status(api, object, object.status(), &self.status).await?;
        self.publish_events(object).await;
        Ok(())
    }

    /// Events are best effort: a failure to publish one is logged, never retried.
    pub async fn publish_events(&mut self, object: &K) {
        let reference = object.object_ref(&());
        for event in self.events.drain(..) {
            if let Err(error) = self.ctx.recorder.publish(&event, &reference).await {
                tracing::warn!(%error, reason = event.reason, "cannot publish an event");
            }
        }
    }
}
// ANCHOR_END: step
