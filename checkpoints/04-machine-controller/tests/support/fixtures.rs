//! Builders for the objects of a reconcile test (a Cluster `demo` and its DockerCluster), the
//! load balancer as Docker holds it, and a Context on a recording fake Docker.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::checkpoint::api::{
    ApiEndpoint, DockerCluster, DockerClusterSpec, DockerClusterStatus, DockerMachine,
    Initialization,
};
use super::checkpoint::controllers::Context;
use super::checkpoint::controllers::docker_cluster::{self, FINALIZER};
use capdkc_capi::cluster::{ClusterSpec, ClusterStatus, ContractVersionedObjectReference};
use capdkc_capi::contract::{CLUSTER_NAME_LABEL, MANAGED_BY_ANNOTATION, PAUSED_ANNOTATION};
use capdkc_capi::{Cluster, Machine};
use capdkc_docker::bootstrap::RunOptions;
use capdkc_docker::fake::{Call, FakeRuntime};
use capdkc_docker::images::DEFAULT_HAPROXY_IMAGE;
use capdkc_docker::labels::{ROLE_LABEL, ROLE_LOAD_BALANCER};
use capdkc_docker::loadbalancer::{CONFIG_PATH, LbConfig, render};
use capdkc_docker::{ContainerInfo, Docker, Identity};
use capdkc_manager::tasks::BackgroundTasks;
use capdkc_manager::triggers::Triggers;
use futures::channel::mpsc::UnboundedReceiver;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference, Time};
use kube::api::ObjectMeta;
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, store, store::Writer};
use kube::runtime::watcher;

use super::scripted::{ApiScript, Running, Target};

pub const NAMESPACE: &str = "default";
/// The Cluster's name, which its DockerCluster shares (as clusterctl templates name them).
pub const NAME: &str = "demo";
pub const CLUSTER_UID: &str = "c0ffee00-0000-4000-8000-00000000c1a5";
pub const DOCKER_CLUSTER_UID: &str = "d0c4e500-0000-4000-8000-00000000dc01";
pub const NETWORK: &str = "capdkc-test";
/// The load-balancer container of cluster `demo`.
pub const LB: &str = "demo-lb";
/// The address the fake Docker gives the first container it creates.
pub const LB_IP: &str = "172.30.0.2";

/// The fixed "now" of every test: 2023-11-14T22:13:20Z.
pub fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).expect("a valid timestamp"))
}

// ---- Cluster --------------------------------------------------------------------------------

/// Cluster `demo`, not paused, whose infrastructure is DockerCluster `demo`.
pub fn cluster() -> Cluster {
    let mut cluster = Cluster::new(
        NAME,
        ClusterSpec {
            paused: None,
            infrastructure_ref: Some(ContractVersionedObjectReference {
                api_group: "infrastructure.cluster.x-k8s.io".into(),
                kind: "DockerCluster".into(),
                name: NAME.into(),
            }),
        },
    );
    cluster.metadata = ObjectMeta {
        name: Some(NAME.into()),
        namespace: Some(NAMESPACE.into()),
        uid: Some(CLUSTER_UID.into()),
        generation: Some(1),
        resource_version: Some("7".into()),
        ..ObjectMeta::default()
    };
    cluster
}

pub trait ClusterFixture: Sized {
    /// Paused through `spec.paused`.
    fn paused(self) -> Self;
    /// Paused through the `cluster.x-k8s.io/paused` annotation.
    fn paused_by_annotation(self) -> Self;
    fn labelled(self, key: &str, value: &str) -> Self;
    fn with_status(self, status: ClusterStatus) -> Self;
    /// `metadata.deletionTimestamp` set: someone deleted it.
    fn deleting(self) -> Self;
    /// Core has seen its DockerCluster provisioned (`status.initialization`).
    fn infrastructure_provisioned(self) -> Self;
    /// Core has seen its control plane initialized (`status.initialization`).
    fn control_plane_initialized(self) -> Self;
    /// Its infrastructure is an object of `kind` in `api_group` (not necessarily ours).
    fn with_infrastructure_of_kind(self, api_group: &str, kind: &str) -> Self;
}

impl ClusterFixture for Cluster {
    fn paused(mut self) -> Self {
        self.spec.paused = Some(true);
        self
    }

    fn paused_by_annotation(mut self) -> Self {
        annotate(&mut self.metadata, PAUSED_ANNOTATION, "");
        self
    }

