//! The DockerMachine controller: one node container per Machine, bootstrapped in the background
//! from the Machine's cloud-config, following the Cluster API v1beta2 InfraMachine contract.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use capdkc_docker::ensure::{Action as DockerAction, EnsureError};
use capdkc_docker::labels::lb_container_name;
use capdkc_docker::node::{HostMount, NodeError, NodeRequest, Role, delete_node, ensure_node};
use capdkc_docker::{BootstrapData, ContainerInfo, ContainerRuntime, Identity, RuntimeError};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Patch;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::utils::PredicateConfig;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use super::bootstrap::{Progress, bootstrap};
use super::status::apply_params;
use super::step::Step;
use super::workload::{NodeOutcome, WorkloadError, initialize_node};
use super::{Context, DisplayChain, finalizer, remove_containers_of};
use crate::api::{DockerCluster, DockerMachine, Initialization, MachineAddress};
use crate::capi::{CLUSTER_NAME_LABEL, Cluster, Machine, has_paused_annotation};
use crate::conditions::{
    self, BOOTSTRAP_SUCCEEDED, CONTAINER_PROVISIONED, Observation, PAUSED, reasons,
};

/// The controller's name in metrics and logs.
pub const NAME: &str = "dockermachine";
/// Keeps a DockerMachine until its container is gone.
pub const FINALIZER: &str = "dockermachine.infrastructure.cluster.x-k8s.io";
/// How often a converged DockerMachine is looked at again (Docker does not report stops).
pub const RESYNC: Duration = Duration::from_secs(300);
/// How soon to look for a Node that has not registered yet.
pub const NODE_POLL: Duration = Duration::from_secs(10);

