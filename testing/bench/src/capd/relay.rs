//! A Docker API relay on a Unix socket that passes every request through unchanged but one kind:
//! a container create whose labels mark a Cluster API load balancer
//! (`io.x-k8s.kind.role=external-load-balancer`) has `HostConfig.Privileged` turned off.
//!
//! Why: CAPD's container runtime starts every container privileged, its load balancer included,
//! and this build host's Docker refuses privileged containers (the engine lacks
//! `CAP_SYS_RESOURCE`). A load balancer needs no privileges (kind starts the same image without
//! them), so with this relay in front CAPD can provision DockerClusters here while its node
//! containers stay privileged and keep failing, exactly as without the relay. Our own provider
//! runs under the same kind of concession in the bench (`SecurityProfile::Capabilities`).
//!
//! HTTP/1.1 is parsed on the way in only as far as needed to find request boundaries (headers,
//! `Content-Length` or chunked bodies); after a request asking for a protocol upgrade (attach,
//! exec with stdin) the connection is copied raw in both directions. Responses are never parsed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

/// The label CAPD (like kind) puts on its load balancer container, and the value.
const ROLE_LABEL: &str = "io.x-k8s.kind.role";
const LOAD_BALANCER_ROLE: &str = "external-load-balancer";
/// Request heads larger than this are refused (Docker's are a few hundred bytes).
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// A running relay; stops accepting when dropped.
pub struct Relay {
    socket: PathBuf,
    rewritten: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
}

impl Relay {
    /// Listens on `socket` and forwards every connection to the Docker socket `upstream`.
    pub fn start(socket: &Path, upstream: PathBuf) -> anyhow::Result<Self> {
        let listener = UnixListener::bind(socket)
            .with_context(|| format!("cannot listen on {}", socket.display()))?;
        let rewritten = Arc::new(AtomicUsize::new(0));
        let counter = rewritten.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    if let Err(error) = relay_connection(client, &upstream, &counter).await {
                        tracing::debug!(%error, "docker relay connection ended");
                    }
                });
            }
        });
        Ok(Self {
            socket: socket.to_path_buf(),
            rewritten,
            accept,
        })
    }

    /// `DOCKER_HOST` for clients that should go through the relay.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// How many load balancer creates had `Privileged` turned off so far.
    pub fn rewritten(&self) -> usize {
        self.rewritten.load(Ordering::Relaxed)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// The Docker socket this process would use: `DOCKER_HOST` if it names a Unix socket, else the
/// default one. `None` for TCP daemons, which the relay does not speak to.
pub fn upstream_socket() -> Option<PathBuf> {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => host.strip_prefix("unix://").map(PathBuf::from),
        _ => Some(PathBuf::from("/var/run/docker.sock")),
    }
}

async fn relay_connection(
    client: UnixStream,
    upstream: &Path,
    rewritten: &AtomicUsize,
) -> anyhow::Result<()> {
    let server = UnixStream::connect(upstream)
        .await
        .with_context(|| format!("cannot connect to {}", upstream.display()))?;
    let (client_read, mut client_write) = client.into_split();
    let (server_read, mut server_write) = server.into_split();
    // Responses: raw, until the daemon closes its side.
    let responses = tokio::spawn(async move {
        let mut server_read = server_read;
        let copied = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
        copied
    });
    let mut requests = BufReader::new(client_read);
    loop {
        let Some(request) = read_request(&mut requests).await? else {
            break;
        };
        let upgrade = request.upgrade;
        let bytes = request.into_bytes(rewritten)?;
        server_write.write_all(&bytes).await?;
        if upgrade {
            // A hijacked stream (attach, exec): whatever follows is not HTTP any more.
            tokio::io::copy(&mut requests, &mut server_write).await?;
            break;
        }
    }
    let _ = server_write.shutdown().await;
    responses.await??;
    Ok(())
}

/// One request as read from the client.
#[derive(Debug)]
struct Request {
    /// The request line and header lines, each without its line end.
    head: Vec<String>,
    /// The body exactly as sent (chunked bodies keep their framing).
    body: Vec<u8>,
    chunked: bool,
    upgrade: bool,
}

impl Request {
    fn method_and_path(&self) -> (&str, &str) {
        let mut parts = self.head[0].split(' ');
        (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        )
    }

