//! The DockerCluster controller: one load-balancer container per cluster, the control-plane
//! endpoint pointing at it, and `status.initialization.provisioned` once both exist, following
//! the Cluster API v1beta2 InfraCluster contract.

use std::sync::Arc;
use std::time::Duration;

use capdkc_capi::owners::owner_cluster;
use capdkc_capi::patch::{apply_spec, publish_event};
use capdkc_capi::predicates::{
    has_paused_annotation, is_deleting, is_externally_managed, is_paused,
};
use capdkc_capi::{Cluster, ConditionUpdate, StatusPatch};
use capdkc_docker::ensure::{Action as DockerAction, EnsureError};
use capdkc_docker::loadbalancer::{ApplyError, ApplyOutcome, LbStatus};
use capdkc_docker::{Identity, RuntimeError};
use capdkc_manager::{DisplayChain, finalizer};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use serde_json::json;

use super::Context;
use crate::api::conditions::{LOAD_BALANCER_AVAILABLE, PAUSED, reasons};
use crate::api::{ApiEndpoint, DockerCluster, Initialization};

/// The controller's name in metrics and logs.
pub const NAME: &str = "dockercluster";
/// Keeps a DockerCluster until its load balancer is gone.
pub const FINALIZER: &str = "dockercluster.infrastructure.cluster.x-k8s.io";
/// The control-plane port when the spec does not name one.
pub const DEFAULT_PORT: u16 = 6443;
/// How often a converged DockerCluster is looked at again, to heal a load balancer that
/// stopped behind our back.
pub const RESYNC: Duration = Duration::from_secs(300);

