//! One machine's whole bootstrap, as a reconciler starts it in the background: wait until the
//! node can run kubeadm, then run the cloud-config's steps exactly once, within a time limit.

use std::sync::Mutex;
use std::time::Duration;

use super::run::{RunOptions, probe, run};
use super::{BootstrapError, BootstrapState, convert_for_host};
use crate::runtime::{ContainerRuntime, ExecRequest};
use crate::secret::BootstrapData;

/// How often the node's readiness is checked while it boots.
pub const READY_POLL: Duration = Duration::from_secs(2);

/// The longest readiness reason we pass on (a line of `crictl` output, say).
const MAX_REASON: usize = 200;

/// One bootstrap: where, in what format, for how long, and what the host needs.
#[derive(Clone, Debug)]
pub struct BootstrapJob {
    /// The node container.
    pub container: String,
    /// The bootstrap Secret's `format` (empty means cloud-config).
    pub format: String,
    /// The DockerMachine's `spec.bootstrapTimeout`: readiness wait and kubeadm together.
    pub timeout: Duration,
    /// The Docker host runs cgroup v1 (the kubelet then needs `fail-cgroupv1=false`).
    pub cgroup_v1_host: bool,
}

/// Told what the bootstrap is waiting for, in words for a person ("systemd is starting").
/// Never given bootstrap data.
pub type Report<'a> = &'a (dyn Fn(&str) + Send + Sync);

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
    let job = BootstrapJob {
        container: container.to_owned(),
        format: format.to_owned(),
        timeout,
        cgroup_v1_host: false,
    };
    run_job(runtime, &job, data, options, &|_| {}).await
}

/// [`bootstrap_machine`] for a described host, reporting what it waits for while the node
/// boots. Waiting is not failing: only `job.timeout` ends it, and then the error says what the
/// node was still waiting for.
pub async fn run_job<R: ContainerRuntime>(
    runtime: &R,
    job: &BootstrapJob,
    data: BootstrapData,
    options: &RunOptions,
    report: Report<'_>,
) -> Result<(), BootstrapError> {
    let steps = convert_for_host(&data, &job.format, job.cgroup_v1_host)?;
    drop(data);
    let container = job.container.as_str();
    let waiting = Mutex::new(Some("the node container has not answered yet".to_owned()));
    let attempt = async {
        if wait_until_ready(runtime, container, report, &waiting).await {
            // Replaces the last reason to wait; a node ready at once has nothing to replace.
            report("running the bootstrap data (kubeadm) in the node");
        }
        match run(runtime, container, &steps, options).await {
            Ok(_) => Ok(()),
            Err(BootstrapError::AlreadyStarted) => wait_for_first_run(runtime, container).await,
            Err(error) => Err(error),
        }
    };
    match tokio::time::timeout(job.timeout, attempt).await {
        Ok(outcome) => outcome,
        Err(_) => {
            let seconds = job.timeout.as_secs();
            let still_waiting = waiting.lock().unwrap_or_else(|p| p.into_inner()).take();
            Err(match still_waiting {
                Some(reason) => BootstrapError::NotReady {
                    container: container.to_owned(),
                    seconds,
                    reason,
                },
                None => BootstrapError::TimedOut { seconds },
            })
        }
    }
}

/// The node is ready for kubeadm when systemd has finished booting (`running`, or `degraded`
/// for a unit that failed on its own) and the container runtime answers the CRI (`crictl ps`),
/// as upstream checks. Images without containerd (test stand-ins) are ready at once, and images
/// without systemctl or crictl get the checks they can answer.
const READINESS_SCRIPT: &str = r#"command -v containerd >/dev/null 2>&1 || exit 0
if command -v systemctl >/dev/null 2>&1; then
  state="$(systemctl is-system-running 2>/dev/null)"
  case "$state" in
    running|degraded) ;;
    *) echo "systemd is ${state:-not answering} (systemctl is-system-running)"; exit 1 ;;
  esac
fi
if command -v crictl >/dev/null 2>&1; then
  out="$(crictl --runtime-endpoint unix:///run/containerd/containerd.sock ps -q 2>&1)" ||
    { echo "containerd does not answer yet (crictl ps: $(printf '%s' "$out" | tail -n 1))"; exit 1; }
elif ! test -S /run/containerd/containerd.sock; then
  echo "containerd has not created its socket /run/containerd/containerd.sock yet"; exit 1
fi"#;

