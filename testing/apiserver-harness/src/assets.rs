//! Finding the binaries, and the one place that decides whether a test runs, skips or fails.
//!
//! The directory layout is envtest's (`KUBEBUILDER_ASSETS` holding `etcd` and `kube-apiserver`),
//! so `setup-envtest` output works for the control-plane tests; `scripts/test-assets.sh` adds the
//! Cluster API core manager and its CRDs next to them.

use std::path::{Path, PathBuf};

use crate::Error;

/// The environment variable naming the assets directory (the same one envtest reads).
pub const ASSETS_ENV: &str = "KUBEBUILDER_ASSETS";

/// How to get the assets; part of every skip message so a reader knows what to run.
const HOW_TO_BUILD: &str = "build them with `export KUBEBUILDER_ASSETS=$(bash scripts/test-assets.sh | tail -n1)` \
     (or point KUBEBUILDER_ASSETS at `setup-envtest use -p path` output for the control-plane-only tests)";

/// What a test needs from the assets directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// etcd and kube-apiserver.
    ControlPlane,
    /// etcd, kube-apiserver, the Cluster API core manager and its CRDs.
    ClusterApi,
    /// All of [`Needs::ClusterApi`], and the kubeadm bootstrap and control-plane managers
    /// with their CRDs.
    KubeadmProviders,
}

/// A checked assets directory.
#[derive(Clone, Debug)]
pub struct Assets {
    dir: PathBuf,
}

impl Assets {
    /// Checks that `dir` holds what `needs` asks for; the error text says what is missing.
    pub fn locate(dir: impl Into<PathBuf>, needs: Needs) -> Result<Self, String> {
        let assets = Self { dir: dir.into() };
        let mut required = vec![assets.etcd(), assets.kube_apiserver()];
        let providers: &[CapiProvider] = match needs {
            Needs::ControlPlane => &[],
            Needs::ClusterApi => &[CapiProvider::Core],
            Needs::KubeadmProviders => &CapiProvider::ALL,
        };
        required.extend(providers.iter().map(|p| assets.manager(*p)));
        let missing: Vec<String> = required
            .iter()
            .filter(|path| !is_executable(path))
            .map(|path| path.display().to_string())
            .collect();
        if !missing.is_empty() {
            return Err(format!("missing or not executable: {}", missing.join(", ")));
        }
        for provider in providers {
            let webhooks = assets.webhooks_file(*provider);
            if needs == Needs::KubeadmProviders && !webhooks.is_file() {
                return Err(format!(
                    "no webhook configurations at {}",
                    webhooks.display()
                ));
            }
            if assets.crd_files(*provider).is_empty() {
                return Err(format!(
                    "no {} CRDs (*.yaml) in {}",
                    provider.binary(),
                    assets.crds_dir(*provider).display()
                ));
            }
        }
        Ok(assets)
    }

    /// Reads `KUBEBUILDER_ASSETS` and checks it.
    pub fn from_env(needs: Needs) -> Result<Self, String> {
        match std::env::var_os(ASSETS_ENV) {
            Some(dir) if !dir.is_empty() => Self::locate(PathBuf::from(dir), needs)
                .map_err(|reason| format!("{ASSETS_ENV} is incomplete: {reason}")),
            _ => Err(format!("{ASSETS_ENV} is not set")),
        }
    }

    /// The assets directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The etcd binary.
    pub fn etcd(&self) -> PathBuf {
        self.dir.join("etcd")
    }

    /// The kube-apiserver binary.
    pub fn kube_apiserver(&self) -> PathBuf {
        self.dir.join("kube-apiserver")
    }

    /// The Cluster API core manager binary.
    pub fn cluster_api_manager(&self) -> PathBuf {
        self.manager(CapiProvider::Core)
    }

    /// The directory with the Cluster API core CRDs.
    pub fn cluster_api_crds_dir(&self) -> PathBuf {
        self.crds_dir(CapiProvider::Core)
    }

    /// The Cluster API core CRD files, sorted so installs are reproducible.
    pub fn cluster_api_crd_files(&self) -> Vec<PathBuf> {
        self.crd_files(CapiProvider::Core)
    }

    /// A Cluster API provider's manager binary.
    pub fn manager(&self, provider: CapiProvider) -> PathBuf {
        self.dir.join(provider.binary())
    }

    /// The directory with a Cluster API provider's CRDs.
    pub fn crds_dir(&self, provider: CapiProvider) -> PathBuf {
        self.dir.join("crds").join(provider.crds())
    }

    /// A Cluster API provider's webhook configurations (`webhooks/<crds dir name>.yaml`).
    pub fn webhooks_file(&self, provider: CapiProvider) -> PathBuf {
        self.dir
            .join("webhooks")
            .join(format!("{}.yaml", provider.crds()))
    }

