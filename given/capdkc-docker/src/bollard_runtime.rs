//! The real [`ContainerRuntime`]: Docker Engine API calls through bollard 0.21.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::StartExecResults;
use bollard::models::EventMessage;
use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointSettings, ExecConfig, HostConfig,
    HostConfigCgroupnsModeEnum, NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, DownloadFromContainerOptionsBuilder,
    EventsOptionsBuilder, InspectNetworkOptions, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;

use crate::host::DockerHost;
use crate::runtime::{
    ContainerEvent, ContainerInfo, ContainerRuntime, ContainerSpec, ExecOutput, ExecRequest,
    FileUpload, RuntimeError, RuntimeResult, STOPPED_ACTIONS, SecurityProfile,
};

/// bollard-backed runtime. Cheap to clone (bollard's client is reference-counted).
#[derive(Clone, Debug)]
pub struct BollardRuntime {
    docker: Docker,
}

// ANCHOR: connect
impl BollardRuntime {
    /// Connect as the Docker CLI would (`DOCKER_HOST`, else the local socket) and negotiate
    /// the API version: bollard speaks 1.53 by default, and a Docker 20.10 engine (API 1.41)
    /// rejects every request from a client that is "too new" unless we step down first.
    pub async fn connect() -> RuntimeResult<Self> {
        let host = std::env::var("DOCKER_HOST").ok();
        let tls = std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty());
        refuse_plain_tcp(host.as_deref(), tls)?;
        let docker = Docker::connect_with_defaults().map_err(map_err)?;
        Self::from_docker(docker).await
    }

    /// Wrap an existing client, negotiating its version (this is also the liveness probe:
    /// it fails with [`RuntimeError::Unreachable`] when no daemon answers).
    pub async fn from_docker(docker: Docker) -> RuntimeResult<Self> {
        let docker = docker.negotiate_version().await.map_err(map_err)?;
        Ok(Self { docker })
    }
}
// ANCHOR_END: connect

/// What the provider reads about the daemon and its networks, beyond [`ContainerRuntime`].
impl BollardRuntime {
    /// The host facts node containers adapt to (`docker info`).
    pub async fn host(&self) -> RuntimeResult<DockerHost> {
        let info = self.docker.info().await.map_err(map_err)?;
        Ok(DockerHost::from_info(&info))
    }

    /// The subnets of a network (`docker network inspect`), for `NO_PROXY`.
    pub async fn network_subnets(&self, name: &str) -> RuntimeResult<Vec<String>> {
        let network = self
            .docker
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await
            .map_err(map_err)?;
        let configs = network
            .ipam
            .and_then(|ipam| ipam.config)
            .unwrap_or_default();
        Ok(configs
            .into_iter()
            .filter_map(|config| config.subnet)
            .collect())
    }
}

/// Access to the Docker API is root on the Docker host: never over an unencrypted,
/// unauthenticated TCP connection (`DOCKER_HOST=tcp://...` without `DOCKER_TLS_VERIFY`).
fn refuse_plain_tcp(docker_host: Option<&str>, tls_verify: bool) -> RuntimeResult<()> {
    match docker_host {
        Some(host)
            if (host.starts_with("tcp://") || host.starts_with("http://")) && !tls_verify =>
        {
            Err(RuntimeError::Other(format!(
                "refusing DOCKER_HOST={host}: plain TCP gives anyone on the network root on the \
                 Docker host; use the Unix socket, or TLS (DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH)"
            )))
        }
        _ => Ok(()),
    }
}

impl BollardRuntime {
    async fn create_from_local_image(&self, spec: &ContainerSpec) -> RuntimeResult<String> {
        let options = CreateContainerOptionsBuilder::new()
            .name(&spec.name)
            .build();
        let created = self
            .docker
            .create_container(Some(options), create_body(spec))
            .await
            .map_err(map_err)?;
        Ok(created.id)
    }

    /// Pulls `image` (a full reference, tag and/or digest), as `docker run` would first.
    async fn pull(&self, image: &str) -> RuntimeResult<()> {
        tracing::info!(image, "pulling image");
        let options = CreateImageOptionsBuilder::default()
            .from_image(image)
            .build();
        self.docker
            .create_image(Some(options), None, None)
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| RuntimeError::Other(format!("pulling image {image}: {e}")))?;
        Ok(())
    }

    /// The underlying client, for calls outside the trait (tests, benchmarks).
    pub fn docker(&self) -> &Docker {
        &self.docker
    }
}

