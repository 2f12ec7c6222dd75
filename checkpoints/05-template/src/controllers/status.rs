//! Writing what a controller owns with server-side apply, under one field manager, and only when
//! it differs from what the API server already has.

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

// ANCHOR: field_manager
/// The name our writes carry in `metadata.managedFields`.
pub const FIELD_MANAGER: &str = "capdkc-manager";

/// Server-side apply as a controller: take over fields another manager set (`force`).
pub fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}
// ANCHOR_END: field_manager

// ANCHOR: apply_status
/// Applies `desired` as the whole status we own, unless it equals `current`: a converged object
/// costs no write (and causes no watch event that would wake the controller again).
/// Returns whether it wrote.
pub async fn apply_status<K, S>(
    api: &Api<K>,
    object: &K,
    current: Option<&S>,
    desired: &S,
) -> Result<bool, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if current == Some(desired) {
        return Ok(false);
    }
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": desired,
    });
    api.patch_status(&object.name_any(), &apply_params(), &Patch::Apply(body))
        .await?;
    Ok(true)
}
// ANCHOR_END: apply_status
