//! Reconcile requests that do not come from a watch: one controller asking another to look at an
//! object again (a node joined the cluster's load balancer), or a background task reporting back.

use futures::channel::mpsc;
use kube::Resource;
use kube::runtime::reflector::ObjectRef;

/// The sending side; the manager gives the receiving side to the controller (`reconcile_on`).
pub struct Triggers<K: Resource<DynamicType = ()>> {
    sender: mpsc::UnboundedSender<ObjectRef<K>>,
}

impl<K: Resource<DynamicType = ()>> Clone for Triggers<K> {
    fn clone(&self) -> Self {
        Self {
            sender: self.sender.clone(),
        }
    }
}

impl<K: Resource<DynamicType = ()>> Triggers<K> {
    /// A connected pair: the triggers and the stream of requests for `Controller::reconcile_on`.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<ObjectRef<K>>) {
        let (sender, receiver) = mpsc::unbounded();
        (Self { sender }, receiver)
    }

    /// Asks for a reconcile of `object`. A stopped controller no longer listens; that is fine.
    pub fn trigger(&self, object: ObjectRef<K>) {
        let _ = self.sender.unbounded_send(object);
    }
}