// ANCHOR: map_err
/// Sort bollard's many error variants into the four cases reconcilers act on.
fn map_err(err: bollard::errors::Error) -> RuntimeError {
    use bollard::errors::Error as E;
    match err {
        E::DockerResponseServerError {
            status_code: 404,
            message,
        } => RuntimeError::NotFound(message),
        E::DockerResponseServerError {
            status_code: 409,
            message,
        } => RuntimeError::Conflict(message),
        E::SocketNotFoundError(_)
        | E::IOError { .. }
        | E::HyperResponseError { .. }
        | E::HttpClientError { .. }
        | E::RequestTimeoutError => RuntimeError::Unreachable(err.to_string()),
        other => RuntimeError::Other(other.to_string()),
    }
}
// ANCHOR_END: map_err

/// Translate our spec into the Engine API's create body.
fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let (privileged, cap_add, cap_drop) = match spec.security {
        Some(SecurityProfile::Privileged) => (Some(true), None, None),
        Some(SecurityProfile::Capabilities) => (
            None,
            Some(vec!["ALL".to_owned()]),
            Some(vec!["SYS_RESOURCE".to_owned()]),
        ),
        None => (None, None, None),
    };
    let mut device_cgroup_rules = Vec::new();
    let mut unmasked = None;
    if spec.security == Some(SecurityProfile::Capabilities) {
        // What --privileged gives besides capabilities: the node creates device nodes
        // (/dev/kmsg) and containerd's pods use devices; systemd and the kubelet write to
        // /proc and /sys paths Docker masks otherwise. The CLI's `--security-opt
        // systempaths=unconfined` is no option of the API: it sends empty path lists.
        device_cgroup_rules.push("a *:* rwm".to_owned());
        unmasked = Some(Vec::new());
    }
    let devices: Vec<DeviceMapping> = spec
        .devices
        .iter()
        .map(|path| DeviceMapping {
            path_on_host: Some(path.clone()),
            path_in_container: Some(path.clone()),
            cgroup_permissions: Some("rwm".to_owned()),
        })
        .collect();
    let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = spec
        .ports
        .iter()
        .map(|p| {
            let binding = PortBinding {
                host_ip: Some(p.host_ip.clone()),
                host_port: Some(p.host_port.map(|port| port.to_string()).unwrap_or_default()),
            };
            (p.container_port.clone(), Some(vec![binding]))
        })
        .collect();
    let host_config = HostConfig {
        privileged,
        cap_add,
        cap_drop,
        security_opt: non_empty(spec.security_opt.clone()),
        masked_paths: unmasked.clone(),
        readonly_paths: unmasked,
        device_cgroup_rules: non_empty(device_cgroup_rules),
        devices: (!devices.is_empty()).then_some(devices),
        userns_mode: spec.userns_host.then(|| "host".to_owned()),
        cgroupns_mode: spec
            .cgroupns_private
            .then_some(HostConfigCgroupnsModeEnum::PRIVATE),
        // kind node images bring their own init (systemd); an extra tini would be PID 1.
        init: Some(false),
        tmpfs: (!spec.tmpfs.is_empty())
            .then(|| spec.tmpfs.clone().into_iter().collect::<HashMap<_, _>>()),
        binds: non_empty(spec.binds.clone()),
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        restart_policy: spec.restart_policy.as_deref().map(|name| RestartPolicy {
            name: Some(match name {
                "always" => RestartPolicyNameEnum::ALWAYS,
                "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
                "no" => RestartPolicyNameEnum::NO,
                _ => RestartPolicyNameEnum::UNLESS_STOPPED,
            }),
            maximum_retry_count: None,
        }),
        network_mode: spec.network.clone(),
        ..Default::default()
    };
    let networking_config = spec.network.as_ref().map(|net| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(net.clone(), EndpointSettings::default())])),
    });
    ContainerCreateBody {
        hostname: spec.hostname.clone(),
        tty: spec.tty.then_some(true),
        stop_signal: spec.stop_signal.clone(),
        image: Some(spec.image.clone()),
        labels: Some(spec.labels.clone().into_iter().collect()),
        env: non_empty(spec.env.clone()),
        cmd: non_empty(spec.cmd.clone()),
        exposed_ports: non_empty(
            spec.ports
                .iter()
                .map(|p| p.container_port.clone())
                .collect(),
        ),
        volumes: non_empty(spec.volumes.clone()),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    }
}

fn non_empty(v: Vec<String>) -> Option<Vec<String>> {
    (!v.is_empty()).then_some(v)
}

