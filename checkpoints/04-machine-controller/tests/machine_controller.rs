//! Layer 2: one DockerMachine reconcile at a time, against a scripted API server and a recording
//! fake Docker. Each test lists the requests the reconcile must make, in order, and answers them;
//! a missing or an extra request, a write to anything but the reconciled DockerMachine, or an
//! event about anything else fails it. The bootstrap runs in a background task against the same
//! fake, whose helper-script emulation writes files and records kubeadm's success sentinel.
//! The comment above a test names the row of the fault table it covers (the book's Testing
//! chapter, book/src/testing.md).

mod support;

use support::checkpoint;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capdkc_capi::Cluster;
use capdkc_capi::cluster::ContractVersionedObjectReference;
use capdkc_capi::contract::CLUSTER_NAME_LABEL;
use capdkc_capi::workload::WorkloadError;
use capdkc_docker::ensure::EnsureError;
use capdkc_docker::fake::{Call, FakeRuntime};
use capdkc_docker::labels::{OWNER_UID_LABEL, ROLE_LABEL};
use capdkc_docker::loadbalancer::{Backend, CONFIG_PATH, LbConfig, render};
use capdkc_docker::node::NodeError;
use capdkc_docker::runtime::{ExecOutput, ExecRequest, PortPublish};
use capdkc_docker::{ContainerSpec, Identity, RuntimeError};
use capdkc_manager::tasks::Progress;
use capdkc_manager::watch::only_changes_of;
use capdkc_test_support::for_step;
use checkpoint::api::DockerMachine;
use checkpoint::controllers::docker_machine::{
    self, FINALIZER, NODE_POLL, RESYNC, of_cluster, of_docker_cluster, of_machine, what_it_reads,
    what_it_waits_for, what_it_waits_on,
};
use futures::StreamExt;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher;
use serde_json::{Value, json};
use support::fixtures::{
    ClusterFixture, DockerClusterFixture, LB, NAME, NAMESPACE, NETWORK, cluster, docker_cluster,
    docker_steps, identity, lb_container, lb_labels, mutating_calls,
};
use support::machines::{
    CLOUD_CONFIG, CONTROL_PLANE, CREATED_IP, DockerMachineFixture, JOIN_TOKEN, KEY_MATERIAL,
    KUBECONFIG_SECRET_PATH, MachineFixture, MachineHarness, NODE_IP, OTHER_CONTROL_PLANE, WORKER,
    base64_payload, bootstrap_secret, bootstrap_secret_name, control_plane_machine,
    demo_docker_cluster, docker_machine_for, machine, node_container, node_identity, running_node,
    secret, secret_path, worker_machine,
};
use support::workload::{WorkloadApi, initialized_node, registered_node};

// ---- Helpers ----------------------------------------------------------------------------------

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

/// The message of the condition of `type_` in a status patch.
fn message(status_patch: &Value, type_: &str) -> String {
    status_patch["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["message"].as_str())
        .unwrap_or_else(|| panic!("no {type_} condition in {status_patch}"))
        .to_owned()
}

/// The Docker calls so far without the execs: what happened to containers, not inside them
/// (the bootstrap task's execs interleave with the reconcile's calls).
fn container_steps(docker: &FakeRuntime) -> Vec<String> {
    docker_steps(docker)
        .into_iter()
        .filter(|step| !step.starts_with("exec "))
        .collect()
}

/// The spec of the one container created so far.
fn created_spec(docker: &FakeRuntime) -> ContainerSpec {
    let mut created = docker.calls().into_iter().filter_map(|call| match call {
        Call::Create(spec) => Some(*spec),
        _ => None,
    });
    let spec = created.next().expect("a container was created");
    assert!(created.next().is_none(), "only one container was created");
    spec
}

/// The argv of every exec so far.
fn exec_argvs(docker: &FakeRuntime) -> Vec<Vec<String>> {
    docker
        .calls()
        .into_iter()
        .filter_map(|call| match call {
            Call::Exec { argv, .. } => Some(argv),
            _ => None,
        })
        .collect()
}

/// The argv of the exec that wrote `path` with the Docker layer's write script:
/// `/bin/sh -c <script> capdkc-write <dir> <path> <mode> <owner>`.
fn write_argv(docker: &FakeRuntime, path: &str) -> Vec<String> {
    exec_argvs(docker)
        .into_iter()
        .find(|argv| argv.get(3).is_some_and(|a| a == "capdkc-write") && argv[5] == path)
        .unwrap_or_else(|| panic!("{path} was written"))
}

/// A node container file, as text.
fn node_file(docker: &FakeRuntime, path: &str) -> String {
    let bytes = docker
        .file(CONTROL_PLANE, path)
        .unwrap_or_else(|| panic!("{path} is in the node"));
    String::from_utf8(bytes).expect("text")
}

/// Cluster `demo` once core has seen its DockerCluster provisioned.
fn provisioned_cluster() -> Cluster {
    cluster().infrastructure_provisioned()
}

/// Cluster `demo` with its control plane initialized too: workers may join.
fn initialized_cluster() -> Cluster {
    cluster()
        .infrastructure_provisioned()
        .control_plane_initialized()
}

/// Answers the read of the workload kubeconfig with 404: no control-plane provider has written
/// one in these tests, so a bootstrapped control-plane node has no Node to initialize yet.
async fn no_workload_kubeconfig(h: &mut MachineHarness) {
    h.api.get_not_found(KUBECONFIG_SECRET_PATH).await;
}

/// Answers a reconcile that provisions `docker_machine` (which has the finalizer already):
/// the owners, the providerID, the bootstrap Secret, the status and the `events`. Returns the
/// DockerMachine as the API server holds it afterwards.
async fn provision(
    h: &mut MachineHarness,
    docker_machine: &DockerMachine,
    machine: &capdkc_capi::Machine,
    cluster: &Cluster,
    events: &[(&str, &str)],
) -> DockerMachine {
    let name = docker_machine.metadata.name.clone().unwrap_or_default();
    let reconcile = h.reconcile(docker_machine);
    h.owners(machine, cluster).await;
    let with_provider_id = h.api.spec_apply().await.answer_patched(docker_machine);
    h.api
        .get(
            &secret_path(&bootstrap_secret_name(&name)),
            &bootstrap_secret(&name, CLOUD_CONFIG),
        )
        .await;
    let written = h.api.status_apply().await.answer_patched(&with_provider_id);
    for (type_, reason) in events {
        h.api.event(type_, reason).await;
    }
    let action = h.api.done(reconcile).await.expect("provisions");
    assert_eq!(action, Action::requeue(RESYNC));
    written
}

/// The events of a first successful provisioning.
const PROVISIONING_EVENTS: [(&str, &str); 3] = [
    ("Normal", "ContainerCreated"),
    ("Normal", "ProviderIDSet"),
    ("Normal", "BootstrapStarted"),
];

/// What a reconcile of a DockerMachine wrote, however many of the chapter's steps are written.
struct Answered {
    /// The server-side apply of the spec (the providerID), if any.
    spec: Option<Value>,
    /// The status write.
    status: Value,
    events: Vec<Value>,
    action: Action,
}

impl Answered {
    /// The one Event of `reason`.
    fn event(&self, reason: &str) -> &Value {
        let mut found = self.events.iter().filter(|e| e["reason"] == reason);
        let event = found.next().unwrap_or_else(|| {
            let reasons: Vec<&Value> = self.events.iter().map(|e| &e["reason"]).collect();
            panic!("expected an Event {reason}, got {reasons:?}")
        });
        assert!(found.next().is_none(), "one Event {reason}");
        event
    }
}

/// Answers every request a reconcile of `docker_machine` (with the finalizer) makes, in
/// whatever order and number the steps written so far make them: the spec and status writes,
/// the bootstrap Secret, the Events.
async fn answer_provisioning(
    h: &mut MachineHarness,
    docker_machine: &DockerMachine,
    machine: &capdkc_capi::Machine,
    cluster: &Cluster,
) -> Answered {
    let name = docker_machine.metadata.name.clone().unwrap_or_default();
    let reconcile = h.reconcile(docker_machine);
    h.owners(machine, cluster).await;
    let secret_at = secret_path(&bootstrap_secret_name(&name));
    let secret = bootstrap_secret(&name, CLOUD_CONFIG);
    let mut current = docker_machine.clone();
    let (mut spec, mut status, mut events) = (None, None, Vec::new());
    let result = h
        .api
        .answer_until_done(reconcile, |received| {
            match (received.method.as_str(), received.path.as_str()) {
                ("POST", _) => {
                    let event = received.body.clone();
                    received.respond(201, &event);
                    events.push(event);
                }
                ("GET", path) if path == secret_at => {
                    received.respond(200, &serde_json::to_value(&secret).expect("a Secret"));
                }
                ("PATCH", path) if path.ends_with("/status") => {
                    status = Some(received.body.clone());
                    current = received.answer_patched(&current);
                }
                ("PATCH", _) if received.body.get("spec").is_some() => {
                    spec = Some(received.body.clone());
                    current = received.answer_patched(&current);
                }
                _ => panic!("a request no step makes here: {received}"),
            }
        })
        .await;
    Answered {
        spec,
        status: status.expect("the reconcile wrote the status"),
        events,
        action: result.expect("reconciles"),
    }
}

// ---- Not ours yet (F1, F2) ----------------------------------------------------------------

// F1: core has not set the owner reference yet; the Machine watch wakes us.
#[tokio::test]
async fn without_an_owner_machine_nothing_is_read_written_or_created() {
    let orphan = docker_machine_for(&control_plane_machine()).without_owner();
    let mut h = MachineHarness::new(&orphan);
    let reconcile = h.reconcile(&orphan);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert!(h.api.requests().is_empty(), "no request at all");
    assert_eq!(h.docker.calls(), [], "no Docker call");
}

// F1: the owner reference names a Machine that is not there (yet): nothing happens.
#[tokio::test]
async fn an_owner_machine_that_does_not_exist_is_waited_for() {
    let machine = control_plane_machine();
    let new = docker_machine_for(&machine);
    let mut h = MachineHarness::new(&new);
    h.caches.put_cluster(provisioned_cluster());
    let reconcile = h.reconcile(&new);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert!(h.api.requests().is_empty(), "no finalizer, no status");
    assert_eq!(h.docker.calls(), [], "no Docker call");
}

// F2: the owner reference is lost (a restore from backup): what carries our UID goes, then the
// finalizer. Nothing is read: there is no Machine to read.
#[tokio::test]
async fn deletion_without_an_owner_removes_what_carries_our_uid_then_the_finalizer() {
    let machine = control_plane_machine();
    let orphan = docker_machine_for(&machine)
        .converged()
        .deleting()
        .without_owner();
    let mut h = MachineHarness::new(&orphan);
    running_node(&h.docker, &machine, &orphan);
    // A same-named machine's node of a cluster in another namespace: not ours.
    let mut foreign = node_container(&machine, &orphan, "172.30.0.99");
    foreign.name = "staging-demo-cp-1".into();
    foreign
        .labels
        .insert(OWNER_UID_LABEL.into(), "someone-elses-uid".into());
    h.docker.add_container(foreign.clone());

    let reconcile = h.reconcile(&orphan);
    let finalizer = h.api.json_patch().await;
    assert_eq!(
        docker_steps(&h.docker),
        ["list", "remove demo-cp-1"],
        "the container goes before the finalizer"
    );
    let listed = h.docker.calls().into_iter().find_map(|call| match call {
        Call::List(labels) => Some(labels),
        _ => None,
    });
    assert_eq!(
        listed,
        Some(BTreeMap::from([(
            OWNER_UID_LABEL.to_owned(),
            orphan.metadata.uid.clone().unwrap_or_default()
        )]))
    );
    assert_eq!(
        finalizer.body,
        json!([
            { "op": "test", "path": "/metadata/finalizers/0", "value": FINALIZER },
            { "op": "remove", "path": "/metadata/finalizers/0" },
        ])
    );
    finalizer.answer_patched(&orphan);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert_eq!(h.api.requests().len(), 1, "only the finalizer patch");
    assert_eq!(h.docker.container(&foreign.name), Some(foreign), "not ours");
}

// F3 with F2: an orphan deleting while its own paused annotation is set waits like any other.
#[tokio::test]
async fn an_orphan_paused_by_annotation_is_not_released() {
    let machine = control_plane_machine();
    let orphan = docker_machine_for(&machine)
        .converged()
        .deleting()
        .without_owner()
        .paused_by_annotation();
    let mut h = MachineHarness::new(&orphan);
    running_node(&h.docker, &machine, &orphan);
    let reconcile = h.reconcile(&orphan);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert!(h.api.requests().is_empty(), "no write while paused");
    assert_eq!(h.docker.calls(), [], "no Docker call while paused");
}

// ---- Paused (F3) ------------------------------------------------------------------------------

// F3: a paused Cluster gets one write, `Paused=True`, and no Docker call; a second reconcile
// with that status only reads.
#[tokio::test]
async fn a_paused_cluster_gets_one_paused_write_and_no_docker_call() {
    let machine = control_plane_machine();
    let new = docker_machine_for(&machine);
    let mut h = MachineHarness::new(&new);
    let paused = provisioned_cluster().paused();

    let reconcile = h.reconcile(&new);
    h.owners(&machine, &paused).await;
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
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());

    let reconcile = h.reconcile(&written);
    h.owners(&machine, &paused).await;
    h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(h.api.writes(), 1, "at most one write while paused");
    assert_eq!(h.docker.calls(), [], "no Docker call while paused");
}

