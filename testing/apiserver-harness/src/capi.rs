//! The real Cluster API managers (core, and the kubeadm bootstrap and control-plane
//! providers), running against a [`ControlPlane`].
//!
//! No webhook configuration is installed, so the API server never calls the manager's webhooks
//! (no defaulting, no validation, no conversion: tests use the storage version `v1beta2` only).
//! The manager still insists on starting its webhook server, which needs a serving certificate on
//! disk; a throwaway self-signed one is enough because nothing connects to it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use tempfile::TempDir;

use crate::certs::{self_signed_loopback, write_file};
use crate::crds::{crds_from_files, install_crds};
use crate::process::{ManagedProcess, free_port};
use crate::webhooks::install_webhooks;
use crate::{Assets, CapiProvider, ControlPlane, Error};

/// Cold start on a loaded 2-core machine includes the informer syncs of every CAPI kind.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// A running Cluster API manager; killed and its temp dir removed on drop.
#[derive(Debug)]
pub struct CapiManager {
    // Declaration order is drop order: the process stops before its directory is removed.
    process: ManagedProcess,
    health_port: u16,
    webhook_port: u16,
    /// The certificate the webhook server presents (self-signed: also its CA).
    webhook_cert_pem: String,
    provider: CapiProvider,
    args: Vec<String>,
    /// `None` only after Drop decided to keep the directory.
    dir: Option<TempDir>,
}

impl CapiManager {
    /// Installs the Cluster API core CRDs from `assets`, starts the manager with the admin
    /// kubeconfig of `control_plane` and waits until its readiness endpoint answers.
    pub async fn start(control_plane: &ControlPlane, assets: &Assets) -> Result<Self, Error> {
        Self::start_with(control_plane, assets, control_plane.kubeconfig_path(), &[]).await
    }

    /// Like [`CapiManager::start`], with another kubeconfig (for example one impersonating a
    /// ServiceAccount) and extra flags (for example `--feature-gates=...`).
    pub async fn start_with(
        control_plane: &ControlPlane,
        assets: &Assets,
        kubeconfig: &Path,
        extra_args: &[&str],
    ) -> Result<Self, Error> {
        Self::start_provider(
            control_plane,
            assets,
            CapiProvider::Core,
            kubeconfig,
            extra_args,
        )
        .await
    }

    /// Installs `provider`'s CRDs and runs its manager, as [`CapiManager::start_with`] runs
    /// core. The kubeadm providers take the same flags as core and, like core, run without
    /// webhooks: no defaulting, so objects must spell out what the webhooks would default.
    pub async fn start_provider(
        control_plane: &ControlPlane,
        assets: &Assets,
        provider: CapiProvider,
        kubeconfig: &Path,
        extra_args: &[&str],
    ) -> Result<Self, Error> {
        let client = control_plane.client().await?;
        let mut crds = crds_from_files(&assets.crd_files(provider))?;
        for crd in &mut crds {
            with_contract_labels(crd);
        }
        install_crds(&client, &crds).await?;

        let dir = tempfile::Builder::new()
            .prefix(&format!("capdkc-{}-", provider.binary()))
            .tempdir()
            .map_err(|e| Error::io("creating a temp dir", std::env::temp_dir(), e))?;
        let cert_dir = dir.path().join("webhook-certs");
        std::fs::create_dir(&cert_dir)
            .map_err(|e| Error::io("creating a directory", &cert_dir, e))?;
        let webhook = self_signed_loopback()?;
        write_file(&cert_dir.join("tls.crt"), &webhook.cert_pem)?;
        write_file(&cert_dir.join("tls.key"), &webhook.key_pem)?;

        let (health_port, webhook_port) = (free_port()?, free_port()?);
        let mut args = manager_args(kubeconfig, &cert_dir, webhook_port, health_port);
        args.extend(extra_args.iter().map(|arg| (*arg).to_owned()));
        let process = ManagedProcess::spawn(
            provider.binary(),
            &assets.manager(provider),
            &args,
            dir.path().join(format!("{}.log", provider.binary())),
        )?;
        let mut manager = Self {
            process,
            health_port,
            webhook_port,
            webhook_cert_pem: webhook.cert_pem.clone(),
            provider,
            args,
            dir: Some(dir),
        };
        manager.wait_ready().await?;
        Ok(manager)
    }

