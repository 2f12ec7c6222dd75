//! The container runtime seam: one small trait over the Docker Engine API, its value types and
//! its typed errors. Controllers depend on this trait only, so unit tests can swap in
//! `fake::FakeRuntime` (feature `test-util`) and integration tests the real [`crate::BollardRuntime`].

use std::collections::BTreeMap;
use std::future::Future;

use futures::stream::BoxStream;

use crate::secret::Sensitive;

// ANCHOR: errors
/// Why a runtime call failed, sorted into the cases a reconciler treats differently.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The container, exec or network does not exist (HTTP 404). On delete this means "done".
    #[error("not found: {0}")]
    NotFound(String),
    /// The name is already taken (HTTP 409). Re-inspect and adopt only a container whose
    /// identity labels match ours.
    #[error("conflict: {0}")]
    Conflict(String),
    /// No daemon answered (socket missing, connection refused, timeout): back off and retry.
    #[error("docker daemon unreachable: {0}")]
    Unreachable(String),
    /// Anything else the daemon or the transport reported.
    #[error("docker error: {0}")]
    Other(String),
}
// ANCHOR_END: errors

/// Result alias of every runtime call.
pub type RuntimeResult<T> = Result<T, RuntimeError>;

/// How much privilege a node container gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SecurityProfile {
    /// `--privileged`: what kind node images need to run systemd, containerd and kubelet.
    /// The manager's default.
    #[default]
    Privileged,
    /// `--cap-add ALL --cap-drop SYS_RESOURCE`, plus what `--privileged` gives besides
    /// capabilities and a node needs: every device (`--device-cgroup-rule 'a *:* rwm'`) and an
    /// unmasked `/proc` and `/sys` (what the CLI's `--security-opt systempaths=unconfined` asks for). For hosts where
    /// privileged containers cannot start (sandboxes without `CAP_SYS_RESOURCE`, such as our
    /// build machines).
    Capabilities,
}

/// A published port: container port (`6443/tcp`) to a host address with a host port chosen by
/// Docker when `host_port` is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortPublish {
    /// Container side, such as `6443/tcp`.
    pub container_port: String,
    /// Host address to bind; always loopback in this project.
    pub host_ip: String,
    /// Fixed host port, or `None` for a random one.
    pub host_port: Option<u16>,
}

/// Everything needed to create one container. Built by [`crate::node`] and
/// [`crate::loadbalancer`]; translated 1:1 into a Docker create request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Container name (unique per Docker host).
    pub name: String,
    /// Image reference, ideally pinned by digest.
    pub image: String,
    /// Hostname inside the container.
    pub hostname: Option<String>,
    /// Docker labels, including the identity labels.
    pub labels: BTreeMap<String, String>,
    /// `KEY=value` environment entries (never secrets).
    pub env: Vec<String>,
    /// Command override; empty keeps the image's CMD.
    pub cmd: Vec<String>,
    /// Privileged or capability set; `None` = Docker's default confinement (load balancer).
    pub security: Option<SecurityProfile>,
    /// `--security-opt` entries such as `seccomp=unconfined`.
    pub security_opt: Vec<String>,
    /// `--cgroupns=private` when true.
    pub cgroupns_private: bool,
    /// tmpfs mounts: path to mount options.
    pub tmpfs: BTreeMap<String, String>,
    /// Anonymous volumes (container paths).
    pub volumes: Vec<String>,
    /// Bind mounts in `host:container[:opts]` form.
    pub binds: Vec<String>,
    /// Published ports.
    pub ports: Vec<PortPublish>,
    /// Restart policy name (`unless-stopped`), or `None` for Docker's `no`.
    pub restart_policy: Option<String>,
    /// User-defined network to attach to.
    pub network: Option<String>,
    /// Allocate a pseudo-TTY (`--tty`): systemd then writes its boot messages to it, and
    /// `docker logs` shows them.
    pub tty: bool,
    /// `--stop-signal`, or `None` for the image's.
    pub stop_signal: Option<String>,
    /// Host devices passed through (`--device /dev/fuse`).
    pub devices: Vec<String>,
    /// `--userns=host`: opt out of the daemon's user-namespace remapping.
    pub userns_host: bool,
}

/// What we read back about a container (from inspect or list).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Full container ID.
    pub id: String,
    /// Name without Docker's leading `/`.
    pub name: String,
    /// Image reference it was created from.
    pub image: String,
    /// All labels.
    pub labels: BTreeMap<String, String>,
    /// Whether the main process runs.
    pub running: bool,
    /// Docker's state word (`created`, `running`, `exited`, ...).
    pub state: String,
    /// Network name to IPv4 address (empty string while not running).
    pub networks: BTreeMap<String, String>,
    /// Container port (`6443/tcp`) to the host port Docker chose.
    pub published_ports: BTreeMap<String, u16>,
}