fn tar_of_one_file(file: &FileUpload, name: &str) -> RuntimeResult<Vec<u8>> {
    let mut header = tar::Header::new_gnu();
    header.set_size(file.contents.len() as u64);
    header.set_mode(file.mode);
    header.set_uid(file.uid);
    header.set_gid(file.gid);
    header.set_entry_type(tar::EntryType::Regular);
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_data(&mut header, name, file.contents.expose())
        .map_err(|e| RuntimeError::Other(format!("building tar: {e}")))?;
    builder
        .into_inner()
        .map_err(|e| RuntimeError::Other(format!("building tar: {e}")))
}

fn split_path(path: &str) -> RuntimeResult<(&str, &str)> {
    match path.rsplit_once('/') {
        Some((dir, name)) if path.starts_with('/') && !name.is_empty() => {
            Ok((if dir.is_empty() { "/" } else { dir }, name))
        }
        _ => Err(RuntimeError::Other(format!(
            "not an absolute file path: {path}"
        ))),
    }
}

impl ContainerRuntime for BollardRuntime {
    async fn create(&self, spec: &ContainerSpec) -> RuntimeResult<String> {
        match self.create_from_local_image(spec).await {
            // Docker's create endpoint does not pull (the CLI pulls before calling it).
            Err(RuntimeError::NotFound(message)) if message.contains("No such image") => {
                self.pull(&spec.image).await?;
                self.create_from_local_image(spec).await
            }
            result => result,
        }
    }

    async fn start(&self, name: &str) -> RuntimeResult<()> {
        self.docker
            .start_container(name, None)
            .await
            .map_err(map_err)
    }

