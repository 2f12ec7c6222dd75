//! The DockerMachine controller: one node container per Machine, bootstrapped in the background
//! from the Machine's cloud-config, following the Cluster API v1beta2 InfraMachine contract.

use std::sync::Arc;
use std::time::Duration;

use capdkc_capi::conditions::is_true;
use capdkc_capi::contract::CLUSTER_NAME_LABEL;
use capdkc_capi::owners::{cluster_of, owner_machine};
use capdkc_capi::patch::{apply_spec, publish_event};
use capdkc_capi::predicates::{has_paused_annotation, is_deleting, is_paused};
use capdkc_capi::workload::{NodeOutcome, WorkloadError, initialize_node};
use capdkc_capi::{Cluster, ConditionUpdate, Machine, StatusPatch};
use capdkc_docker::ensure::{Action as DockerAction, EnsureError};
use capdkc_docker::labels::container_hostname;
use capdkc_docker::node::{HostMount, NodeError, NodeRequest, Role};
use capdkc_docker::{ContainerInfo, ContainerRuntime, Identity, RuntimeError};
use capdkc_manager::tasks::Progress;
use capdkc_manager::{DisplayChain, finalizer};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, ResourceExt};
use serde_json::json;

use super::Context;
use super::bootstrap::{self, BootstrapDataError};
use crate::api::conditions::{BOOTSTRAP_SUCCEEDED, CONTAINER_PROVISIONED, PAUSED, reasons};
use crate::api::{DockerCluster, DockerMachine, Initialization, MachineAddress};

// ANCHOR: constants
/// The controller's name in metrics and logs.
pub const NAME: &str = "dockermachine";
/// Keeps a DockerMachine until its container is gone.
pub const FINALIZER: &str = "dockermachine.infrastructure.cluster.x-k8s.io";
/// How often a converged DockerMachine is looked at again (Docker does not report stops).
pub const RESYNC: Duration = Duration::from_secs(300);
/// How soon to look for a Node that has not registered yet.
pub const NODE_POLL: Duration = Duration::from_secs(10);
// ANCHOR_END: constants