/// Why a reconcile failed; the controller retries it with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API")]
    Kube(#[from] kube::Error),
    #[error("Docker")]
    Docker(#[from] RuntimeError),
    #[error("node container")]
    Node(#[from] NodeError),
    #[error("node container")]
    Ensure(#[from] EnsureError),
    #[error("workload cluster")]
    Workload(#[from] WorkloadError),
    #[error("bootstrap data: {0}")]
    BootstrapData(String),
    #[error("DockerMachine {0} has no namespace")]
    NoNamespace(String),
}

/// The objects a DockerMachine depends on, found from its owner Machine.
struct Owners {
    machine: Machine,
    cluster: Cluster,
    docker_cluster: DockerCluster,
}

// ANCHOR: reconcile
/// Brings one DockerMachine towards its desired state, in the contract's order.
pub async fn reconcile<D>(
    docker_machine: Arc<DockerMachine>,
    ctx: Arc<Context<D>>,
) -> Result<Action, Error>
where
    D: ContainerRuntime + Clone + Send + Sync + 'static,
{
    let namespace = docker_machine
        .namespace()
        .ok_or_else(|| Error::NoNamespace(docker_machine.name_any()))?;
    let api = Api::<DockerMachine>::namespaced(ctx.client.clone(), &namespace);
    let deleting = docker_machine.meta().deletion_timestamp.is_some();

    // Machine, Cluster, DockerCluster: without all three there is nothing to do yet (their
    // watches wake us), unless we are being deleted.
    let Some(owners) = owners(&ctx.client, &docker_machine, &namespace).await? else {
        if deleting && !has_paused_annotation(&docker_machine.metadata) {
            release_orphan(&api, &docker_machine, &ctx).await?;
        }
        tracing::debug!("waiting for the owner Machine, its Cluster and DockerCluster");
        return Ok(Action::await_change());
    };

    let mut step = Step::new(docker_machine.as_ref(), &ctx);
    if owners.cluster.is_paused() || has_paused_annotation(&docker_machine.metadata) {
        step.observe(Observation::truth(PAUSED, reasons::PAUSED));
        step.save(&api, docker_machine.as_ref()).await?;
        return Ok(Action::await_change());
    }
    step.observe(Observation::falsehood(PAUSED, reasons::NOT_PAUSED, ""));

    if deleting {
        return reconcile_delete(&api, &docker_machine, &owners, step, &ctx).await;
    }
    let docker_machine = if finalizer::has(docker_machine.as_ref(), FINALIZER) {
        docker_machine
    } else {
        Arc::new(finalizer::add(&api, docker_machine.as_ref(), FINALIZER).await?)
    };
    reconcile_normal(&api, &docker_machine, &owners, step, &ctx).await
}
// ANCHOR_END: reconcile

// ANCHOR: owners
/// The owner Machine (set by core), its Cluster (from the cluster-name label) and the
/// Cluster's DockerCluster (its `infrastructureRef`).
async fn owners(
    client: &kube::Client,
    docker_machine: &DockerMachine,
    namespace: &str,
) -> Result<Option<Owners>, kube::Error> {
    let owner = docker_machine.owner_references().iter().find(|owner| {
        owner.kind == "Machine" && owner.api_version.starts_with("cluster.x-k8s.io/")
    });
    let Some(owner) = owner else {
        return Ok(None);
    };
    let Some(machine) = Api::<Machine>::namespaced(client.clone(), namespace)
        .get_opt(&owner.name)
        .await?
    else {
        return Ok(None);
    };
    let cluster_name = machine
        .labels()
        .get(CLUSTER_NAME_LABEL)
        .cloned()
        .unwrap_or_else(|| machine.spec.cluster_name.clone());
    let Some(cluster) = Api::<Cluster>::namespaced(client.clone(), namespace)
        .get_opt(&cluster_name)
        .await?
    else {
        return Ok(None);
    };
    let Some(reference) = cluster
        .spec
        .infrastructure_ref
        .as_ref()
        .filter(|reference| reference.is_ours("DockerCluster"))
    else {
        return Ok(None);
    };
    let Some(docker_cluster) = Api::<DockerCluster>::namespaced(client.clone(), namespace)
        .get_opt(&reference.name)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Owners {
        machine,
        cluster,
        docker_cluster,
    }))
}
// ANCHOR_END: owners

// ANCHOR: reconcile_normal
async fn reconcile_normal<D>(
    api: &Api<DockerMachine>,
    docker_machine: &DockerMachine,
    owners: &Owners,
    mut step: Step<'_, DockerMachine, D>,
    ctx: &Context<D>,
) -> Result<Action, Error>
where
    D: ContainerRuntime + Clone + Send + Sync + 'static,
{
    let Owners {
        machine, cluster, ..
    } = owners;
    let control_plane_initialized = cluster.is_control_plane_initialized();

    // 1. Nothing happens before the cluster's infrastructure (the load balancer) exists.
    if !cluster.is_infrastructure_provisioned() {
        step.observe(Observation::falsehood(
            CONTAINER_PROVISIONED,
            reasons::WAITING_FOR_CLUSTER_INFRASTRUCTURE,
            "waiting for the DockerCluster to be provisioned",
        ));
        waiting_for_container(&mut step);
        step.finish(api, docker_machine).await?;
        return Ok(Action::await_change());
    }

    let request = node_request(docker_machine, owners);
    let name = request.container_name();
    let container = if docker_machine.spec.provider_id.is_some() {
        // 2a. Provisioned before: report what Docker says, never recreate (a MachineHealthCheck
        // replaces the Machine instead).
        match existing_container(&ctx.docker.runtime, &name, &request.identity).await? {
            Ok(container) => container,
            Err(observation) => {
                step.observe(observation);
                step.finish(api, docker_machine).await?;
                return Ok(Action::requeue(RESYNC));
            }
        }
    } else {
        // 2b. Not yet: wait for bootstrap data (workers also for the control plane), then run
        // the container.
        if let Some(waiting) = waiting_for_bootstrap_data(machine, control_plane_initialized) {
            step.observe(waiting);
            waiting_for_container(&mut step);
            step.finish(api, docker_machine).await?;
            return Ok(Action::await_change());
        }
        let Some(container) = run_container(api, docker_machine, &request, &mut step, ctx).await?
        else {
            return Ok(Action::requeue(Duration::from_secs(2)));
        };
        container
    };

    // 3. The container runs: addresses, failure domain, providerID, provisioned.
    let ip = container
        .ip_on(&ctx.docker.network)
        .unwrap_or_default()
        .to_owned();
    step.status.addresses = addresses(&name, &ip);
    step.status.failure_domain = machine
        .spec
        .failure_domain
        .clone()
        .filter(|fd| !fd.is_empty());
    step.observe(Observation::truth(
        CONTAINER_PROVISIONED,
        reasons::PROVISIONED,
    ));
    let provider_id = format!("docker:////{name}");
    if docker_machine.spec.provider_id.is_none() {
        set_provider_id(api, docker_machine, &provider_id).await?;
        step.event(EventType::Normal, "ProviderIDSet", &provider_id);
    }
    step.status.initialization = Some(Initialization {
        provisioned: Some(true),
    });
    if machine.is_control_plane() && docker_machine.spec.provider_id.is_none() {
        // A new member for the load balancer: its controller renders the new configuration.
        ctx.cluster_triggers
            .trigger(ObjectRef::from_obj(&owners.docker_cluster));
    }

    // 4. Bootstrap, in the background.
    let mut next = RESYNC;
    match reconcile_bootstrap(docker_machine, machine, &name, &mut step, ctx).await {
        Ok(Some(action)) => next = next.min(action),
        Ok(None) => {}
        Err(error) => {
            // What this reconcile observed (why the bootstrap cannot start) is written first.
            step.finish(api, docker_machine).await?;
            return Err(error);
        }
    }

    // 5. The workload cluster's Node: our providerID, and no "uninitialized" taint. A
    // bootstrapped control-plane node serves the workload API itself; other nodes wait until
    // the control plane is initialized.
    let workload_api_up = machine.is_control_plane() || control_plane_initialized;
    if workload_api_up && conditions::is_true(&step.status.conditions, BOOTSTRAP_SUCCEEDED) {
        let namespace = docker_machine.namespace().unwrap_or_default();
        let workload = match ctx
            .workloads
            .get(&ctx.client, &namespace, &cluster.name_any())
            .await
        {
            Ok(Some(workload)) => workload,
            Ok(None) => {
                // No kubeconfig Secret (no control-plane provider wrote one): nothing to
                // initialize.
                step.finish(api, docker_machine).await?;
                return Ok(Action::requeue(next));
            }
            Err(error) => {
                // The bootstrap outcome observed above is written before the retry.
                step.finish(api, docker_machine).await?;
                return Err(error.into());
            }
        };
        match initialize_node(&workload, &name, &provider_id).await {
            Ok(NodeOutcome::NotRegistered) => next = next.min(NODE_POLL),
            Ok(NodeOutcome::Initialized) => step.event(EventType::Normal, "NodeInitialized", &name),
            Ok(NodeOutcome::UpToDate) => {}
            Err(error) => {
                step.finish(api, docker_machine).await?;
                return Err(WorkloadError::from(error).into());
            }
        }
    }
    step.finish(api, docker_machine).await?;
    Ok(Action::requeue(next))
}
// ANCHOR_END: reconcile_normal

/// Bootstrap has to wait for the container.
fn waiting_for_container<D>(step: &mut Step<'_, DockerMachine, D>) {
    if !conditions::is_true(&step.status.conditions, BOOTSTRAP_SUCCEEDED) {
        step.observe(Observation::falsehood(
            BOOTSTRAP_SUCCEEDED,
            reasons::WAITING_FOR_CONTAINER,
            "",
        ));
    }
}

// ANCHOR: waiting_for_bootstrap_data
/// Why a Machine cannot have its container yet, if it cannot: no bootstrap data, or a worker
/// whose control plane is not initialized (joining would fail).
pub fn waiting_for_bootstrap_data(
    machine: &Machine,
    control_plane_initialized: bool,
) -> Option<Observation> {
    if !machine.is_control_plane() && !control_plane_initialized {
        return Some(Observation::falsehood(
            CONTAINER_PROVISIONED,
            reasons::WAITING_FOR_CONTROL_PLANE_INITIALIZED,
            "workers join once the control plane is initialized",
        ));
    }
    if machine.spec.bootstrap.data_secret_name.is_none() {
        return Some(Observation::falsehood(
            CONTAINER_PROVISIONED,
            reasons::WAITING_FOR_BOOTSTRAP_DATA,
            "waiting for the bootstrap provider to write the Machine's bootstrap data",
        ));
    }
    None
}
// ANCHOR_END: waiting_for_bootstrap_data

// ANCHOR: node_request
/// What the Docker layer needs to create this machine's node container.
fn node_request(docker_machine: &DockerMachine, owners: &Owners) -> NodeRequest {
    let Owners {
        machine, cluster, ..
    } = owners;
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
        extra_mounts: docker_machine
            .spec
            .extra_mounts
            .iter()
            .map(|mount| HostMount {
                host_path: mount.host_path.clone(),
                container_path: mount.container_path.clone(),
                read_only: mount.read_only.unwrap_or(false),
            })
            .collect(),
    }
}
// ANCHOR_END: node_request

// ANCHOR: existing_container
/// A provisioned machine's container as Docker reports it, or the condition that says why it
/// is not usable.
async fn existing_container<D: ContainerRuntime>(
    runtime: &D,
    name: &str,
    identity: &Identity,
) -> Result<Result<ContainerInfo, Observation>, RuntimeError> {
    let observation = |reason, message: String| {
        Err(Observation::falsehood(
            CONTAINER_PROVISIONED,
            reason,
            message,
        ))
    };
    match runtime.inspect(name).await {
        Ok(container) if !identity.matches(&container.labels) => Ok(observation(
            reasons::NAME_CONFLICT,
            format!("container {name} belongs to another cluster"),
        )),
        Ok(container) if !container.running => Ok(observation(
            reasons::CONTAINER_NOT_RUNNING,
            format!(
                "container {name} is {}; it is not recreated once provisioned",
                container.state
            ),
        )),
        Ok(container) => Ok(Ok(container)),
        Err(RuntimeError::NotFound(_)) => Ok(observation(
            reasons::CONTAINER_NOT_FOUND,
            format!("container {name} is gone; it is not recreated once provisioned"),
        )),
        Err(error) => Err(error),
    }
}
// ANCHOR_END: existing_container

// ANCHOR: run_container
/// Creates (or adopts) and starts the node container. `None` when it is not running yet.
async fn run_container<D: ContainerRuntime>(
    api: &Api<DockerMachine>,
    docker_machine: &DockerMachine,
    request: &NodeRequest,
    step: &mut Step<'_, DockerMachine, D>,
    ctx: &Context<D>,
) -> Result<Option<ContainerInfo>, Error> {
    let settings = ctx.docker.node_settings();
    match ensure_node(&ctx.docker.runtime, &settings, request).await {
        Ok((action, container)) => {
            match action {
                DockerAction::Created => {
                    step.event(EventType::Normal, "ContainerCreated", &container.name)
                }
                DockerAction::Recreated => step.event(
                    EventType::Warning,
                    "ContainerRecreated",
                    &format!("{} was a stopped leftover; replaced it", container.name),
                ),
                DockerAction::Existing | DockerAction::Restarted => {}
            }
            if container.running {
                return Ok(Some(container));
            }
            step.observe(Observation::falsehood(
                CONTAINER_PROVISIONED,
                reasons::CREATING,
                format!("container {} is starting", container.name),
            ));
            step.finish(api, docker_machine).await?;
            Ok(None)
        }
        Err(NodeError::Ensure(EnsureError::NameConflict { name })) => {
            let message = format!(
                "container {name} belongs to another cluster (another namespace or an earlier \
                 cluster of this name) and was left alone; remove it or rename this machine"
            );
            if !step.was(CONTAINER_PROVISIONED, reasons::NAME_CONFLICT) {
                step.event(EventType::Warning, reasons::NAME_CONFLICT, &message);
            }
            step.observe(Observation::falsehood(
                CONTAINER_PROVISIONED,
                reasons::NAME_CONFLICT,
                message,
            ));
            step.finish(api, docker_machine).await?;
            Err(EnsureError::NameConflict { name }.into())
        }
        Err(error) => {
            step.observe(Observation::falsehood(
                CONTAINER_PROVISIONED,
                reasons::CREATING,
                format!("cannot run the node container: {}", DisplayChain(&error)),
            ));
            step.finish(api, docker_machine).await?;
            Err(error.into())
        }
    }
}
// ANCHOR_END: run_container

// ANCHOR: reconcile_bootstrap
/// Starts the bootstrap task once, and records its outcome. Returns how soon to look again.
async fn reconcile_bootstrap<D>(
    docker_machine: &DockerMachine,
    machine: &Machine,
    container: &str,
    step: &mut Step<'_, DockerMachine, D>,
    ctx: &Context<D>,
) -> Result<Option<Duration>, Error>
where
    D: ContainerRuntime + Clone + Send + Sync + 'static,
{
    let current = conditions::get(&step.status.conditions, BOOTSTRAP_SUCCEEDED).cloned();
    let finished = current
        .as_ref()
        .is_some_and(|c| c.status == "True" || c.reason == reasons::BOOTSTRAP_FAILED);
    if finished {
        return Ok(None);
    }
    if machine
        .status
        .as_ref()
        .and_then(|s| s.node_ref.as_ref())
        .is_some()
    {
        // The node has joined (say, after `clusterctl move`): bootstrap is long done.
        step.observe(Observation::truth(BOOTSTRAP_SUCCEEDED, reasons::SUCCEEDED));
        return Ok(None);
    }
    let uid = docker_machine.uid().unwrap_or_default();
    match ctx.bootstraps.progress(&uid) {
        Some(Progress::Running) => {}
        Some(Progress::Succeeded) => {
            observe_bootstrap_duration(current.as_ref(), step, ctx, true);
            step.observe(Observation::truth(BOOTSTRAP_SUCCEEDED, reasons::SUCCEEDED));
            step.event(EventType::Normal, "BootstrapSucceeded", container);
            return Ok(None);
        }
        Some(Progress::Failed(message)) => {
            observe_bootstrap_duration(current.as_ref(), step, ctx, false);
            step.event(EventType::Warning, reasons::BOOTSTRAP_FAILED, &message);
            step.observe(Observation::falsehood(
                BOOTSTRAP_SUCCEEDED,
                reasons::BOOTSTRAP_FAILED,
                message,
            ));
            return Ok(None);
        }
        None => {
            let namespace = docker_machine.namespace().unwrap_or_default();
            let secret_name = machine
                .spec
                .bootstrap
                .data_secret_name
                .clone()
                .unwrap_or_default();
            let (data, format) = match bootstrap_data(&ctx.client, &namespace, &secret_name).await {
                Ok(found) => found,
                Err(message) => {
                    step.observe(Observation::falsehood(
                        BOOTSTRAP_SUCCEEDED,
                        reasons::BOOTSTRAP_DATA_UNAVAILABLE,
                        message.clone(),
                    ));
                    return Err(Error::BootstrapData(message));
                }
            };
            let work = bootstrap(
                ctx.docker.runtime.clone(),
                container.to_owned(),
                data,
                format,
                ctx.docker.bootstrap_retries.clone(),
                docker_machine.spec.bootstrap_timeout(),
            );
            ctx.bootstraps
                .start(&uid, ObjectRef::from_obj(docker_machine), work);
            step.event(EventType::Normal, "BootstrapStarted", container);
        }
    }
    step.observe(Observation::falsehood(
        BOOTSTRAP_SUCCEEDED,
        reasons::RUNNING,
        "running the bootstrap data in the container",
    ));
    // The task reports back when it ends; the timeout bounds how long that takes.
    Ok(None)
}
// ANCHOR_END: reconcile_bootstrap

/// The bootstrap ran from when `BootstrapSucceeded` turned to `Running` until now.
fn observe_bootstrap_duration<D>(
    running: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    step: &Step<'_, DockerMachine, D>,
    ctx: &Context<D>,
    succeeded: bool,
) {
    let Some(running) = running.filter(|c| c.reason == reasons::RUNNING) else {
        return;
    };
    let elapsed = step.now().0.duration_since(running.last_transition_time.0);
    if let Ok(elapsed) = std::time::Duration::try_from(elapsed) {
        ctx.metrics.observe_bootstrap(elapsed, succeeded);
    }
}

// ANCHOR: bootstrap_data
/// The bootstrap data and its format from the Machine's Secret. The error names the Secret,
/// never its content.
async fn bootstrap_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<(BootstrapData, String), String> {
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|error| format!("cannot read Secret {namespace}/{name}: {error}"))?
        .ok_or_else(|| format!("Secret {namespace}/{name} does not exist"))?;
    let data = secret.data.unwrap_or_default();
    let value = data
        .get("value")
        .ok_or_else(|| format!("Secret {namespace}/{name} has no key `value`"))?;
    let format = data
        .get("format")
        .map(|f| String::from_utf8_lossy(&f.0).into_owned())
        .unwrap_or_default();
    Ok((BootstrapData::new(value.0.clone()), format))
}
// ANCHOR_END: bootstrap_data

