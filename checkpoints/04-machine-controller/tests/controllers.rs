//! Layer 2: one DockerCluster reconcile at a time, against a scripted API server and a recording
//! fake Docker. Each test lists the requests the reconcile must make, in order, and answers them;
//! a missing or an extra request, or a write to any object but the reconciled one, fails it.
//! The comment above a test names the row of the fault table it covers (the book's Testing
//! chapter, book/src/testing.md).

mod support;

use support::checkpoint;

use std::collections::BTreeMap;
use std::sync::Arc;

use capdkc_capi::cluster::{ClusterInitialization, ClusterStatus};
use capdkc_capi::{Cluster, Machine};
use capdkc_docker::ensure::EnsureError;
use capdkc_docker::fake::{Call, FakeRuntime};
use capdkc_docker::images::DEFAULT_HAPROXY_IMAGE;
use capdkc_docker::labels::{
    CLUSTER_LABEL, CLUSTER_UID_LABEL, NAMESPACE_LABEL, OWNER_UID_LABEL, ROLE_LABEL,
};
use capdkc_docker::loadbalancer::{ApplyError, CONFIG_PATH, drained};
use capdkc_docker::runtime::PortPublish;
use capdkc_docker::{ContainerSpec, Identity, RuntimeError};
use capdkc_manager::watch::only_changes_of;
use checkpoint::api::{DockerCluster, DockerMachine};
use checkpoint::controllers::docker_cluster::{self, FINALIZER, RESYNC, of_cluster, what_it_reads};
use futures::StreamExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use serde_json::{Value, json};
use support::fixtures::{
    CLUSTER_UID, ClusterFixture, DOCKER_CLUSTER_UID, DockerClusterFixture, Harness, LB, LB_IP,
    NAME, NAMESPACE, NETWORK, cluster, docker_cluster, docker_steps, identity, lb_container,
    lb_labels, mutating_calls, running_lb,
};
use support::machines::{
    CONTROL_PLANE, DockerMachineFixture as _, MachineFixture, OTHER_CONTROL_PLANE,
    control_plane_machine, docker_machine_for, machine, node_container,
};

/// The conditions of a status patch, one `Type=Status (Reason)` each, in order.
fn conditions(status_patch: &Value) -> Vec<String> {
    let conditions = status_patch["status"]["conditions"]
        .as_array()
        .expect("the status patch has conditions");
    conditions
        .iter()
        .map(|c| {
            let field = |name: &str| c[name].as_str().unwrap_or("<missing>").to_owned();
            format!(
                "{}={} ({})",
                field("type"),
                field("status"),
                field("reason")
            )
        })
        .collect()
}

/// The message of `LoadBalancerAvailable` in `docker_cluster`'s status.
fn status_message(docker_cluster: &DockerCluster) -> String {
    let status = docker_cluster.status.as_ref().expect("a status");
    let condition = status
        .conditions
        .iter()
        .find(|c| c.type_ == "LoadBalancerAvailable");
    condition.expect("LoadBalancerAvailable").message.clone()
}

/// The spec of the one container the reconcile created.
fn created_spec(docker: &FakeRuntime) -> ContainerSpec {
    let mut created = docker.calls().into_iter().filter_map(|call| match call {
        Call::Create(spec) => Some(*spec),
        _ => None,
    });
    let spec = created.next().expect("a container was created");
    assert!(created.next().is_none(), "only one container was created");
    spec
}

/// The labels of the one container listing the reconcile made.
fn listed_labels(docker: &FakeRuntime) -> BTreeMap<String, String> {
    let mut lists = docker.calls().into_iter().filter_map(|call| match call {
        Call::List(labels) => Some(labels),
        _ => None,
    });
    let labels = lists.next().expect("containers were listed");
    assert!(lists.next().is_none(), "containers were listed once");
    labels
}

/// The one Event of `reason` among `events`.
fn event<'a>(events: &'a [Value], reason: &str) -> &'a Value {
    let mut found = events.iter().filter(|e| e["reason"] == reason);
    let event = found.next().unwrap_or_else(|| {
        let reasons: Vec<&Value> = events.iter().map(|e| &e["reason"]).collect();
        panic!("expected an Event {reason}, got {reasons:?}")
    });
    assert!(found.next().is_none(), "one Event {reason}");
    event
}

/// The HAProxy configuration the fake holds in the load balancer.
fn lb_config(docker: &FakeRuntime) -> String {
    let bytes = docker
        .file(LB, CONFIG_PATH)
        .expect("no HAProxy configuration in the load balancer (step 3.4 writes it)");
    String::from_utf8(bytes).expect("the configuration is text")
}