/// Polls [`READINESS_SCRIPT`] until it passes, reporting each new reason to wait; `waiting`
/// holds the current one (the caller's timeout reads it) and is emptied once ready. True if it
/// reported anything.
async fn wait_until_ready<R: ContainerRuntime>(
    runtime: &R,
    container: &str,
    report: Report<'_>,
    waiting: &Mutex<Option<String>>,
) -> bool {
    let check = ExecRequest::new(["/bin/sh", "-c", READINESS_SCRIPT]);
    let mut last_reported = String::new();
    loop {
        let reason = match runtime.exec(container, &check).await {
            Ok(output) if output.success() => break,
            Ok(output) => {
                let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
                if said.is_empty() {
                    format!("the readiness check exited with {}", output.exit_code)
                } else {
                    said
                }
            }
            Err(error) => format!("cannot run the readiness check: {error}"),
        };
        let reason = format!("waiting for the node to boot: {}", truncate(&reason));
        if reason != last_reported {
            tracing::info!(container, %reason, "node not ready for kubeadm yet");
            report(&reason);
            last_reported.clone_from(&reason);
        }
        *waiting.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
        tokio::time::sleep(READY_POLL).await;
    }
    *waiting.lock().unwrap_or_else(|p| p.into_inner()) = None;
    !last_reported.is_empty()
}

fn truncate(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(MAX_REASON).collect()
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::fake::FakeRuntime;
    use crate::runtime::{ContainerInfo, ExecOutput};

    const DATA: &str = "#cloud-config\nruncmd:\n  - mkdir -p /run/cluster-api && echo ok > /run/cluster-api/bootstrap-success.complete\n";

    /// A node whose readiness check fails with `answers` in turn, then passes.
    fn booting_node(answers: &'static [&'static str]) -> (FakeRuntime, Arc<AtomicUsize>) {
        let checks = Arc::new(AtomicUsize::new(0));
        let counted = checks.clone();
        let runtime = FakeRuntime::new().with_exec_hook(move |_, request| {
            if request.argv.get(2).map(String::as_str) != Some(READINESS_SCRIPT) {
                return None;
            }
            let n = counted.fetch_add(1, Ordering::SeqCst);
            Some(match answers.get(n) {
                Some(answer) => ExecOutput {
                    exit_code: 1,
                    stdout: answer.as_bytes().to_vec(),
                    ..ExecOutput::default()
                },
                None => ExecOutput::default(),
            })
        });
        runtime.add_container(ContainerInfo {
            name: "node".into(),
            running: true,
            ..ContainerInfo::default()
        });
        (runtime, checks)
    }

    fn job(timeout: Duration) -> BootstrapJob {
        BootstrapJob {
            container: "node".into(),
            format: String::new(),
            timeout,
            cgroup_v1_host: false,
        }
    }

    /// Real time (tokio's paused clock is not enabled here): three polls, about 6 s.
    #[tokio::test]
    async fn a_slow_boot_is_waited_for_and_each_reason_reported_once() {
        let (runtime, checks) = booting_node(&[
            "systemd is starting (systemctl is-system-running)",
            "systemd is starting (systemctl is-system-running)",
            "containerd does not answer yet (crictl ps: connection refused)",
        ]);
        let reports = Arc::new(Mutex::new(Vec::new()));
        let heard = reports.clone();
        let report = move |reason: &str| heard.lock().unwrap().push(reason.to_owned());
        let slow = Duration::from_secs(60);
        let data = BootstrapData::new(DATA);
        run_job(&runtime, &job(slow), data, &RunOptions::default(), &report)
            .await
            .expect("bootstrapped once the node was ready");
        assert_eq!(checks.load(Ordering::SeqCst), 4);
        let reports = reports.lock().unwrap().clone();
        assert_eq!(
            reports,
            [
                "waiting for the node to boot: systemd is starting (systemctl is-system-running)",
                "waiting for the node to boot: containerd does not answer yet (crictl ps: connection refused)",
                "running the bootstrap data (kubeadm) in the node",
            ]
        );
    }

    #[tokio::test]
    async fn a_node_that_never_boots_fails_at_the_timeout_saying_what_it_waited_for() {
        static FOREVER: [&str; 100] = ["systemd is starting (systemctl is-system-running)"; 100];
        let (runtime, _) = booting_node(&FOREVER);
        let data = BootstrapData::new(DATA);
        let error = run_job(
            &runtime,
            &job(Duration::from_secs(3)),
            data,
            &RunOptions::default(),
            &|_| {},
        )
        .await
        .unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, BootstrapError::NotReady { seconds: 3, .. }),
            "{message}"
        );
        assert!(message.contains("systemd is starting"), "{message}");
        assert!(message.contains("spec.bootstrapTimeout"), "{message}");
    }
}