// ANCHOR: reconcile_delete
/// Deletion: show `Deleting`, stop the bootstrap, take a control-plane node out of the load
/// balancer, remove the container, let the object go.
async fn reconcile_delete<D>(
    api: &Api<DockerMachine>,
    docker_machine: &DockerMachine,
    owners: &Owners,
    mut step: Step<'_, DockerMachine, D>,
    ctx: &Context<D>,
) -> Result<Action, Error>
where
    D: ContainerRuntime + Clone + Send + Sync + 'static,
{
    if !finalizer::has(docker_machine, FINALIZER) {
        return Ok(Action::await_change());
    }
    step.observe(Observation::falsehood(
        CONTAINER_PROVISIONED,
        reasons::DELETING,
        "removing the node container",
    ));
    step.finish(api, docker_machine).await?;
    ctx.bootstraps
        .cancel(&docker_machine.uid().unwrap_or_default());

    let request = node_request(docker_machine, owners);
    let name = request.container_name();
    if owners.machine.is_control_plane() {
        // Drain first: the load balancer stops sending API requests to this node before it
        // goes (its Machine is deleting, so the cluster controller gives it weight 0).
        let docker_cluster = ObjectRef::from_obj(&owners.docker_cluster);
        ctx.cluster_triggers.trigger(docker_cluster.clone());
        let lb = lb_container_name(&owners.cluster.name_any());
        if !drained(&ctx.docker.runtime, &lb, &name).await? {
            return Ok(Action::requeue(Duration::from_secs(1)));
        }
    }
    match delete_node(&ctx.docker.runtime, &name, &request.identity).await {
        Ok(()) => {}
        Err(EnsureError::NameConflict { name }) => step.event(
            EventType::Warning,
            "ContainerNotOurs",
            &format!("left container {name} alone: it belongs to another cluster"),
        ),
        Err(error) => return Err(error.into()),
    }
    step.publish_events(docker_machine).await;
    if owners.machine.is_control_plane() {
        // Now without it.
        ctx.cluster_triggers
            .trigger(ObjectRef::from_obj(&owners.docker_cluster));
    }
    finalizer::remove(api, docker_machine, FINALIZER).await?;
    Ok(Action::await_change())
}
// ANCHOR_END: reconcile_delete