    /// The bytes to send upstream, with the load balancer's create unprivileged.
    fn into_bytes(mut self, rewritten: &AtomicUsize) -> anyhow::Result<Vec<u8>> {
        let (method, path) = self.method_and_path();
        let create = method == "POST" && path.split('?').next().is_some_and(is_container_create);
        if create
            && !self.chunked
            && let Some(body) = unprivileged_load_balancer(&self.body)?
        {
            self.body = body;
            let length = format!("Content-Length: {}", self.body.len());
            for line in &mut self.head[1..] {
                if header_name(line).eq_ignore_ascii_case("content-length") {
                    line.clone_from(&length);
                }
            }
            rewritten.fetch_add(1, Ordering::Relaxed);
        }
        let mut bytes = Vec::with_capacity(self.body.len() + 512);
        for line in &self.head {
            bytes.extend_from_slice(line.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&self.body);
        Ok(bytes)
    }
}

/// `/containers/create` or `/v1.41/containers/create`.
fn is_container_create(path: &str) -> bool {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = match path.split_once('/') {
        Some((version, rest)) if version.starts_with('v') => rest,
        _ => path,
    };
    path == "containers/create"
}

fn header_name(line: &str) -> &str {
    line.split_once(':').map_or("", |(name, _)| name.trim())
}

fn header_value(line: &str) -> &str {
    line.split_once(':').map_or("", |(_, value)| value.trim())
}

/// The body of a container create, rewritten when it creates a privileged load balancer;
/// `None` when it stays as it is.
fn unprivileged_load_balancer(body: &[u8]) -> anyhow::Result<Option<Vec<u8>>> {
    let mut create: serde_json::Value =
        serde_json::from_slice(body).context("a container create body that is not JSON")?;
    let load_balancer = create
        .pointer(&format!("/Labels/{}", ROLE_LABEL.replace('/', "~1")))
        .and_then(|role| role.as_str())
        == Some(LOAD_BALANCER_ROLE);
    let privileged = create
        .pointer("/HostConfig/Privileged")
        .and_then(|p| p.as_bool())
        == Some(true);
    if !(load_balancer && privileged) {
        return Ok(None);
    }
    create["HostConfig"]["Privileged"] = serde_json::Value::Bool(false);
    Ok(Some(serde_json::to_vec(&create)?))
}

/// Reads one request; `None` when the client closed the connection between requests.
async fn read_request<R>(reader: &mut BufReader<R>) -> anyhow::Result<Option<Request>>
where
    R: tokio::io::AsyncRead + Unpin,
{
    let mut head = Vec::new();
    let mut head_bytes = 0;
    loop {
        let mut line = String::new();
        let read = reader.read_line(&mut line).await?;
        if read == 0 {
            if head.is_empty() {
                return Ok(None);
            }
            bail!("the client closed the connection inside a request head");
        }
        head_bytes += read;
        if head_bytes > MAX_HEAD_BYTES {
            bail!("request head larger than {MAX_HEAD_BYTES} bytes");
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            if head.is_empty() {
                continue; // stray line end between requests
            }
            break;
        }
        head.push(line);
    }
    let mut content_length = 0usize;
    let mut chunked = false;
    let mut upgrade = false;
    for line in &head[1..] {
        let (name, value) = (header_name(line), header_value(line));
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value
                .parse()
                .context("a Content-Length that is no number")?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("upgrade") {
            upgrade = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        read_chunked(reader, &mut body).await?;
    } else if content_length > 0 {
        body.resize(content_length, 0);
        reader.read_exact(&mut body).await?;
    }
    Ok(Some(Request {
        head,
        body,
        chunked,
        upgrade,
    }))
}

/// Copies a chunked body, framing included, into `body`.
async fn read_chunked<R>(reader: &mut BufReader<R>, body: &mut Vec<u8>) -> anyhow::Result<()>
where
    R: tokio::io::AsyncRead + Unpin,
{
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line).await?;
        body.extend_from_slice(size_line.as_bytes());
        let size_text = size_line.trim().split(';').next().unwrap_or_default();
        let size =
            usize::from_str_radix(size_text, 16).context("a chunk size that is no number")?;
        if size == 0 {
            // Trailers, then the empty line.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).await? == 0 {
                    bail!("the client closed the connection inside a chunked body");
                }
                body.extend_from_slice(line.as_bytes());
                if line.trim().is_empty() {
                    return Ok(());
                }
            }
        }
        let start = body.len();
        body.resize(start + size + 2, 0);
        reader.read_exact(&mut body[start..]).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create_body(role: &str, privileged: bool) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "Image": "kindest/haproxy:v1",
            "Labels": { ROLE_LABEL: role, "io.x-k8s.kind.cluster": "c" },
            "HostConfig": { "Privileged": privileged, "NetworkMode": "kind" },
        }))
        .unwrap()
    }

    #[test]
    fn only_privileged_load_balancers_are_rewritten() {
        let rewritten = unprivileged_load_balancer(&create_body(LOAD_BALANCER_ROLE, true))
            .unwrap()
            .expect("rewritten");
        let value: serde_json::Value = serde_json::from_slice(&rewritten).unwrap();
        assert_eq!(value["HostConfig"]["Privileged"], false);
        assert_eq!(value["HostConfig"]["NetworkMode"], "kind");
        assert_eq!(value["Labels"]["io.x-k8s.kind.cluster"], "c");
        assert!(
            unprivileged_load_balancer(&create_body("worker", true))
                .unwrap()
                .is_none()
        );
        assert!(
            unprivileged_load_balancer(&create_body(LOAD_BALANCER_ROLE, false))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn container_create_paths_with_and_without_a_version() {
        assert!(is_container_create("/v1.41/containers/create"));
        assert!(is_container_create("/containers/create"));
        assert!(!is_container_create("/v1.41/containers/abc/start"));
        assert!(!is_container_create("/v1.41/images/create"));
    }

    #[tokio::test]
    async fn requests_are_split_and_the_create_length_follows_the_body() {
        let body = create_body(LOAD_BALANCER_ROLE, true);
        let mut wire = format!(
            "POST /v1.41/containers/create?name=c-lb HTTP/1.1\r\nHost: api.moby.localhost\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        wire.extend_from_slice(&body);
        wire.extend_from_slice(
            b"POST /v1.41/exec/x/start HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\
              Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n2\r\n{}\r\n0\r\n\r\nraw stdin",
        );
        let mut reader = BufReader::new(wire.as_slice());
        let counter = AtomicUsize::new(0);

        let create = read_request(&mut reader).await.unwrap().unwrap();
        assert!(!create.upgrade);
        let bytes = create.into_bytes(&counter).unwrap();
        assert_eq!(counter.load(Ordering::Relaxed), 1);
        let text = String::from_utf8(bytes).unwrap();
        let (head, new_body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("Content-Length: {}", new_body.len())),
            "{head}"
        );
        assert!(new_body.contains("\"Privileged\":false"), "{new_body}");

        let exec = read_request(&mut reader).await.unwrap().unwrap();
        assert!(exec.upgrade && exec.chunked);
        assert_eq!(exec.body, b"2\r\n{}\r\n0\r\n\r\n");
        let mut rest = String::new();
        reader.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "raw stdin");
    }
}
