//! Running the load-balancer container and applying configuration to it.

use std::collections::BTreeMap;

use crate::ensure::{Action, EnsureError, StoppedPolicy, ensure_container};
use crate::images::haproxy_image;
use crate::labels::{
    Identity, ROLE_LABEL, ROLE_LOAD_BALANCER, container_hostname, lb_container_name,
};
use crate::runtime::{
    ContainerInfo, ContainerRuntime, ContainerSpec, FileUpload, PortPublish, RuntimeError,
};
use crate::secret::Sensitive;

use super::haproxy::CONFIG_PATH;

/// Settings for the load-balancer container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbSettings {
    /// Network shared with the nodes.
    pub network: String,
    /// `DockerCluster.spec.loadBalancer.image`, else the pinned default.
    pub image: Option<String>,
    /// Endpoint port, published on a random loopback port.
    pub port: u16,
    /// Extra labels (tests add their run label). Identity labels win.
    pub extra_labels: BTreeMap<String, String>,
}

impl Default for LbSettings {
    fn default() -> Self {
        Self {
            network: crate::node::DEFAULT_NETWORK.to_owned(),
            image: None,
            port: 6443,
            extra_labels: BTreeMap::new(),
        }
    }
}

// ANCHOR: lb_spec
/// The create request for the load balancer: unprivileged, only the endpoint port published
/// (on loopback; the stats port stays private).
pub fn lb_spec(settings: &LbSettings, identity: &Identity) -> ContainerSpec {
    let name = lb_container_name(&identity.cluster_name);
    let mut labels = settings.extra_labels.clone();
    labels.extend(identity.labels());
    labels.insert(ROLE_LABEL.to_owned(), ROLE_LOAD_BALANCER.to_owned());
    ContainerSpec {
        // A 62-character Cluster name makes a 65-character container name: too long a host name.
        hostname: Some(container_hostname(&name)),
        name,
        image: haproxy_image(settings.image.as_deref()),
        labels,
        ports: vec![PortPublish {
            container_port: format!("{}/tcp", settings.port),
            host_ip: "127.0.0.1".to_owned(),
            host_port: None,
        }],
        restart_policy: Some("unless-stopped".to_owned()),
        network: Some(settings.network.clone()),
        ..ContainerSpec::default()
    }
}
// ANCHOR_END: lb_spec

/// The running load balancer as a reconciler needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbStatus {
    /// What ensuring it took (`Restarted`/`Created` after a gap = healed).
    pub action: Action,
    /// The container.
    pub container: ContainerInfo,
    /// Its IP on the cluster network (the endpoint host), once running.
    pub ip: Option<String>,
    /// The loopback host port published for the endpoint.
    pub host_port: Option<u16>,
}

// ANCHOR: ensure_lb
/// Ensure the load balancer runs: create it if missing, start it if stopped (upstream leaves
/// a stopped one failing forever), refuse a same-named container of another identity.
pub async fn ensure_lb<R: ContainerRuntime>(
    rt: &R,
    settings: &LbSettings,
    identity: &Identity,
) -> Result<LbStatus, EnsureError> {
    let spec = lb_spec(settings, identity);
    let (action, container) = ensure_container(rt, &spec, identity, StoppedPolicy::Start).await?;
    Ok(LbStatus {
        action,
        ip: container.ip_on(&settings.network).map(str::to_owned),
        host_port: container
            .published_ports
            .get(&format!("{}/tcp", settings.port))
            .copied(),
        container,
    })
}
// ANCHOR_END: ensure_lb

/// Result of [`apply_config`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// The file already had this content: no write, no signal.
    Unchanged,
    /// Written, verified, and HAProxy signalled to reload.
    Reloaded,
}

/// Why a config could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The file read back differs from what we wrote: no reload was sent; retry.
    #[error(
        "haproxy config read back from {container} differs from the rendered one; not reloading"
    )]
    ReadBackMismatch {
        /// LB container name.
        container: String,
    },
    /// Docker failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

// ANCHOR: apply
/// Apply a rendered config: read the current file; equal means done; else write it, read it
/// back, and only if it matches send `SIGHUP` (reloading a half-written file was an upstream
/// race).
pub async fn apply_config<R: ContainerRuntime>(
    rt: &R,
    container: &str,
    rendered: &str,
) -> Result<ApplyOutcome, ApplyError> {
    match rt.read_file(container, CONFIG_PATH).await {
        Ok(current) if current == rendered.as_bytes() => return Ok(ApplyOutcome::Unchanged),
        Ok(_) | Err(RuntimeError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let upload = FileUpload {
        path: CONFIG_PATH.to_owned(),
        mode: 0o644,
        uid: 0,
        gid: 0,
        contents: Sensitive::new(rendered.as_bytes()),
    };
    rt.copy_file_in(container, &upload).await?;
    let written = rt.read_file(container, CONFIG_PATH).await?;
    if written != rendered.as_bytes() {
        return Err(ApplyError::ReadBackMismatch {
            container: container.to_owned(),
        });
    }
    rt.signal(container, "SIGHUP").await?;
    Ok(ApplyOutcome::Reloaded)
}
// ANCHOR_END: apply