// ANCHOR: drained
/// True once the load balancer sends nothing to `node`: no such server in its configuration,
/// or one with weight 0 (the last control plane keeps its weight: draining it would only turn
/// a slow end into an outage).
async fn drained<D: ContainerRuntime>(
    runtime: &D,
    lb: &str,
    node: &str,
) -> Result<bool, RuntimeError> {
    let config = match runtime
        .read_file(lb, capdkc_docker::loadbalancer::CONFIG_PATH)
        .await
    {
        Ok(config) => String::from_utf8_lossy(&config).into_owned(),
        // No load balancer, nothing to drain.
        Err(RuntimeError::NotFound(_)) => return Ok(true),
        Err(error) => return Err(error),
    };
    Ok(server_drained(&config, node))
}

/// Whether the rendered HAProxy configuration routes nothing to `node`.
pub fn server_drained(config: &str, node: &str) -> bool {
    let servers: Vec<&str> = config
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("server "))
        .collect();
    let prefix = format!("server {node} ");
    match servers.iter().find(|line| line.starts_with(&prefix)) {
        None => true,
        Some(line) => line.contains(" weight 0 ") || servers.len() == 1,
    }
}
// ANCHOR_END: drained

/// Deleting without a Machine (or its Cluster): remove whatever carries this object's UID.
async fn release_orphan<D: ContainerRuntime>(
    api: &Api<DockerMachine>,
    docker_machine: &DockerMachine,
    ctx: &Context<D>,
) -> Result<(), Error> {
    if !finalizer::has(docker_machine, FINALIZER) {
        return Ok(());
    }
    ctx.bootstraps
        .cancel(&docker_machine.uid().unwrap_or_default());
    remove_containers_of(
        &ctx.docker.runtime,
        &docker_machine.uid().unwrap_or_default(),
    )
    .await?;
    finalizer::remove(api, docker_machine, FINALIZER).await?;
    Ok(())
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

// ANCHOR: set_provider_id
/// Sets `spec.providerID` with server-side apply; core copies it to the Machine.
async fn set_provider_id(
    api: &Api<DockerMachine>,
    docker_machine: &DockerMachine,
    provider_id: &str,
) -> Result<(), kube::Error> {
    let body = json!({
        "apiVersion": DockerMachine::api_version(&()),
        "kind": DockerMachine::kind(&()),
        "spec": { "providerID": provider_id },
    });
    api.patch(
        &docker_machine.name_any(),
        &apply_params(),
        &Patch::Apply(body),
    )
    .await?;
    Ok(())
}
// ANCHOR_END: set_provider_id

// ANCHOR: watches
/// Reconcile requests from the Machine watch: the DockerMachine a Machine's `infrastructureRef`
/// names, when something we act on changes (bootstrap data, node joined, deletion, pause).
pub fn machine_triggers(
    machines: impl Stream<Item = Result<Machine, watcher::Error>> + Send + 'static,
) -> impl Stream<Item = ObjectRef<DockerMachine>> + Send + 'static {
    machines
        .predicate_filter(what_docker_machines_react_to, PredicateConfig::default())
        .filter_map(|machine| std::future::ready(machine.ok().and_then(|m| docker_machine_of(&m))))
}

