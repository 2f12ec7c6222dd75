//! Names the Cluster API v1beta2 contract fixes, shared by core and every provider.

/// The API group of every infrastructure provider's kinds.
pub const INFRASTRUCTURE_GROUP: &str = "infrastructure.cluster.x-k8s.io";
/// Core's API group (Cluster, Machine).
pub const CORE_GROUP: &str = "cluster.x-k8s.io";

// ANCHOR: contract_label
/// The label key through which core finds the version of a provider's kind that implements the
/// v1beta2 contract; its value lists the provider's versions, separated by `_`.
pub const CONTRACT_LABEL: &str = "cluster.x-k8s.io/v1beta2";
// ANCHOR_END: contract_label

/// Label core puts on every object of a cluster: the Cluster's name.
pub const CLUSTER_NAME_LABEL: &str = "cluster.x-k8s.io/cluster-name";
/// Label of control-plane Machines (empty value).
pub const CONTROL_PLANE_LABEL: &str = "cluster.x-k8s.io/control-plane";
/// Label with which several managers split the objects between them (`--watch-filter`).
pub const WATCH_FILTER_LABEL: &str = "cluster.x-k8s.io/watch-filter";
/// Annotation that pauses reconciliation of one object (any value).
pub const PAUSED_ANNOTATION: &str = "cluster.x-k8s.io/paused";
/// Annotation of an InfraCluster whose infrastructure someone else provides.
pub const MANAGED_BY_ANNOTATION: &str = "cluster.x-k8s.io/managed-by";

/// Core's Cluster condition: the first control-plane node serves the workload API.
pub const CONTROL_PLANE_INITIALIZED: &str = "ControlPlaneInitialized";