// F3: pause blocked a later deletion upstream; here it only waits.
#[tokio::test]
async fn deletion_waits_while_paused_and_completes_once_unpaused() {
    let machine = worker_machine().deleting();
    let deleting = docker_machine_for(&machine).converged().deleting();
    let mut h = MachineHarness::new(&deleting);
    running_node(&h.docker, &machine, &deleting);

    let reconcile = h.reconcile(&deleting);
    h.owners(&machine, &initialized_cluster().paused()).await;
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=True (Paused)",
            "ContainerProvisioned=True (Provisioned)",
            "BootstrapSucceeded=True (Succeeded)",
            "Ready=True (Ready)"
        ],
        "only Paused changes"
    );
    let paused = status.answer_patched(&deleting);
    h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(h.docker.calls(), [], "no Docker call while paused");

    let reconcile = h.reconcile(&paused);
    h.owners(&machine, &initialized_cluster()).await;
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "ContainerProvisioned=False (Deleting)",
            "BootstrapSucceeded=True (Succeeded)",
            "Ready=False (Deleting)"
        ]
    );
    let shown = status.answer_patched(&paused);
    h.api.json_patch().await.answer_patched(&shown);
    h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(
        docker_steps(&h.docker),
        ["inspect demo-md-0-1", "remove demo-md-0-1"]
    );
}

// ---- Waiting (F5) -----------------------------------------------------------------------------

// F5: nothing runs before the cluster's load balancer exists; the Cluster watch wakes us.
#[tokio::test]
async fn step_4_2_before_the_cluster_infrastructure_is_provisioned_nothing_runs() {
    let machine = control_plane_machine();
    let new = docker_machine_for(&machine);
    let mut h = MachineHarness::new(&new);
    let reconcile = h.reconcile(&new);
    h.owners(&machine, &cluster()).await;
    // With an owner, the finalizer comes first.
    let with_finalizer = h.api.json_patch().await.answer_patched(&new);
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "ContainerProvisioned=False (WaitingForClusterInfrastructure)",
            "BootstrapSucceeded=False (WaitingForContainer)",
            "Ready=False (NotReady)"
        ]
    );
    assert_eq!(status.body["status"].get("initialization"), None);
    status.answer_patched(&with_finalizer);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(
        action,
        Action::await_change(),
        "no requeue: a watch wakes us"
    );
    assert_eq!(h.docker.calls(), [], "no Docker call");
}

// F5: a worker joining before `kubeadm init` has finished would fail; it waits.
#[tokio::test]
async fn step_4_2_a_worker_waits_for_the_control_plane_to_be_initialized() {
    let machine = worker_machine();
    let new = docker_machine_for(&machine).with_finalizer();
    let mut h = MachineHarness::new(&new);
    let reconcile = h.reconcile(&new);
    h.owners(&machine, &provisioned_cluster()).await;
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "ContainerProvisioned=False (WaitingForControlPlaneInitialized)",
            "BootstrapSucceeded=False (WaitingForContainer)",
            "Ready=False (NotReady)"
        ]
    );
    status.answer_patched(&new);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert_eq!(h.docker.calls(), [], "no Docker call");
}

