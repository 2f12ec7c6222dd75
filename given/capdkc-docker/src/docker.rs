//! [`Docker`]: the engine and how the provider places its containers on it, which is all a
//! reconciler needs from this crate: load balancers, node containers and their bootstrap,
//! behind a few calls that name what they do.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::Stream;

use crate::bollard_runtime::BollardRuntime;
use crate::bootstrap::{BootstrapError, BootstrapJob, RunOptions, run_job};
use crate::engine::Engine;
use crate::ensure::{Action, EnsureError, remove_if_ours};
use crate::events::EngineEvent;
use crate::host::{DockerHost, adaptations, proxy_env_with_subnets};
use crate::labels::{
    CLUSTER_LABEL, CLUSTER_UID_LABEL, Identity, NAMESPACE_LABEL, OWNER_UID_LABEL,
    ROLE_CONTROL_PLANE, ROLE_LABEL, lb_container_name,
};
use crate::loadbalancer::{
    ApplyError, ApplyOutcome, Backend, CONFIG_PATH, HealthCheck, LbConfig, LbSettings, LbStatus,
    apply_config, drained, ensure_lb, render,
};
use crate::node::{NodeError, NodeRequest, NodeSettings, ensure_node};
use crate::options::DockerOptions;
use crate::runtime::{
    ContainerInfo, ContainerRuntime, RuntimeError, RuntimeResult, SecurityProfile,
};
use crate::secret::BootstrapData;

/// The Docker engine, and the settings every container the provider creates gets.
#[derive(Clone, Debug)]
pub struct Docker {
    /// The engine itself, for calls not covered below.
    pub engine: Engine,
    /// Node containers: network, privilege, mounts, proxy variables, extra labels (the network
    /// and the extra labels apply to load balancers too).
    pub nodes: NodeSettings,
    /// How HAProxy checks control-plane nodes (the API server's `/healthz` over TLS).
    pub lb_health_check: HealthCheck,
    /// Retries of bootstrap file writes.
    pub bootstrap_retries: RunOptions,
    /// What the Docker host is like (cgroup version, storage driver, ...).
    pub host: DockerHost,
}

impl Docker {
    /// Connects to the engine `DOCKER_HOST` names (or the local socket) and makes sure the
    /// network exists: a manager without Docker stops at start, not in every reconcile.
    /// Node containers get the privilege the options name and adapt to the host as `docker
    /// info` describes it.
    pub async fn connect(options: &DockerOptions) -> Result<Self, RuntimeError> {
        let runtime = BollardRuntime::connect().await?;
        let network = &options.docker_network;
        runtime
            .ensure_network(network, &BTreeMap::new())
            .await
            .map_err(|error| RuntimeError::Other(format!("Docker network {network}: {error}")))?;
        let host = runtime.host().await?;
        let subnets = runtime.network_subnets(network).await?;
        let mut docker = Self::new(runtime, network).on_host(host);
        docker.nodes.security = options.node_privilege.into();
        docker.nodes.allowed_host_mounts = options.allowed_host_mounts.clone();
        docker.nodes.proxy_env = proxy_env_with_subnets(&docker.nodes.proxy_env, &subnets);
        Ok(docker)
    }

    /// The same settings, adapted to `host` (see [`crate::host::adaptations`]).
    pub fn on_host(mut self, host: DockerHost) -> Self {
        self.nodes.host = adaptations(&host);
        self.host = host;
        self
    }

    /// `runtime` with the settings a real cluster needs (privileged nodes, `/lib/modules`,
    /// the manager's proxy variables), on `network`.
    pub fn new(runtime: impl ContainerRuntime + 'static, network: &str) -> Self {
        Self {
            engine: Engine::new(runtime),
            nodes: NodeSettings {
                network: network.to_owned(),
                ..NodeSettings::from_manager_env()
            },
            lb_health_check: HealthCheck::ApiServerHealthz,
            bootstrap_retries: RunOptions::default(),
            host: DockerHost::default(),
        }
    }

    /// The same settings over another engine: `wrap` gets this one (to count its calls, say).
    pub fn wrap_engine(self, wrap: impl FnOnce(Engine) -> Engine) -> Self {
        Self {
            engine: wrap(self.engine),
            ..self
        }
    }

    /// The network load balancers and nodes join.
    pub fn network(&self) -> &str {
        &self.nodes.network
    }

    /// Node containers get the capability set instead of `--privileged` (hosts where
    /// privileged containers cannot start).
    pub fn without_privileged_nodes(mut self) -> Self {
        self.nodes.security = SecurityProfile::Capabilities;
        self
    }

    // ---- Load balancer ------------------------------------------------------------------

    // ANCHOR: load_balancer
    /// Runs the cluster's load-balancer container: created if missing, started if stopped;
    /// a same-named container of another cluster is a [`EnsureError::NameConflict`].
    pub async fn ensure_load_balancer(
        &self,
        identity: &Identity,
        image: Option<String>,
        port: u16,
    ) -> Result<LbStatus, EnsureError> {
        let settings = LbSettings {
            network: self.nodes.network.clone(),
            image,
            port,
            extra_labels: self.nodes.extra_labels.clone(),
        };
        ensure_lb(&self.engine, &settings, identity).await
    }