impl ContainerInfo {
    /// IPv4 address on `network`, if attached and running.
    pub fn ip_on(&self, network: &str) -> Option<&str> {
        self.networks
            .get(network)
            .map(String::as_str)
            .filter(|ip| !ip.is_empty())
    }
}

/// One command to run inside a container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecRequest {
    /// Program and arguments. Never put file contents or secrets here: argv is visible in
    /// `docker inspect` and process listings.
    pub argv: Vec<String>,
    /// Bytes written to the process's stdin, then closed. The only channel for file bodies.
    pub stdin: Option<Sensitive>,
}

impl ExecRequest {
    /// A command without stdin.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            stdin: None,
        }
    }

    /// The same command fed `stdin`.
    pub fn with_stdin(mut self, stdin: Sensitive) -> Self {
        self.stdin = Some(stdin);
        self
    }
}

/// The outcome of an exec: exit code plus everything the process printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit status (`-1` if Docker did not report one).
    pub exit_code: i64,
    /// Captured stdout.
    pub stdout: Vec<u8>,
    /// Captured stderr.
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// True for exit code 0.
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }
}

/// A single file delivered by archive upload (mode and owner travel in the tar header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileUpload {
    /// Absolute destination path; its directory must exist.
    pub path: String,
    /// Permission bits such as `0o644`.
    pub mode: u32,
    /// Numeric owner.
    pub uid: u64,
    /// Numeric group.
    pub gid: u64,
    /// File body.
    pub contents: Sensitive,
}

/// What the engine says happened to a container: it stopped running (`die`) or was removed
/// (`destroy`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerEvent {
    /// `die` or `destroy`, as Docker names the action.
    pub action: String,
    /// The container's name.
    pub name: String,
    /// The container's labels, with Docker's own attributes (`name`, `image`, `exitCode`).
    pub attributes: BTreeMap<String, String>,
}

/// The container actions the provider listens for: anything that leaves a container not
/// running. (`stop` and `kill` come with a `die`; `exec_die` is a command in it ending.)
pub const STOPPED_ACTIONS: [&str; 2] = ["die", "destroy"];

// ANCHOR: trait
/// The Docker operations the provider needs, and nothing more.
///
/// Every method is one Engine API round trip (exec is three), so the recording fake can
/// assert calls in order. Futures are `Send` so reconcilers can spawn them.
pub trait ContainerRuntime: Send + Sync {
    /// Create (not start) a container. A taken name yields [`RuntimeError::Conflict`].
    fn create(&self, spec: &ContainerSpec) -> impl Future<Output = RuntimeResult<String>> + Send;
    /// Start a created or stopped container; starting a running one is a no-op.
    fn start(&self, name: &str) -> impl Future<Output = RuntimeResult<()>> + Send;
    /// Inspect one container by name or ID.
    fn inspect(&self, name: &str) -> impl Future<Output = RuntimeResult<ContainerInfo>> + Send;
    /// All containers (running or not) carrying every `key=value` label given.
    fn list_by_labels(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = RuntimeResult<Vec<ContainerInfo>>> + Send;
    /// Run a command, feed stdin, wait, return exit code and output.
    fn exec(
        &self,
        name: &str,
        req: &ExecRequest,
    ) -> impl Future<Output = RuntimeResult<ExecOutput>> + Send;
    /// Copy one file in through an in-memory tar archive.
    fn copy_file_in(
        &self,
        name: &str,
        file: &FileUpload,
    ) -> impl Future<Output = RuntimeResult<()>> + Send;
    /// Read one file out through the archive API (works in images without a shell).
    fn read_file(
        &self,
        name: &str,
        path: &str,
    ) -> impl Future<Output = RuntimeResult<Vec<u8>>> + Send;
    /// Send a signal (`SIGHUP`) to the container's main process.
    fn signal(&self, name: &str, signal: &str) -> impl Future<Output = RuntimeResult<()>> + Send;
    /// Force-remove a container and its anonymous volumes. Missing is success.
    fn remove(&self, name: &str) -> impl Future<Output = RuntimeResult<()>> + Send;
    /// Create a bridge network with these labels unless one with the name exists.
    fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = RuntimeResult<()>> + Send;
    /// Remove a network. Missing is success.
    fn remove_network(&self, name: &str) -> impl Future<Output = RuntimeResult<()>> + Send;
    /// From now on, the [`STOPPED_ACTIONS`] of containers matching every label filter given
    /// (`key` or `key=value`, as `docker events --filter label=...`). The stream ends, or yields
    /// an error and ends, when the connection to the engine does: see
    /// [`crate::Docker::container_events`] for one that outlives a daemon restart.
    fn container_events(
        &self,
        label_filters: &[String],
    ) -> BoxStream<'static, RuntimeResult<ContainerEvent>>;
}
// ANCHOR_END: trait