// F5: without bootstrap data there is nothing to run the container for yet.
#[tokio::test]
async fn step_4_2_a_machine_without_bootstrap_data_waits_for_it() {
    let machine = control_plane_machine().without_bootstrap_data();
    let new = docker_machine_for(&machine).with_finalizer();
    let mut h = MachineHarness::new(&new);
    let reconcile = h.reconcile(&new);
    h.owners(&machine, &provisioned_cluster()).await;
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "ContainerProvisioned=False (WaitingForBootstrapData)",
            "BootstrapSucceeded=False (WaitingForContainer)",
            "Ready=False (NotReady)"
        ]
    );
    status.answer_patched(&new);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert_eq!(h.docker.calls(), [], "no Docker call");
}

// ---- Provisioning -----------------------------------------------------------------------------

// ANCHOR: first_reconcile
#[tokio::test]
async fn first_reconcile_runs_the_node_sets_the_provider_id_and_starts_the_bootstrap() {
    let machine = control_plane_machine();
    let new = docker_machine_for(&machine);
    let mut h = MachineHarness::new(&new);
    let reconcile = h.reconcile(&new);

    h.owners(&machine, &provisioned_cluster()).await;

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

    // Then the node container, and the providerID naming it.
    let provider_id = h.api.spec_apply().await;
    assert_eq!(
        docker_steps(&h.docker),
        [
            "inspect demo-cp-1",
            "create demo-cp-1",
            "start demo-cp-1",
            "inspect demo-cp-1"
        ]
    );
    insta::assert_yaml_snapshot!("first_reconcile_provider_id_patch", &provider_id.body);
    let with_provider_id = provider_id.answer_patched(&with_finalizer);

    // Then the bootstrap data, for a task in the background.
    h.api
        .get(
            &secret_path("demo-cp-1-bootstrap"),
            &bootstrap_secret(CONTROL_PLANE, CLOUD_CONFIG),
        )
        .await;

    // Then the status, in one write: provisioned, bootstrap running.
    let status = h.api.status_apply().await;
    insta::assert_yaml_snapshot!("first_reconcile_machine_status_patch", &status.body);
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "ContainerProvisioned=True (Provisioned)",
            "BootstrapSucceeded=False (Running)",
            "Ready=False (NotReady)"
        ]
    );
    assert_eq!(status.body["status"]["initialization"]["provisioned"], true);
    assert_eq!(
        status.body["status"]["addresses"][1],
        json!({ "type": "InternalIP", "address": CREATED_IP })
    );
    status.answer_patched(&with_provider_id);

    // Then what happened, for `kubectl describe`.
    let created = h.api.event("Normal", "ContainerCreated").await;
    assert_eq!(created["note"], "demo-cp-1");
    let provider_id_set = h.api.event("Normal", "ProviderIDSet").await;
    assert_eq!(provider_id_set["note"], "docker:////demo-cp-1");
    h.api.event("Normal", "BootstrapStarted").await;

    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::requeue(RESYNC));
    // A new control-plane node: the load balancer's members changed.
    assert_eq!(h.load_balancer_updates(), [demo_docker_cluster()]);
    assert!(
        h.ctx
            .bootstraps
            .progress(&new.metadata.uid.clone().unwrap_or_default())
            .is_some(),
        "a bootstrap task was started"
    );
}
// ANCHOR_END: first_reconcile

// ANCHOR: provisioned
#[tokio::test]
async fn step_4_3_a_running_container_is_reported_with_its_provider_id_and_addresses() {
    let machine = control_plane_machine();
    let new = docker_machine_for(&machine).with_finalizer();
    let mut h = MachineHarness::new(&new);
    let answered = answer_provisioning(&mut h, &new, &machine, &provisioned_cluster()).await;

    // The providerID names the container, in the spec, once.
    let spec = answered
        .spec
        .as_ref()
        .expect("step 4.3: the providerID is applied to the spec (`apply_spec`)");
    insta::assert_yaml_snapshot!("first_reconcile_provider_id_patch", spec);
    assert_eq!(
        answered.event("ProviderIDSet")["note"],
        "docker:////demo-cp-1"
    );
    // The status says where the node is and that it is provisioned.
    let status = &answered.status["status"];
    assert_eq!(
        status["initialization"]["provisioned"], true,
        "step 4.3: provisioned"
    );
    assert_eq!(
        status["addresses"][1],
        json!({ "type": "InternalIP", "address": CREATED_IP }),
        "step 4.3: the addresses"
    );
    assert!(
        conditions(&answered.status).contains(&"ContainerProvisioned=True (Provisioned)".into()),
        "step 4.3: ContainerProvisioned"
    );
    // A new control-plane node: the load balancer's members changed.
    assert_eq!(
        h.load_balancer_updates(),
        [demo_docker_cluster()],
        "step 4.3: a control-plane node asks for a load-balancer update"
    );
    assert_eq!(answered.action, Action::requeue(RESYNC));
}
// ANCHOR_END: provisioned

// What the node container is created with: names, labels, network, privilege, ports.
#[tokio::test]
async fn step_4_2_a_control_plane_node_is_created_with_its_identity_role_network_and_api_port() {
    let machine = control_plane_machine();
    let new = docker_machine_for(&machine).with_finalizer();
    let mut h = MachineHarness::new(&new);
    let answered = answer_provisioning(&mut h, &new, &machine, &provisioned_cluster()).await;
    answered.event("ContainerCreated");

    let spec = created_spec(&h.docker);
    assert_eq!(
        spec.name, "demo-cp-1",
        "the Machine's name starts with the cluster's"
    );
    assert_eq!(spec.hostname.as_deref(), Some("demo-cp-1"));
    assert!(
        spec.image.starts_with("kindest/node:v1.36.1@sha256:"),
        "pinned by digest: {}",
        spec.image
    );
    assert!(
        node_identity(&new).matches(&spec.labels),
        "identity labels: {:?}",
        spec.labels
    );
    assert_eq!(spec.labels[ROLE_LABEL], "control-plane");
    assert_eq!(spec.network.as_deref(), Some(NETWORK));
    assert_eq!(
        spec.ports,
        [PortPublish {
            container_port: "6443/tcp".into(),
            host_ip: "127.0.0.1".into(),
            host_port: None,
        }],
        "the API server port, on loopback only"
    );
    assert_eq!(spec.env, ["KUBECONFIG=/etc/kubernetes/admin.conf"]);
    assert!(
        !spec.binds.iter().any(|bind| bind.contains("docker.sock")),
        "never the Docker socket: {:?}",
        spec.binds
    );
}

#[tokio::test]
async fn step_4_2_a_worker_node_publishes_no_port() {
    let machine = worker_machine();
    let new = docker_machine_for(&machine).with_finalizer();
    let mut h = MachineHarness::new(&new);
    let answered = answer_provisioning(&mut h, &new, &machine, &initialized_cluster()).await;
    answered.event("ContainerCreated");
    let spec = created_spec(&h.docker);
    assert_eq!(spec.name, "demo-md-0-1");
    assert_eq!(spec.labels[ROLE_LABEL], "worker");
    assert_eq!(spec.ports, []);
    assert_eq!(spec.env, Vec::<String>::new());
    assert_eq!(
        h.load_balancer_updates(),
        [],
        "workers are not load-balancer members"
    );
}

// ---- Bootstrap --------------------------------------------------------------------------------