    fn labelled(mut self, key: &str, value: &str) -> Self {
        let labels = self.metadata.labels.get_or_insert_default();
        labels.insert(key.into(), value.into());
        self
    }

    fn with_status(mut self, status: ClusterStatus) -> Self {
        self.status = Some(status);
        self
    }

    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(now());
        self
    }

    fn infrastructure_provisioned(mut self) -> Self {
        let status = self.status.get_or_insert_default();
        let initialization = status.initialization.get_or_insert_default();
        initialization.infrastructure_provisioned = Some(true);
        self
    }

    fn control_plane_initialized(mut self) -> Self {
        let status = self.status.get_or_insert_default();
        let initialization = status.initialization.get_or_insert_default();
        initialization.control_plane_initialized = Some(true);
        self
    }

    fn with_infrastructure_of_kind(mut self, api_group: &str, kind: &str) -> Self {
        self.spec.infrastructure_ref = Some(ContractVersionedObjectReference {
            api_group: api_group.into(),
            kind: kind.into(),
            name: NAME.into(),
        });
        self
    }
}

// ---- DockerCluster --------------------------------------------------------------------------

/// DockerCluster `demo` as Cluster API core leaves it for us: owned by Cluster `demo`, labelled
/// with its name, with an empty spec and no status or finalizer yet.
pub fn docker_cluster() -> DockerCluster {
    let mut docker_cluster = DockerCluster::new(NAME, DockerClusterSpec::default());
    docker_cluster.metadata = ObjectMeta {
        name: Some(NAME.into()),
        namespace: Some(NAMESPACE.into()),
        uid: Some(DOCKER_CLUSTER_UID.into()),
        generation: Some(1),
        resource_version: Some("3".into()),
        labels: Some(BTreeMap::from([(CLUSTER_NAME_LABEL.into(), NAME.into())])),
        owner_references: Some(vec![OwnerReference {
            api_version: "cluster.x-k8s.io/v1beta2".into(),
            kind: "Cluster".into(),
            name: NAME.into(),
            uid: CLUSTER_UID.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]),
        ..ObjectMeta::default()
    };
    docker_cluster
}

pub trait DockerClusterFixture: Sized {
    fn with_finalizer(self) -> Self;
    fn without_finalizer(self) -> Self;
    /// `metadata.deletionTimestamp` set: someone deleted it.
    fn deleting(self) -> Self;
    /// Core has not set the owner reference yet (or a restore lost it).
    fn without_owner(self) -> Self;
    /// Annotated `cluster.x-k8s.io/managed-by`: someone else provides the infrastructure.
    fn managed_by(self, manager: &str) -> Self;
    /// Paused through its own `cluster.x-k8s.io/paused` annotation.
    fn paused_by_annotation(self) -> Self;
    fn with_endpoint(self, host: &str, port: i32) -> Self;
    fn with_lb_image(self, image: &str) -> Self;
    fn with_status(self, status: DockerClusterStatus) -> Self;
    /// What the first reconcile leaves behind: the finalizer, the endpoint on the load
    /// balancer's address and the status it wrote ([`converged_status`]).
    fn converged(self) -> Self;
}

impl DockerClusterFixture for DockerCluster {
    fn with_finalizer(mut self) -> Self {
        self.metadata.finalizers = Some(vec![FINALIZER.into()]);
        self
    }

    fn without_finalizer(mut self) -> Self {
        self.metadata.finalizers = None;
        self
    }

    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(now());
        self
    }

    fn without_owner(mut self) -> Self {
        self.metadata.owner_references = None;
        self
    }

    fn managed_by(mut self, manager: &str) -> Self {
        annotate(&mut self.metadata, MANAGED_BY_ANNOTATION, manager);
        self
    }

    fn paused_by_annotation(mut self) -> Self {
        annotate(&mut self.metadata, PAUSED_ANNOTATION, "true");
        self
    }

    fn with_endpoint(mut self, host: &str, port: i32) -> Self {
        self.spec.control_plane_endpoint = Some(ApiEndpoint {
            host: Some(host.into()),
            port: Some(port),
        });
        self
    }

    fn with_lb_image(self, image: &str) -> Self {
        // Through JSON, so that the fixtures compile before step 3.1 adds the field.
        let mut object = serde_json::to_value(&self).expect("serialises");
        object["spec"]["loadBalancer"] = serde_json::json!({ "image": image });
        serde_json::from_value(object).expect("a DockerCluster")
    }

    fn with_status(mut self, status: DockerClusterStatus) -> Self {
        self.status = Some(status);
        self
    }

    fn converged(self) -> Self {
        self.with_finalizer()
            .with_endpoint(LB_IP, 6443)
            .with_status(converged_status())
    }
}

