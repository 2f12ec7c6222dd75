//! When the contract says a provider must leave an object alone.

use kube::Resource;
use kube::api::ObjectMeta;

use crate::cluster::Cluster;
use crate::contract::{MANAGED_BY_ANNOTATION, PAUSED_ANNOTATION};

/// True when the object carries the paused annotation (any value).
pub fn has_paused_annotation(meta: &ObjectMeta) -> bool {
    meta.annotations
        .as_ref()
        .is_some_and(|annotations| annotations.contains_key(PAUSED_ANNOTATION))
}

/// Paused: its Cluster is paused (`spec.paused` or annotation), or the object itself is.
pub fn is_paused(cluster: &Cluster, object: &impl Resource) -> bool {
    cluster.is_paused() || has_paused_annotation(object.meta())
}

/// The contract's escape hatch: an InfraCluster annotated `cluster.x-k8s.io/managed-by` is
/// provided by someone else (a person, Terraform) and never touched by the provider.
pub fn is_externally_managed(object: &impl Resource) -> bool {
    let annotations = object.meta().annotations.as_ref();
    annotations.is_some_and(|a| a.contains_key(MANAGED_BY_ANNOTATION))
}

/// True once someone asked the API server to delete the object.
pub fn is_deleting(object: &impl Resource) -> bool {
    object.meta().deletion_timestamp.is_some()
}
