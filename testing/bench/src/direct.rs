//! The same work as the provider does for one Machine, done directly: through the Docker layer
//! (the provider's own code without Kubernetes), and with the docker CLI issuing the same
//! requests in the same order.
//!
//! Both start from the node container's create request as the provider builds it
//! ([`node_spec`]) and the bootstrap steps it derives from the cloud-config
//! ([`bootstrap::convert`]), so the three ways differ only in who drives them.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use capdkc_docker::bootstrap::run::{MARK_SCRIPT_NAME, PROBE_SCRIPT_NAME, write_request};
use capdkc_docker::bootstrap::{self, RunOptions, STARTED_SENTINEL, SUCCESS_SENTINEL, Step};
use capdkc_docker::node::{NodeRequest, NodeSettings, ensure_node, node_spec};
use capdkc_docker::{BollardRuntime, BootstrapData, ContainerSpec, SecurityProfile};

/// The readiness check the provider runs before the bootstrap (checkpoint-05's
/// `controllers::bootstrap`): kind images start containerd first; the stand-in has none.
const READY_CHECK: &str =
    "if command -v containerd >/dev/null 2>&1; then test -S /run/containerd/containerd.sock; fi";
/// The provider's sentinel probe (`capdkc_docker::bootstrap::run::probe`).
const PROBE: &str =
    r#"if [ -e "$1" ]; then echo done; elif [ -e "$2" ]; then echo started; else echo fresh; fi"#;
/// The provider's started-sentinel script.
const MARK: &str = r#"mkdir -p /run/cluster-api && : > "$1""#;

/// One machine's work: its container and its bootstrap data.
#[derive(Clone)]
pub struct Work {
    pub settings: NodeSettings,
    pub request: NodeRequest,
    pub cloud_config: String,
}

/// Through the Docker layer, exactly as the provider's reconcile and bootstrap task call it.
pub async fn via_layer(runtime: &BollardRuntime, work: &Work) -> anyhow::Result<()> {
    let (_, container) = ensure_node(runtime, &work.settings, &work.request).await?;
    ensure!(container.running, "{} is not running", container.name);
    capdkc_docker::bootstrap::bootstrap_machine(
        runtime,
        &container.name,
        BootstrapData::new(work.cloud_config.as_bytes()),
        "cloud-config",
        &RunOptions::default(),
        Duration::from_secs(90),
    )
    .await?;
    Ok(())
}

/// With the docker CLI: inspect (absent), create, start, inspect, the readiness check, the
/// sentinel probe, every bootstrap step as one `docker exec` (file bodies on stdin), the probe.
pub fn via_cli(work: &Work) -> anyhow::Result<()> {
    let spec = node_spec(&work.settings, &work.request)?;
    let name = spec.name.clone();
    let absent = Command::new("docker")
        .args(["inspect", "--type", "container", &name])
        .output()
        .context("running docker")?;
    ensure!(!absent.status.success(), "{name} exists already");
    docker(&create_args(&spec), None)?;
    docker(&["start".to_owned(), name.clone()], None)?;
    docker(&["inspect".to_owned(), name.clone()], None)?;
    exec(&name, &["/bin/sh", "-c", READY_CHECK], None)?;
    ensure!(probe(&name)? == "fresh", "{name} was bootstrapped before");
    let data = BootstrapData::new(work.cloud_config.as_bytes());
    for step in bootstrap::convert(&data, "cloud-config")? {
        match &step {
            Step::WriteFile { .. } => {
                let request = write_request(&step).context("a file write")?;
                let argv: Vec<&str> = request.argv.iter().map(String::as_str).collect();
                exec(
                    &name,
                    &argv,
                    request.stdin.as_ref().map(|body| body.expose()),
                )?;
            }
            Step::MarkStarted => {
                exec(
                    &name,
                    &["/bin/sh", "-c", MARK, MARK_SCRIPT_NAME, STARTED_SENTINEL],
                    None,
                )?;
            }
            Step::Run { argv, .. } => {
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                exec(&name, &argv, None)?;
            }
        }
    }
    ensure!(
        probe(&name)? == "done",
        "{name}: the bootstrap did not complete"
    );
    Ok(())
}

fn probe(name: &str) -> anyhow::Result<String> {
    exec(
        name,
        &[
            "/bin/sh",
            "-c",
            PROBE,
            PROBE_SCRIPT_NAME,
            SUCCESS_SENTINEL,
            STARTED_SENTINEL,
        ],
        None,
    )
}

/// `docker create` with the same options the layer sends to the Engine API.
fn create_args(spec: &ContainerSpec) -> Vec<String> {
    let mut args = vec!["create".to_owned(), "--name".to_owned(), spec.name.clone()];
    let mut args_privileged = false;
    let mut flag = |name: &str, value: &str| {
        args.push(format!("--{name}"));
        args.push(value.to_owned());
    };
    if let Some(hostname) = &spec.hostname {
        flag("hostname", hostname);
    }
    for (key, value) in &spec.labels {
        flag("label", &format!("{key}={value}"));
    }
    for env in &spec.env {
        flag("env", env);
    }
    match spec.security {
        Some(SecurityProfile::Privileged) => args_privileged = true,
        Some(SecurityProfile::Capabilities) => {
            flag("cap-add", "ALL");
            flag("cap-drop", "SYS_RESOURCE");
        }
        None => {}
    }
    for option in &spec.security_opt {
        flag("security-opt", option);
    }
    if spec.cgroupns_private {
        flag("cgroupns", "private");
    }
    for (path, options) in &spec.tmpfs {
        let mount = if options.is_empty() {
            path.clone()
        } else {
            format!("{path}:{options}")
        };
        flag("tmpfs", &mount);
    }
    for volume in spec.volumes.iter().chain(&spec.binds) {
        flag("volume", volume);
    }
    for port in &spec.ports {
        let host_port = port.host_port.map(|p| p.to_string()).unwrap_or_default();
        flag(
            "publish",
            &format!("{}:{host_port}:{}", port.host_ip, port.container_port),
        );
    }
    if let Some(policy) = &spec.restart_policy {
        flag("restart", policy);
    }
    if let Some(network) = &spec.network {
        flag("network", network);
    }
    if args_privileged {
        args.push("--privileged".to_owned());
    }
    args.push("--init=false".to_owned());
    args.push(spec.image.clone());
    args.extend(spec.cmd.iter().cloned());
    args
}

fn exec(container: &str, argv: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<String> {
    let mut args = vec!["exec".to_owned()];
    if stdin.is_some() {
        args.push("-i".to_owned());
    }
    args.push(container.to_owned());
    args.extend(argv.iter().map(|arg| (*arg).to_owned()));
    docker(&args, stdin)
}

fn docker(args: &[String], stdin: Option<&[u8]>) -> anyhow::Result<String> {
    let mut child = Command::new("docker")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running docker")?;
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().context("docker's stdin")?;
        pipe.write_all(bytes)?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "docker {}: {}",
            args.first().map(String::as_str).unwrap_or_default(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
