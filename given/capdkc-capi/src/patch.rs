//! Writing what a controller owns with server-side apply, and the status patch of one reconcile
//! (Go's `util/patch` helper): the reconcile records conditions and events as it goes, and one
//! write at the end sends the status, only if it changed.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde_json::json;

use crate::conditions::{self, Clock, ConditionUpdate, ReportsConditions};

// ANCHOR: field_manager
/// The name our writes carry in `metadata.managedFields`.
pub const FIELD_MANAGER: &str = "capdkc-manager";

/// Server-side apply as a controller: take over fields another manager set (`force`).
pub fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}
// ANCHOR_END: field_manager

// ANCHOR: apply_spec
/// Applies `spec` (a JSON object with only the fields we own) to `object`'s spec. The body
/// names `apiVersion` and `kind`: server-side apply needs them to know the schema.
pub async fn apply_spec<K>(
    api: &Api<K>,
    object: &K,
    spec: serde_json::Value,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let body = json!({ "apiVersion": K::api_version(&()), "kind": K::kind(&()), "spec": spec });
    api.patch(&object.name_any(), &apply_params(), &Patch::Apply(body))
        .await?;
    Ok(())
}
// ANCHOR_END: apply_spec

// ANCHOR: apply_status
/// Applies `desired` as the whole status we own, unless it equals `current`: a converged object
/// costs no write (and causes no watch event that would wake the controller again).
/// Returns whether it wrote.
pub async fn apply_status<K, S>(
    api: &Api<K>,
    object: &K,
    current: Option<&S>,
    desired: &S,
) -> Result<bool, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if current == Some(desired) {
        return Ok(false);
    }
    let body =
        json!({ "apiVersion": K::api_version(&()), "kind": K::kind(&()), "status": desired });
    match api
        .patch_status(&object.name_any(), &apply_params(), &Patch::Apply(body))
        .await
    {
        Ok(_) => Ok(true),
        // A reconcile that started from a store a moment behind: the object it was deleting
        // is already gone, so there is nobody left to report to.
        Err(kube::Error::Api(response))
            if response.code == 404 && object.meta().deletion_timestamp.is_some() =>
        {
            Ok(false)
        }
        Err(error) => Err(error),
    }
}
// ANCHOR_END: apply_status

// ANCHOR: status_patch
/// The status one reconcile is building, and the events it will publish. Nothing is written
/// until [`StatusPatch::apply`], once, at the end of the reconcile.
pub struct StatusPatch<K: ReportsConditions> {
    /// The status as this reconcile sees it: the object's, plus what it changed.
    pub status: K::Status,
    generation: Option<i64>,
    now: Time,
    events: Vec<Event>,
}

impl<K: ReportsConditions> StatusPatch<K> {
    /// Starts from `object`'s current status; changed conditions are stamped with `clock`'s now.
    pub fn new(object: &K, clock: &Clock) -> Self {
        Self {
            status: object.status().cloned().unwrap_or_default(),
            generation: object.meta().generation,
            now: clock(),
            events: Vec::new(),
        }
    }

    /// The time this reconcile stamps on changed conditions.
    pub fn now(&self) -> &Time {
        &self.now
    }

    /// Records one condition.
    pub fn set(&mut self, update: ConditionUpdate) {
        conditions::set(
            K::conditions(&mut self.status),
            update,
            self.generation,
            &self.now,
        );
    }

    /// The conditions as they stand now.
    pub fn conditions(&mut self) -> &[Condition] {
        K::conditions(&mut self.status)
    }

    /// True when the condition of `type_` already has `reason` (so setting it again is no
    /// transition, and deserves no event).
    pub fn has_reason(&mut self, type_: &str, reason: &str) -> bool {
        conditions::has_reason(self.conditions(), type_, reason)
    }

    /// Queues an event for `kubectl describe`; published by [`StatusPatch::apply`].
    pub fn event(&mut self, type_: EventType, reason: &str, note: impl Into<String>) {
        self.events.push(Event {
            type_,
            reason: reason.to_owned(),
            note: Some(note.into()),
            action: "Reconcile".to_owned(),
            secondary: None,
        });
    }

    /// Summarises `Ready` from the object's other conditions, writes the status if it changed
    /// and publishes the queued events. Returns whether it wrote.
    pub async fn apply(
        mut self,
        api: &Api<K>,
        object: &K,
        recorder: &Recorder,
    ) -> Result<bool, kube::Error> {
        let deleting = object.meta().deletion_timestamp.is_some();
        let ready = conditions::ready_summary(self.conditions(), K::READY_FROM, deleting);
        self.set(ready);
        self.apply_unsummarised(api, object, recorder).await
    }

    /// Writes the status as it is, without touching `Ready`: what a paused object gets, since
    /// only `Paused` may change while paused.
    pub async fn apply_unsummarised(
        mut self,
        api: &Api<K>,
        object: &K,
        recorder: &Recorder,
    ) -> Result<bool, kube::Error> {
        let wrote = apply_status(api, object, object.status(), &self.status).await?;
        self.publish_events(object, recorder).await;
        Ok(wrote)
    }

    /// Publishes the queued events.
    pub async fn publish_events(&mut self, object: &K, recorder: &Recorder) {
        for event in self.events.drain(..) {
            publish(recorder, object, &event).await;
        }
    }
}

/// Publishes one event about `object` outside a status patch (after the object's last status
/// write, say).
pub async fn publish_event<K: Resource<DynamicType = ()>>(
    recorder: &Recorder,
    object: &K,
    type_: EventType,
    reason: &str,
    note: impl Into<String>,
) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note.into()),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    publish(recorder, object, &event).await;
}

/// Events are best effort: a failure to publish one is logged, never retried.
async fn publish<K: Resource<DynamicType = ()>>(recorder: &Recorder, object: &K, event: &Event) {
    if let Err(error) = recorder.publish(event, &object.object_ref(&())).await {
        tracing::warn!(%error, reason = event.reason, "cannot publish an event");
    }
}
// ANCHOR_END: status_patch