// ANCHOR: bootstrap_succeeded
#[tokio::test]
async fn step_4_4_a_finished_bootstrap_asks_for_a_reconcile_which_records_success_once() {
    for_step("4.4", async {
        let machine = control_plane_machine();
        let new = docker_machine_for(&machine).with_finalizer();
        let mut h = MachineHarness::new(&new);
        let provisioned = provision(
            &mut h,
            &new,
            &machine,
            &provisioned_cluster(),
            &PROVISIONING_EVENTS,
        )
        .await;

        // The task ran the cloud-config in the node and asks for a reconcile.
        assert_eq!(h.next_ended_bootstrap().await, ObjectRef::from_obj(&new));
        let uid = new.metadata.uid.clone().unwrap_or_default();
        assert!(matches!(
            h.ctx.bootstraps.progress(&uid),
            Some(Progress::Succeeded)
        ));
        assert!(node_file(&h.docker, "/etc/kubernetes/pki/ca.key").contains(KEY_MATERIAL));
        let kubeadm = node_file(&h.docker, "/run/kubeadm/kubeadm.yaml");
        assert!(
            kubeadm.contains("kind: InitConfiguration")
                && kubeadm.ends_with("conntrack:\n  maxPerCore: 0\n"),
            "kube-proxy's conntrack setting is appended: {kubeadm}"
        );
        assert_eq!(node_file(&h.docker, "/etc/motd"), "a Cluster API node");
        assert_eq!(
            node_file(&h.docker, "/run/cluster-api/bootstrap-success.complete"),
            "success\n"
        );
        // Modes travel as arguments of the write script: chmod only when not 0644.
        let key = write_argv(&h.docker, "/etc/kubernetes/pki/ca.key");
        assert_eq!((key[6].as_str(), key[7].as_str()), ("600", "root:root"));
        assert!(key[2].contains("chmod"), "{key:?}");
        let kubeadm = write_argv(&h.docker, "/run/kubeadm/kubeadm.yaml");
        assert_eq!(kubeadm[6], "640");
        let motd = write_argv(&h.docker, "/etc/motd");
        assert_eq!(motd[6], "644");
        assert!(!motd[2].contains("chmod"), "{motd:?}");

        // The reconcile it asked for records the outcome.
        let reconcile = h.reconcile(&provisioned);
        h.owners(&machine, &provisioned_cluster()).await;
        no_workload_kubeconfig(&mut h).await;
        let status = h.api.status_apply().await;
        assert_eq!(
            conditions(&status.body),
            [
                "Paused=False (NotPaused)",
                "ContainerProvisioned=True (Provisioned)",
                "BootstrapSucceeded=True (Succeeded)",
                "Ready=True (Ready)"
            ]
        );
        let succeeded = status.answer_patched(&provisioned);
        let event = h.api.event("Normal", "BootstrapSucceeded").await;
        assert_eq!(event["note"], "demo-cp-1");
        h.api.done(reconcile).await.expect("reconciles");

        // Once: the next reconcile only reads.
        let writes = h.api.writes();
        let reconcile = h.reconcile(&succeeded);
        h.owners(&machine, &provisioned_cluster()).await;
        no_workload_kubeconfig(&mut h).await;
        h.api.done(reconcile).await.expect("reconciles");
        assert_eq!(h.api.writes(), writes, "success is recorded once");
        assert_eq!(
            h.docker.calls().last(),
            Some(&Call::Inspect(CONTROL_PLANE.into())),
            "the bootstrap is not run again"
        );
    })
    .await;
}
// ANCHOR_END: bootstrap_succeeded

// A Machine whose Node has joined (say, after `clusterctl move`, where status is not moved)
// is bootstrapped already: no task is started, success is recorded.
#[tokio::test]
async fn step_4_4_a_machine_whose_node_joined_is_not_bootstrapped_again() {
    for_step("4.4", async {
        let machine = control_plane_machine().with_node_ref();
        let moved = docker_machine_for(&machine)
            .with_finalizer()
            .with_provider_id();
        let mut h = MachineHarness::new(&moved);
        running_node(&h.docker, &machine, &moved);
        let reconcile = h.reconcile(&moved);
        h.owners(&machine, &provisioned_cluster()).await;
        no_workload_kubeconfig(&mut h).await;
        let status = h.api.status_apply().await;
        assert_eq!(
            conditions(&status.body),
            [
                "Paused=False (NotPaused)",
                "ContainerProvisioned=True (Provisioned)",
                "BootstrapSucceeded=True (Succeeded)",
                "Ready=True (Ready)"
            ]
        );
        status.answer_patched(&moved);
        h.api.done(reconcile).await.expect("reconciles");
        assert_eq!(docker_steps(&h.docker), ["inspect demo-cp-1"], "no exec");
    })
    .await;
}

// F6: the message names the Secret, and the reconcile fails so that it is retried with backoff.
#[tokio::test]
async fn step_4_4_a_missing_bootstrap_secret_is_reported_by_name_and_retried() {
    for_step("4.4", async {
        let machine = control_plane_machine();
        let new = docker_machine_for(&machine).with_finalizer();
        let mut h = MachineHarness::new(&new);
        let reconcile = h.reconcile(&new);
        h.owners(&machine, &provisioned_cluster()).await;
        let with_provider_id = h.api.spec_apply().await.answer_patched(&new);
        h.api
            .get_not_found(&secret_path("demo-cp-1-bootstrap"))
            .await;
        let status = h.api.status_apply().await;
        assert_eq!(
            conditions(&status.body),
            [
                "Paused=False (NotPaused)",
                "ContainerProvisioned=True (Provisioned)",
                "BootstrapSucceeded=False (BootstrapDataUnavailable)",
                "Ready=False (NotReady)"
            ]
        );
        assert_eq!(
            message(&status.body, "BootstrapSucceeded"),
            "Secret default/demo-cp-1-bootstrap does not exist"
        );
        status.answer_patched(&with_provider_id);
        h.api.event("Normal", "ContainerCreated").await;
        h.api.event("Normal", "ProviderIDSet").await;
        h.api.event("Warning", "BootstrapDataUnavailable").await;
        let error = h
            .api
            .done(reconcile)
            .await
            .expect_err("retried with backoff");
        assert!(
            matches!(&error, docker_machine::Error::BootstrapData(m) if m.to_string().contains("demo-cp-1-bootstrap")),
            "{error:?}"
        );
        let uid = new.metadata.uid.clone().unwrap_or_default();
        assert!(
            h.ctx.bootstraps.progress(&uid).is_none(),
            "no task without data"
        );
    })
    .await;
}

// F6: a Secret without key `value`: same, and its other content is not quoted.
#[tokio::test]
async fn step_4_4_a_bootstrap_secret_without_value_is_reported_without_its_content() {
    for_step("4.4", async {
        let machine = control_plane_machine();
        let new = docker_machine_for(&machine)
            .with_finalizer()
            .with_provider_id();
        let mut h = MachineHarness::new(&new);
        running_node(&h.docker, &machine, &new);
        let reconcile = h.reconcile(&new);
        h.owners(&machine, &provisioned_cluster()).await;
        let wrong_key = secret(
            "demo-cp-1-bootstrap",
            &[("data", CLOUD_CONFIG), ("format", "cloud-config")],
        );
        h.api
            .get(&secret_path("demo-cp-1-bootstrap"), &wrong_key)
            .await;
        let status = h.api.status_apply().await;
        assert_eq!(
            message(&status.body, "BootstrapSucceeded"),
            "Secret default/demo-cp-1-bootstrap has no key `value`"
        );
        let text = status.body.to_string();
        assert!(
            !text.contains(JOIN_TOKEN) && !text.contains(KEY_MATERIAL),
            "{text}"
        );
        status.answer_patched(&new);
        let warning = h.api.event("Warning", "BootstrapDataUnavailable").await;
        let text = warning.to_string();
        assert!(
            !text.contains(JOIN_TOKEN) && !text.contains(KEY_MATERIAL),
            "{text}"
        );
        h.api
            .done(reconcile)
            .await
            .expect_err("retried with backoff");
    })
    .await;
}

/// Collects everything the tracing macros print, from the reconcile and the bootstrap task
/// alike (a `#[tokio::test]` runs every task on the test's thread).
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut captured = self.0.lock().unwrap_or_else(|p| p.into_inner());
        captured.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// kubeadm failing the way it does when it prints what it knows: the token on stdout, a key
/// on stderr. Every other exec gets the fake's emulation.
fn kubeadm_fails_loudly() -> FakeRuntime {
    FakeRuntime::new().with_exec_hook(|_container, request: &ExecRequest| {
        let line = request.argv.get(2)?;
        if !(request.argv[0] == "/bin/sh" && line.contains("kubeadm init")) {
            return None;
        }
        Some(ExecOutput {
            exit_code: 1,
            stdout: format!(
                "[init] Using Kubernetes version: v1.36.1\n[bootstrap-token] Using token: {JOIN_TOKEN}\n"
            )
            .into_bytes(),
            stderr: format!(
                "error execution phase upload-certs:\n-----BEGIN RSA PRIVATE KEY-----\n{KEY_MATERIAL}\n-----END RSA PRIVATE KEY-----\n"
            )
            .into_bytes(),
        })
    })
}