const FIRST_RECONCILE_DOCKER_STEPS: [&str; 9] = [
    "inspect demo-lb",
    "create demo-lb",
    "start demo-lb",
    "inspect demo-lb",
    "list",
    "read-file demo-lb /usr/local/etc/haproxy/haproxy.cfg",
    "copy-in demo-lb /usr/local/etc/haproxy/haproxy.cfg",
    "read-file demo-lb /usr/local/etc/haproxy/haproxy.cfg",
    "signal demo-lb SIGHUP",
];

// ---- Not ours, or not ours yet ----------------------------------------------------------------

// F1 (for the cluster): core has not set the owner reference yet; the Cluster watch wakes us.
#[tokio::test]
async fn step_3_2_without_an_owner_cluster_nothing_is_written_or_created() {
    let mut h = Harness::new();
    let reconcile = h.reconcile(&docker_cluster().without_owner());
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert!(h.api.requests().is_empty(), "no API request");
    assert_eq!(h.docker.calls(), [], "no Docker call");
}

// F4
#[tokio::test]
async fn step_3_2_an_externally_managed_docker_cluster_is_left_alone() {
    let mut h = Harness::new();
    let reconcile = h.reconcile(&docker_cluster().managed_by("terraform"));
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert!(h.api.requests().is_empty(), "no finalizer, no status");
    assert_eq!(h.docker.calls(), [], "no Docker call");
}

// ---- Paused (F3) ------------------------------------------------------------------------------

/// Paused, a reconcile writes `Paused=True`, nothing else, and makes no Docker call; reconciled
/// again with that status, it does nothing at all: at most one write overall.
async fn paused_writes_paused_once_and_nothing_else(cluster: Cluster, new: DockerCluster) {
    let mut h = Harness::new();
    h.set_cluster(cluster);
    let reconcile = h.reconcile(&new);
    let status = h.api.status_apply().await;
    assert_eq!(
        status.body["status"],
        json!({ "conditions": [{
            "type": "Paused", "status": "True", "reason": "Paused", "message": "",
            "observedGeneration": 1, "lastTransitionTime": "2023-11-14T22:13:20Z",
        }]}),
        "only the Paused condition: no finalizer, no other condition, not provisioned"
    );
    let written = status.answer_patched(&new);
    assert_eq!(
        h.api.done(reconcile).await.expect("reconciles"),
        Action::await_change()
    );

    let reconcile = h.reconcile(&written);
    assert_eq!(
        h.api.done(reconcile).await.expect("reconciles"),
        Action::await_change()
    );
    assert_eq!(h.api.writes(), 1, "at most one write while paused");
    assert_eq!(h.docker.calls(), [], "no Docker call while paused");
}

// F3
#[tokio::test]
async fn step_3_2_a_cluster_paused_in_its_spec_gets_one_paused_write_and_no_docker_call() {
    paused_writes_paused_once_and_nothing_else(cluster().paused(), docker_cluster()).await;
}

// F3
#[tokio::test]
async fn step_3_2_a_cluster_paused_by_annotation_gets_one_paused_write() {
    paused_writes_paused_once_and_nothing_else(cluster().paused_by_annotation(), docker_cluster())
        .await;
}

// F3 (the DockerCluster's own annotation pauses it too)
#[tokio::test]
async fn a_docker_cluster_paused_by_annotation_gets_one_paused_write_and_no_docker_call() {
    paused_writes_paused_once_and_nothing_else(cluster(), docker_cluster().paused_by_annotation())
        .await;
}

// ---- Creation ---------------------------------------------------------------------------------

