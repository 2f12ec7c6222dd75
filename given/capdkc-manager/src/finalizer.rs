//! Adding and removing a finalizer with JSON patches that fail if someone changed the list in
//! between, so that another controller's finalizer is never lost (Go's `controllerutil`).
//!
//! Why not kube's `kube::runtime::finalizer()`: it adds the finalizer on the first reconcile of
//! every object, before the reconciler can look at anything. The Cluster API contract wants the
//! finalizer only once the owner reference exists (an object nobody owns yet is not ours to
//! hold back from deletion), and a paused or externally managed object must get none at all.
//! It also runs cleanup as a separate closure, while our reconcilers keep the delete path next
//! to the normal one and write one status per reconcile.

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

/// True when `object` carries `finalizer`.
pub fn has<K: Resource>(object: &K, finalizer: &str) -> bool {
    object.finalizers().iter().any(|f| f == finalizer)
}

/// Adds `finalizer`; the `test` operation makes the patch fail (and the reconcile retry) if the
/// list changed since we read it.
pub async fn add<K>(api: &Api<K>, object: &K, finalizer: &str) -> Result<K, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let patch = if object.finalizers().is_empty() {
        json!([
            { "op": "test", "path": "/metadata/finalizers", "value": null },
            { "op": "add", "path": "/metadata/finalizers", "value": [finalizer] },
        ])
    } else {
        json!([
            { "op": "test", "path": "/metadata/finalizers", "value": object.finalizers() },
            { "op": "add", "path": "/metadata/finalizers/-", "value": finalizer },
        ])
    };
    patch_finalizers(api, object, patch).await
}

/// Removes `finalizer`, after which the API server may delete the object.
pub async fn remove<K>(api: &Api<K>, object: &K, finalizer: &str) -> Result<K, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let Some(index) = object.finalizers().iter().position(|f| f == finalizer) else {
        return Ok(object.clone());
    };
    let patch = json!([
        { "op": "test", "path": format!("/metadata/finalizers/{index}"), "value": finalizer },
        { "op": "remove", "path": format!("/metadata/finalizers/{index}") },
    ]);
    match patch_finalizers(api, object, patch).await {
        // Already gone: a reconcile that started from a store a moment behind removed a
        // finalizer that an earlier one had removed, and the API server deleted the object.
        Err(kube::Error::Api(response)) if response.code == 404 => Ok(object.clone()),
        other => other,
    }
}

async fn patch_finalizers<K>(
    api: &Api<K>,
    object: &K,
    patch: serde_json::Value,
) -> Result<K, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    let patch: json_patch::Patch =
        serde_json::from_value(patch).map_err(kube::Error::SerdeError)?;
    api.patch(
        &object.name_any(),
        &PatchParams::default(),
        &Patch::Json::<()>(patch),
    )
    .await
}