// F11, and the join token never leaks: a failed step ends the bootstrap for good,
// with redacted output tails; the token, the key and the Secret's base64 payload appear in no
// condition, event, exec argv, container env or log line.
#[tokio::test]
async fn step_4_4_a_failing_bootstrap_step_ends_in_a_terminal_redacted_bootstrap_failed() {
    for_step("4.4", async {
        let logs = CapturedLogs::default();
        let _capturing = logs.install();
        let machine = control_plane_machine();
        let new = docker_machine_for(&machine).with_finalizer();
        let mut h = MachineHarness::with_docker(&new, kubeadm_fails_loudly());
        let mut written_to_the_api = Vec::new();

        let provisioned = provision(
            &mut h,
            &new,
            &machine,
            &provisioned_cluster(),
            &PROVISIONING_EVENTS,
        )
        .await;
        written_to_the_api.push(serde_json::to_string(&provisioned).expect("JSON"));
        assert_eq!(h.next_ended_bootstrap().await, ObjectRef::from_obj(&new));

        let reconcile = h.reconcile(&provisioned);
        h.owners(&machine, &provisioned_cluster()).await;
        let status = h.api.status_apply().await;
        assert_eq!(
            conditions(&status.body),
            [
                "Paused=False (NotPaused)",
                "ContainerProvisioned=True (Provisioned)",
                "BootstrapSucceeded=False (BootstrapFailed)",
                "Ready=False (NotReady)"
            ]
        );
        let failure = message(&status.body, "BootstrapSucceeded");
        assert!(
            failure.contains("runcmd (kubeadm) failed with exit code 1")
                && failure.contains("[REDACTED TOKEN]")
                && failure.contains("[REDACTED PEM]"),
            "says what failed, with redacted tails: {failure}"
        );
        written_to_the_api.push(status.body.to_string());
        let failed = status.answer_patched(&provisioned);
        let event = h.api.event("Warning", "BootstrapFailed").await;
        written_to_the_api.push(event.to_string());
        h.api.done(reconcile).await.expect("reconciles");

        // Terminal: reconciled again, nothing is written and nothing runs again.
        let execs = exec_argvs(&h.docker).len();
        let writes = h.api.writes();
        let reconcile = h.reconcile(&failed);
        h.owners(&machine, &provisioned_cluster()).await;
        h.api.done(reconcile).await.expect("reconciles");
        assert_eq!(h.api.writes(), writes, "no second status write or event");
        assert_eq!(exec_argvs(&h.docker).len(), execs, "no second run");

        // The secrets did reach the node, on exec stdin only.
        let stdin_carried_the_token = h.docker.calls().iter().any(|call| {
            matches!(call, Call::Exec { stdin: Some(stdin), .. }
                if String::from_utf8_lossy(stdin.expose()).contains(JOIN_TOKEN))
        });
        assert!(stdin_carried_the_token, "the token travelled on stdin");

        let argv = format!("{:?}", exec_argvs(&h.docker));
        let env = format!("{:?}", created_spec(&h.docker).env);
        let logged = logs.text();
        assert!(
            logged.contains("bootstrap step"),
            "the capture sees the background task's logs too"
        );
        let payload = base64_payload(CLOUD_CONFIG);
        for (secret, what) in [
            (JOIN_TOKEN, "the join token"),
            (KEY_MATERIAL, "the private key"),
            (payload.as_str(), "the Secret's base64 payload"),
        ] {
            for (place, text) in [
                (
                    "conditions, events and objects written",
                    written_to_the_api.join("\n"),
                ),
                ("exec argv", argv.clone()),
                ("container env", env.clone()),
                ("logs", logged.clone()),
            ] {
                assert_eq!(
                    text.matches(secret).count(),
                    0,
                    "{what} leaked into the {place}"
                );
            }
        }
    })
    .await;
}

// ---- Containers that are in the way (F7, F8, F10) ---------------------------------------------

// F7: a stopped leftover of ours never finished provisioning: replaced, not restarted.
#[tokio::test]
async fn a_stopped_leftover_with_our_uid_is_removed_and_recreated() {
    let machine = control_plane_machine();
    let new = docker_machine_for(&machine).with_finalizer();
    let mut h = MachineHarness::new(&new);
    running_node(&h.docker, &machine, &new);
    h.docker.stop(CONTROL_PLANE);
    provision(
        &mut h,
        &new,
        &machine,
        &provisioned_cluster(),
        &[
            ("Warning", "ContainerRecreated"),
            ("Normal", "ProviderIDSet"),
            ("Normal", "BootstrapStarted"),
        ],
    )
    .await;
    assert_eq!(
        container_steps(&h.docker),
        [
            "inspect demo-cp-1",
            "remove demo-cp-1",
            "create demo-cp-1",
            "start demo-cp-1",
            "inspect demo-cp-1"
        ]
    );
    assert!(h.docker.container(CONTROL_PLANE).is_some_and(|c| c.running));
}

/// A running `demo-cp-1` of a same-named cluster in another namespace.
fn foreign_node() -> capdkc_docker::ContainerInfo {
    let machine = control_plane_machine();
    let mut foreign = node_container(&machine, &docker_machine_for(&machine), NODE_IP);
    foreign.labels.extend(
        Identity {
            cluster_name: NAME.into(),
            namespace: "staging".into(),
            cluster_uid: "another-cluster-uid".into(),
            owner_uid: "another-docker-machine-uid".into(),
        }
        .labels(),
    );
    foreign
}

// F8: reported once (condition and event), the foreign container never touched.
#[tokio::test]
async fn a_node_name_taken_by_another_cluster_is_reported_once_and_left_alone() {
    let machine = control_plane_machine();
    let new = docker_machine_for(&machine).with_finalizer();
    let mut h = MachineHarness::new(&new);
    h.docker.add_container(foreign_node());

    let reconcile = h.reconcile(&new);
    h.owners(&machine, &provisioned_cluster()).await;
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "ContainerProvisioned=False (NameConflict)",
            "Ready=False (NotReady)"
        ]
    );
    let written = status.answer_patched(&new);
    h.api.event("Warning", "NameConflict").await;
    let error = h.api.done(reconcile).await.expect_err("a conflict fails");
    assert!(
        matches!(&error, docker_machine::Error::Node(NodeError::Ensure(EnsureError::NameConflict { name })) if name == CONTROL_PLANE),
        "{error:?}"
    );

    // Retried with the status written: the same finding, no second write, no second event.
    let reconcile = h.reconcile(&written);
    h.owners(&machine, &provisioned_cluster()).await;
    h.api.done(reconcile).await.expect_err("still a conflict");
    assert_eq!(h.api.writes(), 2, "one status write and one event");
    assert_eq!(
        mutating_calls(&h.docker),
        [],
        "never started, stopped or removed"
    );
    assert_eq!(h.docker.container(CONTROL_PLANE), Some(foreign_node()));
}

// F10: a container that cannot start (port taken) would block the name: removed, retried.
#[tokio::test]
async fn a_node_that_cannot_start_is_removed_and_the_reconcile_fails() {
    let machine = control_plane_machine();
    let new = docker_machine_for(&machine).with_finalizer();
    let mut h = MachineHarness::new(&new);
    h.docker.fail_next(
        "start",
        RuntimeError::Other("Bind for 127.0.0.1:40001 failed: port is already allocated".into()),
    );
    let reconcile = h.reconcile(&new);
    h.owners(&machine, &provisioned_cluster()).await;
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "ContainerProvisioned=False (Creating)",
            "Ready=False (NotReady)"
        ]
    );
    assert_eq!(
        message(&status.body, "ContainerProvisioned"),
        "cannot run the node container: docker error: Bind for 127.0.0.1:40001 failed: port is \
         already allocated"
    );
    let reported = message(&status.body, "ContainerProvisioned");
    status.answer_patched(&new);
    let warning = h.api.event("Warning", "Creating").await;
    assert_eq!(warning["note"], reported);
    h.api
        .done(reconcile)
        .await
        .expect_err("retried with backoff");
    assert_eq!(
        docker_steps(&h.docker),
        [
            "inspect demo-cp-1",
            "create demo-cp-1",
            "start demo-cp-1",
            "remove demo-cp-1"
        ]
    );
    assert_eq!(
        h.docker.container(CONTROL_PLANE),
        None,
        "the half-created container is gone"
    );
}

