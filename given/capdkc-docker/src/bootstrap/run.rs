//! Executing bootstrap steps in a node container.

use std::time::Duration;

use super::commands::Step;
use super::redact::redacted_tail;
use super::{BootstrapError, STARTED_SENTINEL, SUCCESS_SENTINEL};
use crate::runtime::{ContainerRuntime, ExecOutput, ExecRequest, RuntimeError};

/// `$0` of the file-writing script (lets the fake runtime recognise it).
pub const WRITE_SCRIPT_NAME: &str = "capdkc-write";
/// `$0` of the state probe script.
pub const PROBE_SCRIPT_NAME: &str = "capdkc-probe";
/// `$0` of the started-sentinel script.
pub const MARK_SCRIPT_NAME: &str = "capdkc-mark";

/// Retry policy for file writes (by default 5 attempts, 5 s apart).
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Attempts per file, at least 1.
    pub file_attempts: u32,
    /// Pause between attempts.
    pub retry_delay: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            file_attempts: 5,
            retry_delay: Duration::from_secs(5),
        }
    }
}

/// What the sentinels say about a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootstrapState {
    /// Nothing ran yet.
    Fresh,
    /// kubeadm was started and did not report success.
    Started,
    /// The success sentinel exists.
    Done,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The steps ran and the success sentinel appeared.
    Completed,
    /// The success sentinel was already there: nothing was executed.
    AlreadyCompleted,
}

/// Read the sentinels with one exec.
pub async fn probe<R: ContainerRuntime>(
    rt: &R,
    container: &str,
) -> Result<BootstrapState, BootstrapError> {
    let script = r#"if [ -e "$1" ]; then echo done; elif [ -e "$2" ]; then echo started; else echo fresh; fi"#;
    let req = ExecRequest::new([
        "/bin/sh",
        "-c",
        script,
        PROBE_SCRIPT_NAME,
        SUCCESS_SENTINEL,
        STARTED_SENTINEL,
    ]);
    let out = rt.exec(container, &req).await?;
    match String::from_utf8_lossy(&out.stdout).trim() {
        "done" => Ok(BootstrapState::Done),
        "started" => Ok(BootstrapState::Started),
        "fresh" => Ok(BootstrapState::Fresh),
        _ => Err(failed("probe bootstrap state", &out)),
    }
}

// ANCHOR: run
/// Run `steps` once: a node whose success sentinel exists is left alone, one whose started
/// sentinel exists is an error (kubeadm never runs twice), otherwise every step runs in order.
pub async fn run<R: ContainerRuntime>(
    rt: &R,
    container: &str,
    steps: &[Step],
    opts: &RunOptions,
) -> Result<Outcome, BootstrapError> {
    match probe(rt, container).await? {
        BootstrapState::Done => return Ok(Outcome::AlreadyCompleted),
        BootstrapState::Started => return Err(BootstrapError::AlreadyStarted),
        BootstrapState::Fresh => {}
    }
    for (index, step) in steps.iter().enumerate() {
        tracing::debug!(index, step = %step.describe(), "bootstrap step");
        match step {
            Step::WriteFile { .. } => write_with_retries(rt, container, step, opts).await?,
            Step::MarkStarted => {
                let req = ExecRequest::new([
                    "/bin/sh",
                    "-c",
                    r#"mkdir -p /run/cluster-api && : > "$1""#,
                    MARK_SCRIPT_NAME,
                    STARTED_SENTINEL,
                ]);
                check(step, rt.exec(container, &req).await?)?;
            }
            Step::Run { argv, .. } => {
                check(
                    step,
                    rt.exec(container, &ExecRequest::new(argv.clone())).await?,
                )?;
            }
        }
    }
    match probe(rt, container).await? {
        BootstrapState::Done => Ok(Outcome::Completed),
        _ => Err(BootstrapError::NotCompleted),
    }
}
// ANCHOR_END: run

// ANCHOR: write_request
/// The exec that writes one file: a fixed script, the path and mode as positional
/// arguments (never spliced into the script, so odd paths cannot inject shell), and the
/// body on stdin.
pub fn write_request(step: &Step) -> Option<ExecRequest> {
    let Step::WriteFile {
        path,
        contents,
        mode,
        owner,
        append,
    } = step
    else {
        return None;
    };
    let dir = match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((dir, _)) => dir,
    };
    let mut script = String::from(r#"set -e; mkdir -p "$1"; "#);
    script.push_str(if *append {
        r#"cat >> "$2""#
    } else {
        r#"cat > "$2""#
    });
    if *mode != 0o644 {
        script.push_str(r#"; chmod "$3" "$2""#);
    }
    if owner != "root:root" {
        script.push_str(r#"; chown "$4" "$2""#);
    }
    let req = ExecRequest::new([
        "/bin/sh".to_owned(),
        "-c".to_owned(),
        script,
        WRITE_SCRIPT_NAME.to_owned(),
        dir.to_owned(),
        path.clone(),
        format!("{mode:o}"),
        owner.clone(),
    ]);
    Some(req.with_stdin(contents.clone()))
}
// ANCHOR_END: write_request

async fn write_with_retries<R: ContainerRuntime>(
    rt: &R,
    container: &str,
    step: &Step,
    opts: &RunOptions,
) -> Result<(), BootstrapError> {
    let Some(req) = write_request(step) else {
        return Ok(());
    };
    let attempts = opts.file_attempts.max(1);
    let mut last = BootstrapError::NotCompleted;
    for attempt in 1..=attempts {
        let result = match rt.exec(container, &req).await {
            Ok(out) => check(step, out),
            // A missing container will not come back by waiting.
            Err(e @ RuntimeError::NotFound(_)) => return Err(e.into()),
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(e) => {
                tracing::warn!(step = %step.describe(), attempt, "bootstrap file write failed");
                last = e;
            }
        }
        if attempt < attempts {
            tokio::time::sleep(opts.retry_delay).await;
        }
    }
    Err(last)
}

fn check(step: &Step, out: ExecOutput) -> Result<(), BootstrapError> {
    if out.success() {
        Ok(())
    } else {
        Err(failed(&step.describe(), &out))
    }
}

fn failed(step: &str, out: &ExecOutput) -> BootstrapError {
    BootstrapError::StepFailed {
        step: step.to_owned(),
        exit_code: out.exit_code,
        stdout_tail: redacted_tail(&out.stdout, 10),
        stderr_tail: redacted_tail(&out.stderr, 5),
    }
}
