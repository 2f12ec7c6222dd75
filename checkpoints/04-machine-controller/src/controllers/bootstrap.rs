//! The bootstrap glue: a Machine's bootstrap data, read from its Secret, runs in the node
//! container in the background (a kubeadm run takes minutes; a reconcile never waits for it).

use std::sync::Arc;

use capdkc_capi::Machine;
use capdkc_docker::BootstrapData;
use capdkc_manager::tasks::Note;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};

use super::Context;
use crate::api::DockerMachine;

/// Why the bootstrap data cannot be had. Names the Secret, never its content.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapDataError {
    #[error("cannot read Secret {0}")]
    Unreadable(String, #[source] kube::Error),
    #[error("Secret {0} does not exist")]
    Missing(String),
    #[error("Secret {0} has no key `value`")]
    NoValue(String),
}

// ANCHOR: start_bootstrap
/// Starts the Machine's bootstrap in `container`, in the background; the task asks for a
/// reconcile of the DockerMachine when it ends.
pub async fn start(
    docker_machine: &DockerMachine,
    machine: &Machine,
    container: &str,
    ctx: &Context,
) -> Result<(), BootstrapDataError> {
    let secret = machine
        .spec
        .bootstrap
        .data_secret_name
        .clone()
        .unwrap_or_default();
    let namespace = docker_machine.namespace().unwrap_or_default();
    let (data, format) = bootstrap_data(&ctx.client, &namespace, &secret).await?;
    let (docker, container) = (ctx.docker.clone(), container.to_owned());
    let timeout = docker_machine.spec.bootstrap_timeout();
    // While the node boots, the task notes what it waits for; the reconcile it asks for shows
    // the note in `BootstrapSucceeded` (the note never holds bootstrap data).
    let work = |note: Note<DockerMachine>| async move {
        let report = move |text: &str| note.set(text);
        let outcome = docker
            .bootstrap_reporting(&container, data, &format, timeout, report)
            .await;
        outcome.map_err(Arc::new)
    };
    let uid = docker_machine.uid().unwrap_or_default();
    ctx.bootstraps
        .start_noted(&uid, ObjectRef::from_obj(docker_machine), work);
    Ok(())
}
// ANCHOR_END: start_bootstrap

/// The bootstrap data and its format (`cloud-config` when absent) from the Machine's Secret.
async fn bootstrap_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<(BootstrapData, String), BootstrapDataError> {
    let secret_name = format!("{namespace}/{name}");
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|error| BootstrapDataError::Unreadable(secret_name.clone(), error))?
        .ok_or_else(|| BootstrapDataError::Missing(secret_name.clone()))?;
    let data = secret.data.unwrap_or_default();
    let value = data
        .get("value")
        .ok_or(BootstrapDataError::NoValue(secret_name))?;
    let format = data
        .get("format")
        .map(|f| String::from_utf8_lossy(&f.0).into_owned());
    Ok((
        BootstrapData::new(value.0.clone()),
        format.unwrap_or_default(),
    ))
}