/// The DockerMachine a Machine points at, if it points at one of ours.
pub fn docker_machine_of(machine: &Machine) -> Option<ObjectRef<DockerMachine>> {
    let reference = machine.spec.infrastructure_ref.as_ref()?;
    if !reference.is_ours("DockerMachine") {
        return None;
    }
    Some(ObjectRef::new(&reference.name).within(&machine.namespace()?))
}

fn what_docker_machines_react_to(machine: &Machine) -> Option<u64> {
    let mut hasher = std::hash::DefaultHasher::new();
    (
        machine.uid(),
        &machine.spec.bootstrap.data_secret_name,
        &machine.spec.infrastructure_ref,
        machine
            .status
            .as_ref()
            .and_then(|s| s.node_ref.as_ref())
            .map(|n| &n.name),
        machine.meta().deletion_timestamp.is_some(),
        has_paused_annotation(&machine.metadata),
    )
        .hash(&mut hasher);
    Some(hasher.finish())
}

/// Reconcile requests from the Cluster and DockerCluster watches: every DockerMachine of the
/// cluster, when something machines wait for changes.
pub fn cluster_triggers(
    clusters: impl Stream<Item = Result<Cluster, watcher::Error>> + Send + 'static,
    docker_clusters: impl Stream<Item = Result<DockerCluster, watcher::Error>> + Send + 'static,
    docker_machines: Store<DockerMachine>,
) -> impl Stream<Item = ObjectRef<DockerMachine>> + Send + 'static {
    let from_clusters = clusters
        .predicate_filter(what_machines_wait_for, PredicateConfig::default())
        .filter_map(|cluster| {
            std::future::ready(
                cluster
                    .ok()
                    .and_then(|c| Some((c.namespace()?, c.name_any()))),
            )
        });
    let from_docker_clusters = docker_clusters
        .predicate_filter(
            |dc: &DockerCluster| {
                let mut hasher = std::hash::DefaultHasher::new();
                (
                    dc.uid(),
                    dc.meta().generation,
                    dc.labels().get(CLUSTER_NAME_LABEL),
                )
                    .hash(&mut hasher);
                Some(hasher.finish())
            },
            PredicateConfig::default(),
        )
        .filter_map(|dc| {
            std::future::ready(dc.ok().and_then(|dc| {
                Some((
                    dc.namespace()?,
                    dc.labels().get(CLUSTER_NAME_LABEL)?.clone(),
                ))
            }))
        });
    futures::stream::select(from_clusters, from_docker_clusters).flat_map(
        move |(namespace, cluster)| {
            futures::stream::iter(machines_of(&docker_machines, &namespace, &cluster))
        },
    )
}

