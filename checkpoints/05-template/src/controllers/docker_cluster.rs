//! The DockerCluster controller: one load-balancer container per cluster, the control-plane
//! endpoint pointing at it, and `status.initialization.provisioned` once both exist, following
//! the Cluster API v1beta2 InfraCluster contract.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use capdkc_docker::ensure::{Action as DockerAction, EnsureError, remove_if_ours};
use capdkc_docker::labels::{
    CLUSTER_LABEL, CLUSTER_UID_LABEL, NAMESPACE_LABEL, ROLE_CONTROL_PLANE, ROLE_LABEL,
    lb_container_name, node_container_name,
};
use capdkc_docker::loadbalancer::{
    ApplyError, ApplyOutcome, Backend, LbConfig, LbSettings, apply_config, ensure_lb, render,
};
use capdkc_docker::{ContainerRuntime, Identity, RuntimeError};
use futures::{Stream, StreamExt};
use kube::api::{ListParams, Patch};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::utils::PredicateConfig;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use super::status::apply_params;
use super::step::Step;
use super::{Context, DisplayChain, finalizer, remove_containers_of};
use crate::api::{ApiEndpoint, DockerCluster, DockerMachine, Initialization};
use crate::capi::{
    CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL, Cluster, MANAGED_BY_ANNOTATION, Machine,
    has_paused_annotation,
};
use crate::conditions::{LOAD_BALANCER_AVAILABLE, Observation, PAUSED, reasons};

// ANCHOR: constants
/// The controller's name in metrics and logs.
pub const NAME: &str = "dockercluster";
/// Keeps a DockerCluster until its load balancer is gone.
pub const FINALIZER: &str = "dockercluster.infrastructure.cluster.x-k8s.io";
/// The control-plane port when the spec does not name one.
pub const DEFAULT_PORT: u16 = 6443;
/// How often a converged DockerCluster is looked at again: Docker does not tell us when a
/// container stops, so this is how a stopped load balancer gets healed.
pub const RESYNC: Duration = Duration::from_secs(300);
// ANCHOR_END: constants

