//! etcd + kube-apiserver on loopback, one pair per test, gone when the value is dropped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use tempfile::TempDir;

use crate::audit::{self, AuditEvent};
use crate::certs::{Pki, write_file};
use crate::process::{ManagedProcess, free_port};
use crate::{Assets, Error};

/// How long the API server may take to become ready: about 4 s on an idle 2-core machine; the
/// margin is for CI, where the same 2 cores also run other test binaries and builds.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// The admin identity's user name; its group `system:masters` bypasses RBAC.
const ADMIN_USER: &str = "capdkc-test-admin";

/// A running etcd + kube-apiserver pair, with RBAC authorization on.
///
/// Dropping it kills both process groups and removes the temp dir (certificates, etcd data,
/// kubeconfig, logs). Set `CAPDKC_KEEP_TEST_DIR=1` to keep the directory for debugging.
#[derive(Debug)]
pub struct ControlPlane {
    // Declaration order is drop order: the API server stops before its etcd, and both stop before
    // the directory they use is removed.
    apiserver: ManagedProcess,
    etcd: ManagedProcess,
    server_url: String,
    ca_cert_pem: String,
    admin_token: Redacted,
    kubeconfig: PathBuf,
    audit_log: PathBuf,
    root: PathBuf,
    /// `None` only after Drop decided to keep the directory.
    dir: Option<TempDir>,
}

impl ControlPlane {
    /// Starts etcd and kube-apiserver from `assets` and waits until `/readyz` answers `ok`.
    pub async fn start(assets: &Assets) -> Result<Self, Error> {
        let dir = tempfile::Builder::new()
            .prefix("capdkc-apiserver-")
            .tempdir()
            .map_err(|e| Error::io("creating a temp dir", std::env::temp_dir(), e))?;
        let root = dir.path().to_path_buf();

        let pki = Pki::generate()?;
        let files = pki.write(&root)?;
        let admin_token = random_token()?;
        let tokens = root.join("tokens.csv");
        write_file(
            &tokens,
            &format!("{admin_token},{ADMIN_USER},{ADMIN_USER},\"system:masters\"\n"),
        )?;

        let audit_policy = root.join("audit-policy.yaml");
        write_file(&audit_policy, audit::POLICY)?;
        let audit_log = root.join("audit.log");

        let etcd_port = free_port()?;
        let etcd_peer_port = free_port()?;
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let etcd_peer_url = format!("http://127.0.0.1:{etcd_peer_port}");
        let etcd_args = vec![
            format!("--data-dir={}", root.join("etcd").display()),
            format!("--listen-client-urls={etcd_url}"),
            format!("--advertise-client-urls={etcd_url}"),
            format!("--listen-peer-urls={etcd_peer_url}"),
            format!("--initial-advertise-peer-urls={etcd_peer_url}"),
            format!("--initial-cluster=default={etcd_peer_url}"),
            // Durability is pointless for data deleted at the end of the test, and fsync is
            // what makes etcd slow on shared disks.
            "--unsafe-no-fsync=true".to_owned(),
        ];
        let mut etcd =
            ManagedProcess::spawn("etcd", &assets.etcd(), &etcd_args, root.join("etcd.log"))?;

        let port = free_port()?;
        let server_url = format!("https://127.0.0.1:{port}");
        let apiserver_args = vec![
            format!("--etcd-servers={etcd_url}"),
            "--bind-address=127.0.0.1".to_owned(),
            "--advertise-address=127.0.0.1".to_owned(),
            format!("--secure-port={port}"),
            format!("--cert-dir={}", root.join("apiserver-certs").display()),
            format!("--tls-cert-file={}", files.serving_cert.display()),
            format!("--tls-private-key-file={}", files.serving_key.display()),
            format!("--client-ca-file={}", files.ca_cert.display()),
            format!("--token-auth-file={}", tokens.display()),
            "--authorization-mode=RBAC".to_owned(),
            "--service-cluster-ip-range=10.0.0.0/24".to_owned(),
            "--service-account-issuer=https://kubernetes.default.svc".to_owned(),
            format!(
                "--service-account-key-file={}",
                files.service_account_public_key.display()
            ),
            format!(
                "--service-account-signing-key-file={}",
                files.service_account_private_key.display()
            ),
            "--allow-privileged=true".to_owned(),
            // One test, one client: fairness queues only add latency here.
            "--enable-priority-and-fairness=false".to_owned(),
            // Every request with its user and response code, for RBAC assertions.
            format!("--audit-policy-file={}", audit_policy.display()),
            format!("--audit-log-path={}", audit_log.display()),
            "--audit-log-format=json".to_owned(),
            "--audit-log-mode=blocking".to_owned(),
        ];
        let apiserver = ManagedProcess::spawn(
            "kube-apiserver",
            &assets.kube_apiserver(),
            &apiserver_args,
            root.join("kube-apiserver.log"),
        );
        // Make sure etcd does not leak if the API server could not even be spawned.
        let apiserver = match apiserver {
            Ok(apiserver) => apiserver,
            Err(error) => {
                drop(etcd);
                return Err(error);
            }
        };
        etcd.check_running()?;

        let kubeconfig = root.join("kubeconfig");
        let mut control_plane = Self {
            apiserver,
            etcd,
            server_url,
            ca_cert_pem: pki.ca_cert_pem,
            admin_token: Redacted(admin_token),
            kubeconfig,
            audit_log,
            root,
            dir: Some(dir),
        };
        write_file(
            &control_plane.kubeconfig,
            &control_plane.kubeconfig_yaml(None),
        )?;
        control_plane.wait_ready().await?;
        Ok(control_plane)
    }

