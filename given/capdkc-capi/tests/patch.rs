//! The status patch of one reconcile, against a scripted API server: one server-side apply of
//! the whole status with `Ready` summarised, none when nothing changed, events after the write.

use std::sync::Arc;

use capdkc_capi::conditions::{Clock, ConditionUpdate, PAUSED, READY, reasons};
use capdkc_capi::{Cluster, ReportsConditions, StatusPatch};
use capdkc_test_support::scripted::{ApiScript, Target, spawn};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::Api;
use kube::runtime::events::{EventType, Recorder, Reporter};

/// A Cluster, with its conditions as the whole status, stands in for any kind with conditions:
/// the helper only needs the trait.
impl ReportsConditions for Wrapper {
    type Status = Vec<Condition>;
    const READY_FROM: &'static [&'static str] = &["Available"];
    fn status(&self) -> Option<&Self::Status> {
        self.0.status.as_ref().map(|s| &s.conditions)
    }
    fn conditions(status: &mut Self::Status) -> &mut Vec<Condition> {
        status
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
struct Wrapper(Cluster);

impl kube::Resource for Wrapper {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;
    fn kind(_: &()) -> std::borrow::Cow<'_, str> {
        "Cluster".into()
    }
    fn group(_: &()) -> std::borrow::Cow<'_, str> {
        "cluster.x-k8s.io".into()
    }
    fn version(_: &()) -> std::borrow::Cow<'_, str> {
        "v1beta2".into()
    }
    fn plural(_: &()) -> std::borrow::Cow<'_, str> {
        "clusters".into()
    }
    fn meta(&self) -> &kube::api::ObjectMeta {
        &self.0.metadata
    }
    fn meta_mut(&mut self) -> &mut kube::api::ObjectMeta {
        &mut self.0.metadata
    }
}

fn clock() -> Clock {
    Arc::new(|| Time(k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).expect("valid")))
}

fn demo() -> Wrapper {
    let mut cluster = Cluster::new("demo", Default::default());
    cluster.metadata.namespace = Some("default".into());
    cluster.metadata.generation = Some(4);
    Wrapper(cluster)
}

fn recorder(client: &kube::Client) -> Recorder {
    let reporter = Reporter {
        controller: "capdkc-manager".into(),
        instance: None,
    };
    Recorder::new(client.clone(), reporter)
}

#[tokio::test]
async fn a_changed_status_is_applied_once_with_ready_and_then_the_events() {
    let object = demo();
    let (client, mut api) = ApiScript::new(Target::of(&object));
    let recorder = recorder(&client);
    let sent = object.clone();
    let apply = spawn(async move {
        let api = Api::<Wrapper>::namespaced(client, "default");
        let mut patch = StatusPatch::new(&sent, &clock());
        patch.set(ConditionUpdate::false_("Available", "Creating", "starting"));
        patch.event(EventType::Normal, "Started", "it began");
        patch.apply(&api, &sent, &recorder).await
    });
    let status = api.status_apply().await;
    let conditions = status.body["status"]
        .as_array()
        .expect("conditions")
        .clone();
    status.respond(200, &serde_json::to_value(&object).expect("json"));
    api.event("Normal", "Started").await;
    assert!(api.done(apply).await.expect("applies"), "it wrote");
    let types: Vec<&str> = conditions
        .iter()
        .filter_map(|c| c["type"].as_str())
        .collect();
    assert_eq!(types, ["Available", READY]);
    assert_eq!(
        conditions[1]["message"],
        "Available is False (Creating): starting"
    );
    assert_eq!(conditions[1]["observedGeneration"], 4);
}

#[tokio::test]
async fn an_unchanged_status_is_not_written() {
    let mut object = demo();
    let now = clock()();
    let condition = |type_: &str, reason: &str| Condition {
        type_: type_.into(),
        status: "True".into(),
        reason: reason.into(),
        message: String::new(),
        observed_generation: Some(4),
        last_transition_time: now.clone(),
    };
    object.0.status = Some(capdkc_capi::cluster::ClusterStatus {
        conditions: vec![
            condition("Available", "Up"),
            condition(READY, reasons::READY),
        ],
        ..Default::default()
    });
    let (client, mut api) = ApiScript::new(Target::of(&object));
    let recorder = recorder(&client);
    let sent = object.clone();
    let apply = spawn(async move {
        let api = Api::<Wrapper>::namespaced(client, "default");
        let mut patch = StatusPatch::new(&sent, &clock());
        patch.set(ConditionUpdate::true_("Available", "Up"));
        patch.apply(&api, &sent, &recorder).await
    });
    assert!(!api.done(apply).await.expect("nothing to do"), "no write");
    assert!(api.requests().is_empty());
}

#[tokio::test]
async fn a_paused_status_is_written_without_touching_ready() {
    let object = demo();
    let (client, mut api) = ApiScript::new(Target::of(&object));
    let recorder = recorder(&client);
    let sent = object.clone();
    let apply = spawn(async move {
        let api = Api::<Wrapper>::namespaced(client, "default");
        let mut patch = StatusPatch::new(&sent, &clock());
        patch.set(ConditionUpdate::true_(PAUSED, reasons::PAUSED));
        patch.apply_unsummarised(&api, &sent, &recorder).await
    });
    let status = api.status_apply().await;
    let types: Vec<String> = status.body["status"]
        .as_array()
        .expect("conditions")
        .iter()
        .filter_map(|c| c["type"].as_str().map(str::to_owned))
        .collect();
    status.respond(200, &serde_json::to_value(&object).expect("json"));
    api.done(apply).await.expect("applies");
    assert_eq!(types, [PAUSED]);
}

/// A status patch of `object` (one changed condition) answered 404 Not Found: what `apply`
/// returns.
async fn apply_answered_not_found(object: Wrapper) -> Result<bool, kube::Error> {
    let (client, mut api) = ApiScript::new(Target::of(&object));
    let recorder = recorder(&client);
    let apply = spawn(async move {
        let api = Api::<Wrapper>::namespaced(client, "default");
        let mut patch = StatusPatch::new(&object, &clock());
        patch.set(ConditionUpdate::false_("Available", "Deleting", "going"));
        patch.apply(&api, &object, &recorder).await
    });
    api.status_apply().await.respond_not_found();
    api.done(apply).await
}

#[tokio::test]
async fn a_deleting_object_already_gone_is_not_an_error() {
    // A reconcile that started from a store a moment behind: an earlier one removed the last
    // finalizer, and the API server deleted the object.
    let mut object = demo();
    object.0.metadata.deletion_timestamp = Some(clock()());
    let wrote = apply_answered_not_found(object)
        .await
        .expect("gone is done");
    assert!(!wrote, "nothing was written");
}

#[tokio::test]
async fn a_living_object_not_found_is_an_error() {
    let error = apply_answered_not_found(demo())
        .await
        .expect_err("a 404 while not deleting");
    assert!(error.to_string().contains("not found"), "{error}");
}