#[tokio::test]
async fn step_3_3_first_reconcile_adds_the_finalizer_runs_the_load_balancer_then_reports_provisioned()
 {
    let mut h = Harness::new();
    let new = docker_cluster();
    let reconcile = h.reconcile(&new);

    // The finalizer comes first, guarded by a `test` so no other finalizer is lost.
    let finalizer = h.api.json_patch().await;
    assert_eq!(
        finalizer.body,
        json!([
            { "op": "test", "path": "/metadata/finalizers", "value": null },
            { "op": "add", "path": "/metadata/finalizers", "value": [FINALIZER] },
        ])
    );
    assert_eq!(h.docker.calls(), [], "no container before the finalizer");
    let with_finalizer = finalizer.answer_patched(&new);

    // Then the load balancer, and then the endpoint pointing at it.
    let endpoint = h.api.spec_apply().await;
    assert_eq!(
        docker_steps(&h.docker)[..4],
        FIRST_RECONCILE_DOCKER_STEPS[..4],
        "the load balancer inspected, created, started and inspected for its address"
    );
    insta::assert_yaml_snapshot!("first_reconcile_endpoint_patch", &endpoint.body);
    let with_endpoint = endpoint.answer_patched(&with_finalizer);

    // Then the status, in one write.
    let status = h.api.status_apply().await;
    assert_eq!(status.body["status"]["initialization"]["provisioned"], true);
    status.answer_patched(&with_endpoint);

    // Then what happened, for `kubectl describe`.
    let (result, events) = h.api.events_then_done(reconcile).await;
    let created = event(&events, "LoadBalancerCreated");
    assert_eq!(created["note"], "demo-lb");
    let endpoint_set = event(&events, "ControlPlaneEndpointSet");
    assert_eq!(endpoint_set["note"], format!("{LB_IP}:6443"));
    let action = result.expect("reconciles");
    assert_eq!(action, Action::requeue(RESYNC), "looked at again to heal");
}

#[tokio::test]
async fn step_3_3_the_load_balancer_is_created_on_the_network_with_our_identity_and_the_endpoint_port()
 {
    let mut h = Harness::new();
    let with_finalizer = docker_cluster().with_finalizer();
    let reconcile = h.reconcile(&with_finalizer);
    h.api.spec_apply().await.answer_patched(&with_finalizer);
    h.api.status_apply().await.answer_patched(&with_finalizer);
    let (result, _) = h.api.events_then_done(reconcile).await;
    result.expect("reconciles");

    let spec = created_spec(&h.docker);
    assert_eq!(spec.name, LB);
    assert_eq!(spec.image, DEFAULT_HAPROXY_IMAGE);
    assert_eq!(spec.network.as_deref(), Some(NETWORK));
    assert_eq!(spec.labels, lb_labels(&identity()), "identity and role");
    assert_eq!(
        spec.ports,
        [PortPublish {
            container_port: "6443/tcp".into(),
            host_ip: "127.0.0.1".into(),
            host_port: None,
        }],
        "only the endpoint port, on loopback"
    );
}

#[tokio::test]
async fn step_3_3_an_endpoint_the_user_set_is_kept_and_its_port_published() {
    let mut h = Harness::new();
    let own_endpoint = docker_cluster()
        .with_finalizer()
        .with_endpoint("cp.demo.example", 7443);
    let reconcile = h.reconcile(&own_endpoint);
    // No apply of the spec: straight to the status.
    let status = h.api.status_apply().await;
    status.answer_patched(&own_endpoint);
    let (result, _) = h.api.events_then_done(reconcile).await;
    result.expect("reconciles");

    let spec = created_spec(&h.docker);
    let published: Vec<&str> = spec
        .ports
        .iter()
        .map(|port| port.container_port.as_str())
        .collect();
    assert_eq!(published, ["7443/tcp"]);
}

// The seed workshop's LoadBalancerImage step.
#[tokio::test]
async fn step_3_3_the_load_balancer_runs_the_image_the_spec_names() {
    let mut h = Harness::new();
    let image = "registry.example.test/haproxy:2.9";
    let custom = docker_cluster().with_finalizer().with_lb_image(image);
    let reconcile = h.reconcile(&custom);
    h.api.spec_apply().await.answer_patched(&custom);
    h.api.status_apply().await.answer_patched(&custom);
    let (result, _) = h.api.events_then_done(reconcile).await;
    result.expect("reconciles");
    assert_eq!(created_spec(&h.docker).image, image);
}