/// Why a reconcile failed; the controller retries it with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API")]
    Kube(#[from] kube::Error),
    #[error("Docker")]
    Docker(#[from] RuntimeError),
    #[error("load-balancer container")]
    LoadBalancer(#[from] EnsureError),
    #[error("load-balancer configuration")]
    LoadBalancerConfig(#[from] ApplyError),
    #[error("load-balancer container {0} runs but has no address on network {1}")]
    NoAddress(String, String),
    #[error("DockerCluster {0} has no namespace")]
    NoNamespace(String),
}

// ANCHOR: reconcile
/// Brings one DockerCluster towards its desired state, in the contract's order.
pub async fn reconcile<D: ContainerRuntime>(
    docker_cluster: Arc<DockerCluster>,
    ctx: Arc<Context<D>>,
) -> Result<Action, Error> {
    let namespace = docker_cluster
        .namespace()
        .ok_or_else(|| Error::NoNamespace(docker_cluster.name_any()))?;
    let api = Api::<DockerCluster>::namespaced(ctx.client.clone(), &namespace);

    let deleting = docker_cluster.meta().deletion_timestamp.is_some();

    // Someone else provides this cluster's infrastructure: not ours to touch. (Marked so after
    // we had added our finalizer, a deletion still has to let go.)
    if is_externally_managed(&docker_cluster) {
        if deleting {
            release_orphan(&api, &docker_cluster, &ctx).await?;
        }
        tracing::debug!("externally managed; skipping");
        return Ok(Action::await_change());
    }

    // Core sets the owner reference once it sees the Cluster; the Cluster watch wakes us then.
    let Some(cluster) = owner_cluster(&ctx.client, &docker_cluster, &namespace).await? else {
        if deleting && !has_paused_annotation(&docker_cluster.metadata) {
            release_orphan(&api, &docker_cluster, &ctx).await?;
        }
        tracing::debug!("waiting for Cluster API to set the owner Cluster");
        return Ok(Action::await_change());
    };

    let mut step = Step::new(docker_cluster.as_ref(), &ctx);
    if cluster.is_paused() || has_paused_annotation(&docker_cluster.metadata) {
        step.observe(Observation::truth(PAUSED, reasons::PAUSED));
        step.save(&api, docker_cluster.as_ref()).await?;
        return Ok(Action::await_change());
    }
    step.observe(Observation::falsehood(PAUSED, reasons::NOT_PAUSED, ""));

    if deleting {
        return reconcile_delete(&api, &docker_cluster, &cluster, step, &ctx).await;
    }

    // Only now, with an owner, do we hold the object back from deletion.
    let docker_cluster = if finalizer::has(docker_cluster.as_ref(), FINALIZER) {
        docker_cluster
    } else {
        Arc::new(finalizer::add(&api, docker_cluster.as_ref(), FINALIZER).await?)
    };
    reconcile_normal(&api, &docker_cluster, &cluster, step, &ctx).await
}
// ANCHOR_END: reconcile

// ANCHOR: externally_managed
/// The contract's escape hatch: an InfraCluster annotated `cluster.x-k8s.io/managed-by` is
/// provided by someone else (a person, Terraform) and never touched by the provider.
pub fn is_externally_managed(docker_cluster: &DockerCluster) -> bool {
    docker_cluster
        .annotations()
        .contains_key(MANAGED_BY_ANNOTATION)
}
// ANCHOR_END: externally_managed

// ANCHOR: owner_cluster
/// The Cluster that owns this DockerCluster, if core has set the owner reference yet.
async fn owner_cluster(
    client: &kube::Client,
    docker_cluster: &DockerCluster,
    namespace: &str,
) -> Result<Option<Cluster>, kube::Error> {
    let owner = docker_cluster.owner_references().iter().find(|owner| {
        owner.kind == "Cluster" && owner.api_version.starts_with("cluster.x-k8s.io/")
    });
    let Some(owner) = owner else {
        return Ok(None);
    };
    Api::<Cluster>::namespaced(client.clone(), namespace)
        .get_opt(&owner.name)
        .await
}
// ANCHOR_END: owner_cluster

// ANCHOR: reconcile_normal
async fn reconcile_normal<D: ContainerRuntime>(
    api: &Api<DockerCluster>,
    docker_cluster: &DockerCluster,
    cluster: &Cluster,
    mut step: Step<'_, DockerCluster, D>,
    ctx: &Context<D>,
) -> Result<Action, Error> {
    step.status.failure_domains = docker_cluster.spec.failure_domains.clone();
    let docker = &ctx.docker;
    let identity = identity(docker_cluster, cluster);
    let endpoint = docker_cluster
        .spec
        .control_plane_endpoint
        .clone()
        .unwrap_or_default();
    let port = endpoint
        .port
        .and_then(|port| u16::try_from(port).ok())
        .unwrap_or(DEFAULT_PORT);
    let settings = LbSettings {
        network: docker.network.clone(),
        image: docker_cluster
            .spec
            .load_balancer
            .as_ref()
            .and_then(|lb| lb.image.clone()),
        port,
        extra_labels: docker.extra_labels.clone(),
    };

    // The load-balancer container: created if missing, started if stopped.
    let lb = match ensure_lb(&docker.runtime, &settings, &identity).await {
        Ok(lb) => lb,
        Err(EnsureError::NameConflict { name }) => {
            let message = format!(
                "container {name} belongs to another cluster (another namespace or an earlier \
                 cluster of this name) and was left alone; remove it or rename this cluster"
            );
            if !step.was(LOAD_BALANCER_AVAILABLE, reasons::NAME_CONFLICT) {
                step.event(EventType::Warning, reasons::NAME_CONFLICT, &message);
            }
            step.observe(Observation::falsehood(
                LOAD_BALANCER_AVAILABLE,
                reasons::NAME_CONFLICT,
                message,
            ));
            step.finish(api, docker_cluster).await?;
            return Err(EnsureError::NameConflict { name }.into());
        }
        Err(error) => {
            // Docker is down, the image cannot be pulled, the port is taken: say so where
            // people look first, then retry with backoff.
            step.observe(Observation::falsehood(
                LOAD_BALANCER_AVAILABLE,
                reasons::CONTAINER_NOT_RUNNING,
                format!(
                    "cannot run the load-balancer container: {}",
                    DisplayChain(&error)
                ),
            ));
            step.finish(api, docker_cluster).await?;
            return Err(error.into());
        }
    };
    let was_provisioned = step
        .status
        .initialization
        .as_ref()
        .and_then(|i| i.provisioned);
    match lb.action {
        DockerAction::Existing => {}
        DockerAction::Created if was_provisioned == Some(true) => step.event(
            EventType::Warning,
            "LoadBalancerRecreated",
            &format!("{} was gone; created it again", lb.container.name),
        ),
        DockerAction::Created => {
            step.event(EventType::Normal, "LoadBalancerCreated", &lb.container.name)
        }
        DockerAction::Restarted | DockerAction::Recreated => step.event(
            EventType::Warning,
            "LoadBalancerHealed",
            &format!("{} was not running; started it again", lb.container.name),
        ),
    }
    let Some(ip) = lb.ip.clone() else {
        let error = Error::NoAddress(lb.container.name.clone(), docker.network.clone());
        step.observe(Observation::falsehood(
            LOAD_BALANCER_AVAILABLE,
            reasons::CONTAINER_NOT_RUNNING,
            error.to_string(),
        ));
        step.finish(api, docker_cluster).await?;
        return Err(error);
    };

    // Its configuration: one backend per running control-plane node of this cluster, drained
    // (weight 0) once its Machine is being deleted.
    let draining = draining_nodes(&ctx.client, cluster).await?;
    let mut backends = control_plane_backends(&docker.runtime, &identity, &docker.network).await?;
    for backend in &mut backends {
        backend.draining = draining.contains(&backend.name);
    }
    let config = render(&LbConfig {
        frontend_port: port,
        health_check: docker.lb_health_check,
        ..LbConfig::new(backends)
    });
    if apply_config(&docker.runtime, &lb.container.name, &config).await? == ApplyOutcome::Reloaded {
        step.event(
            EventType::Normal,
            "LoadBalancerConfigured",
            "wrote and reloaded the HAProxy configuration",
        );
    }

    // The endpoint: ours to fill in, never to overwrite.
    if endpoint.host.is_none() || endpoint.port.is_none() {
        let filled = ApiEndpoint {
            host: Some(endpoint.host.unwrap_or_else(|| ip.clone())),
            port: Some(i32::from(port)),
        };
        set_endpoint(api, docker_cluster, &filled).await?;
        step.event(
            EventType::Normal,
            "ControlPlaneEndpointSet",
            &format!(
                "{}:{}",
                filled.host.unwrap_or_default(),
                filled.port.unwrap_or_default()
            ),
        );
    }

    // The endpoint cannot change; a load balancer recreated on another address is unreachable
    // through it. Say so instead of reporting Ready.
    if let Some(mismatch) = endpoint_mismatch(&docker_cluster.spec.control_plane_endpoint, &ip) {
        step.observe(Observation::falsehood(
            LOAD_BALANCER_AVAILABLE,
            reasons::ENDPOINT_MISMATCH,
            mismatch,
        ));
    } else {
        step.observe(Observation::truth(
            LOAD_BALANCER_AVAILABLE,
            reasons::AVAILABLE,
        ));
    }
    step.status.initialization = Some(Initialization {
        provisioned: Some(true),
    });
    step.finish(api, docker_cluster).await?;
    Ok(Action::requeue(RESYNC))
}
// ANCHOR_END: reconcile_normal

// ANCHOR: reconcile_delete
/// Deletion: show `Deleting` first, then remove the container, then let the object go.
async fn reconcile_delete<D: ContainerRuntime>(
    api: &Api<DockerCluster>,
    docker_cluster: &DockerCluster,
    cluster: &Cluster,
    mut step: Step<'_, DockerCluster, D>,
    ctx: &Context<D>,
) -> Result<Action, Error> {
    if !finalizer::has(docker_cluster, FINALIZER) {
        return Ok(Action::await_change());
    }
    step.observe(Observation::falsehood(
        LOAD_BALANCER_AVAILABLE,
        reasons::DELETING,
        "removing the load-balancer container",
    ));
    step.finish(api, docker_cluster).await?;

    let name = lb_container_name(&cluster.name_any());
    let identity = identity(docker_cluster, cluster);
    match remove_if_ours(&ctx.docker.runtime, &name, &identity).await {
        Ok(()) => {}
        Err(EnsureError::NameConflict { name }) => {
            // Not ours: leave it, say so, and do not hold the deletion back for it.
            step.event(
                EventType::Warning,
                "LoadBalancerNotOurs",
                &format!("left container {name} alone: it belongs to another cluster"),
            );
        }
        Err(error) => return Err(error.into()),
    }
    step.publish_events(docker_cluster).await;
    finalizer::remove(api, docker_cluster, FINALIZER).await?;
    Ok(Action::await_change())
}
// ANCHOR_END: reconcile_delete

/// Deleting, and the owner Cluster is gone (a restore from backup can lose owner references):
/// remove whatever carries this object's UID, then the finalizer.
async fn release_orphan<D: ContainerRuntime>(
    api: &Api<DockerCluster>,
    docker_cluster: &DockerCluster,
    ctx: &Context<D>,
) -> Result<(), Error> {
    if !finalizer::has(docker_cluster, FINALIZER) {
        return Ok(());
    }
    remove_containers_of(
        &ctx.docker.runtime,
        &docker_cluster.uid().unwrap_or_default(),
    )
    .await?;
    finalizer::remove(api, docker_cluster, FINALIZER).await?;
    Ok(())
}

// ANCHOR: cluster_triggers
/// Reconcile requests from the Cluster watch: the DockerCluster a Cluster's `infrastructureRef`
/// names, whenever something it acts on changes (pause, the reference, deletion), not on every
/// status update core makes.
pub fn cluster_triggers(
    clusters: impl Stream<Item = Result<Cluster, watcher::Error>> + Send + 'static,
) -> impl Stream<Item = ObjectRef<DockerCluster>> + Send + 'static {
    clusters
        .predicate_filter(what_docker_clusters_react_to, PredicateConfig::default())
        .filter_map(|cluster| std::future::ready(cluster.ok().and_then(|c| docker_cluster_of(&c))))
}

/// The DockerCluster a Cluster points at, if it points at one of ours.
pub fn docker_cluster_of(cluster: &Cluster) -> Option<ObjectRef<DockerCluster>> {
    let reference = cluster.spec.infrastructure_ref.as_ref()?;
    if !reference.is_ours("DockerCluster") {
        return None;
    }
    Some(ObjectRef::new(&reference.name).within(&cluster.namespace()?))
}

fn what_docker_clusters_react_to(cluster: &Cluster) -> Option<u64> {
    let mut hasher = std::hash::DefaultHasher::new();
    (
        cluster.uid(),
        cluster.is_paused(),
        &cluster.spec.infrastructure_ref,
        cluster.meta().deletion_timestamp.is_some(),
    )
        .hash(&mut hasher);
    Some(hasher.finish())
}
// ANCHOR_END: cluster_triggers

/// Who the load-balancer container belongs to: this DockerCluster of this Cluster.
fn identity(docker_cluster: &DockerCluster, cluster: &Cluster) -> Identity {
    Identity {
        cluster_name: cluster.name_any(),
        namespace: cluster.namespace().unwrap_or_default(),
        cluster_uid: cluster.uid().unwrap_or_default(),
        owner_uid: docker_cluster.uid().unwrap_or_default(),
    }
}

// ANCHOR: draining
/// The node containers of this cluster that are going away: those of control-plane Machines
/// being deleted, and of DockerMachines deleted on their own.
async fn draining_nodes(
    client: &kube::Client,
    cluster: &Cluster,
) -> Result<Vec<String>, kube::Error> {
    let cluster_name = cluster.name_any();
    let namespace = cluster.namespace().unwrap_or_default();
    let of_cluster = format!("{CLUSTER_NAME_LABEL}={cluster_name}");
    let machines = Api::<Machine>::namespaced(client.clone(), &namespace)
        .list(&ListParams::default().labels(&format!("{of_cluster},{CONTROL_PLANE_LABEL}")))
        .await?;
    let docker_machines = Api::<DockerMachine>::namespaced(client.clone(), &namespace)
        .list(&ListParams::default().labels(&of_cluster))
        .await?;
    let deleting_machines = machines
        .items
        .iter()
        .filter(|machine| machine.meta().deletion_timestamp.is_some())
        .map(|machine| machine.name_any());
    let deleting_docker_machines = docker_machines
        .items
        .iter()
        .filter(|dm| dm.meta().deletion_timestamp.is_some())
        .filter_map(|dm| {
            let owner = dm.owner_references().iter().find(|o| o.kind == "Machine")?;
            Some(owner.name.clone())
        });
    Ok(deleting_machines
        .chain(deleting_docker_machines)
        .map(|machine| node_container_name(&cluster_name, &machine))
        .collect())
}
// ANCHOR_END: draining

// ANCHOR: backends
/// The running control-plane node containers of this cluster, found by their labels.
async fn control_plane_backends<D: ContainerRuntime>(
    runtime: &D,
    identity: &Identity,
    network: &str,
) -> Result<Vec<Backend>, RuntimeError> {
    let labels = [
        (CLUSTER_LABEL, identity.cluster_name.as_str()),
        (NAMESPACE_LABEL, identity.namespace.as_str()),
        (CLUSTER_UID_LABEL, identity.cluster_uid.as_str()),
        (ROLE_LABEL, ROLE_CONTROL_PLANE),
    ]
    .map(|(key, value)| (key.to_owned(), value.to_owned()));
    let nodes = runtime.list_by_labels(&labels.into()).await?;
    Ok(nodes
        .into_iter()
        .filter(|node| node.running)
        .filter_map(|node| {
            let address = node.ip_on(network)?.to_owned();
            Some(Backend {
                name: node.name,
                address,
                draining: false,
            })
        })
        .collect())
}
// ANCHOR_END: backends

// ANCHOR: set_endpoint
/// When the endpoint's host is an IP address other than the load balancer's, what to tell people.
pub fn endpoint_mismatch(endpoint: &Option<ApiEndpoint>, lb_ip: &str) -> Option<String> {
    let host = endpoint.as_ref()?.host.as_deref()?;
    let is_address = host.parse::<std::net::IpAddr>().is_ok();
    (is_address && host != lb_ip).then(|| {
        format!(
            "the load-balancer container was recreated at {lb_ip}, but the control-plane endpoint \
             is {host} and cannot change; delete and recreate the cluster"
        )
    })
}

/// Fills in the endpoint with server-side apply: we own only the fields we set.
async fn set_endpoint(
    api: &Api<DockerCluster>,
    docker_cluster: &DockerCluster,
    endpoint: &ApiEndpoint,
) -> Result<(), kube::Error> {
    let body = json!({
        "apiVersion": DockerCluster::api_version(&()),
        "kind": DockerCluster::kind(&()),
        "spec": { "controlPlaneEndpoint": endpoint },
    });
    api.patch(
        &docker_cluster.name_any(),
        &apply_params(),
        &Patch::Apply(body),
    )
    .await?;
    Ok(())
}
// ANCHOR_END: set_endpoint
