//! Container names and Docker labels.
//!
//! Upstream identifies containers by cluster and machine *name* only, which let a re-created
//! cluster adopt an old cluster's containers. We add namespace and UIDs and never touch a
//! container whose identity labels differ.

use std::collections::BTreeMap;

/// `io.x-k8s.kind.cluster`: the cluster name (kind's own label, so kind tooling sees our nodes).
pub const CLUSTER_LABEL: &str = "io.x-k8s.kind.cluster";
/// `io.x-k8s.kind.role`: `control-plane`, `worker` or `external-load-balancer`.
pub const ROLE_LABEL: &str = "io.x-k8s.kind.role";
/// `io.x-k8s.cluster.failureDomain`: the Machine's failure domain, if any.
pub const FAILURE_DOMAIN_LABEL: &str = "io.x-k8s.cluster.failureDomain";
/// Identity: the cluster's namespace.
pub const NAMESPACE_LABEL: &str = "io.x-k8s.capdkc.cluster-namespace";
/// Identity: the Cluster's UID.
pub const CLUSTER_UID_LABEL: &str = "io.x-k8s.capdkc.cluster-uid";
/// Identity: the owning DockerCluster's or DockerMachine's UID.
pub const OWNER_UID_LABEL: &str = "io.x-k8s.capdkc.owner-uid";
/// Test-only: the test run that created a container or network, for cleanup by label.
pub const TEST_RUN_LABEL: &str = "io.x-k8s.capdkc.test-run";

/// `io.x-k8s.kind.role` value of a control-plane node.
pub const ROLE_CONTROL_PLANE: &str = "control-plane";
/// `io.x-k8s.kind.role` value of a worker node.
pub const ROLE_WORKER: &str = "worker";
/// `io.x-k8s.kind.role` value of the load balancer.
pub const ROLE_LOAD_BALANCER: &str = "external-load-balancer";

// ANCHOR: identity
/// Who a container belongs to. All four fields must match before we adopt, stop or delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Cluster name (`io.x-k8s.kind.cluster`).
    pub cluster_name: String,
    /// Cluster namespace.
    pub namespace: String,
    /// Cluster UID.
    pub cluster_uid: String,
    /// UID of the DockerCluster (load balancer) or DockerMachine (node).
    pub owner_uid: String,
}

impl Identity {
    /// The four identity labels.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (CLUSTER_LABEL.to_owned(), self.cluster_name.clone()),
            (NAMESPACE_LABEL.to_owned(), self.namespace.clone()),
            (CLUSTER_UID_LABEL.to_owned(), self.cluster_uid.clone()),
            (OWNER_UID_LABEL.to_owned(), self.owner_uid.clone()),
        ])
    }

    /// True when `labels` carry exactly this identity.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels()
            .iter()
            .all(|(k, v)| labels.get(k).is_some_and(|have| have == v))
    }
}
// ANCHOR_END: identity

// ANCHOR: naming
/// Node container name: the Machine name if it already starts with the cluster name
/// (kubeadm control planes and MachineDeployments name them so), else `<cluster>-<machine>`.
pub fn node_container_name(cluster: &str, machine: &str) -> String {
    if machine.starts_with(cluster) {
        machine.to_owned()
    } else {
        format!("{cluster}-{machine}")
    }
}

/// The longest host name a container gets: one DNS label. Docker refuses host names over 64
/// bytes (`sethostname: invalid argument`), and the kubelet names its Node after the host name.
pub const MAX_HOSTNAME: usize = 63;

/// A container's host name: its name when that fits in [`MAX_HOSTNAME`], else the first 52
/// characters and a hash of the whole name (`-` and 10 hex digits), so that long Machine names
/// (a MachineDeployment appends two hashes to the cluster name) stay unique and stable.
pub fn container_hostname(container: &str) -> String {
    if container.len() <= MAX_HOSTNAME {
        return container.to_owned();
    }
    const HASH_DIGITS: usize = 10;
    let keep = MAX_HOSTNAME - HASH_DIGITS - 1;
    let head: String = container.chars().take(keep).collect();
    let head = head.trim_end_matches(['-', '.']);
    let hash = fnv1a(container.as_bytes()) & ((1 << (4 * HASH_DIGITS)) - 1);
    format!("{head}-{hash:0HASH_DIGITS$x}")
}

/// FNV-1a, 64 bits: a stable hash needs no dependency.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Load-balancer container name: `<cluster>-lb`.
pub fn lb_container_name(cluster: &str) -> String {
    format!("{cluster}-lb")
}
// ANCHOR_END: naming

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Identity {
        Identity {
            cluster_name: "demo".into(),
            namespace: "default".into(),
            cluster_uid: "c-1".into(),
            owner_uid: "o-1".into(),
        }
    }

    #[test]
    fn names_follow_the_cluster_prefix_rule() {
        assert_eq!(node_container_name("demo", "demo-cp-abc"), "demo-cp-abc");
        assert_eq!(node_container_name("demo", "worker-1"), "demo-worker-1");
        assert_eq!(lb_container_name("demo"), "demo-lb");
    }

    #[test]
    fn long_names_get_a_short_stable_unique_hostname() {
        let short = "demo-md-0-abcde-fghij";
        assert_eq!(container_hostname(short), short);
        let exactly = "c".repeat(MAX_HOSTNAME);
        assert_eq!(container_hostname(&exactly), exactly);
        let long = format!("{}-md-0-7d9f8c6b5-x2k4p", "a".repeat(80));
        let other = format!("{}-md-0-7d9f8c6b5-x2k4q", "a".repeat(80));
        let (one, two) = (container_hostname(&long), container_hostname(&other));
        assert!(one.len() <= MAX_HOSTNAME, "{one}");
        assert_ne!(
            one, two,
            "names that differ at the end keep distinct host names"
        );
        assert_eq!(one, container_hostname(&long), "stable");
        assert!(one.starts_with(&"a".repeat(52)), "{one}");
        let dashes = format!("{}-{}", "b".repeat(51), "x".repeat(30));
        let hostname = container_hostname(&dashes);
        assert!(
            !hostname.contains("--"),
            "no empty part before the hash: {hostname}"
        );
    }

    #[test]
    fn identity_labels_and_matching() {
        let labels = id().labels();
        insta::assert_yaml_snapshot!("identity_labels", labels);
        let mut extra = labels.clone();
        extra.insert(ROLE_LABEL.into(), ROLE_WORKER.into());
        assert!(id().matches(&extra), "extra labels do not matter");
        let mut other_ns = labels.clone();
        other_ns.insert(NAMESPACE_LABEL.into(), "prod".into());
        assert!(!id().matches(&other_ns), "same name, other namespace");
        let mut missing = labels;
        missing.remove(OWNER_UID_LABEL);
        assert!(!id().matches(&missing));
    }
}