#[tokio::test]
async fn step_3_4_haproxy_is_configured_for_the_control_plane_and_the_load_balancer_available() {
    let mut h = Harness::new();
    let with_finalizer = docker_cluster().with_finalizer();
    let reconcile = h.reconcile(&with_finalizer);
    h.api.spec_apply().await.answer_patched(&with_finalizer);
    assert_eq!(
        docker_steps(&h.docker),
        FIRST_RECONCILE_DOCKER_STEPS,
        "step 3.4: the load balancer, then HAProxy's configuration written and reloaded"
    );
    let status = h.api.status_apply().await;
    insta::assert_yaml_snapshot!("first_reconcile_status_patch", &status.body);
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "LoadBalancerAvailable=True (Available)",
            "Ready=True (Ready)"
        ]
    );
    status.answer_patched(&with_finalizer);
    let (result, events) = h.api.events_then_done(reconcile).await;
    assert_eq!(
        event(&events, "LoadBalancerConfigured")["note"],
        "HAProxy reloaded"
    );
    result.expect("reconciles");

    // Its backends: the control-plane nodes of this very cluster (none yet).
    let control_plane_of_demo = BTreeMap::from([
        (CLUSTER_LABEL.to_owned(), NAME.to_owned()),
        (NAMESPACE_LABEL.to_owned(), NAMESPACE.to_owned()),
        (CLUSTER_UID_LABEL.to_owned(), CLUSTER_UID.to_owned()),
        (ROLE_LABEL.to_owned(), "control-plane".to_owned()),
    ]);
    assert_eq!(listed_labels(&h.docker), control_plane_of_demo);
    let config = lb_config(&h.docker);
    assert!(config.contains("bind *:6443"), "{config}");
    assert!(!config.contains("  server "), "no backend yet: {config}");
}

#[tokio::test]
async fn step_3_4_haproxy_serves_the_port_of_an_endpoint_the_user_set() {
    let mut h = Harness::new();
    let own_endpoint = docker_cluster()
        .with_finalizer()
        .with_endpoint("cp.demo.example", 7443);
    let reconcile = h.reconcile(&own_endpoint);
    h.api.status_apply().await.answer_patched(&own_endpoint);
    let (result, _) = h.api.events_then_done(reconcile).await;
    result.expect("reconciles");
    let config = lb_config(&h.docker);
    assert!(config.contains("bind *:7443"), "{config}");
    assert!(!config.contains("bind *:6443"), "{config}");
}

// ---- Converged --------------------------------------------------------------------------------

// ANCHOR: converged
// Converged objects are not rewritten (0 writes, 0 mutating Docker calls).
#[tokio::test]
async fn a_converged_docker_cluster_is_read_but_never_rewritten_over_100_reconciles() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    let converged = docker_cluster().converged();

    for round in 1..=100 {
        let reconcile = h.reconcile(&converged);
        // Fails on any request: a status write, an endpoint, an event.
        let action = h.api.returned(reconcile).await.expect("reconciles");
        assert_eq!(action, Action::requeue(RESYNC));

        let mutating = mutating_calls(&h.docker);
        assert!(
            mutating.is_empty(),
            "reconcile {round} of a converged DockerCluster changed Docker: {mutating:?}"
        );
        h.docker.clear_calls();
    }
    h.api.assert_silent().await;
    assert_eq!(
        h.api.requests(),
        [] as [String; 0],
        "a converged DockerCluster costs no request at all: its Cluster comes from the cache"
    );
}
// ANCHOR_END: converged

// Resilience: a stripped finalizer is added back, nothing else changes.
#[tokio::test]
async fn a_stripped_finalizer_is_added_back_and_nothing_else_is_written() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    let stripped = docker_cluster().converged().without_finalizer();
    let reconcile = h.reconcile(&stripped);
    let finalizer = h.api.json_patch().await;
    assert_eq!(
        finalizer.body[1],
        json!({ "op": "add", "path": "/metadata/finalizers", "value": [FINALIZER] })
    );
    finalizer.answer_patched(&stripped);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::requeue(RESYNC));
    assert_eq!(
        h.api.writes(),
        1,
        "the finalizer patch only, no status write"
    );
    assert_eq!(mutating_calls(&h.docker), [], "no Docker change");
}

// ---- The load balancer goes away (F15) --------------------------------------------------------

// F15
#[tokio::test]
async fn a_stopped_load_balancer_is_started_again_not_recreated() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    h.docker.stop(LB);
    let reconcile = h.reconcile(&docker_cluster().converged());
    // The status is unchanged once healed, so it is not written; the event tells of the gap.
    let healed = h.api.event("Warning", "LoadBalancerHealed").await;
    assert_eq!(healed["note"], "demo-lb was not running; started it again");
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::requeue(RESYNC));

    assert_eq!(
        docker_steps(&h.docker),
        [
            "inspect demo-lb",
            "start demo-lb",
            "inspect demo-lb",
            "list",
            "read-file demo-lb /usr/local/etc/haproxy/haproxy.cfg",
        ],
        "started, not recreated; its configuration is still there"
    );
    assert!(h.docker.container(LB).is_some_and(|lb| lb.running));
}

