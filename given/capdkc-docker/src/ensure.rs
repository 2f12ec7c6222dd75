//! Create-or-adopt for one named container, shared by nodes and the load balancer.
//!
//! Names are unique per Docker host, identity is not: a container with our name may belong to
//! a same-named cluster in another namespace. We only ever adopt, start or remove a container
//! whose identity labels match.

use crate::labels::Identity;
use crate::runtime::{ContainerInfo, ContainerRuntime, ContainerSpec, RuntimeError};

/// What to do with a stopped container that is ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoppedPolicy {
    /// Start it again (load balancer: heal, keep its config).
    Start,
    /// Remove and recreate it (node not yet provisioned: a half-booted leftover).
    Recreate,
}

/// How the container came to be running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// It was already running.
    Existing,
    /// We created and started it.
    Created,
    /// It was stopped and we started it.
    Restarted,
    /// It was stopped and we replaced it.
    Recreated,
}

/// Why [`ensure_container`] failed.
#[derive(Debug, thiserror::Error)]
pub enum EnsureError {
    /// A container with this name belongs to someone else; it was not touched.
    #[error("container name {name} is used by a container with another identity")]
    NameConflict {
        /// The contested name.
        name: String,
    },
    /// Docker failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

// ANCHOR: ensure
/// Make sure a container named `spec.name` with `identity` runs, creating it from `spec` if
/// needed. Returns the action taken and the container as inspected afterwards.
pub async fn ensure_container<R: ContainerRuntime>(
    rt: &R,
    spec: &ContainerSpec,
    identity: &Identity,
    stopped: StoppedPolicy,
) -> Result<(Action, ContainerInfo), EnsureError> {
    let mut action = Action::Created;
    match rt.inspect(&spec.name).await {
        Ok(found) => {
            if !identity.matches(&found.labels) {
                return Err(EnsureError::NameConflict {
                    name: spec.name.clone(),
                });
            }
            if found.running {
                return Ok((Action::Existing, found));
            }
            match stopped {
                StoppedPolicy::Start => {
                    rt.start(&spec.name).await?;
                    return Ok((Action::Restarted, rt.inspect(&spec.name).await?));
                }
                StoppedPolicy::Recreate => {
                    rt.remove(&spec.name).await?;
                    action = Action::Recreated;
                }
            }
        }
        Err(RuntimeError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    match rt.create(spec).await {
        Ok(_) => {}
        // Someone created it between our inspect and create (another reconcile, a manager
        // restart): adopt it only if it is ours.
        Err(RuntimeError::Conflict(_)) => {
            let found = rt.inspect(&spec.name).await?;
            if !identity.matches(&found.labels) {
                return Err(EnsureError::NameConflict {
                    name: spec.name.clone(),
                });
            }
            if found.running {
                return Ok((Action::Existing, found));
            }
        }
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = rt.start(&spec.name).await {
        // A created-but-unstartable container (port taken, bad mount) would block the name
        // forever; remove it so the retry starts clean.
        if let Err(cleanup) = rt.remove(&spec.name).await {
            tracing::warn!(container = %spec.name, error = %cleanup, "removing half-created container failed");
        }
        return Err(e.into());
    }
    Ok((action, rt.inspect(&spec.name).await?))
}
// ANCHOR_END: ensure

/// Force-remove `name` with its volumes if its identity matches; gone already is success.
pub async fn remove_if_ours<R: ContainerRuntime>(
    rt: &R,
    name: &str,
    identity: &Identity,
) -> Result<(), EnsureError> {
    match rt.inspect(name).await {
        Ok(found) if identity.matches(&found.labels) => Ok(rt.remove(name).await?),
        Ok(_) => Err(EnsureError::NameConflict {
            name: name.to_owned(),
        }),
        Err(RuntimeError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