/// The status the first reconcile writes: not paused, load balancer available, ready,
/// provisioned; every condition of generation 1, since [`now`].
pub fn converged_status() -> DockerClusterStatus {
    let condition = |type_: &str, status: &str, reason: &str| Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: String::new(),
        observed_generation: Some(1),
        last_transition_time: now(),
    };
    DockerClusterStatus {
        initialization: Some(Initialization {
            provisioned: Some(true),
        }),
        conditions: vec![
            condition("Paused", "False", "NotPaused"),
            condition("LoadBalancerAvailable", "True", "Available"),
            condition("Ready", "True", "Ready"),
        ],
        failure_domains: Vec::new(),
    }
}

fn annotate(metadata: &mut ObjectMeta, key: &str, value: &str) {
    let annotations = metadata.annotations.get_or_insert_default();
    annotations.insert(key.into(), value.into());
}

// ---- Docker ---------------------------------------------------------------------------------

/// Who the load balancer of DockerCluster `demo` belongs to.
pub fn identity() -> Identity {
    Identity {
        cluster_name: NAME.into(),
        namespace: NAMESPACE.into(),
        cluster_uid: CLUSTER_UID.into(),
        owner_uid: DOCKER_CLUSTER_UID.into(),
    }
}

/// The labels our load balancer carries: its identity and its role.
pub fn lb_labels(identity: &Identity) -> BTreeMap<String, String> {
    let mut labels = identity.labels();
    labels.insert(ROLE_LABEL.into(), ROLE_LOAD_BALANCER.into());
    labels
}

/// A running container named `demo-lb` with `labels`, on the test network at [`LB_IP`].
pub fn lb_container(labels: BTreeMap<String, String>) -> ContainerInfo {
    ContainerInfo {
        id: "0123456789ab".into(),
        name: LB.into(),
        image: DEFAULT_HAPROXY_IMAGE.into(),
        labels,
        running: true,
        state: "running".into(),
        networks: BTreeMap::from([(NETWORK.into(), LB_IP.into())]),
        published_ports: BTreeMap::from([("6443/tcp".into(), 40001)]),
    }
}

/// Puts the load balancer of a converged cluster in the fake: running, ours, and configured
/// for 6443 with no control-plane node yet.
pub fn running_lb(docker: &FakeRuntime) {
    docker.add_container(lb_container(lb_labels(&identity())));
    docker.put_file(LB, CONFIG_PATH, render(&LbConfig::new(Vec::new())));
}

/// The Docker calls so far, one short line each (file bodies and create specs left out).
pub fn docker_steps(docker: &FakeRuntime) -> Vec<String> {
    docker.calls().iter().map(describe).collect()
}

/// The calls that changed Docker state.
pub fn mutating_calls(docker: &FakeRuntime) -> Vec<Call> {
    docker
        .calls()
        .into_iter()
        .filter(Call::is_mutating)
        .collect()
}

fn describe(call: &Call) -> String {
    match call {
        Call::Create(spec) => format!("create {}", spec.name),
        Call::Start(name) => format!("start {name}"),
        Call::Inspect(name) => format!("inspect {name}"),
        Call::List(_) => "list".to_owned(),
        Call::Exec {
            container, argv, ..
        } => format!("exec {container} {}", argv.join(" ")),
        Call::CopyIn { container, file } => format!("copy-in {container} {}", file.path),
        Call::ReadFile { container, path } => format!("read-file {container} {path}"),
        Call::Signal { container, signal } => format!("signal {container} {signal}"),
        Call::Remove(name) => format!("remove {name}"),
        Call::EnsureNetwork(name) => format!("ensure-network {name}"),
        Call::RemoveNetwork(name) => format!("remove-network {name}"),
    }
}

// ---- Context --------------------------------------------------------------------------------

/// The manager's caches, as a test fills them.
pub struct Caches {
    pub clusters: Writer<Cluster>,
    pub machines: Writer<Machine>,
    pub docker_clusters: Writer<DockerCluster>,
    pub docker_machines: Writer<DockerMachine>,
}

impl Caches {
    pub fn put_cluster(&mut self, cluster: Cluster) {
        self.clusters
            .apply_watcher_event(&watcher::Event::Apply(cluster));
    }