// F15
#[tokio::test]
async fn a_missing_load_balancer_is_recreated_and_reconfigured_and_the_endpoint_kept() {
    let mut h = Harness::new();
    // The fake gives the new container the old one's address, the endpoint host; the ignored
    // test below shows what happens when it does not.
    let reconcile = h.reconcile(&docker_cluster().converged());
    // No apply of the endpoint (it is set) and no status write (unchanged): events only, and
    // the first one says the container had gone missing.
    let recreated = h.api.event("Warning", "LoadBalancerRecreated").await;
    assert_eq!(recreated["note"], "demo-lb was gone; created it again");
    h.api.event("Normal", "LoadBalancerConfigured").await;
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::requeue(RESYNC));
    assert_eq!(docker_steps(&h.docker), FIRST_RECONCILE_DOCKER_STEPS);
    assert!(h.docker.container(LB).is_some_and(|lb| lb.running));
}

// F15: the endpoint is immutable and names the load balancer's address. A load balancer
// recreated on another address is unreachable through it: reported, not called Ready.
#[tokio::test]
async fn step_3_4_a_load_balancer_recreated_on_another_address_reports_the_endpoint_mismatch() {
    let mut h = Harness::new();
    // Provisioned when the load balancer had 172.30.0.9; the fake now hands out 172.30.0.2.
    let converged = docker_cluster()
        .converged()
        .with_endpoint("172.30.0.9", 6443);
    let reconcile = h.reconcile(&converged);
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "LoadBalancerAvailable=False (EndpointMismatch)",
            "Ready=False (NotReady)"
        ],
        "step 3.4: the conditions"
    );
    let message = status.body["status"]["conditions"][1]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("172.30.0.2") && message.contains("172.30.0.9"),
        "names both addresses: {message}"
    );
    status.answer_patched(&converged);
    h.api.event("Warning", "LoadBalancerRecreated").await;
    h.api.event("Normal", "LoadBalancerConfigured").await;
    h.api.done(reconcile).await.expect("reconciles");
}

// ---- Name conflict (F8) -----------------------------------------------------------------------

/// A running `demo-lb` of a same-named cluster in another namespace.
fn foreign_lb() -> capdkc_docker::ContainerInfo {
    lb_container(lb_labels(&Identity {
        cluster_name: NAME.into(),
        namespace: "staging".into(),
        cluster_uid: "another-cluster-uid".into(),
        owner_uid: "another-docker-cluster-uid".into(),
    }))
}

// F8
#[tokio::test]
async fn a_load_balancer_name_taken_by_another_cluster_is_reported_once_and_left_alone() {
    let mut h = Harness::new();
    h.docker.add_container(foreign_lb());
    let ours = docker_cluster().with_finalizer();

    let reconcile = h.reconcile(&ours);
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "LoadBalancerAvailable=False (NameConflict)",
            "Ready=False (NotReady)"
        ]
    );
    insta::assert_yaml_snapshot!("name_conflict_status_patch", &status.body);
    let written = status.answer_patched(&ours);
    h.api.event("Warning", "NameConflict").await;
    let error = h.api.done(reconcile).await.expect_err("a conflict fails");
    assert!(
        matches!(&error, docker_cluster::Error::LoadBalancer(EnsureError::NameConflict { name }) if name == LB),
        "{error:?}"
    );

    // Retried with the status written: the same finding, no second write, no second event.
    let reconcile = h.reconcile(&written);
    h.api.done(reconcile).await.expect_err("still a conflict");

    assert_eq!(
        mutating_calls(&h.docker),
        [],
        "the foreign container is never started, stopped or removed"
    );
    assert_eq!(h.docker.container(LB), Some(foreign_lb()));
}

// ---- Deletion ---------------------------------------------------------------------------------

#[tokio::test]
async fn step_3_5_deletion_shows_deleting_then_removes_the_load_balancer_then_the_finalizer() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    let deleting = docker_cluster().converged().deleting();
    let reconcile = h.reconcile(&deleting);

    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "LoadBalancerAvailable=False (Deleting)",
            "Ready=False (Deleting)"
        ]
    );
    assert_eq!(
        h.docker.calls(),
        [],
        "Deleting is shown before anything is removed"
    );
    let shown = status.answer_patched(&deleting);

    let finalizer = h.api.json_patch().await;
    assert_eq!(
        docker_steps(&h.docker),
        ["inspect demo-lb", "remove demo-lb"],
        "the load balancer is gone before the finalizer"
    );
    assert_eq!(
        finalizer.body,
        json!([
            { "op": "test", "path": "/metadata/finalizers/0", "value": FINALIZER },
            { "op": "remove", "path": "/metadata/finalizers/0" },
        ])
    );
    finalizer.answer_patched(&shown);

    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert_eq!(h.docker.container(LB), None);
}

