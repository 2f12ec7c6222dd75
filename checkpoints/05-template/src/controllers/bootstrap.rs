//! Bootstrap in the background: one task per DockerMachine runs the Machine's cloud-config in its
//! node container, so that a reconcile never waits minutes for kubeadm. A finished task asks for
//! a reconcile, which records the outcome in the `BootstrapSucceeded` condition.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use capdkc_docker::bootstrap::run::probe;
use capdkc_docker::bootstrap::{self, BootstrapError, RunOptions};
use capdkc_docker::runtime::ExecRequest;
use capdkc_docker::{BootstrapData, ContainerRuntime};
use kube::runtime::reflector::ObjectRef;
use tokio_util::sync::CancellationToken;

use super::triggers::Triggers;
use crate::api::DockerMachine;

/// How long a new node container may take to start its container runtime.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a DockerMachine's bootstrap stands, as far as this process knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    Running,
    Succeeded,
    /// Terminal: the message says why, with output tails redacted.
    Failed(String),
}

// ANCHOR: tasks
/// The running and finished bootstrap tasks, by DockerMachine UID.
pub struct BootstrapTasks {
    tasks: Mutex<HashMap<String, Task>>,
    finished: Triggers<DockerMachine>,
}

struct Task {
    progress: Arc<Mutex<Progress>>,
    cancel: CancellationToken,
}

impl BootstrapTasks {
    /// Finished tasks ask for a reconcile of their DockerMachine through `finished`.
    pub fn new(finished: Triggers<DockerMachine>) -> Self {
        Self {
            tasks: Mutex::new(HashMap::new()),
            finished,
        }
    }

    /// The progress of the task for `uid`, if this process started one.
    pub fn progress(&self, uid: &str) -> Option<Progress> {
        let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        let task = tasks.get(uid)?;
        let progress = task.progress.lock().unwrap_or_else(|p| p.into_inner());
        Some(progress.clone())
    }

    /// Starts `work` for `uid` in the background unless a task for it exists already.
    pub fn start<F>(&self, uid: &str, machine: ObjectRef<DockerMachine>, work: F)
    where
        F: Future<Output = Result<(), String>> + Send + 'static,
    {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        if tasks.contains_key(uid) {
            return;
        }
        let progress = Arc::new(Mutex::new(Progress::Running));
        let cancel = CancellationToken::new();
        let (report, stopped, finished) = (progress.clone(), cancel.clone(), self.finished.clone());
        tokio::spawn(async move {
            let outcome = tokio::select! {
                () = stopped.cancelled() => return,
                outcome = work => outcome,
            };
            *report.lock().unwrap_or_else(|p| p.into_inner()) = match outcome {
                Ok(()) => Progress::Succeeded,
                Err(message) => Progress::Failed(message),
            };
            finished.trigger(machine);
        });
        tasks.insert(uid.to_owned(), Task { progress, cancel });
    }

    /// Stops the task for `uid` (its Machine is being deleted) and forgets it.
    pub fn cancel(&self, uid: &str) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(task) = tasks.remove(uid) {
            task.cancel.cancel();
        }
    }
}
// ANCHOR_END: tasks

// ANCHOR: bootstrap
/// Everything one bootstrap does, within `timeout`: wait until the node's container runtime is
/// up, then run the cloud-config's steps exactly once (the Docker layer's sentinels make a rerun
/// after a manager restart wait for the first run instead of starting kubeadm again). Errors
/// never contain the bootstrap data, only redacted output tails.
pub async fn bootstrap<D: ContainerRuntime>(
    runtime: D,
    container: String,
    data: BootstrapData,
    format: String,
    retries: RunOptions,
    timeout: Duration,
) -> Result<(), String> {
    let steps = bootstrap::convert(&data, &format).map_err(|e| e.to_string())?;
    drop(data);
    let attempt = async {
        wait_until_ready(&runtime, &container).await?;
        match bootstrap::run::run(&runtime, &container, &steps, &retries).await {
            Ok(_) => Ok(()),
            Err(BootstrapError::AlreadyStarted) => wait_for_first_run(&runtime, &container).await,
            Err(error) => Err(error.to_string()),
        }
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "the bootstrap did not complete within {}s (spec.bootstrapTimeout)",
            timeout.as_secs()
        )),
    }
}
// ANCHOR_END: bootstrap

/// Kind node images start systemd and containerd first; kubeadm needs containerd. Images
/// without containerd (test stand-ins) are ready at once.
async fn wait_until_ready<D: ContainerRuntime>(runtime: &D, container: &str) -> Result<(), String> {
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
                return Err(format!(
                    "containerd did not start in {container} within {}s",
                    READY_TIMEOUT.as_secs()
                ));
            }
            Err(error) => return Err(error.to_string()),
        }
    }
}

/// A previous run (before a manager restart) started kubeadm: wait for its success sentinel.
async fn wait_for_first_run<D: ContainerRuntime>(
    runtime: &D,
    container: &str,
) -> Result<(), String> {
    loop {
        match probe(runtime, container).await {
            Ok(bootstrap::BootstrapState::Done) => return Ok(()),
            Ok(_) => tokio::time::sleep(Duration::from_secs(2)).await,
            Err(error) => return Err(error.to_string()),
        }
    }
}