/// The DockerMachines of cluster `namespace/cluster`, from the cache.
pub fn machines_of(
    docker_machines: &Store<DockerMachine>,
    namespace: &str,
    cluster: &str,
) -> Vec<ObjectRef<DockerMachine>> {
    docker_machines
        .state()
        .iter()
        .filter(|dm| dm.namespace().as_deref() == Some(namespace))
        .filter(|dm| dm.labels().get(CLUSTER_NAME_LABEL).map(String::as_str) == Some(cluster))
        .map(|dm| ObjectRef::from_obj(dm.as_ref()))
        .collect()
}

fn what_machines_wait_for(cluster: &Cluster) -> Option<u64> {
    let mut hasher = std::hash::DefaultHasher::new();
    (
        cluster.uid(),
        cluster.is_paused(),
        cluster.is_infrastructure_provisioned(),
        cluster.is_control_plane_initialized(),
        cluster.meta().deletion_timestamp.is_some(),
    )
        .hash(&mut hasher);
    Some(hasher.finish())
}
// ANCHOR_END: watches

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_drained_when_gone_or_at_weight_zero_unless_alone() {
        let two = "backend kube-apiservers\n  server a 10.0.0.1:6443 weight 0 check\n  server b 10.0.0.2:6443 weight 100 check\n";
        assert!(server_drained(two, "a"));
        assert!(!server_drained(two, "b"));
        assert!(server_drained(two, "c"), "not a member");
        let one = "  server a 10.0.0.1:6443 weight 100 check\n";
        assert!(server_drained(one, "a"), "the last one is never drained");
    }

    #[test]
    fn addresses_name_the_container_and_its_ip() {
        let found = addresses("demo-cp-1", "172.18.0.4");
        let types: Vec<&str> = found.iter().map(|a| a.type_.as_str()).collect();
        assert_eq!(types, ["Hostname", "InternalIP", "ExternalIP"]);
        assert_eq!(addresses("demo-cp-1", "").len(), 1);
    }
}