/// Makes the fake answer like Docker when someone else created `container` between our
/// inspect and our create: the inspect says 404, the create 409.
fn created_concurrently(docker: &FakeRuntime, container: capdkc_docker::ContainerInfo) {
    docker.add_container(container);
    docker.fail_next(
        "inspect",
        RuntimeError::NotFound("No such container".into()),
    );
    docker.fail_next(
        "create",
        RuntimeError::Conflict("name demo-cp-1 is already in use".into()),
    );
}

// F10: 409 on create, and the container is ours (an earlier reconcile made it): adopted.
#[tokio::test]
async fn a_409_on_create_adopts_a_container_that_is_ours() {
    let machine = control_plane_machine();
    let new = docker_machine_for(&machine).with_finalizer();
    let mut h = MachineHarness::new(&new);
    let mut ours = node_container(&machine, &new, NODE_IP);
    ours.running = false;
    ours.state = "created".into();
    created_concurrently(&h.docker, ours);
    provision(
        &mut h,
        &new,
        &machine,
        &provisioned_cluster(),
        &PROVISIONING_EVENTS,
    )
    .await;
    assert_eq!(
        container_steps(&h.docker),
        [
            "inspect demo-cp-1",
            "create demo-cp-1",
            "inspect demo-cp-1",
            "start demo-cp-1",
            "inspect demo-cp-1"
        ]
    );
}

// F10 with F8: 409 on create, and the container is someone else's: not adopted, not touched.
#[tokio::test]
async fn a_409_on_create_never_adopts_a_foreign_container() {
    let machine = control_plane_machine();
    let new = docker_machine_for(&machine).with_finalizer();
    let mut h = MachineHarness::new(&new);
    created_concurrently(&h.docker, foreign_node());
    let reconcile = h.reconcile(&new);
    h.owners(&machine, &provisioned_cluster()).await;
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body)[1],
        "ContainerProvisioned=False (NameConflict)"
    );
    status.answer_patched(&new);
    h.api.event("Warning", "NameConflict").await;
    h.api.done(reconcile).await.expect_err("a conflict fails");
    assert_eq!(
        docker_steps(&h.docker),
        ["inspect demo-cp-1", "create demo-cp-1", "inspect demo-cp-1"]
    );
    assert_eq!(h.docker.container(CONTROL_PLANE), Some(foreign_node()));
}

// ---- Provisioned before (F9) ------------------------------------------------------------------

// F9: once provisioned, a vanished container is reported, never recreated (a MachineHealthCheck
// replaces the Machine).
#[tokio::test]
async fn a_provisioned_machine_whose_container_is_gone_reports_it_and_never_recreates_it() {
    let machine = control_plane_machine();
    let converged = docker_machine_for(&machine).converged();
    let mut h = MachineHarness::new(&converged);
    let reconcile = h.reconcile(&converged);
    h.owners(&machine, &provisioned_cluster()).await;
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "ContainerProvisioned=False (ContainerNotFound)",
            "BootstrapSucceeded=True (Succeeded)",
            "Ready=False (NotReady)"
        ]
    );
    assert_eq!(
        message(&status.body, "ContainerProvisioned"),
        "container demo-cp-1 is gone; it is not recreated once provisioned"
    );
    status.answer_patched(&converged);
    let action = h.api.done(reconcile).await.expect("reported, not an error");
    assert_eq!(action, Action::requeue(RESYNC));
    assert_eq!(docker_steps(&h.docker), ["inspect demo-cp-1"]);
}

// F9: a stopped container is reported, not started.
#[tokio::test]
async fn a_provisioned_machine_whose_container_stopped_reports_it_and_does_not_start_it() {
    let machine = control_plane_machine();
    let converged = docker_machine_for(&machine).converged();
    let mut h = MachineHarness::new(&converged);
    running_node(&h.docker, &machine, &converged);
    h.docker.stop(CONTROL_PLANE);
    let reconcile = h.reconcile(&converged);
    h.owners(&machine, &provisioned_cluster()).await;
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body)[1],
        "ContainerProvisioned=False (ContainerNotRunning)"
    );
    assert_eq!(
        message(&status.body, "ContainerProvisioned"),
        "container demo-cp-1 is exited; it is not recreated once provisioned"
    );
    status.answer_patched(&converged);
    h.api.done(reconcile).await.expect("reported, not an error");
    assert_eq!(docker_steps(&h.docker), ["inspect demo-cp-1"]);
    assert!(
        h.docker
            .container(CONTROL_PLANE)
            .is_some_and(|c| !c.running)
    );
}

// ---- Converged --------------------------------------------------------------------------------

// ANCHOR: converged
// Converged objects are not rewritten (0 writes, 0 mutating Docker calls).
// No control-plane provider has written a workload kubeconfig here, so the Node phase ends at
// that read (`an_initialized_node_is_not_written` covers a converged Node).
#[tokio::test]
async fn a_converged_docker_machine_is_read_but_never_rewritten_over_100_reconciles() {
    let machine = control_plane_machine();
    let converged = docker_machine_for(&machine).converged();
    let mut h = MachineHarness::new(&converged);
    running_node(&h.docker, &machine, &converged);

    for round in 1..=100 {
        let reconcile = h.reconcile(&converged);
        h.owners(&machine, &provisioned_cluster()).await;
        no_workload_kubeconfig(&mut h).await;
        // Fails if anything follows these reads: a status write, a patch, an event.
        let action = h.api.returned(reconcile).await.expect("reconciles");
        assert_eq!(action, Action::requeue(RESYNC));
        let mutating = mutating_calls(&h.docker);
        assert!(
            mutating.is_empty(),
            "reconcile {round} of a converged DockerMachine changed Docker: {mutating:?}"
        );
        h.docker.clear_calls();
    }
    h.api.assert_silent().await;
    assert_eq!(
        h.api.requests().len(),
        100,
        "one read per reconcile: the workload kubeconfig (owners come from the caches)"
    );
    assert_eq!(
        h.api.writes(),
        0,
        "a converged DockerMachine costs no write"
    );
}
// ANCHOR_END: converged

// Resilience: a stripped finalizer is added back, nothing else changes.
#[tokio::test]
async fn a_stripped_finalizer_is_added_back_and_nothing_else_is_written() {
    let machine = control_plane_machine();
    let stripped = docker_machine_for(&machine).converged().without_finalizer();
    let mut h = MachineHarness::new(&stripped);
    running_node(&h.docker, &machine, &stripped);
    let reconcile = h.reconcile(&stripped);
    h.owners(&machine, &provisioned_cluster()).await;
    let finalizer = h.api.json_patch().await;
    assert_eq!(
        finalizer.body[1],
        json!({ "op": "add", "path": "/metadata/finalizers", "value": [FINALIZER] })
    );
    finalizer.answer_patched(&stripped);
    no_workload_kubeconfig(&mut h).await;
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::requeue(RESYNC));
    assert_eq!(h.api.writes(), 1, "the finalizer patch only");
    assert_eq!(mutating_calls(&h.docker), [], "no Docker change");
}

// ---- Deletion (F13, F14) ----------------------------------------------------------------------

/// A fake whose node never gets its container runtime up: a bootstrap task waits (in 2 s
/// steps, until the bootstrap timeout) and is still running when the test deletes the machine.
fn containerd_never_starts() -> FakeRuntime {
    FakeRuntime::new().with_exec_hook(|_container, request: &ExecRequest| {
        let line = request.argv.get(2)?;
        line.contains("containerd.sock").then(|| ExecOutput {
            exit_code: 1,
            ..ExecOutput::default()
        })
    })
}