// F8 (deletion): a same-named container of another cluster is not ours to remove, and does not
// hold our deletion back.
#[tokio::test]
async fn step_3_5_deletion_leaves_a_foreign_load_balancer_alone_and_still_lets_go() {
    let mut h = Harness::new();
    h.docker.add_container(foreign_lb());
    let deleting = docker_cluster().converged().deleting();
    let reconcile = h.reconcile(&deleting);
    h.api.status_apply().await.answer_patched(&deleting);
    h.api.event("Warning", "LoadBalancerNotOurs").await;
    h.api.json_patch().await.answer_patched(&deleting);
    h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(docker_steps(&h.docker), ["inspect demo-lb"]);
    assert_eq!(h.docker.container(LB), Some(foreign_lb()));
}

// F3: pause blocked later deletion upstream; here it only waits.
#[tokio::test]
async fn deletion_waits_while_paused_and_completes_once_unpaused() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    let deleting = docker_cluster().converged().deleting();

    h.set_cluster(cluster().paused());
    let reconcile = h.reconcile(&deleting);
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=True (Paused)",
            "LoadBalancerAvailable=True (Available)",
            "Ready=True (Ready)"
        ],
        "only Paused changes"
    );
    let paused = status.answer_patched(&deleting);
    assert_eq!(
        h.api.done(reconcile).await.expect("reconciles"),
        Action::await_change()
    );
    assert_eq!(h.docker.calls(), [], "no Docker call while paused");

    h.set_cluster(cluster());
    let reconcile = h.reconcile(&paused);
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "LoadBalancerAvailable=False (Deleting)",
            "Ready=False (Deleting)"
        ]
    );
    let shown = status.answer_patched(&paused);
    h.api.json_patch().await.answer_patched(&shown);
    h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(
        docker_steps(&h.docker),
        ["inspect demo-lb", "remove demo-lb"]
    );
}

// F2: the owner reference is lost (a restore from backup): what carries our UID goes, then the
// finalizer. Nothing is read: there is no Cluster to read.
#[tokio::test]
async fn step_3_2_deletion_without_an_owner_removes_what_carries_our_uid_then_the_finalizer() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    let mut other = foreign_lb();
    other.name = "staging-demo-lb".into();
    h.docker.add_container(other.clone());
    let orphan = docker_cluster().converged().deleting().without_owner();

    let reconcile = h.reconcile(&orphan);
    let finalizer = h.api.json_patch().await;
    assert_eq!(
        docker_steps(&h.docker),
        ["list", "remove demo-lb"],
        "containers removed before the finalizer"
    );
    assert_eq!(
        listed_labels(&h.docker),
        BTreeMap::from([(OWNER_UID_LABEL.to_owned(), DOCKER_CLUSTER_UID.to_owned())])
    );
    assert_eq!(
        finalizer.body[1],
        json!({ "op": "remove", "path": "/metadata/finalizers/0" })
    );
    finalizer.answer_patched(&orphan);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert_eq!(h.docker.container(&other.name), Some(other), "not ours");
}

// F3 with F2: an orphan deleting while its own paused annotation is set waits like any other.
#[tokio::test]
async fn an_orphan_paused_by_annotation_is_not_released() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    let orphan = docker_cluster()
        .converged()
        .deleting()
        .without_owner()
        .paused_by_annotation();
    let reconcile = h.reconcile(&orphan);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert!(h.api.requests().is_empty(), "no write while paused");
    assert_eq!(h.docker.calls(), [], "no Docker call while paused");
}

// F4 during deletion: marked externally managed after our finalizer was added, the object must
// still be able to go; what carries our UID goes with it.
#[tokio::test]
async fn an_externally_managed_docker_cluster_being_deleted_drops_our_finalizer() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    let deleting = docker_cluster()
        .converged()
        .managed_by("terraform")
        .deleting();
    let reconcile = h.reconcile(&deleting);
    h.api.json_patch().await.answer_patched(&deleting);
    h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(docker_steps(&h.docker), ["list", "remove demo-lb"]);
    assert_eq!(h.api.writes(), 1, "only the finalizer patch");
}