    pub fn remove_cluster(&mut self, cluster: Cluster) {
        self.clusters
            .apply_watcher_event(&watcher::Event::Delete(cluster));
    }

    pub fn put_machine(&mut self, machine: Machine) {
        self.machines
            .apply_watcher_event(&watcher::Event::Apply(machine));
    }

    pub fn put_docker_cluster(&mut self, docker_cluster: DockerCluster) {
        let event = watcher::Event::Apply(docker_cluster);
        self.docker_clusters.apply_watcher_event(&event);
    }

    pub fn put_docker_machine(&mut self, docker_machine: DockerMachine) {
        let event = watcher::Event::Apply(docker_machine);
        self.docker_machines.apply_watcher_event(&event);
    }
}

/// A reconciler's context, the caches behind it, and the receiving ends of the reconcile
/// requests it makes.
pub struct Wiring {
    pub ctx: Arc<Context>,
    pub caches: Caches,
    /// Reconcile requests from bootstrap tasks that ended.
    pub bootstrap_ended: UnboundedReceiver<ObjectRef<DockerMachine>>,
    /// Reconcile requests for the DockerCluster controller (load-balancer membership).
    pub load_balancer_updates: UnboundedReceiver<ObjectRef<DockerCluster>>,
}

/// What the reconcilers receive besides the object: the scripted API, the fake Docker on
/// network `capdkc-test` (bootstrap file writes tried once, no proxy variables), empty caches,
/// a fixed clock.
pub fn wiring(client: kube::Client, docker: &FakeRuntime) -> Wiring {
    let reporter = Reporter {
        controller: "capdkc-manager".into(),
        instance: None,
    };
    let (clusters, cluster_writer) = store();
    let (machines, machine_writer) = store();
    let (docker_clusters, docker_cluster_writer) = store();
    let (docker_machines, docker_machine_writer) = store();
    let (bootstraps, bootstrap_ended) = BackgroundTasks::new();
    let (load_balancer_updates, update_requests) = Triggers::channel();
    let mut docker = Docker::new(docker.clone(), NETWORK);
    docker.bootstrap_retries = RunOptions {
        file_attempts: 1,
        retry_delay: Duration::ZERO,
    };
    docker.nodes.proxy_env = Vec::new();
    let ctx = Arc::new(Context {
        recorder: Recorder::new(client.clone(), reporter),
        client,
        docker,
        clusters,
        machines,
        docker_clusters,
        docker_machines,
        clock: Arc::new(now),
        bootstraps,
        load_balancer_updates,
        workload_clusters: Default::default(),
    });
    let caches = Caches {
        clusters: cluster_writer,
        machines: machine_writer,
        docker_clusters: docker_cluster_writer,
        docker_machines: docker_machine_writer,
    };
    Wiring {
        ctx,
        caches,
        bootstrap_ended,
        load_balancer_updates: update_requests,
    }
}

/// One DockerCluster reconcile test: the script of the API server, the fake Docker, the
/// manager's caches (holding [`cluster`] unless a test changes them), and the context joining
/// them. Everything written must target DockerCluster `demo`.
pub struct Harness {
    pub api: ApiScript,
    pub docker: FakeRuntime,
    pub ctx: Arc<Context>,
    pub caches: Caches,
}

impl Harness {
    pub fn new() -> Self {
        let (client, api) = ApiScript::new(Target::of(&docker_cluster()));
        let docker = FakeRuntime::new();
        let Wiring {
            ctx, mut caches, ..
        } = wiring(client, &docker);
        caches.put_cluster(cluster());
        Self {
            api,
            docker,
            ctx,
            caches,
        }
    }

    /// The manager's cache now holds `cluster` (in place of the one of the same name).
    pub fn set_cluster(&mut self, cluster: Cluster) {
        self.caches.put_cluster(cluster);
    }

    /// The Cluster is gone from the cache (deleted, or not seen yet).
    pub fn remove_cluster(&mut self) {
        self.caches.remove_cluster(cluster());
    }

    /// Starts reconciling `object`; the test then answers its requests through `api`.
    pub fn reconcile(
        &self,
        object: &DockerCluster,
    ) -> Running<Result<Action, docker_cluster::Error>> {
        self.api.spawn(docker_cluster::reconcile(
            Arc::new(object.clone()),
            self.ctx.clone(),
        ))
    }
}