// F13: deleting a Machine while its bootstrap runs: the task is cancelled, `Deleting` is shown
// first, the container goes, then the finalizer.
#[tokio::test]
async fn step_4_5_deleting_during_the_bootstrap_cancels_it_removes_the_node_then_the_finalizer() {
    let machine = worker_machine();
    let new = docker_machine_for(&machine).with_finalizer();
    let uid = new.metadata.uid.clone().unwrap_or_default();
    let mut h = MachineHarness::with_docker(&new, containerd_never_starts());
    let provisioned = provision(
        &mut h,
        &new,
        &machine,
        &initialized_cluster(),
        &PROVISIONING_EVENTS,
    )
    .await;
    assert!(matches!(
        h.ctx.bootstraps.progress(&uid),
        Some(Progress::Running)
    ));
    // The task's note (what the node is waiting for) asked for a reconcile to show it.
    let mut note = None;
    for _ in 0..100 {
        note = h.ctx.bootstraps.note(&uid);
        if note.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let note = note.unwrap_or_default();
    assert!(note.starts_with("waiting for the node to boot"), "{note}");
    let _noted = h.ended_bootstraps_so_far();

    let deleting = provisioned.deleting();
    let reconcile = h.reconcile(&deleting);
    h.owners(&machine.clone().deleting(), &initialized_cluster())
        .await;
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body),
        [
            "Paused=False (NotPaused)",
            "ContainerProvisioned=False (Deleting)",
            "BootstrapSucceeded=False (Running)",
            "Ready=False (Deleting)"
        ]
    );
    assert!(
        h.docker.container(WORKER).is_some(),
        "Deleting is shown before anything is removed"
    );
    let shown = status.answer_patched(&deleting);

    let finalizer = h.api.json_patch().await;
    assert!(
        h.ctx.bootstraps.progress(&uid).is_none(),
        "the task is cancelled"
    );
    assert_eq!(
        h.docker.container(WORKER),
        None,
        "the node goes before the finalizer"
    );
    assert!(
        container_steps(&h.docker)
            .ends_with(&["inspect demo-md-0-1".into(), "remove demo-md-0-1".into()]),
        "{:?}",
        container_steps(&h.docker)
    );
    finalizer.answer_patched(&shown);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert_eq!(
        h.ended_bootstraps_so_far(),
        [],
        "a cancelled task never reports back"
    );
}

// F8 (deletion): a same-named container of another cluster is not ours to remove, and does not
// hold our deletion back.
#[tokio::test]
async fn step_4_5_deletion_leaves_a_foreign_node_alone_and_still_lets_go() {
    let machine = worker_machine().deleting();
    let deleting = docker_machine_for(&machine).converged().deleting();
    let mut h = MachineHarness::new(&deleting);
    let mut foreign = foreign_node();
    foreign.name = WORKER.into();
    h.docker.add_container(foreign.clone());
    let reconcile = h.reconcile(&deleting);
    h.owners(&machine, &initialized_cluster()).await;
    h.api.status_apply().await.answer_patched(&deleting);
    let event = h.api.event("Warning", "ContainerNotOurs").await;
    assert_eq!(
        event["note"],
        "left container demo-md-0-1 alone: it belongs to another cluster"
    );
    h.api.json_patch().await.answer_patched(&deleting);
    h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(docker_steps(&h.docker), ["inspect demo-md-0-1"]);
    assert_eq!(h.docker.container(WORKER), Some(foreign));
}

/// The load balancer of `demo` in the fake, configured with both control-plane nodes,
/// `demo-cp-1` draining or not.
fn load_balancer_with_both_control_planes(docker: &FakeRuntime, first_draining: bool) {
    docker.add_container(lb_container(lb_labels(&identity())));
    let backend = |name: &str, address: &str, draining| Backend {
        name: name.into(),
        address: address.into(),
        draining,
    };
    let config = render(&LbConfig::new(vec![
        backend(CONTROL_PLANE, NODE_IP, first_draining),
        backend(OTHER_CONTROL_PLANE, "172.30.0.11", false),
    ]));
    docker.put_file(LB, CONFIG_PATH, config);
}

// F14: a deleting control-plane node leaves the load balancer first (weight 0, rendered by the
// DockerCluster controller, which it asks to look); only then does its container go.
#[tokio::test]
async fn step_4_5_a_deleting_control_plane_node_is_drained_before_its_container_is_removed() {
    let machine = control_plane_machine().deleting();
    let deleting = docker_machine_for(&machine).converged().deleting();
    let mut h = MachineHarness::new(&deleting);
    running_node(&h.docker, &machine, &deleting);
    load_balancer_with_both_control_planes(&h.docker, false);

    // Still a weighted member: shown as Deleting, but the container stays.
    let reconcile = h.reconcile(&deleting);
    h.owners(&machine, &provisioned_cluster()).await;
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body)[1],
        "ContainerProvisioned=False (Deleting)"
    );
    let shown = status.answer_patched(&deleting);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(
        action,
        Action::requeue(Duration::from_secs(1)),
        "looks again soon"
    );
    assert_eq!(
        docker_steps(&h.docker),
        ["read-file demo-lb /usr/local/etc/haproxy/haproxy.cfg"]
    );
    assert!(
        h.docker.container(CONTROL_PLANE).is_some(),
        "not removed yet"
    );
    assert_eq!(
        h.load_balancer_updates(),
        [demo_docker_cluster()],
        "asks for weight 0"
    );

    // The DockerCluster controller has rendered weight 0: now the container goes.
    load_balancer_with_both_control_planes(&h.docker, true);
    h.docker.clear_calls();
    let reconcile = h.reconcile(&shown);
    h.owners(&machine, &provisioned_cluster()).await;
    let finalizer = h.api.json_patch().await;
    assert_eq!(
        docker_steps(&h.docker),
        [
            "read-file demo-lb /usr/local/etc/haproxy/haproxy.cfg",
            "inspect demo-cp-1",
            "remove demo-cp-1"
        ]
    );
    finalizer.answer_patched(&shown);
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::await_change());
    assert_eq!(h.api.writes(), 2, "one status write, one finalizer patch");
    assert_eq!(
        h.load_balancer_updates(),
        [demo_docker_cluster(), demo_docker_cluster()],
        "before the removal (drain) and after it (re-render without the node)"
    );
}

// ---- The workload cluster's Node (F17) --------------------------------------------------------

/// A converged control-plane machine in a cluster whose control plane is initialized, the
/// workload API stand-in, and the `demo-kubeconfig` Secret pointing at it.
async fn node_phase() -> (MachineHarness, WorkloadApi, DockerMachine) {
    let machine = control_plane_machine();
    let converged = docker_machine_for(&machine).converged();
    let h = MachineHarness::new(&converged);
    running_node(&h.docker, &machine, &converged);
    (h, WorkloadApi::start().await, converged)
}

/// Answers the reads of a reconcile that reaches the Node phase.
async fn reads_up_to_the_node(h: &mut MachineHarness, workload: &WorkloadApi) {
    h.owners(&control_plane_machine(), &initialized_cluster())
        .await;
    let kubeconfig = secret("demo-kubeconfig", &[("value", &workload.kubeconfig())]);
    h.api.get(KUBECONFIG_SECRET_PATH, &kubeconfig).await;
}

// F17: not registered yet: looked for again in 10 s, without an error or a write.
#[tokio::test]
async fn a_node_not_registered_yet_is_looked_for_again_soon_without_an_error() {
    let (mut h, workload, converged) = node_phase().await;
    let reconcile = h.reconcile(&converged);
    reads_up_to_the_node(&mut h, &workload).await;
    let action = h.api.done(reconcile).await.expect("not an error");
    assert_eq!(action, Action::requeue(NODE_POLL));
    assert_eq!(workload.request_lines(), ["GET /api/v1/nodes/demo-cp-1"]);
    assert_eq!(h.api.writes(), 0);
}