// ANCHOR: error
/// Why a reconcile failed; the manager retries it with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API")]
    Kube(#[from] kube::Error),
    #[error("Docker")]
    Docker(#[from] RuntimeError),
    #[error("cannot run the load-balancer container")]
    LoadBalancer(#[from] EnsureError),
    #[error("cannot configure the load balancer")]
    Configuration(#[from] ApplyError),
    #[error("load-balancer container {container} runs but has no address on network {network}")]
    NoAddress { container: String, network: String },
    #[error("DockerCluster {0} has no namespace")]
    NoNamespace(String),
}

impl Error {
    /// How a failure shows in the status: the one place errors become conditions, with a
    /// reason and a message that tell a person what is wrong.
    fn condition(&self) -> Option<ConditionUpdate> {
        let reason = match self {
            Error::Kube(_) | Error::NoNamespace(_) => return None,
            Error::LoadBalancer(EnsureError::NameConflict { name }) => {
                let message = format!(
                    "container {name} belongs to another cluster (another namespace or an \
                     earlier cluster of this name) and was left alone; remove it or rename this \
                     cluster"
                );
                let reason = reasons::NAME_CONFLICT;
                return Some(ConditionUpdate::false_(
                    LOAD_BALANCER_AVAILABLE,
                    reason,
                    message,
                ));
            }
            Error::Configuration(_) => reasons::CONFIGURATION_FAILED,
            Error::Docker(_) | Error::LoadBalancer(_) | Error::NoAddress { .. } => {
                reasons::CONTAINER_NOT_RUNNING
            }
        };
        let message = DisplayChain(self).to_string();
        Some(ConditionUpdate::false_(
            LOAD_BALANCER_AVAILABLE,
            reason,
            message,
        ))
    }
}
// ANCHOR_END: error

// ANCHOR: reconcile
/// Brings one DockerCluster towards its desired state, in the contract's order.
pub async fn reconcile(
    docker_cluster: Arc<DockerCluster>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    // EXERCISE: 3.2 Follow the contract: owner, pause, deletion, finalizer, then one status write.
    let namespace = docker_cluster
        .namespace()
        .ok_or_else(|| Error::NoNamespace(docker_cluster.name_any()))?;
    let api = Api::<DockerCluster>::namespaced(ctx.client.clone(), &namespace);

    // Someone else provides this cluster's infrastructure: not ours to touch. (Marked so after
    // we had added our finalizer, a deletion still has to let go.)
    if is_externally_managed(docker_cluster.as_ref()) {
        if is_deleting(docker_cluster.as_ref()) {
            release_orphan(&api, &docker_cluster, &ctx).await?;
        }
        return Ok(Action::await_change());
    }
    // Core sets the owner reference once it sees the Cluster; the Cluster watch wakes us then.
    let Some(cluster) = owner_cluster(docker_cluster.as_ref(), &ctx.clusters) else {
        if is_deleting(docker_cluster.as_ref()) && !has_paused_annotation(&docker_cluster.metadata)
        {
            release_orphan(&api, &docker_cluster, &ctx).await?;
        }
        return Ok(Action::await_change());
    };

    let mut patch = StatusPatch::new(docker_cluster.as_ref(), &ctx.clock);
    if is_paused(&cluster, docker_cluster.as_ref()) {
        patch.set(ConditionUpdate::true_(PAUSED, reasons::PAUSED));
        patch
            .apply_unsummarised(&api, &docker_cluster, &ctx.recorder)
            .await?;
        return Ok(Action::await_change());
    }
    patch.set(ConditionUpdate::false_(PAUSED, reasons::NOT_PAUSED, ""));
    if is_deleting(docker_cluster.as_ref()) {
        return reconcile_delete(&api, &docker_cluster, &cluster, patch, &ctx).await;
    }
    // Only now, with an owner, do we hold the object back from deletion.
    if !finalizer::has(docker_cluster.as_ref(), FINALIZER) {
        finalizer::add(&api, docker_cluster.as_ref(), FINALIZER).await?;
    }

    let result = reconcile_normal(&api, &docker_cluster, &cluster, &mut patch, &ctx).await;
    if let Err(error) = &result
        && let Some(condition) = error.condition()
    {
        if !patch.has_reason(condition.type_, condition.reason) {
            patch.event(EventType::Warning, condition.reason, &condition.message);
        }
        patch.set(condition);
    }
    patch.apply(&api, &docker_cluster, &ctx.recorder).await?;
    result
    // EXERCISE_END
}
// ANCHOR_END: reconcile

// ANCHOR: reconcile_normal
/// The load balancer runs and routes to the control plane, the endpoint points at it, and the
/// infrastructure is provisioned. Writes nothing but the endpoint: the status is `patch`'s.
async fn reconcile_normal(
    api: &Api<DockerCluster>,
    docker_cluster: &DockerCluster,
    cluster: &Cluster,
    patch: &mut StatusPatch<DockerCluster>,
    ctx: &Context,
) -> Result<Action, Error> {
    patch.status.failure_domains = docker_cluster.spec.failure_domains.clone();
    let identity = identity(docker_cluster, cluster);
    let endpoint = docker_cluster
        .spec
        .control_plane_endpoint
        .clone()
        .unwrap_or_default();
    let port = endpoint
        .port
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(DEFAULT_PORT);

    // EXERCISE: 3.3 Run the load balancer, point the endpoint at it, report provisioned.
    let image = docker_cluster
        .spec
        .load_balancer
        .as_ref()
        .and_then(|lb| lb.image.clone());
    // The load-balancer container: created if missing, started if stopped.
    let lb = ctx
        .docker
        .ensure_load_balancer(&identity, image, port)
        .await?;
    report_load_balancer(patch, &lb);
    let ip = lb.ip.clone().ok_or_else(|| Error::NoAddress {
        container: lb.container.name.clone(),
        network: ctx.docker.network().to_owned(),
    })?;

    route_to_control_plane(docker_cluster, &identity, port, &ip, patch, ctx).await?;

    // The endpoint: ours to fill in, never to overwrite.
    if endpoint.host.is_none() || endpoint.port.is_none() {
        let host = endpoint.host.unwrap_or_else(|| ip.clone());
        let filled = ApiEndpoint {
            host: Some(host.clone()),
            port: Some(i32::from(port)),
        };
        apply_spec(
            api,
            docker_cluster,
            json!({ "controlPlaneEndpoint": filled }),
        )
        .await?;
        patch.event(
            EventType::Normal,
            "ControlPlaneEndpointSet",
            format!("{host}:{port}"),
        );
    }

    patch.status.initialization = Some(Initialization {
        provisioned: Some(true),
    });
    Ok(Action::requeue(RESYNC))
    // EXERCISE_END
}
// ANCHOR_END: reconcile_normal

// ANCHOR: route_to_control_plane
/// HAProxy's configuration: one backend per running control-plane node of this cluster. Then
/// whether the load balancer, at `ip`, is available at the endpoint.
async fn route_to_control_plane(
    docker_cluster: &DockerCluster,
    identity: &Identity,
    port: u16,
    ip: &str,
    patch: &mut StatusPatch<DockerCluster>,
    ctx: &Context,
) -> Result<(), Error> {
    // EXERCISE: 3.4 Configure HAProxy, then report whether the load balancer is available.
    if ctx
        .docker
        .configure_load_balancer(identity, port, &[])
        .await?
        == ApplyOutcome::Reloaded
    {
        patch.event(
            EventType::Normal,
            "LoadBalancerConfigured",
            "HAProxy reloaded",
        );
    }
    // Available, unless a load balancer recreated on another address left the endpoint
    // (which cannot change) pointing nowhere.
    patch.set(
        match endpoint_mismatch(&docker_cluster.spec.control_plane_endpoint, ip) {
            Some(why) => {
                ConditionUpdate::false_(LOAD_BALANCER_AVAILABLE, reasons::ENDPOINT_MISMATCH, why)
            }
            None => ConditionUpdate::true_(LOAD_BALANCER_AVAILABLE, reasons::AVAILABLE),
        },
    );
    Ok(())
    // EXERCISE_START_STATE
    // Ok(())
    // EXERCISE_END
}
// ANCHOR_END: route_to_control_plane

// ANCHOR: reconcile_delete
/// Deletion: show `Deleting` first, then remove the container, then let the object go.
async fn reconcile_delete(
    api: &Api<DockerCluster>,
    docker_cluster: &DockerCluster,
    cluster: &Cluster,
    mut patch: StatusPatch<DockerCluster>,
    ctx: &Context,
) -> Result<Action, Error> {
    // EXERCISE: 3.5 Show Deleting, remove the load balancer, then let the object go.
    if !finalizer::has(docker_cluster, FINALIZER) {
        return Ok(Action::await_change());
    }
    let deleting = "removing the load-balancer container";
    patch.set(ConditionUpdate::false_(
        LOAD_BALANCER_AVAILABLE,
        reasons::DELETING,
        deleting,
    ));
    patch.apply(api, docker_cluster, &ctx.recorder).await?;

    match ctx
        .docker
        .remove_load_balancer(&identity(docker_cluster, cluster))
        .await
    {
        Ok(()) => {}
        Err(EnsureError::NameConflict { name }) => {
            // Not ours: leave it, say so, and do not hold the deletion back for it.
            let note = format!("left container {name} alone: it belongs to another cluster");
            publish_event(
                &ctx.recorder,
                docker_cluster,
                EventType::Warning,
                "LoadBalancerNotOurs",
                note,
            )
            .await;
        }
        Err(error) => return Err(error.into()),
    }
    finalizer::remove(api, docker_cluster, FINALIZER).await?;
    Ok(Action::await_change())
    // EXERCISE_END
}
// ANCHOR_END: reconcile_delete

/// Deleting, and the owner Cluster is gone (a restore from backup can lose owner references):
/// remove whatever carries this object's UID, then the finalizer.
async fn release_orphan(
    api: &Api<DockerCluster>,
    docker_cluster: &DockerCluster,
    ctx: &Context,
) -> Result<(), Error> {
    if !finalizer::has(docker_cluster, FINALIZER) {
        return Ok(());
    }
    let uid = docker_cluster.uid().unwrap_or_default();
    ctx.docker.remove_containers_of(&uid).await?;
    finalizer::remove(api, docker_cluster, FINALIZER).await?;
    Ok(())
}

/// Events for what it took to get the load balancer running.
fn report_load_balancer(patch: &mut StatusPatch<DockerCluster>, lb: &LbStatus) {
    let name = &lb.container.name;
    let provisioned = patch
        .status
        .initialization
        .as_ref()
        .and_then(|i| i.provisioned);
    let (type_, reason, note) = match lb.action {
        DockerAction::Existing => return,
        DockerAction::Created if provisioned == Some(true) => (
            EventType::Warning,
            "LoadBalancerRecreated",
            format!("{name} was gone; created it again"),
        ),
        DockerAction::Created => (EventType::Normal, "LoadBalancerCreated", name.clone()),
        DockerAction::Restarted | DockerAction::Recreated => (
            EventType::Warning,
            "LoadBalancerHealed",
            format!("{name} was not running; started it again"),
        ),
    };
    patch.event(type_, reason, note);
}

/// The DockerCluster a Cluster's `infrastructureRef` names, if it names one of ours.
pub fn of_cluster(cluster: Arc<Cluster>) -> Option<ObjectRef<DockerCluster>> {
    let name = cluster.infrastructure_name("DockerCluster")?;
    Some(ObjectRef::new(name).within(&cluster.namespace()?))
}

/// What of a Cluster this controller acts on (so that core's status updates do not wake it).
pub fn what_it_reads(cluster: &Cluster) -> impl std::hash::Hash + use<> {
    let reference = cluster.spec.infrastructure_ref.clone();
    (cluster.is_paused(), reference, is_deleting(cluster))
}

/// Who the load-balancer container belongs to: this DockerCluster of this Cluster.
fn identity(docker_cluster: &DockerCluster, cluster: &Cluster) -> Identity {
    Identity {
        cluster_name: cluster.name_any(),
        namespace: cluster.namespace().unwrap_or_default(),
        cluster_uid: cluster.uid().unwrap_or_default(),
        owner_uid: docker_cluster.uid().unwrap_or_default(),
    }
}

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
