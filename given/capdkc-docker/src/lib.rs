//! The given Docker layer of CAPDKC: everything the provider does to Docker, behind one
//! small trait.
//!
//! - [`Docker`]: what a reconciler holds: the engine plus the settings of our containers, with
//!   one call per thing the provider does (run a load balancer, a node, a bootstrap).
//! - [`runtime`]: the [`ContainerRuntime`] trait, its value types and typed errors;
//!   [`BollardRuntime`] implements it against a real engine, `fake::FakeRuntime` in memory
//!   (feature `test-util`, as tokio's own test utilities); [`Engine`] holds either.
//! - [`node`]: node containers as kind node images need them; [`images`]: which image.
//! - [`loadbalancer`]: the HAProxy container, config rendering and safe reloads.
//! - [`bootstrap`]: cloud-config to commands, executed idempotently.
//! - [`labels`]: names and the identity labels that keep us off other clusters' containers.
//! - [`events`]: our containers that stop or disappear, from the engine's event stream.
//!
//! Security: access to the Docker socket equals root on the Docker host. The
//! [`SecurityProfile::Privileged`] default gives node containers that much too.

#![warn(missing_docs)]

pub mod bollard_runtime;
pub mod bootstrap;
pub mod docker;
pub mod engine;
pub mod ensure;
pub mod events;
#[cfg(any(test, feature = "test-util"))]
pub mod fake;
pub mod host;
pub mod images;
pub mod labels;
pub mod loadbalancer;
pub mod mounts;
pub mod node;
pub mod options;
pub mod runtime;
pub mod secret;
#[cfg(feature = "test-util")]
pub mod test_support;

pub use bollard_runtime::BollardRuntime;
pub use docker::Docker;
pub use engine::Engine;
pub use ensure::{Action, EnsureError};
pub use events::EngineEvent;
pub use labels::Identity;
pub use options::{DockerOptions, NodePrivilege};
pub use runtime::{
    ContainerEvent, ContainerInfo, ContainerRuntime, ContainerSpec, ExecOutput, ExecRequest,
    FileUpload, RuntimeError, RuntimeResult, SecurityProfile,
};
pub use secret::{BootstrapData, Sensitive};