// F17: a registered Node gets our providerID and loses the "uninitialized" taint, in one JSON
// patch guarded by its resourceVersion.
#[tokio::test]
async fn a_registered_node_gets_the_provider_id_and_loses_the_uninitialized_taint() {
    let (mut h, workload, converged) = node_phase().await;
    workload.add_node(&registered_node(CONTROL_PLANE));
    let reconcile = h.reconcile(&converged);
    reads_up_to_the_node(&mut h, &workload).await;
    let event = h.api.event("Normal", "NodeInitialized").await;
    assert_eq!(event["note"], "demo-cp-1");
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::requeue(RESYNC));

    let requests = workload.requests();
    assert_eq!(
        workload.request_lines(),
        [
            "GET /api/v1/nodes/demo-cp-1",
            "PATCH /api/v1/nodes/demo-cp-1"
        ]
    );
    assert_eq!(
        requests[1].content_type.as_deref(),
        Some("application/json-patch+json")
    );
    assert_eq!(
        requests[1].body[0],
        json!({ "op": "test", "path": "/metadata/resourceVersion", "value": "11" })
    );
    let node = workload.node(CONTROL_PLANE).expect("the node");
    let spec = node.spec.unwrap_or_default();
    assert_eq!(spec.provider_id.as_deref(), Some("docker:////demo-cp-1"));
    let taints: Vec<String> = spec
        .taints
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.key)
        .collect();
    assert_eq!(taints, ["node-role.kubernetes.io/control-plane"]);
    assert_eq!(
        h.api.writes(),
        1,
        "the event only: the management objects are unchanged"
    );
}

// F17: a Node that already has our providerID and no "uninitialized" taint: no write.
#[tokio::test]
async fn an_initialized_node_is_not_written() {
    let (mut h, workload, converged) = node_phase().await;
    workload.add_node(&initialized_node(CONTROL_PLANE));
    let reconcile = h.reconcile(&converged);
    reads_up_to_the_node(&mut h, &workload).await;
    let action = h.api.done(reconcile).await.expect("reconciles");
    assert_eq!(action, Action::requeue(RESYNC));
    assert_eq!(workload.request_lines(), ["GET /api/v1/nodes/demo-cp-1"]);
    assert_eq!(h.api.writes(), 0);
}

// Errors become conditions: the workload kubeconfig is unusable, so the
// reconcile fails and is retried, but the bootstrap outcome it observed first is written.
#[tokio::test]
async fn a_failing_node_phase_still_records_the_bootstrap_outcome() {
    let machine = control_plane_machine();
    let new = docker_machine_for(&machine).with_finalizer();
    let mut h = MachineHarness::new(&new);
    let provisioned = provision(
        &mut h,
        &new,
        &machine,
        &provisioned_cluster(),
        &PROVISIONING_EVENTS,
    )
    .await;
    h.next_ended_bootstrap().await;

    let reconcile = h.reconcile(&provisioned);
    h.owners(&machine, &provisioned_cluster()).await;
    let unusable = secret("demo-kubeconfig", &[("kubeconfig", "not where it belongs")]);
    h.api.get(KUBECONFIG_SECRET_PATH, &unusable).await;
    let status = h.api.status_apply().await;
    assert_eq!(
        conditions(&status.body)[2],
        "BootstrapSucceeded=True (Succeeded)"
    );
    status.answer_patched(&provisioned);
    h.api.event("Normal", "BootstrapSucceeded").await;
    let error = h
        .api
        .done(reconcile)
        .await
        .expect_err("retried with backoff");
    assert!(
        matches!(&error, docker_machine::Error::Workload(WorkloadError::NoKubeconfig(name)) if name == "demo-kubeconfig"),
        "{error:?}"
    );
}

// ---- Which changes wake which DockerMachines --------------------------------------------------

#[tokio::test]
async fn a_machine_wakes_its_docker_machine_only_when_something_it_acts_on_changes() {
    let mut elsewhere = machine("aws-1");
    elsewhere.spec.infrastructure_ref = Some(ContractVersionedObjectReference {
        api_group: "infrastructure.cluster.x-k8s.io".into(),
        kind: "AWSMachine".into(),
        name: "aws-1".into(),
    });
    let waiting = control_plane_machine().without_bootstrap_data();
    let seen = [
        waiting.clone(),                         // first sighting: wakes
        waiting.labelled("team", "platform"),    // a label: no
        control_plane_machine(),                 // bootstrap data: wakes
        control_plane_machine().with_node_ref(), // the node joined: wakes
        control_plane_machine()
            .with_node_ref()
            .paused_by_annotation(), // paused: wakes
        control_plane_machine()
            .with_node_ref()
            .paused_by_annotation()
            .deleting(), // deleted: wakes
        elsewhere,                               // another provider's machine
    ];
    let changes = only_changes_of(futures::stream::iter(seen.map(Arc::new)), what_it_reads);
    let woken: Vec<ObjectRef<DockerMachine>> = changes
        .filter_map(|m| async move { of_machine(m) })
        .collect()
        .await;
    let ours = ObjectRef::new(CONTROL_PLANE).within(NAMESPACE);
    assert_eq!(woken, vec![ours; 5]);
}

/// A cache of DockerMachines: `demo`'s control plane and worker, a machine of cluster `other`,
/// and one labelled `demo` in namespace `staging` (another cluster of the same name).
fn docker_machine_cache() -> Store<DockerMachine> {
    let (store, mut writer) = reflector::store();
    let mut other =
        docker_machine_for(&machine("other-md-0")).labelled(CLUSTER_NAME_LABEL, "other");
    other.metadata.uid = Some("uid-other".into());
    let mut staging = docker_machine_for(&control_plane_machine());
    staging.metadata.namespace = Some("staging".into());
    for docker_machine in [
        docker_machine_for(&control_plane_machine()),
        docker_machine_for(&worker_machine()),
        other,
        staging,
    ] {
        writer.apply_watcher_event(&watcher::Event::Apply(docker_machine));
    }
    store
}

/// `namespace/name` of each reference, sorted (the cache has no order).
fn sorted_names(refs: &[ObjectRef<DockerMachine>]) -> Vec<String> {
    let mut names: Vec<String> = refs
        .iter()
        .map(|r| format!("{}/{}", r.namespace.as_deref().unwrap_or_default(), r.name))
        .collect();
    names.sort();
    names
}

/// Every DockerMachine the changes in `seen` wake, through `what_matters` and `mapper`.
async fn woken_by<K, H>(
    seen: Vec<K>,
    what_matters: fn(&K) -> H,
    mapper: fn(&Store<DockerMachine>, Arc<K>) -> Vec<ObjectRef<DockerMachine>>,
) -> Vec<ObjectRef<DockerMachine>>
where
    K: kube::Resource<DynamicType = ()> + Send + Sync + 'static,
    H: std::hash::Hash + 'static,
{
    let cache = docker_machine_cache();
    let changes = only_changes_of(
        futures::stream::iter(seen.into_iter().map(Arc::new)),
        what_matters,
    );
    let woken: Vec<Vec<ObjectRef<DockerMachine>>> =
        changes.map(|k| mapper(&cache, k)).collect().await;
    woken.concat()
}

#[tokio::test]
async fn a_cluster_wakes_its_docker_machines_when_what_they_wait_for_changes() {
    let mut other = cluster();
    other.metadata.name = Some("gone".into());
    let seen = vec![
        cluster(),                              // first sighting: wakes
        cluster().labelled("team", "platform"), // a label: no
        cluster().infrastructure_provisioned(), // infrastructure provisioned: wakes
        initialized_cluster(),                  // control plane initialized: wakes
        initialized_cluster().paused(),         // paused: wakes
        initialized_cluster().paused(),         // the same again: no
        other,                                  // a cluster without machines
    ];
    let woken = woken_by(seen, what_it_waits_for, of_cluster).await;
    let mut expected = Vec::new();
    for _ in 0..4 {
        expected.extend(["default/demo-cp-1", "default/demo-md-0-1"]);
    }
    expected.sort();
    assert_eq!(
        sorted_names(&woken),
        expected,
        "in its namespace, labelled with it"
    );
}

#[tokio::test]
async fn a_docker_cluster_wakes_its_docker_machines_when_its_spec_changes() {
    let mut changed = docker_cluster();
    changed.metadata.generation = Some(2);
    let seen = vec![
        docker_cluster(),                  // first sighting: wakes
        docker_cluster().with_finalizer(), // metadata only: no
        changed,                           // a new generation: wakes
    ];
    let woken = woken_by(seen, what_it_waits_on, of_docker_cluster).await;
    assert_eq!(
        sorted_names(&woken),
        [
            "default/demo-cp-1",
            "default/demo-cp-1",
            "default/demo-md-0-1",
            "default/demo-md-0-1"
        ]
    );
}