// ANCHOR: error
/// Why a reconcile failed; the manager retries it with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API")]
    Kube(#[from] kube::Error),
    #[error("Docker")]
    Docker(#[from] RuntimeError),
    #[error("cannot run the node container")]
    Node(#[from] NodeError),
    #[error("cannot remove the node container")]
    Removal(#[from] EnsureError),
    #[error(transparent)]
    BootstrapData(#[from] BootstrapDataError),
    #[error("workload cluster")]
    Workload(#[from] WorkloadError),
    #[error("DockerMachine {0} has no namespace")]
    NoNamespace(String),
}

impl Error {
    /// How a failure shows in the status: the one place errors become conditions.
    fn condition(&self) -> Option<ConditionUpdate> {
        let (type_, reason) = match self {
            Error::Node(NodeError::Ensure(EnsureError::NameConflict { name })) => {
                let message = format!(
                    "container {name} belongs to another cluster (another namespace or an \
                     earlier cluster of this name) and was left alone; remove it or rename this \
                     machine"
                );
                let reason = reasons::NAME_CONFLICT;
                return Some(ConditionUpdate::false_(
                    CONTAINER_PROVISIONED,
                    reason,
                    message,
                ));
            }
            Error::Node(NodeError::Mount(refused)) => {
                // The operator's allowlist decides; retrying cannot help until it changes.
                let reason = reasons::HOST_MOUNT_NOT_ALLOWED;
                let message = refused.to_string();
                return Some(ConditionUpdate::false_(
                    CONTAINER_PROVISIONED,
                    reason,
                    message,
                ));
            }
            Error::Node(_) => (CONTAINER_PROVISIONED, reasons::CREATING),
            Error::BootstrapData(_) => (BOOTSTRAP_SUCCEEDED, reasons::BOOTSTRAP_DATA_UNAVAILABLE),
            _ => return None,
        };
        Some(ConditionUpdate::false_(
            type_,
            reason,
            DisplayChain(self).to_string(),
        ))
    }
}
// ANCHOR_END: error

/// The objects a DockerMachine depends on, found from its owner Machine.
pub struct Owners {
    pub machine: Arc<Machine>,
    pub cluster: Arc<Cluster>,
    pub docker_cluster: Arc<DockerCluster>,
}

// ANCHOR: reconcile
/// Brings one DockerMachine towards its desired state, in the contract's order.
pub async fn reconcile(
    docker_machine: Arc<DockerMachine>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let namespace = docker_machine
        .namespace()
        .ok_or_else(|| Error::NoNamespace(docker_machine.name_any()))?;
    let api = Api::<DockerMachine>::namespaced(ctx.client.clone(), &namespace);

    // Machine, Cluster, DockerCluster: without all three there is nothing to do yet (their
    // watches wake us), unless we are being deleted.
    let Some(owners) = owners(&docker_machine, &ctx) else {
        if is_deleting(docker_machine.as_ref()) && !has_paused_annotation(&docker_machine.metadata)
        {
            release_orphan(&api, &docker_machine, &ctx).await?;
        }
        return Ok(Action::await_change());
    };

    let mut patch = StatusPatch::new(docker_machine.as_ref(), &ctx.clock);
    if is_paused(&owners.cluster, docker_machine.as_ref()) {
        patch.set(ConditionUpdate::true_(PAUSED, reasons::PAUSED));
        patch
            .apply_unsummarised(&api, &docker_machine, &ctx.recorder)
            .await?;
        return Ok(Action::await_change());
    }
    patch.set(ConditionUpdate::false_(PAUSED, reasons::NOT_PAUSED, ""));
    if is_deleting(docker_machine.as_ref()) {
        return reconcile_delete(&api, &docker_machine, &owners, patch, &ctx).await;
    }
    if !finalizer::has(docker_machine.as_ref(), FINALIZER) {
        finalizer::add(&api, docker_machine.as_ref(), FINALIZER).await?;
    }

    let result = reconcile_normal(&api, &docker_machine, &owners, &mut patch, &ctx).await;
    if let Err(error) = &result
        && let Some(condition) = error.condition()
    {
        if !patch.has_reason(condition.type_, condition.reason) {
            patch.event(EventType::Warning, condition.reason, &condition.message);
        }
        patch.set(condition);
    }
    patch.apply(&api, &docker_machine, &ctx.recorder).await?;
    result
}
// ANCHOR_END: reconcile

// ANCHOR: owners
/// The owner Machine (set by core), its Cluster, and the Cluster's DockerCluster, from the
/// manager's caches.
fn owners(docker_machine: &DockerMachine, ctx: &Context) -> Option<Owners> {
    let machine = owner_machine(docker_machine, &ctx.machines)?;
    let cluster = cluster_of(&machine, &ctx.clusters)?;
    let name = cluster.infrastructure_name("DockerCluster")?;
    let docker_cluster = ctx
        .docker_clusters
        .get(&ObjectRef::new(name).within(&cluster.namespace()?))?;
    Some(Owners {
        machine,
        cluster,
        docker_cluster,
    })
}
// ANCHOR_END: owners

// ANCHOR: reconcile_normal
/// The container runs and Cluster API knows it (providerID, addresses, provisioned); the
/// bootstrap runs once; the workload cluster's Node is initialized.
async fn reconcile_normal(
    api: &Api<DockerMachine>,
    docker_machine: &DockerMachine,
    owners: &Owners,
    patch: &mut StatusPatch<DockerMachine>,
    ctx: &Context,
) -> Result<Action, Error> {
    // 1. The node container, once the cluster's infrastructure and the bootstrap data exist.
    let container = match node_container(docker_machine, owners, patch, ctx).await? {
        NodeContainer::Running(container) => container,
        NodeContainer::NotYet(action) => return Ok(action),
    };

    // 2. What Cluster API reads: addresses, failure domain, providerID, provisioned.
    let name = container.name.clone();
    report_provisioned(api, docker_machine, owners, &container, patch, ctx).await?;

    // 3. The bootstrap, in the background.
    reconcile_bootstrap(docker_machine, &owners.machine, &name, patch, ctx).await?;

    // 4. The workload cluster's Node: our providerID, and no "uninitialized" taint.
    let next = reconcile_node(docker_machine, owners, &name, patch, ctx).await?;
    Ok(Action::requeue(next))
}
// ANCHOR_END: reconcile_normal

// ANCHOR: report_provisioned
/// What Cluster API reads once the container runs: its addresses, the failure domain, the
/// providerID (set once, in the spec) and provisioned. A new control-plane node is a new member
/// for the load balancer.
async fn report_provisioned(
    api: &Api<DockerMachine>,
    docker_machine: &DockerMachine,
    owners: &Owners,
    container: &ContainerInfo,
    patch: &mut StatusPatch<DockerMachine>,
    ctx: &Context,
) -> Result<(), Error> {
    // EXERCISE: 4.3 Report the running container: addresses, failure domain, provisioned, providerID.
    let name = &container.name;
    let ip = container.ip_on(ctx.docker.network()).unwrap_or_default();
    patch.status.addresses = addresses(&container_hostname(name), ip);
    patch.status.failure_domain = owners
        .machine
        .spec
        .failure_domain
        .clone()
        .filter(|fd| !fd.is_empty());
    patch.set(ConditionUpdate::true_(
        CONTAINER_PROVISIONED,
        reasons::PROVISIONED,
    ));
    patch.status.initialization = Some(Initialization {
        provisioned: Some(true),
    });
    if docker_machine.spec.provider_id.is_none() {
        let provider_id = provider_id(name);
        apply_spec(api, docker_machine, json!({ "providerID": provider_id })).await?;
        patch.event(EventType::Normal, "ProviderIDSet", provider_id);
        if owners.machine.is_control_plane() {
            // A new member for the load balancer: its controller renders the configuration.
            let docker_cluster = ObjectRef::from_obj(owners.docker_cluster.as_ref());
            ctx.load_balancer_updates.trigger(docker_cluster);
        }
    }
    Ok(())
    // EXERCISE_START_STATE
    // Ok(())
    // EXERCISE_END
}
// ANCHOR_END: report_provisioned

/// The node container, or why there is none to go on with yet.
enum NodeContainer {
    Running(ContainerInfo),
    NotYet(Action),
}

// ANCHOR: node_container
/// The running node container: created once there is bootstrap data; once provisioned, only
/// reported (a MachineHealthCheck replaces a broken Machine; we never recreate its node).
async fn node_container(
    docker_machine: &DockerMachine,
    owners: &Owners,
    patch: &mut StatusPatch<DockerMachine>,
    ctx: &Context,
) -> Result<NodeContainer, Error> {
    // EXERCISE: 4.2 Run the node container once the Machine may have one, and say when it runs.
    let request = node_request(docker_machine, owners);
    if docker_machine.spec.provider_id.is_some() {
        return existing_container(&request, patch, ctx).await;
    }
    if let Some(waiting) = waiting_for(&owners.machine, &owners.cluster) {
        patch.set(waiting);
        if !is_true(patch.conditions(), BOOTSTRAP_SUCCEEDED) {
            let bootstrap =
                ConditionUpdate::false_(BOOTSTRAP_SUCCEEDED, reasons::WAITING_FOR_CONTAINER, "");
            patch.set(bootstrap);
        }
        return Ok(NodeContainer::NotYet(Action::await_change()));
    }
    let (action, container) = ctx.docker.ensure_node(&request).await?;
    match action {
        DockerAction::Created => {
            patch.event(EventType::Normal, "ContainerCreated", &container.name)
        }
        DockerAction::Recreated => {
            let note = format!("{} was a stopped leftover; replaced it", container.name);
            patch.event(EventType::Warning, "ContainerRecreated", note);
        }
        DockerAction::Existing | DockerAction::Restarted => {}
    }
    if container.running {
        return Ok(NodeContainer::Running(container));
    }
    let starting = format!("container {} is starting", container.name);
    patch.set(ConditionUpdate::false_(
        CONTAINER_PROVISIONED,
        reasons::CREATING,
        starting,
    ));
    Ok(NodeContainer::NotYet(Action::requeue(Duration::from_secs(
        2,
    ))))
    // EXERCISE_END
}
// ANCHOR_END: node_container

// ANCHOR: waiting_for
/// Why a Machine cannot have its container yet, if it cannot: no cluster infrastructure, a
/// worker whose control plane is not initialized (joining would fail), or no bootstrap data.
pub fn waiting_for(machine: &Machine, cluster: &Cluster) -> Option<ConditionUpdate> {
    let (reason, message) = if !cluster.is_infrastructure_provisioned() {
        let reason = reasons::WAITING_FOR_CLUSTER_INFRASTRUCTURE;
        (reason, "waiting for the DockerCluster to be provisioned")
    } else if !machine.is_control_plane() && !cluster.is_control_plane_initialized() {
        let reason = reasons::WAITING_FOR_CONTROL_PLANE_INITIALIZED;
        (reason, "workers join once the control plane is initialized")
    } else if machine.spec.bootstrap.data_secret_name.is_none() {
        let reason = reasons::WAITING_FOR_BOOTSTRAP_DATA;
        (
            reason,
            "waiting for the bootstrap provider to write the Machine's bootstrap data",
        )
    } else {
        return None;
    };
    Some(ConditionUpdate::false_(
        CONTAINER_PROVISIONED,
        reason,
        message,
    ))
}
// ANCHOR_END: waiting_for

/// A provisioned machine's container as Docker reports it, or the condition that says why it
/// is not usable (looked at again at the next resync).
async fn existing_container(
    request: &NodeRequest,
    patch: &mut StatusPatch<DockerMachine>,
    ctx: &Context,
) -> Result<NodeContainer, Error> {
    let name = request.container_name();
    let (reason, message) = match ctx.docker.engine.inspect(&name).await {
        Ok(container) if !request.identity.matches(&container.labels) => (
            reasons::NAME_CONFLICT,
            format!("container {name} belongs to another cluster"),
        ),
        Ok(container) if !container.running => {
            let state = &container.state;
            let why = format!("container {name} is {state}; it is not recreated once provisioned");
            (reasons::CONTAINER_NOT_RUNNING, why)
        }
        Ok(container) => return Ok(NodeContainer::Running(container)),
        Err(RuntimeError::NotFound(_)) => {
            let why = format!("container {name} is gone; it is not recreated once provisioned");
            (reasons::CONTAINER_NOT_FOUND, why)
        }
        Err(error) => return Err(error.into()),
    };
    patch.set(ConditionUpdate::false_(
        CONTAINER_PROVISIONED,
        reason,
        message,
    ));
    Ok(NodeContainer::NotYet(Action::requeue(RESYNC)))
}

// ANCHOR: reconcile_bootstrap
/// Starts the bootstrap once, and records how it went in `BootstrapSucceeded`.
async fn reconcile_bootstrap(
    docker_machine: &DockerMachine,
    machine: &Machine,
    container: &str,
    patch: &mut StatusPatch<DockerMachine>,
    ctx: &Context,
) -> Result<(), Error> {
    // EXERCISE: 4.4 Start the bootstrap once, then record how it goes in BootstrapSucceeded.
    let failed = patch.has_reason(BOOTSTRAP_SUCCEEDED, reasons::BOOTSTRAP_FAILED);
    if failed || is_true(patch.conditions(), BOOTSTRAP_SUCCEEDED) {
        return Ok(());
    }
    let succeeded = ConditionUpdate::true_(BOOTSTRAP_SUCCEEDED, reasons::SUCCEEDED);
    if machine.node_name().is_some() {
        // The node has joined (say, after `clusterctl move`): bootstrap is long done.
        patch.set(succeeded);
        return Ok(());
    }
    match ctx
        .bootstraps
        .progress(&docker_machine.uid().unwrap_or_default())
    {
        None => {
            bootstrap::start(docker_machine, machine, container, ctx).await?;
            patch.event(EventType::Normal, "BootstrapStarted", container);
        }
        Some(Progress::Running) => {}
        Some(Progress::Succeeded) => {
            patch.set(succeeded);
            patch.event(EventType::Normal, "BootstrapSucceeded", container);
            return Ok(());
        }
        Some(Progress::Failed(error)) => {
            let message = DisplayChain(error.as_ref()).to_string();
            patch.event(EventType::Warning, reasons::BOOTSTRAP_FAILED, &message);
            patch.set(ConditionUpdate::false_(
                BOOTSTRAP_SUCCEEDED,
                reasons::BOOTSTRAP_FAILED,
                message,
            ));
            return Ok(());
        }
    }
    // What the task last said it waits for (the node booting, kubeadm running).
    let uid = docker_machine.uid().unwrap_or_default();
    let running = ctx.bootstraps.note(&uid);
    let running = running
        .as_deref()
        .unwrap_or("running the bootstrap data in the container");
    patch.set(ConditionUpdate::false_(
        BOOTSTRAP_SUCCEEDED,
        reasons::RUNNING,
        running,
    ));
    Ok(())
    // EXERCISE_START_STATE
    // Ok(())
    // EXERCISE_END
}
// ANCHOR_END: reconcile_bootstrap

// ANCHOR: reconcile_node
/// Once bootstrapped, the workload cluster's Node gets our providerID and loses the
/// "uninitialized" taint (a cloud provider's job; Docker has none). A bootstrapped
/// control-plane node serves the workload API itself; other nodes wait until the control plane
/// is initialized. Returns how soon to look again.
async fn reconcile_node(
    docker_machine: &DockerMachine,
    owners: &Owners,
    name: &str,
    patch: &mut StatusPatch<DockerMachine>,
    ctx: &Context,
) -> Result<Duration, Error> {
    let workload_api_up =
        owners.machine.is_control_plane() || owners.cluster.is_control_plane_initialized();
    if !workload_api_up || !is_true(patch.conditions(), BOOTSTRAP_SUCCEEDED) {
        return Ok(RESYNC);
    }
    let namespace = docker_machine.namespace().unwrap_or_default();
    let cluster = owners.cluster.name_any();
    // No kubeconfig Secret (no control-plane provider wrote one): nothing to initialize.
    let Some(workload) = ctx
        .workload_clusters
        .get(&ctx.client, &namespace, &cluster)
        .await?
    else {
        return Ok(RESYNC);
    };
    // The kubelet names its Node after the container's host name (at most 63 characters).
    let node = container_hostname(name);
    let outcome = initialize_node(&workload, &node, &provider_id(name)).await;
    match outcome.map_err(WorkloadError::from)? {
        NodeOutcome::NotRegistered => Ok(NODE_POLL),
        NodeOutcome::Initialized => {
            patch.event(EventType::Normal, "NodeInitialized", name);
            Ok(RESYNC)
        }
        NodeOutcome::UpToDate => Ok(RESYNC),
    }
}
// ANCHOR_END: reconcile_node

// ANCHOR: reconcile_delete
/// Deletion: show `Deleting`, stop the bootstrap, take a control-plane node out of the load
/// balancer, remove the container, let the object go.
async fn reconcile_delete(
    api: &Api<DockerMachine>,
    docker_machine: &DockerMachine,
    owners: &Owners,
    mut patch: StatusPatch<DockerMachine>,
    ctx: &Context,
) -> Result<Action, Error> {
    if !finalizer::has(docker_machine, FINALIZER) {
        return Ok(Action::await_change());
    }
    let deleting = "removing the node container";
    patch.set(ConditionUpdate::false_(
        CONTAINER_PROVISIONED,
        reasons::DELETING,
        deleting,
    ));
    patch.apply(api, docker_machine, &ctx.recorder).await?;
    // EXERCISE: 4.5 Stop the bootstrap, drain a control-plane node, remove the container, then let go.
    ctx.bootstraps
        .cancel(&docker_machine.uid().unwrap_or_default());

    let request = node_request(docker_machine, owners);
    let name = request.container_name();
    let load_balancer = ObjectRef::from_obj(owners.docker_cluster.as_ref());
    if owners.machine.is_control_plane() {
        // Drain first: the load balancer stops sending API requests to this node before it
        // goes (its Machine is deleting, so the cluster controller gives it weight 0).
        ctx.load_balancer_updates.trigger(load_balancer.clone());
        if !ctx
            .docker
            .is_drained(&owners.cluster.name_any(), &name)
            .await?
        {
            return Ok(Action::requeue(Duration::from_secs(1)));
        }
    }
    match ctx.docker.remove_node(&name, &request.identity).await {
        Ok(()) => {}
        Err(EnsureError::NameConflict { name }) => {
            let note = format!("left container {name} alone: it belongs to another cluster");
            publish_event(
                &ctx.recorder,
                docker_machine,
                EventType::Warning,
                "ContainerNotOurs",
                note,
            )
            .await;
        }
        Err(error) => return Err(error.into()),
    }
    if owners.machine.is_control_plane() {
        // Now without it.
        ctx.load_balancer_updates.trigger(load_balancer);
    }
    finalizer::remove(api, docker_machine, FINALIZER).await?;
    Ok(Action::await_change())
    // EXERCISE_END
}
// ANCHOR_END: reconcile_delete

/// Deleting without a Machine (or its Cluster): remove whatever carries this object's UID.
async fn release_orphan(
    api: &Api<DockerMachine>,
    docker_machine: &DockerMachine,
    ctx: &Context,
) -> Result<(), Error> {
    if !finalizer::has(docker_machine, FINALIZER) {
        return Ok(());
    }
    let uid = docker_machine.uid().unwrap_or_default();
    ctx.bootstraps.cancel(&uid);
    ctx.docker.remove_containers_of(&uid).await?;
    finalizer::remove(api, docker_machine, FINALIZER).await?;
    Ok(())
}

// ANCHOR: node_request
/// What the Docker layer needs to create this machine's node container.
fn node_request(docker_machine: &DockerMachine, owners: &Owners) -> NodeRequest {
    let Owners {
        machine, cluster, ..
    } = owners;
    let extra_mounts = docker_machine
        .spec
        .extra_mounts
        .iter()
        .map(|mount| HostMount {
            host_path: mount.host_path.clone(),
            container_path: mount.container_path.clone(),
            read_only: mount.read_only.unwrap_or(false),
        });
    NodeRequest {
        machine: machine.name_any(),
        identity: Identity {
            cluster_name: cluster.name_any(),
            namespace: cluster.namespace().unwrap_or_default(),
            cluster_uid: cluster.uid().unwrap_or_default(),
            owner_uid: docker_machine.uid().unwrap_or_default(),
        },
        role: if machine.is_control_plane() {
            Role::ControlPlane
        } else {
            Role::Worker
        },
        failure_domain: machine.spec.failure_domain.clone(),
        custom_image: docker_machine.spec.custom_image.clone(),
        version: machine.spec.version.clone(),
        extra_mounts: extra_mounts.collect(),
    }
}
// ANCHOR_END: node_request

/// The node's identity for Kubernetes: `docker:////<container name>`.
pub fn provider_id(container: &str) -> String {
    format!("docker:////{container}")
}

/// The container's name and address, the way Cluster API and kubectl show machines.
pub fn addresses(name: &str, ip: &str) -> Vec<MachineAddress> {
    let mut addresses = vec![MachineAddress {
        type_: "Hostname".to_owned(),
        address: name.to_owned(),
    }];
    if !ip.is_empty() {
        for type_ in ["InternalIP", "ExternalIP"] {
            addresses.push(MachineAddress {
                type_: type_.to_owned(),
                address: ip.to_owned(),
            });
        }
    }
    addresses
}

// ANCHOR: watches
/// The DockerMachine a Machine's `infrastructureRef` names, if it names one of ours.
pub fn of_machine(machine: Arc<Machine>) -> Option<ObjectRef<DockerMachine>> {
    let name = machine.infrastructure_name("DockerMachine")?;
    Some(ObjectRef::new(name).within(&machine.namespace()?))
}

/// What of a Machine this controller acts on: bootstrap data, node joined, deletion, pause.
pub fn what_it_reads(machine: &Machine) -> impl std::hash::Hash + use<> {
    let secret = machine.spec.bootstrap.data_secret_name.clone();
    let node = machine.node_name().map(str::to_owned);
    let reference = machine.spec.infrastructure_ref.clone();
    let paused = has_paused_annotation(&machine.metadata);
    (secret, reference, node, is_deleting(machine), paused)
}

/// Every DockerMachine of a Cluster, from the cache.
pub fn of_cluster(
    docker_machines: &Store<DockerMachine>,
    cluster: Arc<Cluster>,
) -> Vec<ObjectRef<DockerMachine>> {
    machines_of(docker_machines, cluster.namespace(), &cluster.name_any())
}

/// What of a Cluster machines wait for: pause, infrastructure, an initialized control plane.
pub fn what_it_waits_for(cluster: &Cluster) -> impl std::hash::Hash + use<> {
    let provisioned = cluster.is_infrastructure_provisioned();
    let initialized = cluster.is_control_plane_initialized();
    (
        cluster.is_paused(),
        provisioned,
        initialized,
        is_deleting(cluster),
    )
}

/// Every DockerMachine of a DockerCluster's Cluster, from the cache.
pub fn of_docker_cluster(
    docker_machines: &Store<DockerMachine>,
    docker_cluster: Arc<DockerCluster>,
) -> Vec<ObjectRef<DockerMachine>> {
    let Some(cluster) = docker_cluster.labels().get(CLUSTER_NAME_LABEL) else {
        return Vec::new();
    };
    machines_of(docker_machines, docker_cluster.namespace(), cluster)
}

/// What of a DockerCluster machines wait on: its spec, and which Cluster it belongs to.
pub fn what_it_waits_on(docker_cluster: &DockerCluster) -> impl std::hash::Hash + use<> {
    let cluster = docker_cluster.labels().get(CLUSTER_NAME_LABEL).cloned();
    (docker_cluster.metadata.generation, cluster)
}

fn machines_of(
    docker_machines: &Store<DockerMachine>,
    namespace: Option<String>,
    cluster: &str,
) -> Vec<ObjectRef<DockerMachine>> {
    docker_machines
        .state()
        .iter()
        .filter(|dm| dm.namespace() == namespace)
        .filter(|dm| dm.labels().get(CLUSTER_NAME_LABEL).map(String::as_str) == Some(cluster))
        .map(|dm| ObjectRef::from_obj(dm.as_ref()))
        .collect()
}
// ANCHOR_END: watches

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_the_container_and_its_ip() {
        let found = addresses("demo-cp-1", "172.18.0.4");
        let types: Vec<&str> = found.iter().map(|a| a.type_.as_str()).collect();
        assert_eq!(types, ["Hostname", "InternalIP", "ExternalIP"]);
        assert_eq!(addresses("demo-cp-1", "").len(), 1);
    }

    #[test]
    fn a_refused_mount_names_the_flag_that_allows_it() {
        let path = "/proc/1/root/run".to_owned();
        let refused = capdkc_docker::mounts::MountRefused::NoneAllowed { path };
        let condition = Error::Node(NodeError::Mount(refused))
            .condition()
            .expect("a condition");
        assert_eq!(condition.type_, CONTAINER_PROVISIONED);
        assert!(!condition.status);
        assert_eq!(condition.reason, reasons::HOST_MOUNT_NOT_ALLOWED);
        assert!(
            condition.message.contains("--allowed-host-mounts"),
            "{}",
            condition.message
        );
    }
}
