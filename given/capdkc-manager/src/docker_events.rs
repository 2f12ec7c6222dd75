//! Reconcile requests from the Docker engine: a container of ours stopped or went away, so its
//! owner is looked at now rather than at its next resync.
//!
//! Safe with leader election: a standby's controllers subscribe too, but the manager lets only
//! the Lease holder reconcile (`Manager::add_controller`), so only the leader acts.

use capdkc_docker::labels::OWNER_UID_LABEL;
use capdkc_docker::{Docker, EngineEvent};
use futures::{Stream, StreamExt};
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};

// ANCHOR: owners_of_stopped_containers
/// For `Controller::reconcile_on`: the object of `store` that owns each container of ours that
/// stops or goes away (by the UID in the container's owner label), and every object of `store`
/// after the subscription was lost and renewed (what happened meanwhile was not reported).
pub fn owners_of_stopped_containers<K>(
    docker: &Docker,
    store: Store<K>,
) -> impl Stream<Item = ObjectRef<K>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    docker.container_events().flat_map(move |event| {
        let owners: Vec<ObjectRef<K>> = match event {
            EngineEvent::Container(container) => {
                let uid = container.attributes.get(OWNER_UID_LABEL);
                store
                    .find(|object| uid.is_some() && object.meta().uid.as_ref() == uid)
                    .map(|owner| ObjectRef::from_obj(owner.as_ref()))
                    .into_iter()
                    .collect()
            }
            EngineEvent::Resubscribed => store
                .state()
                .iter()
                .map(|object| ObjectRef::from_obj(object.as_ref()))
                .collect(),
        };
        futures::stream::iter(owners)
    })
}
// ANCHOR_END: owners_of_stopped_containers
