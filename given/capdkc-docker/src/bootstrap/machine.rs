//! One machine's whole bootstrap, as a reconciler starts it in the background: wait until the
//! node can run kubeadm, then run the cloud-config's steps exactly once, within a time limit.

use std::time::Duration;

use super::run::{RunOptions, probe, run};
use super::{BootstrapError, BootstrapState, convert};
use crate::runtime::{ContainerRuntime, ExecRequest};
use crate::secret::BootstrapData;

/// How long a new node container may take to start its container runtime.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

// ANCHOR: bootstrap_machine
/// Everything one bootstrap does, within `timeout`: wait until the node's container runtime is
/// up, then run the cloud-config's steps exactly once (the sentinels make a rerun after a
/// manager restart wait for the first run instead of starting kubeadm again). Errors never
/// contain the bootstrap data, only redacted output tails.
pub async fn bootstrap_machine<R: ContainerRuntime>(
    runtime: &R,
    container: &str,
    data: BootstrapData,
    format: &str,
    options: &RunOptions,
    timeout: Duration,
) -> Result<(), BootstrapError> {
    let steps = convert(&data, format)?;
    drop(data);
    let attempt = async {
        wait_until_ready(runtime, container).await?;
        match run(runtime, container, &steps, options).await {
            Ok(_) => Ok(()),
            Err(BootstrapError::AlreadyStarted) => wait_for_first_run(runtime, container).await,
            Err(error) => Err(error),
        }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or(Err(BootstrapError::TimedOut {
            seconds: timeout.as_secs(),
        }))
}
// ANCHOR_END: bootstrap_machine

/// Kind node images start systemd and containerd first; kubeadm needs containerd. Images
/// without containerd (test stand-ins) are ready at once.
async fn wait_until_ready<R: ContainerRuntime>(
    runtime: &R,
    container: &str,
) -> Result<(), BootstrapError> {
    let check = ExecRequest::new([
        "/bin/sh",
        "-c",
        "if command -v containerd >/dev/null 2>&1; then test -S /run/containerd/containerd.sock; fi",
    ]);
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    loop {
        match runtime.exec(container, &check).await {
            Ok(output) if output.success() => return Ok(()),
            Ok(_) | Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(_) => {
                return Err(BootstrapError::NotReady {
                    container: container.to_owned(),
                    seconds: READY_TIMEOUT.as_secs(),
                });
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// A previous run (before a manager restart) started kubeadm: wait for its success sentinel.
async fn wait_for_first_run<R: ContainerRuntime>(
    runtime: &R,
    container: &str,
) -> Result<(), BootstrapError> {
    while probe(runtime, container).await? != BootstrapState::Done {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Ok(())
}
