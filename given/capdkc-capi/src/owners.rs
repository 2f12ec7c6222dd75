//! Finding an object's owners in the caches the manager already holds (Go's `util.GetOwnerCluster`
//! and `util.GetOwnerMachine`), instead of asking the API server on every reconcile.
//!
//! A cache can lag the API server by a moment; that is fine for a level-triggered controller:
//! the watch that brings the owner in also wakes the object's reconcile.

use std::sync::Arc;

use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};

use crate::cluster::Cluster;
use crate::contract::CORE_GROUP;
use crate::machine::Machine;

// ANCHOR: owner
/// The object of `store` that owns `object` as its `kind` in core's group, if core has set that
/// owner reference and the cache holds that very object (same UID, not a namesake).
fn owner<K: Resource, O>(object: &K, kind: &str, store: &Store<O>) -> Option<Arc<O>>
where
    O: Resource<DynamicType = ()> + Clone + 'static,
{
    let namespace = object.namespace()?;
    let reference = object.owner_references().iter().find(|owner| {
        owner.kind == kind && owner.api_version.split('/').next() == Some(CORE_GROUP)
    })?;
    let found = store.get(&ObjectRef::new(&reference.name).within(&namespace))?;
    (found.meta().uid.as_deref() == Some(reference.uid.as_str())).then_some(found)
}
// ANCHOR_END: owner

// ANCHOR: owner_cluster
/// The Cluster that owns `object` (an InfraCluster), once core has set the owner reference.
pub fn owner_cluster<K: Resource>(object: &K, clusters: &Store<Cluster>) -> Option<Arc<Cluster>> {
    owner(object, "Cluster", clusters)
}
// ANCHOR_END: owner_cluster

/// The Machine that owns `object` (an InfraMachine), once core has set the owner reference.
pub fn owner_machine<K: Resource>(object: &K, machines: &Store<Machine>) -> Option<Arc<Machine>> {
    owner(object, "Machine", machines)
}

/// The Cluster a Machine belongs to (by its cluster-name label).
pub fn cluster_of(machine: &Machine, clusters: &Store<Cluster>) -> Option<Arc<Cluster>> {
    let namespace = machine.namespace()?;
    clusters.get(&ObjectRef::new(machine.cluster_name()).within(&namespace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
    use kube::api::ObjectMeta;
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;

    fn cluster(name: &str, uid: &str) -> Cluster {
        let mut cluster = Cluster::new(name, Default::default());
        cluster.metadata.namespace = Some("default".into());
        cluster.metadata.uid = Some(uid.into());
        cluster
    }

    fn owned_by(kind: &str, api_version: &str, name: &str, uid: &str) -> Machine {
        let mut owned = Machine::new("m", Default::default());
        owned.metadata = ObjectMeta {
            name: Some("m".into()),
            namespace: Some("default".into()),
            owner_references: Some(vec![OwnerReference {
                api_version: api_version.into(),
                kind: kind.into(),
                name: name.into(),
                uid: uid.into(),
                ..OwnerReference::default()
            }]),
            ..ObjectMeta::default()
        };
        owned
    }

    #[test]
    fn the_owner_comes_from_the_cache_only_if_it_is_that_very_object() {
        let (clusters, mut writer) = reflector::store::<Cluster>();
        writer.apply_watcher_event(&Event::Apply(cluster("demo", "uid-1")));
        let owned = owned_by("Cluster", "cluster.x-k8s.io/v1beta2", "demo", "uid-1");
        assert!(owner_cluster(&owned, &clusters).is_some());

        let namesake = owned_by("Cluster", "cluster.x-k8s.io/v1beta2", "demo", "uid-0");
        assert!(owner_cluster(&namesake, &clusters).is_none(), "another UID");
        let other_group = owned_by("Cluster", "example.com/v1", "demo", "uid-1");
        assert!(
            owner_cluster(&other_group, &clusters).is_none(),
            "not core's"
        );
        let absent = owned_by("Cluster", "cluster.x-k8s.io/v1beta2", "other", "uid-2");
        assert!(owner_cluster(&absent, &clusters).is_none(), "not cached");
    }

    #[test]
    fn a_machine_s_cluster_is_found_by_its_cluster_name() {
        let (clusters, mut writer) = reflector::store::<Cluster>();
        writer.apply_watcher_event(&Event::Apply(cluster("demo", "uid-1")));
        let mut machine = owned_by("MachineSet", "cluster.x-k8s.io/v1beta2", "ms", "u");
        machine.spec.cluster_name = "demo".into();
        assert!(cluster_of(&machine, &clusters).is_some());
        machine.spec.cluster_name = "gone".into();
        assert!(cluster_of(&machine, &clusters).is_none());
    }
}
