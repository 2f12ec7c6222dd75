//! Test support for layer 5: a real etcd + kube-apiserver (and the real Cluster API core manager)
//! started from a `KUBEBUILDER_ASSETS` directory, for tests that fakes cannot answer: does the API
//! server accept our CRDs, do printer columns and validation behave, is Cluster API core satisfied
//! with what our provider writes.
//!
//! ```no_run
//! use apiserver_harness::{ControlPlane, Needs, assets_for_test};
//! # async fn example() -> anyhow::Result<()> {
//! let Some(assets) = assets_for_test("example", Needs::ControlPlane)? else {
//!     return Ok(()); // skipped locally (printed why); an error in CI
//! };
//! let control_plane = ControlPlane::start(&assets).await?;
//! let client = control_plane.client().await?;
//! # let _ = client; Ok(()) }
//! ```
//!
//! Everything a value starts is killed (process group) and its temp dir removed when it is dropped.

mod assets;
mod audit;
mod capi;
mod certs;
mod control_plane;
mod crds;
mod error;
mod objects;
mod process;
mod rbac;
mod table;
mod webhooks;

pub use assets::{ASSETS_ENV, Assets, CapiProvider, Needs, assets_for_test, is_ci};
pub use audit::{AuditEvent, AuditObjectRef, AuditResponseStatus, AuditUser, unused_permissions};
pub use capi::CapiManager;
pub use control_plane::ControlPlane;
pub use crds::{crds_from_files, crds_from_yaml, install_crds};
pub use error::Error;
pub use objects::{create_from_yaml, dynamic_api, wait_for};
pub use process::log_tail;
pub use rbac::{
    InstalledServiceAccount, Permission, ShippedRbac, install_shipped_rbac, refusals, requests_of,
    summary, wait_until_allowed,
};
pub use table::{Table, get_table};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

/// Creates namespace `name`; tests use one namespace each so objects never collide.
pub async fn create_namespace(client: &Client, name: &str) -> Result<Namespace, Error> {
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Ok(Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await?)
}
