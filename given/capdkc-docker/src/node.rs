//! Node containers, created the way upstream's Docker provider creates them for kind node
//! images.

use std::collections::BTreeMap;

use crate::ensure::{Action, EnsureError, StoppedPolicy, ensure_container};
use crate::host::HostAdaptations;
use crate::images::{ImageError, node_image};
use crate::labels::{
    FAILURE_DOMAIN_LABEL, Identity, ROLE_CONTROL_PLANE, ROLE_LABEL, ROLE_WORKER,
    container_hostname, node_container_name,
};
use crate::mounts::MountRefused;
use crate::runtime::{
    ContainerInfo, ContainerRuntime, ContainerSpec, PortPublish, SecurityProfile,
};

/// The Docker network kind and CAPD use.
pub const DEFAULT_NETWORK: &str = "kind";
/// The API server port inside every control-plane node.
pub const API_SERVER_PORT: &str = "6443/tcp";

// ANCHOR: settings
/// Manager-wide settings for node containers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSettings {
    /// Network to attach nodes to (`kind`; tests use one network per test).
    pub network: String,
    /// Privileged (default) or the capability profile.
    pub security: SecurityProfile,
    /// Bind-mount the Docker host's `/lib/modules` read-only (kube-proxy and CNI load
    /// modules). Off only where the host has no such directory.
    pub mount_lib_modules: bool,
    /// Proxy variables (`HTTP_PROXY=...`) passed to every node.
    pub proxy_env: Vec<String>,
    /// Extra labels on every node (tests add their run label). Identity labels win.
    pub extra_labels: BTreeMap<String, String>,
    /// What the Docker host needs of nodes (`/dev/mapper`, `/dev/fuse`, `--userns=host`).
    pub host: HostAdaptations,
    /// Host directories whose contents DockerMachines may mount (`--allowed-host-mounts`);
    /// empty: no extraMount at all.
    pub allowed_host_mounts: Vec<String>,
}

impl Default for NodeSettings {
    fn default() -> Self {
        Self {
            network: DEFAULT_NETWORK.to_owned(),
            security: SecurityProfile::Privileged,
            mount_lib_modules: true,
            proxy_env: Vec::new(),
            extra_labels: BTreeMap::new(),
            host: HostAdaptations::default(),
            allowed_host_mounts: Vec::new(),
        }
    }
}

impl NodeSettings {
    /// Defaults plus the manager's own proxy variables, so nodes pull through the same proxy.
    pub fn from_manager_env() -> Self {
        let proxy_env = [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "NO_PROXY",
            "http_proxy",
            "https_proxy",
            "no_proxy",
        ]
        .iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
        .collect();
        Self {
            proxy_env,
            ..Self::default()
        }
    }
}
// ANCHOR_END: settings

/// Control plane or worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Runs the API server: publishes 6443 and gets `KUBECONFIG`.
    ControlPlane,
    /// Runs workloads only.
    Worker,
}

/// One Machine's node container request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRequest {
    /// Machine name.
    pub machine: String,
    /// Owner identity (the DockerMachine's UID as owner).
    pub identity: Identity,
    /// Role.
    pub role: Role,
    /// The Machine's failure domain, if any.
    pub failure_domain: Option<String>,
    /// `DockerMachine.spec.customImage`.
    pub custom_image: Option<String>,
    /// `Machine.spec.version`.
    pub version: Option<String>,
    /// `DockerMachine.spec.extraMounts`, already validated (never a runtime socket).
    pub extra_mounts: Vec<HostMount>,
}

/// A host path bind-mounted into a node container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostMount {
    /// Path on the Docker host.
    pub host_path: String,
    /// Path inside the container.
    pub container_path: String,
    /// Mount read-only.
    pub read_only: bool,
}

impl HostMount {
    /// Docker's bind syntax, `host:container[:ro]`.
    pub fn bind(&self) -> String {
        let mode = if self.read_only { ":ro" } else { "" };
        format!("{}:{}{mode}", self.host_path, self.container_path)
    }
}

impl NodeRequest {
    /// The container name for this Machine.
    pub fn container_name(&self) -> String {
        node_container_name(&self.identity.cluster_name, &self.machine)
    }
}