    async fn inspect(&self, name: &str) -> RuntimeResult<ContainerInfo> {
        let c = self
            .docker
            .inspect_container(name, None)
            .await
            .map_err(map_err)?;
        let state = c.state.unwrap_or_default();
        let config = c.config.unwrap_or_default();
        let net = c.network_settings.unwrap_or_default();
        let networks = net
            .networks
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.ip_address.unwrap_or_default()))
            .collect();
        let published_ports = net
            .ports
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(port, bindings)| {
                let host_port = bindings?
                    .into_iter()
                    .find_map(|b| b.host_port.and_then(|p| p.parse::<u16>().ok()))?;
                Some((port, host_port))
            })
            .collect();
        Ok(ContainerInfo {
            id: c.id.unwrap_or_default(),
            name: c
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_owned(),
            image: config.image.unwrap_or_default(),
            labels: config.labels.unwrap_or_default().into_iter().collect(),
            running: state.running.unwrap_or(false),
            state: state.status.map(|s| s.to_string()).unwrap_or_default(),
            networks,
            published_ports,
        })
    }

    async fn list_by_labels(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> RuntimeResult<Vec<ContainerInfo>> {
        let filters = HashMap::from([(
            "label".to_owned(),
            labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>(),
        )]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(map_err)?;
        Ok(list
            .into_iter()
            .map(|c| {
                let state = c.state.map(|s| s.to_string()).unwrap_or_default();
                ContainerInfo {
                    id: c.id.unwrap_or_default(),
                    name: c
                        .names
                        .unwrap_or_default()
                        .first()
                        .map(|n| n.trim_start_matches('/').to_owned())
                        .unwrap_or_default(),
                    image: c.image.unwrap_or_default(),
                    labels: c.labels.unwrap_or_default().into_iter().collect(),
                    running: state == "running",
                    state,
                    networks: c
                        .network_settings
                        .and_then(|n| n.networks)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, v.ip_address.unwrap_or_default()))
                        .collect(),
                    published_ports: c
                        .ports
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|p| {
                            let proto = p.typ.map(|t| t.to_string()).unwrap_or_default();
                            Some((format!("{}/{proto}", p.private_port), p.public_port?))
                        })
                        .collect(),
                }
            })
            .collect())
    }

    // ANCHOR: exec
    async fn exec(&self, name: &str, req: &ExecRequest) -> RuntimeResult<ExecOutput> {
        let config = ExecConfig {
            attach_stdin: Some(req.stdin.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(req.argv.clone()),
            ..Default::default()
        };
        let exec = self
            .docker
            .create_exec(name, config)
            .await
            .map_err(map_err)?;
        let started = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .map_err(map_err)?;
        let mut out = ExecOutput::default();
        if let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        {
            // Feed stdin and drain output concurrently: a process that fills its stdout pipe
            // before reading all of stdin would otherwise deadlock us.
            let feed = async {
                if let Some(stdin) = &req.stdin {
                    input.write_all(stdin.expose()).await?;
                }
                // Closing our side delivers EOF, so `cat > file` finishes.
                input.shutdown().await
            };
            let drain = async {
                while let Some(chunk) = output.next().await {
                    match chunk.map_err(map_err)? {
                        LogOutput::StdOut { message } | LogOutput::Console { message } => {
                            out.stdout.extend_from_slice(&message)
                        }
                        LogOutput::StdErr { message } => out.stderr.extend_from_slice(&message),
                        LogOutput::StdIn { .. } => {}
                    }
                }
                Ok::<(), RuntimeError>(())
            };
            let (fed, drained) = tokio::join!(feed, drain);
            drained?;
            fed.map_err(|e| RuntimeError::Other(format!("writing exec stdin: {e}")))?;
        }
        // The exit code is only final once the output stream has ended (drained above).
        let inspected = self.docker.inspect_exec(&exec.id).await.map_err(map_err)?;
        out.exit_code = inspected.exit_code.unwrap_or(-1);
        Ok(out)
    }
    // ANCHOR_END: exec

    async fn copy_file_in(&self, name: &str, file: &FileUpload) -> RuntimeResult<()> {
        let (dir, file_name) = split_path(&file.path)?;
        let archive = tar_of_one_file(file, file_name)?;
        let options = UploadToContainerOptionsBuilder::new().path(dir).build();
        self.docker
            .upload_to_container(name, Some(options), bollard::body_full(archive.into()))
            .await
            .map_err(map_err)
    }

    async fn read_file(&self, name: &str, path: &str) -> RuntimeResult<Vec<u8>> {
        let options = DownloadFromContainerOptionsBuilder::new()
            .path(path)
            .build();
        let chunks: Vec<bytes::Bytes> = self
            .docker
            .download_from_container(name, Some(options))
            .try_collect()
            .await
            .map_err(map_err)?;
        let archive: Vec<u8> = chunks.concat();
        let mut reader = tar::Archive::new(archive.as_slice());
        let entries = reader
            .entries()
            .map_err(|e| RuntimeError::Other(format!("reading tar: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| RuntimeError::Other(format!("reading tar: {e}")))?;
            if entry.header().entry_type().is_file() {
                let mut body = Vec::new();
                entry
                    .read_to_end(&mut body)
                    .map_err(|e| RuntimeError::Other(format!("reading tar: {e}")))?;
                return Ok(body);
            }
        }
        Err(RuntimeError::NotFound(format!(
            "{path} is not a regular file"
        )))
    }

    async fn signal(&self, name: &str, signal: &str) -> RuntimeResult<()> {
        let options = KillContainerOptionsBuilder::new().signal(signal).build();
        self.docker
            .kill_container(name, Some(options))
            .await
            .map_err(map_err)
    }

    async fn remove(&self, name: &str) -> RuntimeResult<()> {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(name, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) => match map_err(e) {
                RuntimeError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn ensure_network(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> RuntimeResult<()> {
        match self.docker.inspect_network(name, None).await {
            Ok(_) => return Ok(()),
            Err(e) => match map_err(e) {
                RuntimeError::NotFound(_) => {}
                other => return Err(other),
            },
        }
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".to_owned()),
            labels: Some(labels.clone().into_iter().collect()),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(()),
            Err(e) => match map_err(e) {
                // Someone created it between our inspect and create: fine.
                RuntimeError::Conflict(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn remove_network(&self, name: &str) -> RuntimeResult<()> {
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) => match map_err(e) {
                RuntimeError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    fn container_events(
        &self,
        label_filters: &[String],
    ) -> BoxStream<'static, RuntimeResult<ContainerEvent>> {
        let docker = self.docker.clone();
        let filters = HashMap::from([
            ("type".to_owned(), vec!["container".to_owned()]),
            (
                "event".to_owned(),
                STOPPED_ACTIONS.iter().map(|a| (*a).to_owned()).collect(),
            ),
            ("label".to_owned(), label_filters.to_vec()),
        ]);
        let options = EventsOptionsBuilder::new().filters(&filters).build();
        Box::pin(async_stream::stream! {
            let mut events = docker.events(Some(options));
            while let Some(event) = events.next().await {
                match event {
                    Ok(message) => {
                        if let Some(event) = container_event(message) {
                            yield Ok(event);
                        }
                    }
                    Err(error) => {
                        yield Err(map_err(error));
                        break;
                    }
                }
            }
        })
    }
}

/// A container event of Docker's stream, if the message is one (with an action and a name).
fn container_event(message: EventMessage) -> Option<ContainerEvent> {
    let action = message.action?;
    let attributes: BTreeMap<String, String> = message
        .actor
        .and_then(|actor| actor.attributes)
        .unwrap_or_default()
        .into_iter()
        .collect();
    let name = attributes.get("name")?.clone();
    Some(ContainerEvent {
        action,
        name,
        attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_tcp_docker_hosts_are_refused() {
        assert!(refuse_plain_tcp(None, false).is_ok());
        assert!(refuse_plain_tcp(Some("unix:///var/run/docker.sock"), false).is_ok());
        assert!(refuse_plain_tcp(Some("tcp://10.0.0.5:2376"), true).is_ok());
        let refused = refuse_plain_tcp(Some("tcp://10.0.0.5:2375"), false);
        assert!(
            matches!(&refused, Err(RuntimeError::Other(m)) if m.contains("DOCKER_TLS_VERIFY")),
            "{refused:?}"
        );
    }
    use crate::runtime::PortPublish;

    #[test]
    fn errors_are_sorted_by_status_code() {
        let e = |status_code| bollard::errors::Error::DockerResponseServerError {
            status_code,
            message: "m".into(),
        };
        assert!(matches!(map_err(e(404)), RuntimeError::NotFound(_)));
        assert!(matches!(map_err(e(409)), RuntimeError::Conflict(_)));
        assert!(matches!(map_err(e(500)), RuntimeError::Other(_)));
        let gone = bollard::errors::Error::SocketNotFoundError("/var/run/docker.sock".into());
        assert!(matches!(map_err(gone), RuntimeError::Unreachable(_)));
    }

    #[test]
    fn capability_profile_never_sets_privileged() {
        let spec = ContainerSpec {
            name: "n".into(),
            image: "i".into(),
            security: Some(SecurityProfile::Capabilities),
            ports: vec![PortPublish {
                container_port: "6443/tcp".into(),
                host_ip: "127.0.0.1".into(),
                host_port: None,
            }],
            ..Default::default()
        };
        let body = create_body(&spec);
        let hc = body.host_config.unwrap_or_default();
        assert_eq!(hc.privileged, None);
        assert_eq!(hc.cap_add, Some(vec!["ALL".to_owned()]));
        assert_eq!(hc.cap_drop, Some(vec!["SYS_RESOURCE".to_owned()]));
        // What --privileged would have given a node besides capabilities.
        assert_eq!(hc.device_cgroup_rules, Some(vec!["a *:* rwm".to_owned()]));
        assert_eq!(hc.masked_paths, Some(Vec::new()), "systempaths=unconfined");
        assert_eq!(
            hc.readonly_paths,
            Some(Vec::new()),
            "systempaths=unconfined"
        );
        let bindings = hc.port_bindings.unwrap_or_default();
        let b = &bindings["6443/tcp"].as_ref().unwrap()[0];
        assert_eq!(b.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(b.host_port.as_deref(), Some(""));
    }

    #[test]
    fn privileged_nodes_need_no_extra_rules_and_node_settings_reach_docker() {
        let spec = ContainerSpec {
            security: Some(SecurityProfile::Privileged),
            tty: true,
            stop_signal: Some("SIGRTMIN+3".into()),
            devices: vec!["/dev/fuse".into()],
            userns_host: true,
            ..Default::default()
        };
        let body = create_body(&spec);
        assert_eq!(body.tty, Some(true));
        assert_eq!(body.stop_signal.as_deref(), Some("SIGRTMIN+3"));
        let hc = body.host_config.unwrap_or_default();
        assert_eq!(hc.privileged, Some(true));
        assert_eq!(hc.device_cgroup_rules, None);
        assert_eq!(hc.masked_paths, None, "privileged unmasks by itself");
        assert_eq!(hc.userns_mode.as_deref(), Some("host"));
        let device = &hc.devices.unwrap_or_default()[0];
        assert_eq!(device.path_on_host.as_deref(), Some("/dev/fuse"));
        assert_eq!(device.path_in_container.as_deref(), Some("/dev/fuse"));
        let load_balancer = create_body(&ContainerSpec::default());
        assert_eq!(load_balancer.tty, None);
        assert_eq!(
            load_balancer.host_config.unwrap_or_default().userns_mode,
            None
        );
    }

    #[test]
    fn paths_split_into_dir_and_name() {
        assert_eq!(split_path("/run/x.yaml").unwrap(), ("/run", "x.yaml"));
        assert_eq!(split_path("/x").unwrap(), ("/", "x"));
        assert!(split_path("rel/x").is_err());
        assert!(split_path("/dir/").is_err());
    }
}