// F2: the owner reference is there but the Cluster is gone.
#[tokio::test]
async fn deletion_whose_cluster_is_gone_removes_what_carries_our_uid_then_the_finalizer() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    let deleting = docker_cluster().converged().deleting();
    h.remove_cluster();
    let reconcile = h.reconcile(&deleting);
    h.api.json_patch().await.answer_patched(&deleting);
    h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(docker_steps(&h.docker), ["list", "remove demo-lb"]);
}

// ---- Docker unreachable (F16) -----------------------------------------------------------------

// F16: the reconcile fails without touching the status, and is retried with backoff per object.
#[tokio::test]
async fn an_unreachable_docker_is_reported_once_in_a_condition_and_an_event() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    h.docker.fail_next(
        "inspect",
        RuntimeError::Unreachable("connection refused".into()),
    );
    let converged = Arc::new(docker_cluster().converged());
    let reconcile = h.reconcile(&converged);
    // Errors become conditions: the reason and the cause, where `kubectl describe` shows them.
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "LoadBalancerAvailable=False (ContainerNotRunning)",
            "Ready=False (NotReady)"
        ]
    );
    assert_eq!(
        status.body["status"]["conditions"][1]["message"],
        "cannot run the load-balancer container: docker daemon unreachable: connection refused"
    );
    let reported = status.answer_patched(converged.as_ref());
    // A new failure is also an event; the same failure again is not.
    let event = h.api.event("Warning", "ContainerNotRunning").await;
    assert_eq!(event["note"], status_message(&reported));
    let error = h.api.done(reconcile).await.expect_err("Docker is down");
    assert!(
        matches!(
            &error,
            docker_cluster::Error::LoadBalancer(EnsureError::Runtime(RuntimeError::Unreachable(_)))
        ),
        "{error:?}"
    );
    assert_eq!(h.api.writes(), 2, "one status write, one event");

    // Still down on the retry: the same condition, so no second write.
    h.docker.fail_next(
        "inspect",
        RuntimeError::Unreachable("connection refused".into()),
    );
    let retried = h.reconcile(&reported);
    h.api.done(retried).await.expect_err("Docker is still down");
    assert_eq!(
        h.api.writes(),
        2,
        "an unchanged condition is not written again, nor its event"
    );
}

// ---- Which Cluster changes wake a DockerCluster -----------------------------------------------

#[tokio::test]
async fn a_cluster_wakes_its_docker_cluster_only_when_something_it_acts_on_changes() {
    let provisioned = ClusterStatus {
        initialization: Some(ClusterInitialization {
            infrastructure_provisioned: Some(true),
            control_plane_initialized: None,
        }),
        conditions: Vec::new(),
    };
    // Other clusters, each seen for the first time, whose infrastructure is not a DockerCluster
    // of ours: another provider's kind in the same group, and a DockerCluster of another group.
    let elsewhere = |name: &str, api_group: &str, kind: &str| {
        let mut other = cluster().with_infrastructure_of_kind(api_group, kind);
        other.metadata.name = Some(name.into());
        other.metadata.uid = Some(format!("{name}-uid"));
        other
    };

    let seen = [
        cluster(),                                           // first sighting: wakes
        cluster().labelled("team", "platform"),              // a label: no
        cluster().with_status(provisioned.clone()),          // core's status update: no
        cluster().with_status(provisioned.clone()).paused(), // paused: wakes
        cluster().with_status(provisioned.clone()),          // unpaused: wakes
        cluster().with_status(provisioned).deleting(),       // deleted: wakes
        elsewhere("aws", "infrastructure.cluster.x-k8s.io", "AWSCluster"),
        elsewhere("lookalike", "infrastructure.example.com", "DockerCluster"),
    ];
    let changes = only_changes_of(futures::stream::iter(seen.map(Arc::new)), what_it_reads);
    let woken: Vec<ObjectRef<DockerCluster>> = changes
        .filter_map(|c| async move { of_cluster(c) })
        .collect()
        .await;
    let demo = ObjectRef::new(NAME).within(NAMESPACE);
    assert_eq!(woken, [demo.clone(), demo.clone(), demo.clone(), demo]);
}

// ---- Draining control-plane nodes (F14) ------------------------------------------------------