    /// A Cluster API provider's CRD files, sorted so installs are reproducible.
    pub fn crd_files(&self, provider: CapiProvider) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.crds_dir(provider)) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        files.sort();
        files
    }
}

/// The Cluster API managers `scripts/test-assets.sh` builds, all from the one cluster-api module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapiProvider {
    /// The core manager (Clusters, Machines, MachineDeployments, ...).
    Core,
    /// The kubeadm bootstrap provider (KubeadmConfig: cloud-init for kubeadm init/join).
    KubeadmBootstrap,
    /// The kubeadm control-plane provider (KubeadmControlPlane).
    KubeadmControlPlane,
}

impl CapiProvider {
    /// Every provider, core first.
    pub const ALL: [CapiProvider; 3] = [
        CapiProvider::Core,
        CapiProvider::KubeadmBootstrap,
        CapiProvider::KubeadmControlPlane,
    ];

    /// The binary's name in the assets directory (also the name its log file and errors use).
    pub fn binary(self) -> &'static str {
        match self {
            CapiProvider::Core => "cluster-api-manager",
            CapiProvider::KubeadmBootstrap => "kubeadm-bootstrap-manager",
            CapiProvider::KubeadmControlPlane => "kubeadm-control-plane-manager",
        }
    }

    /// The directory under `crds/` holding its CRDs.
    pub fn crds(self) -> &'static str {
        match self {
            CapiProvider::Core => "cluster-api",
            CapiProvider::KubeadmBootstrap => "kubeadm-bootstrap",
            CapiProvider::KubeadmControlPlane => "kubeadm-control-plane",
        }
    }
}

/// Whether this run must not skip: CI sets `CI=true` (real-parts tests fail in CI rather than skip).
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value.eq_ignore_ascii_case("true") || value == "1")
}

/// The skip-or-fail decision every real-API-server test makes first.
///
/// - assets present: `Ok(Some(assets))`, run the test;
/// - assets missing, not CI: prints `SKIPPED <test>: <reason>` to stderr and returns `Ok(None)`;
///   the test returns early (and counts as passed, since Rust tests cannot report a skip);
/// - assets missing, `CI=true`: `Err`, so the test fails with the reason.
///
/// ```no_run
/// # async fn example() -> Result<(), apiserver_harness::Error> {
/// let Some(assets) = apiserver_harness::assets_for_test("my_test", apiserver_harness::Needs::ControlPlane)? else {
///     return Ok(());
/// };
/// # let _ = assets; Ok(()) }
/// ```
pub fn assets_for_test(test: &str, needs: Needs) -> Result<Option<Assets>, Error> {
    match decide(Assets::from_env(needs), is_ci()) {
        Decision::Run(assets) => Ok(Some(assets)),
        Decision::Skip(reason) => {
            eprintln!("SKIPPED {test}: {reason}");
            Ok(None)
        }
        Decision::Fail(reason) => Err(Error::AssetsRequired(reason)),
    }
}

#[derive(Debug)]
enum Decision {
    Run(Assets),
    Skip(String),
    Fail(String),
}

fn decide(found: Result<Assets, String>, ci: bool) -> Decision {
    match found {
        Ok(assets) => Decision::Run(assets),
        Err(reason) if ci => Decision::Fail(format!("{reason}; {HOW_TO_BUILD}")),
        Err(reason) => Decision::Skip(format!("{reason}; {HOW_TO_BUILD}")),
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_assets_skip_locally_and_fail_in_ci() {
        let missing = || Err("KUBEBUILDER_ASSETS is not set".to_owned());
        assert!(
            matches!(decide(missing(), false), Decision::Skip(reason) if reason.contains("is not set"))
        );
        assert!(
            matches!(decide(missing(), true), Decision::Fail(reason) if reason.contains("test-assets.sh"))
        );
        let error = Error::AssetsRequired("x".to_owned()).to_string();
        assert!(error.contains("CI=true"), "{error}");
    }

    #[test]
    fn an_empty_directory_names_every_missing_binary() {
        let dir = tempfile::tempdir().expect("temp dir");
        let reason = Assets::locate(dir.path(), Needs::ClusterApi).expect_err("incomplete");
        for binary in ["etcd", "kube-apiserver", "cluster-api-manager"] {
            assert!(reason.contains(binary), "{reason}");
        }
        let reason = Assets::locate(dir.path(), Needs::KubeadmProviders).expect_err("incomplete");
        for binary in ["kubeadm-bootstrap-manager", "kubeadm-control-plane-manager"] {
            assert!(reason.contains(binary), "{reason}");
        }
    }
}