    /// The API server's URL (`https://127.0.0.1:<port>`).
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// A kubeconfig file for the admin identity (group `system:masters`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The temp dir holding certificates, etcd data, logs and kubeconfigs.
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// The process ids of etcd and kube-apiserver (each also a process group id).
    pub fn pids(&self) -> Vec<u32> {
        vec![self.etcd.pid(), self.apiserver.pid()]
    }

    /// The kube-apiserver log file.
    pub fn apiserver_log(&self) -> &Path {
        self.apiserver.log()
    }

    /// Every request answered so far, from the API server's audit log.
    pub fn audit_events(&self) -> Result<Vec<AuditEvent>, Error> {
        audit::read_audit_log(&self.audit_log)
    }

    /// A client with the admin identity.
    pub async fn client(&self) -> Result<Client, Error> {
        self.client_from(&self.kubeconfig_yaml(None)).await
    }

    /// A client that impersonates ServiceAccount `namespace/name`, so RBAC applies exactly as to a
    /// pod running under that ServiceAccount (the ServiceAccount object need not exist).
    pub async fn client_as_service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Client, Error> {
        self.client_from(&self.kubeconfig_yaml(Some((namespace, name))))
            .await
    }

    /// Writes a kubeconfig that impersonates ServiceAccount `namespace/name`, for processes (a
    /// manager binary) that must run with that ServiceAccount's permissions. The file lives in
    /// the control plane's temp dir.
    pub fn write_service_account_kubeconfig(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<PathBuf, Error> {
        let path = self.dir().join(format!("kubeconfig-{namespace}-{name}"));
        write_file(&path, &self.kubeconfig_yaml(Some((namespace, name))))?;
        Ok(path)
    }

    async fn client_from(&self, yaml: &str) -> Result<Client, Error> {
        let kubeconfig = Kubeconfig::from_yaml(yaml)?;
        let config =
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
        Ok(Client::try_from(config)?)
    }

    /// The kubeconfig text; `impersonate` adds `as`/`as-groups` for a ServiceAccount, the
    /// identity and groups the API server gives that ServiceAccount's tokens.
    fn kubeconfig_yaml(&self, impersonate: Option<(&str, &str)>) -> String {
        let engine = base64::engine::general_purpose::STANDARD;
        let ca = engine.encode(&self.ca_cert_pem);
        let impersonation = impersonate
            .map(|(namespace, name)| {
                format!(
                    "    as: system:serviceaccount:{namespace}:{name}\n    as-groups:\n    \
                     - system:serviceaccounts\n    - system:serviceaccounts:{namespace}\n    \
                     - system:authenticated\n"
                )
            })
            .unwrap_or_default();
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n    \
             server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: test\n  \
             user:\n    token: {token}\n{impersonation}contexts:\n- name: test\n  context:\n    \
             cluster: test\n    user: test\n    namespace: default\ncurrent-context: test\n",
            server = self.server_url,
            token = self.admin_token.0,
        )
    }

    async fn wait_ready(&mut self) -> Result<(), Error> {
        let client = self.client().await?;
        let start = Instant::now();
        loop {
            self.etcd.check_running()?;
            self.apiserver.check_running()?;
            let request = http::Request::get("/readyz").body(Vec::new())?;
            match client.request_text(request).await {
                Ok(body) if body.trim() == "ok" => {
                    tracing::debug!(elapsed = ?start.elapsed(), "kube-apiserver ready");
                    return Ok(());
                }
                Ok(_) | Err(_) if start.elapsed() > READY_TIMEOUT => {
                    return Err(self.apiserver.not_ready(READY_TIMEOUT));
                }
                Ok(_) | Err(_) => tokio::time::sleep(POLL_INTERVAL).await,
            }
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if std::env::var_os("CAPDKC_KEEP_TEST_DIR").is_some()
            && let Some(dir) = self.dir.take()
        {
            eprintln!("kept test dir {}", dir.keep().display());
        }
    }
}

/// A credential that `{:?}` of the control plane must not print into test logs.
struct Redacted(String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// 32 random bytes from the kernel as hex; the token only has to be unguessable by other local
/// users for the life of one test.
fn random_token() -> Result<String, Error> {
    use std::io::Read as _;
    let path = Path::new("/dev/urandom");
    let mut bytes = [0u8; 32];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut bytes))
        .map_err(|e| Error::io("reading random bytes", path, e))?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
}
