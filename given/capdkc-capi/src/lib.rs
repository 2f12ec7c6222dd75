//! The given Cluster API for Rust: what a Go provider imports from `sigs.k8s.io/cluster-api`
//! (its `api` and `util` packages), written for kube-rs.
//!
//! - [`contract`]: the names the v1beta2 contract fixes: labels, annotations, condition types.
//! - [`cluster`] and [`machine`]: read-only views of core's Cluster and Machine.
//! - [`conditions`]: setting conditions the way Cluster API expects, and the `Ready` summary.
//! - [`owners`] and [`predicates`]: finding an object's owners in the watch caches; paused and
//!   externally managed objects.
//! - [`patch`]: one server-side-apply status write per reconcile, skipped when nothing changed.
//! - [`workload`]: clients for workload clusters and the Node initialization a cloud provider
//!   would otherwise do.

pub mod cluster;
pub mod conditions;
pub mod contract;
pub mod machine;
pub mod owners;
pub mod patch;
pub mod predicates;
pub mod workload;

pub use cluster::Cluster;
pub use conditions::{ConditionUpdate, ReportsConditions};
pub use machine::Machine;
pub use patch::StatusPatch;
