use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{IMAGE_REFERENCE, Initialization};

// ANCHOR: docker_machine
/// The desired state of a DockerMachine: the Docker container that one Cluster API Machine
/// runs in.
// Each `printcolumn(...)` repeats the same keys, which clippy mistakes for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
// EXERCISE: 1.2 Declare the DockerMachine kind the same way.
#[kube(
    group = "infrastructure.cluster.x-k8s.io",
    version = "v1alpha1",
    kind = "DockerMachine",
    namespaced,
    status = "DockerMachineStatus",
    category = "cluster-api",
    label("cluster.x-k8s.io/v1beta2", "v1alpha1")
)]
// EXERCISE_START_STATE
// #[kube(group = "example.com", version = "v1", kind = "DockerMachine", namespaced)]
// EXERCISE_END
#[kube(
    printcolumn(
        name = "Cluster",
        type_ = "string",
        json_path = ".metadata.labels['cluster\\.x-k8s\\.io/cluster-name']",
        description = "Cluster to which this DockerMachine belongs"
    ),
    printcolumn(
        name = "Machine",
        type_ = "string",
        json_path = ".metadata.ownerReferences[?(@.kind==\"Machine\")].name",
        description = "Machine that owns this DockerMachine"
    ),
    printcolumn(
        name = "ProviderID",
        type_ = "string",
        json_path = ".spec.providerID",
        description = "The node's identity for Kubernetes: docker:////<container>"
    ),
    printcolumn(
        name = "Provisioned",
        type_ = "boolean",
        json_path = ".status.initialization.provisioned",
        description = "The container runs"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Summary of the other conditions"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    cel,
    doc = "DockerMachine is the Schema for the dockermachines API. Trust: node containers run privileged (or with nearly every capability), so whoever may create DockerMachines is trusted with the Docker host; the manager's --allowed-host-mounts limits what they can mount from it."
)]
// ANCHOR: spec
// EXERCISE: 4.1 providerID never changes once the controller has set it.
#[x_kube(validation = Rule::new(
    "!has(oldSelf.providerID) || oldSelf.providerID == '' || (has(self.providerID) && self.providerID == oldSelf.providerID)"
).message("providerID cannot change once set"))]
// EXERCISE_START_STATE
// EXERCISE_END
#[x_kube(validation = Rule::new(
    "!has(self.bootstrapTimeout) || (duration(self.bootstrapTimeout) >= duration('30s') && duration(self.bootstrapTimeout) <= duration('24h'))"
).message("bootstrapTimeout must be between 30s and 24h"))]
#[serde(rename_all = "camelCase")]
pub struct DockerMachineSpec {
    /// The node's identity for Kubernetes, `docker:////<container name>`. Set by the
    /// controller once the container runs; Cluster API copies it to the Machine.
    // EXERCISE: 4.1 Spell providerID as the contract does, and bound it.
    #[serde(
        rename = "providerID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(min = 1, max = 512))]
    pub provider_id: Option<String>,
    // EXERCISE_START_STATE
    // #[serde(default, skip_serializing_if = "Option::is_none")]
    // pub provider_id: Option<String>,
    // EXERCISE_END
    /// The node image, as a full reference. Default: the kind node image for the Machine's
    /// Kubernetes version, pinned by digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512), regex(pattern = IMAGE_REFERENCE))]
    pub custom_image: Option<String>,

    /// Host directories or files mounted into the node container. Only paths inside a
    /// directory the manager allows (its flag --allowed-host-mounts, empty by default) are
    /// mounted, judged after resolving symlinks and `..` on the Docker host; any other path
    /// leaves the machine unprovisioned with a condition naming the flag. The Docker socket
    /// and the directories that hold it are refused here as well: they are root on the host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub extra_mounts: Vec<Mount>,

    /// How long the bootstrap (the node booting, then kubeadm init or join) may take, as a Go
    /// duration such as `5m` or `90s`, from 30s to 24h. Default: 5m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 2, max = 16),
        regex(pattern = r"^([0-9]{1,5}(h|m|s)){1,3}$")
    )]
    pub bootstrap_timeout: Option<String>,
}
// ANCHOR_END: spec

