//! Builders for the DockerMachine reconcile tests: core's Machines of cluster `demo`, their
//! DockerMachines, the bootstrap Secret, node containers as Docker holds them, and a harness
//! whose Context reports what the reconciler asks of the rest of the manager (bootstrap tasks
//! that finished, load balancers to re-render).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::checkpoint::api::{
    DockerCluster, DockerMachine, DockerMachineSpec, DockerMachineStatus, Initialization,
};
use super::checkpoint::controllers::Context;
use super::checkpoint::controllers::docker_machine::{self, FINALIZER, addresses};
use capdkc_capi::cluster::ContractVersionedObjectReference;
use capdkc_capi::contract::{CLUSTER_NAME_LABEL, CONTROL_PLANE_LABEL, PAUSED_ANNOTATION};
use capdkc_capi::machine::{Bootstrap, MachineNodeReference, MachineSpec, MachineStatus};
use capdkc_capi::{Cluster, Machine};
use capdkc_docker::fake::FakeRuntime;
use capdkc_docker::node::{NodeRequest, NodeSettings, Role, node_spec};
use capdkc_docker::{ContainerInfo, Identity};
use futures::StreamExt;
use futures::channel::mpsc::UnboundedReceiver;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, OwnerReference};
use kube::api::ObjectMeta;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;

use super::fixtures::{CLUSTER_UID, Caches, NAME, NAMESPACE, NETWORK, Wiring, now, wiring};
use super::fixtures::{DockerClusterFixture, docker_cluster};
use super::scripted::{ApiScript, Running, Target};

/// A control-plane Machine of cluster `demo` (its name starts with the cluster's, so the
/// container has the same name).
pub const CONTROL_PLANE: &str = "demo-cp-1";
/// A second control-plane Machine, for load-balancer membership.
pub const OTHER_CONTROL_PLANE: &str = "demo-cp-2";
/// A worker Machine of cluster `demo`.
pub const WORKER: &str = "demo-md-0-1";
/// The Kubernetes version every Machine asks for (the node image is pinned for it).
pub const VERSION: &str = "v1.36.1";
/// The address the fake Docker gives the first container it creates.
pub const CREATED_IP: &str = "172.30.0.2";
/// The address of node containers a test puts in place itself.
pub const NODE_IP: &str = "172.30.0.10";
/// Where Cluster API keeps the workload cluster's admin kubeconfig.
pub const KUBECONFIG_SECRET_PATH: &str = "/api/v1/namespaces/default/secrets/demo-kubeconfig";

/// A kubeadm bootstrap token planted in the bootstrap data; it must never leak.
pub const JOIN_TOKEN: &str = "abcdef.0123456789abcdef";
/// A line of the private key planted in the bootstrap data; it must never leak either.
pub const KEY_MATERIAL: &str = "MIIEpAIBAAKCAQEAzPlantedPrivateKeyMaterialThatMustNeverLeak0123";

/// Bootstrap data shaped like kubeadm's: a private key, a kubeadm configuration holding the
/// token, and a run command that writes the success sentinel when kubeadm succeeds.
pub const CLOUD_CONFIG: &str = "\
## template: jinja
#cloud-config
write_files:
- path: /etc/kubernetes/pki/ca.key
  owner: root:root
  permissions: '0600'
  content: |
    -----BEGIN RSA PRIVATE KEY-----
    MIIEpAIBAAKCAQEAzPlantedPrivateKeyMaterialThatMustNeverLeak0123
    -----END RSA PRIVATE KEY-----
- path: /run/kubeadm/kubeadm.yaml
  owner: root:root
  permissions: '0640'
  content: |
    apiVersion: kubeadm.k8s.io/v1beta4
    kind: InitConfiguration
    bootstrapTokens:
    - token: abcdef.0123456789abcdef
- path: /etc/motd
  content: a Cluster API node
runcmd:
- kubeadm init --config /run/kubeadm/kubeadm.yaml && echo success > /run/cluster-api/bootstrap-success.complete
";

pub fn machine_path(name: &str) -> String {
    format!("/apis/cluster.x-k8s.io/v1beta2/namespaces/default/machines/{name}")
}

pub fn secret_path(name: &str) -> String {
    format!("/api/v1/namespaces/default/secrets/{name}")
}

/// The bootstrap Secret core names in `spec.bootstrap.dataSecretName` of Machine `machine`.
pub fn bootstrap_secret_name(machine: &str) -> String {
    format!("{machine}-bootstrap")
}

pub fn docker_machine_uid(name: &str) -> String {
    format!("uid-dockermachine-{name}")
}

// ---- Machine ----------------------------------------------------------------------------------