    /// Registers the manager's admission webhooks with the API server (see [`crate::webhooks`]):
    /// from then on the API server defaults and validates this provider's kinds through it.
    pub async fn serve_webhooks(
        &self,
        control_plane: &ControlPlane,
        assets: &Assets,
    ) -> Result<(), Error> {
        let client = control_plane.client().await?;
        let file = assets.webhooks_file(self.provider);
        let prefix = self.provider.binary();
        let port = self.webhook_port;
        install_webhooks(&client, &file, prefix, port, &self.webhook_cert_pem).await
    }

    /// The flags the manager was started with.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The manager's log file (its controllers log every reconcile error there).
    pub fn log(&self) -> PathBuf {
        self.process.log().to_path_buf()
    }

    /// The last few KiB of the manager's log, for assertion messages.
    pub fn log_tail(&self) -> String {
        crate::process::log_tail(self.process.log())
    }

    /// The manager's process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    async fn wait_ready(&mut self) -> Result<(), Error> {
        let start = Instant::now();
        loop {
            self.process.check_running()?;
            if readyz_ok(self.health_port).await {
                tracing::debug!(elapsed = ?start.elapsed(), "Cluster API manager ready");
                return Ok(());
            }
            if start.elapsed() > READY_TIMEOUT {
                return Err(self.process.not_ready(READY_TIMEOUT));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

impl Drop for CapiManager {
    fn drop(&mut self) {
        if std::env::var_os("CAPDKC_KEEP_TEST_DIR").is_some()
            && let Some(dir) = self.dir.take()
        {
            eprintln!("kept manager dir {}", dir.keep().display());
        }
    }
}

/// The flags that let the core manager run inside a test:
/// - `--kubeconfig`: the test API server instead of in-cluster config;
/// - `--webhook-port`/`--webhook-cert-dir`: a free port and a generated certificate, because the
///   manager refuses to start without its webhook server even when no webhook is registered
///   (and [`CapiManager::serve_webhooks`] registers them);
/// - `--health-addr`: a free loopback port, polled for `/readyz`;
/// - `--diagnostics-address=0`: no metrics endpoint (its default `:8443` would clash between
///   parallel tests and needs TokenReview/SubjectAccessReview RBAC);
/// - `--leader-elect=false`: one manager per API server.
fn manager_args(
    kubeconfig: &Path,
    cert_dir: &Path,
    webhook_port: u16,
    health_port: u16,
) -> Vec<String> {
    vec![
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--webhook-port={webhook_port}"),
        format!("--webhook-cert-dir={}", cert_dir.display()),
        format!("--health-addr=127.0.0.1:{health_port}"),
        "--diagnostics-address=0".to_owned(),
        "--leader-elect=false".to_owned(),
    ]
}

/// The labels Cluster API's own kustomizations put on its CRDs (`config/crd/kustomization.yaml`):
/// core finds the version of a referenced kind (a KubeadmControlPlane, a KubeadmConfigTemplate)
/// by the contract label of its CRD, and refuses the reference without one.
fn with_contract_labels(crd: &mut CustomResourceDefinition) {
    let labels = crd.metadata.labels.get_or_insert_with(Default::default);
    for contract in ["v1beta1", "v1beta2"] {
        let served = crd.spec.versions.iter().any(|v| v.name == contract);
        if served {
            labels.insert(format!("cluster.x-k8s.io/{contract}"), contract.to_owned());
        }
    }
}

/// One plain HTTP/1.0 GET of `/readyz`: the probe endpoint is plain HTTP on loopback, which does
/// not justify an HTTP client dependency. Blocking I/O on the blocking pool, with short timeouts.
async fn readyz_ok(port: u16) -> bool {
    let probe = move || -> std::io::Result<Vec<u8>> {
        use std::io::{Read as _, Write as _};
        let timeout = Duration::from_secs(2);
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        stream.write_all(b"GET /readyz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        Ok(response)
    };
    match tokio::task::spawn_blocking(probe).await {
        Ok(Ok(response)) => {
            response.starts_with(b"HTTP/1.0 200") || response.starts_with(b"HTTP/1.1 200")
        }
        _ => false,
    }
}