/// A host path mounted into the node container.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[x_kube(validation = Rule::new("self.containerPath.startsWith('/') && self.hostPath.startsWith('/')")
    .message("containerPath and hostPath must be absolute paths"))]
#[x_kube(validation = Rule::new("!self.containerPath.contains('..') && !self.hostPath.contains('..')")
    .message("paths must not contain '..'"))]
#[x_kube(validation = Rule::new(
    "!self.hostPath.contains('//') && !self.hostPath.contains('/./') && !self.hostPath.endsWith('/.') && (self.hostPath == '/' || !self.hostPath.endsWith('/'))"
).message("hostPath must be a canonical path: no '//', no '/.' segments, no trailing '/'"))]
#[x_kube(validation = Rule::new(
    "self.hostPath != '/' && !self.hostPath.endsWith('.sock') && !['/var/run/docker.sock', '/run/docker.sock', '/var/run/containerd/containerd.sock', '/run/containerd/containerd.sock', '/var/run/crio/crio.sock', '/run/crio/crio.sock', '/run/podman/podman.sock', '/var/run/cri-dockerd.sock', '/run/user'].exists(socket, (socket + '/').startsWith(self.hostPath + '/'))"
).message("hostPath must not be or contain a container runtime socket: that would give the node root on the Docker host"))]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    /// Where the mount appears inside the node container.
    #[schemars(length(min = 1, max = 512))]
    pub container_path: String,

    /// The path on the Docker host.
    #[schemars(length(min = 1, max = 512))]
    pub host_path: String,

    /// Mount read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// The observed state of a DockerMachine.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DockerMachineStatus {
    /// What Cluster API waits for: the machine's infrastructure (its container) exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initialization: Option<Initialization>,

    /// The current state of the DockerMachine, one entry per condition type: `Ready`,
    /// `ContainerProvisioned`, `BootstrapSucceeded` and `Paused`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The container's host name and addresses; Cluster API copies them to the Machine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub addresses: Vec<MachineAddress>,

    /// The failure domain the Machine asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub failure_domain: Option<String>,
}

/// One address of a machine, as Cluster API's `MachineAddress`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct MachineAddress {
    /// `Hostname`, `InternalIP` or `ExternalIP` (also `ExternalDNS`, `InternalDNS`).
    #[serde(rename = "type")]
    #[schemars(length(min = 1, max = 32))]
    #[schemars(regex(pattern = r"^(Hostname|ExternalIP|InternalIP|ExternalDNS|InternalDNS)$"))]
    pub type_: String,

    /// The address.
    #[schemars(length(min = 1, max = 256))]
    pub address: String,
}
// ANCHOR_END: docker_machine

/// The bootstrap timeout when `spec.bootstrapTimeout` is not set.
pub const DEFAULT_BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(300);

// ANCHOR: parse_duration
/// Parses a Go-style duration of hours, minutes and seconds (`1h30m`, `90s`), the shape the
/// CRD's pattern admits.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' if !number.is_empty() => {
                let value: u64 = number.parse().ok()?;
                let unit = match c {
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                total = total.checked_add(value.checked_mul(unit)?)?;
                number.clear();
            }
            _ => return None,
        }
    }
    (number.is_empty() && !text.is_empty()).then(|| Duration::from_secs(total))
}
// ANCHOR_END: parse_duration

impl DockerMachineSpec {
    /// `spec.bootstrapTimeout`, or the default.
    pub fn bootstrap_timeout(&self) -> Duration {
        self.bootstrap_timeout
            .as_deref()
            .and_then(parse_duration)
            .unwrap_or(DEFAULT_BOOTSTRAP_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_and_anything_else_does_not() {
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m10s"), Some(Duration::from_secs(5410)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        for bad in ["", "5", "m", "5x", "1.5m", "-5m"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_bootstrap_timeout_defaults_to_five_minutes() {
        let mut spec = DockerMachineSpec::default();
        assert_eq!(spec.bootstrap_timeout(), DEFAULT_BOOTSTRAP_TIMEOUT);
        spec.bootstrap_timeout = Some("45s".into());
        assert_eq!(spec.bootstrap_timeout(), Duration::from_secs(45));
    }
}