/// Control-plane Machine `demo-cp-1` with bootstrap data, pointing at DockerMachine `demo-cp-1`.
pub fn control_plane_machine() -> Machine {
    machine(CONTROL_PLANE).control_plane()
}

/// Worker Machine `demo-md-0-1` with bootstrap data, pointing at DockerMachine `demo-md-0-1`.
pub fn worker_machine() -> Machine {
    machine(WORKER)
}

/// A Machine of cluster `demo` named `name`, as core creates it once the bootstrap provider
/// has written its data: labelled with the cluster, version [`VERSION`].
pub fn machine(name: &str) -> Machine {
    let mut machine = Machine::new(
        name,
        MachineSpec {
            cluster_name: NAME.into(),
            version: Some(VERSION.into()),
            bootstrap: Bootstrap {
                data_secret_name: Some(bootstrap_secret_name(name)),
            },
            infrastructure_ref: Some(ContractVersionedObjectReference {
                api_group: "infrastructure.cluster.x-k8s.io".into(),
                kind: "DockerMachine".into(),
                name: name.into(),
            }),
            failure_domain: None,
        },
    );
    machine.metadata = ObjectMeta {
        name: Some(name.into()),
        namespace: Some(NAMESPACE.into()),
        uid: Some(format!("uid-machine-{name}")),
        generation: Some(1),
        resource_version: Some("5".into()),
        labels: Some(BTreeMap::from([(CLUSTER_NAME_LABEL.into(), NAME.into())])),
        ..ObjectMeta::default()
    };
    machine
}

pub trait MachineFixture: Sized {
    /// Labelled `cluster.x-k8s.io/control-plane`.
    fn control_plane(self) -> Self;
    /// The bootstrap provider has not written the data yet.
    fn without_bootstrap_data(self) -> Self;
    /// `metadata.deletionTimestamp` set: someone deleted it.
    fn deleting(self) -> Self;
    /// Its Node has joined the workload cluster (`status.nodeRef`).
    fn with_node_ref(self) -> Self;
    fn labelled(self, key: &str, value: &str) -> Self;
    fn paused_by_annotation(self) -> Self;
}

impl MachineFixture for Machine {
    fn control_plane(mut self) -> Self {
        let labels = self.metadata.labels.get_or_insert_default();
        labels.insert(CONTROL_PLANE_LABEL.into(), String::new());
        self
    }

    fn without_bootstrap_data(mut self) -> Self {
        self.spec.bootstrap.data_secret_name = None;
        self
    }

    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(now());
        self
    }

    fn with_node_ref(mut self) -> Self {
        let name = self.metadata.name.clone().unwrap_or_default();
        self.status = Some(MachineStatus {
            node_ref: Some(MachineNodeReference { name }),
        });
        self
    }

    fn labelled(mut self, key: &str, value: &str) -> Self {
        let labels = self.metadata.labels.get_or_insert_default();
        labels.insert(key.into(), value.into());
        self
    }

    fn paused_by_annotation(mut self) -> Self {
        let annotations = self.metadata.annotations.get_or_insert_default();
        annotations.insert(PAUSED_ANNOTATION.into(), String::new());
        self
    }
}

// ---- DockerMachine ----------------------------------------------------------------------------

/// The DockerMachine of `machine` as core leaves it for us: same name, owned by the Machine,
/// labelled with the cluster, empty spec, no status or finalizer yet.
pub fn docker_machine_for(machine: &Machine) -> DockerMachine {
    let name = machine.metadata.name.clone().unwrap_or_default();
    let mut docker_machine = DockerMachine::new(&name, DockerMachineSpec::default());
    docker_machine.metadata = ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(NAMESPACE.into()),
        uid: Some(docker_machine_uid(&name)),
        generation: Some(1),
        resource_version: Some("3".into()),
        labels: Some(BTreeMap::from([(CLUSTER_NAME_LABEL.into(), NAME.into())])),
        owner_references: Some(vec![OwnerReference {
            api_version: "cluster.x-k8s.io/v1beta2".into(),
            kind: "Machine".into(),
            name,
            uid: machine.metadata.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]),
        ..ObjectMeta::default()
    };
    docker_machine
}

pub trait DockerMachineFixture: Sized {
    fn with_finalizer(self) -> Self;
    fn without_finalizer(self) -> Self;
    /// Core has not set the owner reference yet (or a restore lost it).
    fn without_owner(self) -> Self;
    /// `metadata.deletionTimestamp` set: someone deleted it.
    fn deleting(self) -> Self;
    fn paused_by_annotation(self) -> Self;
    fn labelled(self, key: &str, value: &str) -> Self;
    /// Provisioned before: `spec.providerID` names its container.
    fn with_provider_id(self) -> Self;
    fn with_status(self, status: DockerMachineStatus) -> Self;
    /// What provisioning and a successful bootstrap leave behind: the finalizer, the
    /// providerID and [`converged_machine_status`] for a container at [`NODE_IP`].
    fn converged(self) -> Self;
}