    /// Points the load balancer at the cluster's running control-plane nodes (found by their
    /// labels), giving the `draining` ones weight 0, and reloads HAProxy if that changed its
    /// configuration.
    pub async fn configure_load_balancer(
        &self,
        identity: &Identity,
        port: u16,
        draining: &[String],
    ) -> Result<ApplyOutcome, ApplyError> {
        let mut backends = self.control_plane_backends(identity).await?;
        for backend in &mut backends {
            backend.draining = draining.contains(&backend.name);
        }
        let config = render(&LbConfig {
            frontend_port: port,
            health_check: self.lb_health_check,
            ..LbConfig::new(backends)
        });
        let lb = lb_container_name(&identity.cluster_name);
        apply_config(&self.engine, &lb, &config).await
    }

    /// Removes the cluster's load-balancer container if it is ours (gone already is fine).
    pub async fn remove_load_balancer(&self, identity: &Identity) -> Result<(), EnsureError> {
        let lb = lb_container_name(&identity.cluster_name);
        remove_if_ours(&self.engine, &lb, identity).await
    }
    // ANCHOR_END: load_balancer

    /// True once the load balancer of `cluster` no longer sends requests to `node` (or there is
    /// no load balancer).
    pub async fn is_drained(&self, cluster: &str, node: &str) -> RuntimeResult<bool> {
        match self
            .engine
            .read_file(&lb_container_name(cluster), CONFIG_PATH)
            .await
        {
            Ok(config) => Ok(drained(&String::from_utf8_lossy(&config), node)),
            Err(RuntimeError::NotFound(_)) => Ok(true),
            Err(error) => Err(error),
        }
    }

    /// The running control-plane node containers of this cluster, found by their labels.
    async fn control_plane_backends(&self, identity: &Identity) -> RuntimeResult<Vec<Backend>> {
        let labels = [
            (CLUSTER_LABEL, identity.cluster_name.as_str()),
            (NAMESPACE_LABEL, identity.namespace.as_str()),
            (CLUSTER_UID_LABEL, identity.cluster_uid.as_str()),
            (ROLE_LABEL, ROLE_CONTROL_PLANE),
        ]
        .map(|(key, value)| (key.to_owned(), value.to_owned()));
        let nodes = self.engine.list_by_labels(&labels.into()).await?;
        let network = &self.nodes.network;
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

    // ---- Events ---------------------------------------------------------------------------

    /// Our containers (those with an owner label) that stop running or are removed, for as long
    /// as the stream is polled; it subscribes again after a daemon restart and then says so.
    pub fn container_events(&self) -> impl Stream<Item = EngineEvent> + Send + 'static {
        crate::events::container_events(self.engine.clone())
    }

    // ---- Nodes ----------------------------------------------------------------------------

    /// Creates and starts the node container, or returns the running one. A stopped leftover of
    /// ours is replaced (it never finished provisioning); a foreign one is a name conflict.
    pub async fn ensure_node(
        &self,
        request: &NodeRequest,
    ) -> Result<(Action, ContainerInfo), NodeError> {
        ensure_node(&self.engine, &self.nodes, request).await
    }

    /// Removes a node container if it is ours (gone already is fine).
    pub async fn remove_node(&self, name: &str, identity: &Identity) -> Result<(), EnsureError> {
        remove_if_ours(&self.engine, name, identity).await
    }

    /// Removes every container labelled as owned by `owner_uid`: what an object being deleted
    /// without its owners (after a restore from backup, say) leaves behind.
    pub async fn remove_containers_of(&self, owner_uid: &str) -> RuntimeResult<()> {
        let ours = BTreeMap::from([(OWNER_UID_LABEL.to_owned(), owner_uid.to_owned())]);
        for container in self.engine.list_by_labels(&ours).await? {
            match self.engine.remove(&container.name).await {
                Ok(()) | Err(RuntimeError::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Runs a Machine's bootstrap data in its node container, once, within `timeout`. Meant
    /// for a background task: it takes as long as kubeadm does.
    pub async fn bootstrap(
        &self,
        container: &str,
        data: BootstrapData,
        format: &str,
        timeout: Duration,
    ) -> Result<(), BootstrapError> {
        self.bootstrap_reporting(container, data, format, timeout, |_| {})
            .await
    }

    /// [`Docker::bootstrap`], telling `report` what it waits for while the node boots (in
    /// words for a person; never bootstrap data).
    pub async fn bootstrap_reporting(
        &self,
        container: &str,
        data: BootstrapData,
        format: &str,
        timeout: Duration,
        report: impl Fn(&str) + Send + Sync,
    ) -> Result<(), BootstrapError> {
        let job = BootstrapJob {
            container: container.to_owned(),
            format: format.to_owned(),
            timeout,
            cgroup_v1_host: self.host.cgroup_v1,
        };
        run_job(&self.engine, &job, data, &self.bootstrap_retries, &report).await
    }
}
