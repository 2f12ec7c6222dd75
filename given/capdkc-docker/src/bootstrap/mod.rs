//! Bootstrap: run a Machine's cloud-config inside its node container.
//!
//! [`convert`] parses and plans (pure); [`run::run`] executes the plan through a
//! [`crate::ContainerRuntime`]. File bodies only ever travel on exec stdin: the archive API
//! cannot be used because `/run` is a tmpfs inside the container, and `docker cp` writes
//! underneath such mounts where the container never sees the file.

pub mod cloudinit;
pub mod commands;
pub mod kubelet;
pub mod machine;
pub mod redact;
pub mod run;

use crate::runtime::RuntimeError;
use crate::secret::BootstrapData;

pub use commands::Step;
pub use machine::{BootstrapJob, Report, bootstrap_machine, run_job};
pub use run::{BootstrapState, Outcome, RunOptions};

/// Written by the kubeadm bootstrap data itself when `kubeadm init/join` succeeded.
pub const SUCCESS_SENTINEL: &str = "/run/cluster-api/bootstrap-success.complete";
/// Written by us right before kubeadm runs: present without the success sentinel means a
/// previous attempt was interrupted, and kubeadm must not run again.
pub const STARTED_SENTINEL: &str = "/run/cluster-api/capdkc.bootstrap.started";

// ANCHOR: error
/// Why a bootstrap did not complete. Messages never contain bootstrap data.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The Secret's `format` is one we do not run.
    #[error("bootstrap format {format:?} is not supported (only cloud-config)")]
    Unsupported {
        /// The format as given.
        format: String,
    },
    /// The data could not be parsed or decoded.
    #[error("invalid bootstrap data: {reason}")]
    Invalid {
        /// What was wrong, without quoting content.
        reason: String,
    },
    /// A previous run started kubeadm and did not finish: never run it twice.
    #[error("a previous bootstrap started but did not complete; kubeadm is not run again")]
    AlreadyStarted,
    /// A step failed; output tails are redacted.
    #[error(
        "bootstrap step {step} failed with exit code {exit_code}; stdout: {stdout_tail:?}; stderr: {stderr_tail:?}"
    )]
    StepFailed {
        /// [`Step::describe`] of the failing step.
        step: String,
        /// Its exit code.
        exit_code: i64,
        /// Last 10 stdout lines, redacted.
        stdout_tail: String,
        /// Last 5 stderr lines, redacted.
        stderr_tail: String,
    },
    /// Every step ran but the success sentinel is missing.
    #[error("all bootstrap steps ran but {SUCCESS_SENTINEL} was not written")]
    NotCompleted,
    /// The node did not finish booting (systemd, containerd) within the bootstrap timeout,
    /// so kubeadm never ran.
    #[error(
        "{container} was not ready for kubeadm within {seconds}s (spec.bootstrapTimeout); still {reason}"
    )]
    NotReady {
        /// The node container.
        container: String,
        /// How long we waited.
        seconds: u64,
        /// What it was waiting for, last time we looked.
        reason: String,
    },
    /// The whole bootstrap took longer than the DockerMachine allows.
    #[error("the bootstrap did not complete within {seconds}s (spec.bootstrapTimeout)")]
    TimedOut {
        /// The DockerMachine's `spec.bootstrapTimeout`.
        seconds: u64,
    },
    /// Docker failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}
// ANCHOR_END: error

// ANCHOR: convert
/// Parse bootstrap data of the given `format` (the Secret's `format` key; empty means
/// cloud-config) into steps.
pub fn convert(data: &BootstrapData, format: &str) -> Result<Vec<Step>, BootstrapError> {
    convert_for_host(data, format, false)
}

/// [`convert`] for a node on a cgroup v1 host (`cgroup_v1_host`) or not: the kubelet settings
/// a node container needs are added to the kubeadm configuration ([`kubelet`]).
pub fn convert_for_host(
    data: &BootstrapData,
    format: &str,
    cgroup_v1_host: bool,
) -> Result<Vec<Step>, BootstrapError> {
    match format.trim() {
        "" | "cloud-config" => {}
        other => {
            return Err(BootstrapError::Unsupported {
                format: other.to_owned(),
            });
        }
    }
    let config = cloudinit::parse(data)?;
    for module in &config.ignored_modules {
        tracing::info!(module = %module, "ignoring cloud-config module");
    }
    Ok(commands::to_steps(&config, cgroup_v1_host))
}
// ANCHOR_END: convert