impl DockerMachineFixture for DockerMachine {
    fn with_finalizer(mut self) -> Self {
        self.metadata.finalizers = Some(vec![FINALIZER.into()]);
        self
    }

    fn without_finalizer(mut self) -> Self {
        self.metadata.finalizers = None;
        self
    }

    fn without_owner(mut self) -> Self {
        self.metadata.owner_references = None;
        self
    }

    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(now());
        self
    }

    fn paused_by_annotation(mut self) -> Self {
        let annotations = self.metadata.annotations.get_or_insert_default();
        annotations.insert(PAUSED_ANNOTATION.into(), String::new());
        self
    }

    fn labelled(mut self, key: &str, value: &str) -> Self {
        let labels = self.metadata.labels.get_or_insert_default();
        labels.insert(key.into(), value.into());
        self
    }

    fn with_provider_id(mut self) -> Self {
        let name = self.metadata.name.clone().unwrap_or_default();
        self.spec.provider_id = Some(format!("docker:////{name}"));
        self
    }

    fn with_status(mut self, status: DockerMachineStatus) -> Self {
        self.status = Some(status);
        self
    }

    fn converged(self) -> Self {
        let name = self.metadata.name.clone().unwrap_or_default();
        self.with_finalizer()
            .with_provider_id()
            .with_status(converged_machine_status(&name))
    }
}

/// A condition of generation 1 that turned `status` at [`now`].
pub fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        observed_generation: Some(1),
        last_transition_time: now(),
    }
}

/// The status of machine `name` once its container runs at [`NODE_IP`] and its bootstrap
/// succeeded: exactly what the reconciles that got it there wrote.
pub fn converged_machine_status(name: &str) -> DockerMachineStatus {
    DockerMachineStatus {
        initialization: Some(Initialization {
            provisioned: Some(true),
        }),
        conditions: vec![
            condition("Paused", "False", "NotPaused", ""),
            condition("ContainerProvisioned", "True", "Provisioned", ""),
            condition("BootstrapSucceeded", "True", "Succeeded", ""),
            condition("Ready", "True", "Ready", ""),
        ],
        addresses: addresses(name, NODE_IP),
        failure_domain: None,
    }
}

// ---- Secrets ----------------------------------------------------------------------------------

/// A Secret `name` with the given keys, as the API server returns it.
pub fn secret(name: &str, data: &[(&str, &str)]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(NAMESPACE.into()),
            ..ObjectMeta::default()
        },
        data: Some(
            data.iter()
                .map(|(key, value)| ((*key).to_owned(), ByteString(value.as_bytes().to_vec())))
                .collect(),
        ),
        type_: Some("cluster.x-k8s.io/secret".into()),
        ..Secret::default()
    }
}

/// The bootstrap Secret of `machine` holding `cloud_config`, as the kubeadm provider writes it.
pub fn bootstrap_secret(machine: &str, cloud_config: &str) -> Secret {
    secret(
        &bootstrap_secret_name(machine),
        &[("value", cloud_config), ("format", "cloud-config")],
    )
}

/// How the bootstrap data travels in the Secret's JSON: one base64 run.
pub fn base64_payload(cloud_config: &str) -> String {
    let encoded = serde_json::to_value(ByteString(cloud_config.as_bytes().to_vec()))
        .expect("a ByteString serializes");
    encoded.as_str().expect("as a string").to_owned()
}

// ---- Docker -----------------------------------------------------------------------------------

/// Who the node container of `docker_machine` belongs to.
pub fn node_identity(docker_machine: &DockerMachine) -> Identity {
    Identity {
        cluster_name: NAME.into(),
        namespace: NAMESPACE.into(),
        cluster_uid: CLUSTER_UID.into(),
        owner_uid: docker_machine.metadata.uid.clone().unwrap_or_default(),
    }
}

/// The labels the node container of `machine` carries, taken from the Docker layer's own
/// create request: identity, kind's cluster and role labels.
pub fn node_labels(machine: &Machine, identity: Identity) -> BTreeMap<String, String> {
    let control_plane = machine
        .metadata
        .labels
        .as_ref()
        .is_some_and(|labels| labels.contains_key(CONTROL_PLANE_LABEL));
    let request = NodeRequest {
        machine: machine.metadata.name.clone().unwrap_or_default(),
        identity,
        role: if control_plane {
            Role::ControlPlane
        } else {
            Role::Worker
        },
        failure_domain: None,
        custom_image: None,
        version: Some(VERSION.into()),
        extra_mounts: Vec::new(),
    };
    let settings = NodeSettings {
        network: NETWORK.into(),
        ..NodeSettings::default()
    };
    node_spec(&settings, &request)
        .expect("a node spec for a pinned version")
        .labels
}