// ANCHOR: node_spec
/// The create request for a node container. Pure, so every setting is unit-tested.
pub fn node_spec(settings: &NodeSettings, req: &NodeRequest) -> Result<ContainerSpec, ImageError> {
    let image = node_image(req.custom_image.as_deref(), req.version.as_deref())?;
    if !image.pinned {
        tracing::warn!(image = %image.image, "node image is not pinned by digest");
    }
    let name = req.container_name();
    let mut labels = settings.extra_labels.clone();
    labels.extend(req.identity.labels());
    let role = match req.role {
        Role::ControlPlane => ROLE_CONTROL_PLANE,
        Role::Worker => ROLE_WORKER,
    };
    labels.insert(ROLE_LABEL.to_owned(), role.to_owned());
    if let Some(fd) = req.failure_domain.as_ref().filter(|fd| !fd.is_empty()) {
        labels.insert(FAILURE_DOMAIN_LABEL.to_owned(), fd.clone());
    }
    let mut env = settings.proxy_env.clone();
    let mut ports = Vec::new();
    if req.role == Role::ControlPlane {
        env.push("KUBECONFIG=/etc/kubernetes/admin.conf".to_owned());
        ports.push(PortPublish {
            container_port: API_SERVER_PORT.to_owned(),
            host_ip: "127.0.0.1".to_owned(),
            host_port: None,
        });
    }
    let mut binds = if settings.mount_lib_modules {
        vec!["/lib/modules:/lib/modules:ro".to_owned()]
    } else {
        Vec::new()
    };
    binds.extend(settings.host.binds.iter().cloned());
    binds.extend(req.extra_mounts.iter().map(HostMount::bind));
    Ok(ContainerSpec {
        // The kubelet names its Node after the host name: at most one DNS label.
        hostname: Some(container_hostname(&name)),
        name,
        image: image.image,
        labels,
        env,
        cmd: Vec::new(),
        security: Some(settings.security),
        // systemd and containerd inside the node need syscalls and mounts the default
        // seccomp and AppArmor profiles forbid.
        security_opt: vec![
            "seccomp=unconfined".to_owned(),
            "apparmor=unconfined".to_owned(),
        ],
        // kind >= 0.20 images expect their own cgroup namespace (cgroup v2 hosts).
        cgroupns_private: true,
        // systemd wants fresh /tmp and /run on every boot.
        tmpfs: BTreeMap::from([
            ("/tmp".to_owned(), String::new()),
            ("/run".to_owned(), String::new()),
        ]),
        // containerd's overlay snapshots cannot live on the container's own overlay root.
        volumes: vec!["/var".to_owned()],
        binds,
        ports,
        // Nodes come back after a daemon or host restart, like a rebooted VM, and the kubelet
        // and pods with them. kind's `on-failure:1` restarts a node once after a crash and then
        // leaves it stopped; we never recreate a provisioned node (a MachineHealthCheck replaces
        // its Machine), so a node that stays down is a node lost. `docker stop` by a person
        // still sticks: unless-stopped does not undo it.
        restart_policy: Some("unless-stopped".to_owned()),
        network: Some(settings.network.clone()),
        // systemd writes its boot and shutdown messages to a terminal: with one, `docker logs`
        // shows why a node did not come up.
        tty: true,
        // systemd shuts down cleanly on SIGRTMIN+3 (SIGTERM would make it re-execute itself);
        // node images set it too, this covers custom images that do not.
        stop_signal: Some("SIGRTMIN+3".to_owned()),
        devices: settings.host.devices.clone(),
        userns_host: settings.host.userns_host,
    })
}
// ANCHOR_END: node_spec

/// Why a node could not be ensured.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// No image could be chosen.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// An extraMount the manager does not allow.
    #[error(transparent)]
    Mount(#[from] MountRefused),
    /// Conflict or Docker failure.
    #[error(transparent)]
    Ensure(#[from] EnsureError),
}

// ANCHOR: ensure_node
/// Create and start the node container, or return the running one. A stopped leftover of
/// ours is replaced (it never finished provisioning); a foreign one is a name conflict.
pub async fn ensure_node<R: ContainerRuntime>(
    rt: &R,
    settings: &NodeSettings,
    req: &NodeRequest,
) -> Result<(Action, ContainerInfo), NodeError> {
    let mut req = req.clone();
    req.extra_mounts =
        crate::mounts::resolve_allowed(&req.extra_mounts, &settings.allowed_host_mounts)?;
    let spec = node_spec(settings, &req)?;
    Ok(ensure_container(rt, &spec, &req.identity, StoppedPolicy::Recreate).await?)
}
// ANCHOR_END: ensure_node

/// Remove a node container if it is ours; a foreign one is reported and left alone.
pub async fn delete_node<R: ContainerRuntime>(
    rt: &R,
    name: &str,
    identity: &Identity,
) -> Result<(), EnsureError> {
    crate::ensure::remove_if_ours(rt, name, identity).await
}