/// Two running control-plane nodes of `demo`, labelled as the Docker layer labels them, with
/// their Machines and DockerMachines.
fn two_control_planes(docker: &FakeRuntime) -> (Vec<Machine>, Vec<DockerMachine>) {
    let machines = vec![
        control_plane_machine(),
        machine(OTHER_CONTROL_PLANE).control_plane(),
    ];
    let docker_machines: Vec<DockerMachine> = machines.iter().map(docker_machine_for).collect();
    for ((machine, docker_machine), ip) in machines
        .iter()
        .zip(&docker_machines)
        .zip(["172.30.0.10", "172.30.0.11"])
    {
        docker.add_container(node_container(machine, docker_machine, ip));
    }
    (machines, docker_machines)
}

/// The manager's caches hold `machines` and `docker_machines`.
fn cached(h: &mut Harness, machines: &[Machine], docker_machines: &[DockerMachine]) {
    for machine in machines {
        h.caches.put_machine(machine.clone());
    }
    for docker_machine in docker_machines {
        h.caches.put_docker_machine(docker_machine.clone());
    }
}

/// Reconciles converged DockerCluster `demo` with `machines` and `docker_machines` in the
/// caches; expects the configuration to be rewritten, and returns it.
async fn rendered_with(
    h: &mut Harness,
    machines: &[Machine],
    docker_machines: &[DockerMachine],
) -> String {
    cached(h, machines, docker_machines);
    let reconcile = h.reconcile(&docker_cluster().converged());
    // The status is unchanged (still available): the event is the only write.
    h.api.event("Normal", "LoadBalancerConfigured").await;
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::requeue(RESYNC));
    lb_config(&h.docker)
}

// F14: a deleting control-plane Machine's node gets weight 0 while the other keeps serving; the
// configuration is written, read back and only then reloaded.
#[tokio::test]
async fn a_deleting_control_plane_node_is_drained_with_weight_zero() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    let (mut machines, docker_machines) = two_control_planes(&h.docker);
    machines[0] = machines[0].clone().deleting();
    let config = rendered_with(&mut h, &machines, &docker_machines).await;

    assert!(
        config.contains("server demo-cp-1 172.30.0.10:6443 weight 0 ")
            && config.contains("server demo-cp-2 172.30.0.11:6443 weight 100 "),
        "{config}"
    );
    assert_eq!(
        docker_steps(&h.docker),
        [
            "inspect demo-lb",
            "list",
            "read-file demo-lb /usr/local/etc/haproxy/haproxy.cfg",
            "copy-in demo-lb /usr/local/etc/haproxy/haproxy.cfg",
            "read-file demo-lb /usr/local/etc/haproxy/haproxy.cfg",
            "signal demo-lb SIGHUP",
        ],
        "written, read back, then reloaded"
    );
    // What the machine controller waits for before it removes the node.
    assert!(drained(&config, CONTROL_PLANE));
    assert!(!drained(&config, OTHER_CONTROL_PLANE));
}

// F14: a DockerMachine deleted on its own (its Machine stays) is drained the same way.
#[tokio::test]
async fn a_node_whose_docker_machine_is_deleted_is_drained_too() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    let (machines, mut docker_machines) = two_control_planes(&h.docker);
    docker_machines[0] = docker_machines[0].clone().deleting();
    let config = rendered_with(&mut h, &machines, &docker_machines).await;
    assert!(drained(&config, CONTROL_PLANE), "{config}");
    assert!(!drained(&config, OTHER_CONTROL_PLANE), "{config}");
}

// F14: a configuration that reads back differently (a torn or raced write) is never reloaded;
// the failure is reported in the condition and the reconcile is retried.
#[tokio::test]
async fn a_configuration_that_reads_back_differently_is_not_reloaded() {
    let mut h = Harness::new();
    running_lb(&h.docker);
    let (mut machines, docker_machines) = two_control_planes(&h.docker);
    machines[0] = machines[0].clone().deleting();
    cached(&mut h, &machines, &docker_machines);
    h.docker.tamper_next_upload();
    let converged = docker_cluster().converged();
    let reconcile = h.reconcile(&converged);
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "LoadBalancerAvailable=False (ConfigurationFailed)",
            "Ready=False (NotReady)"
        ]
    );
    status.answer_patched(&converged);
    h.api.event("Warning", "ConfigurationFailed").await;
    let error = h.api.done(reconcile).await.expect_err("retried");
    assert!(
        matches!(
            error,
            docker_cluster::Error::Configuration(ApplyError::ReadBackMismatch { .. })
        ),
        "{error:?}"
    );
    assert!(
        !docker_steps(&h.docker)
            .iter()
            .any(|step| step.starts_with("signal")),
        "no SIGHUP: {:?}",
        docker_steps(&h.docker)
    );
}