/// The running node container of `machine` and `docker_machine`, at `ip` on the test network.
pub fn node_container(
    machine: &Machine,
    docker_machine: &DockerMachine,
    ip: &str,
) -> ContainerInfo {
    let name = machine.metadata.name.clone().unwrap_or_default();
    ContainerInfo {
        id: format!("id-{name}"),
        name,
        image: "kindest/node".into(),
        labels: node_labels(machine, node_identity(docker_machine)),
        running: true,
        state: "running".into(),
        networks: BTreeMap::from([(NETWORK.into(), ip.into())]),
        published_ports: BTreeMap::new(),
    }
}

/// Puts the running node container of `machine` in the fake, at [`NODE_IP`].
pub fn running_node(docker: &FakeRuntime, machine: &Machine, docker_machine: &DockerMachine) {
    docker.add_container(node_container(machine, docker_machine, NODE_IP));
}

// ---- Context ----------------------------------------------------------------------------------

/// One DockerMachine reconcile test: the API script, the fake Docker, the manager's caches, the
/// context joining them, and the receiving ends of the reconcile requests the reconciler makes.
pub struct MachineHarness {
    pub api: ApiScript,
    pub docker: FakeRuntime,
    pub ctx: Arc<Context>,
    pub caches: Caches,
    /// Reconcile requests from bootstrap tasks that ended.
    pub bootstrap_ended: UnboundedReceiver<ObjectRef<DockerMachine>>,
    /// Reconcile requests for the DockerCluster controller (load-balancer membership).
    pub load_balancer_updates: UnboundedReceiver<ObjectRef<DockerCluster>>,
}

impl MachineHarness {
    /// Everything written must target `target`.
    pub fn new(target: &DockerMachine) -> Self {
        Self::with_docker(target, FakeRuntime::new())
    }

    /// With a prepared fake, say one with an exec hook.
    pub fn with_docker(target: &DockerMachine, docker: FakeRuntime) -> Self {
        let (client, api) = ApiScript::new(Target::of(target));
        let Wiring {
            ctx,
            caches,
            bootstrap_ended,
            load_balancer_updates,
        } = wiring(client, &docker);
        Self {
            api,
            docker,
            ctx,
            caches,
            bootstrap_ended,
            load_balancer_updates,
        }
    }

    /// Starts reconciling `object`; the test then answers its requests through `api`.
    pub fn reconcile(
        &self,
        object: &DockerMachine,
    ) -> Running<Result<Action, docker_machine::Error>> {
        self.api.spawn(docker_machine::reconcile(
            Arc::new(object.clone()),
            self.ctx.clone(),
        ))
    }

    /// Puts what a DockerMachine with an owner depends on into the manager's caches: its
    /// Machine, the Machine's Cluster and the Cluster's DockerCluster. (Async without awaiting:
    /// a reconcile spawned just before runs only once the test awaits something.)
    pub async fn owners(&mut self, machine: &Machine, cluster: &Cluster) {
        self.caches.put_machine(machine.clone());
        self.caches.put_cluster(cluster.clone());
        self.caches.put_docker_cluster(docker_cluster().converged());
    }

    /// Waits (up to a second) for a bootstrap task to end and ask for a reconcile.
    pub async fn next_ended_bootstrap(&mut self) -> ObjectRef<DockerMachine> {
        tokio::time::timeout(Duration::from_secs(1), self.bootstrap_ended.next())
            .await
            .expect("the bootstrap task ends within a second")
            .expect("the trigger channel is open")
    }

    /// The bootstrap tasks that have asked for a reconcile so far (without waiting).
    pub fn ended_bootstraps_so_far(&mut self) -> Vec<ObjectRef<DockerMachine>> {
        std::iter::from_fn(|| self.bootstrap_ended.try_recv().ok()).collect()
    }

    /// The DockerClusters whose load balancer the reconciler asked to update so far.
    pub fn load_balancer_updates(&mut self) -> Vec<ObjectRef<DockerCluster>> {
        std::iter::from_fn(|| self.load_balancer_updates.try_recv().ok()).collect()
    }
}

/// ObjectRef of DockerCluster `demo`.
pub fn demo_docker_cluster() -> ObjectRef<DockerCluster> {
    ObjectRef::new(NAME).within(NAMESPACE)
}
