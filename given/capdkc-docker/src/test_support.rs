//! Shared by the real-Docker tests (this crate's and the checkpoints'), the image build script
//! and the benchmark: the test images' names, and a per-test Docker environment (one network and
//! one run label per test, cleanup by label).
//!
//! Tests skip (with a printed reason) when no daemon answers or the test images are missing,
//! unless `CI=true`, where both are failures.

/// Node stand-in built by `scripts/build-test-images.sh`: busybox shell and coreutils, and a
/// listener on 6443 that answers every connection with the container's hostname.
pub const NODE_TEST_IMAGE: &str = "capdkc-test/node:dev";
/// Load balancer built by `scripts/build-test-images.sh`: Debian's haproxy, reading
/// [`crate::loadbalancer::CONFIG_PATH`] and reloading on `SIGHUP` like kindest/haproxy.
pub const LB_TEST_IMAGE: &str = "capdkc-test/haproxy:dev";

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::labels::TEST_RUN_LABEL;
use crate::loadbalancer::LbSettings;
use crate::node::NodeSettings;
use crate::runtime::{ContainerRuntime, SecurityProfile};
use crate::{BollardRuntime, Identity};

/// One test's share of a real Docker engine: a network and a run label, removed afterwards
/// (also when the test panics).
pub struct DockerEnv {
    /// The engine.
    pub rt: BollardRuntime,
    /// The run label's value.
    pub run_id: String,
    /// This test's network.
    pub network: String,
    cleaned: bool,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn skip_or_fail(test: &str, reason: String) -> Option<DockerEnv> {
    if in_ci() {
        panic!(
            "{test}: {reason} (CI=true: real-Docker tests are mandatory; run scripts/start-dockerd.sh and scripts/build-test-images.sh)"
        );
    }
    // Through the stderr handle, not eprintln!: libtest captures the print macros of passing
    // tests, and a skip must be visible in a plain `cargo test` run.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {reason} (run scripts/start-dockerd.sh and scripts/build-test-images.sh to enable)"
    );
    None
}

/// Connect, check the images, create this test's network. `None` (after printing why) when
/// Docker or the images are missing on a developer machine; a panic in CI.
pub async fn docker_env(test: &str) -> Option<DockerEnv> {
    let rt = match BollardRuntime::connect().await {
        Ok(rt) => rt,
        Err(e) => return skip_or_fail(test, format!("no Docker daemon answers: {e}")),
    };
    for image in [NODE_TEST_IMAGE, LB_TEST_IMAGE] {
        if rt.docker().inspect_image(image).await.is_err() {
            return skip_or_fail(test, format!("test image {image} is missing"));
        }
    }
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let run_id = format!("{test}-{}-{nanos:08x}", std::process::id());
    let network = format!("capdkc-test-{}-{nanos:08x}", std::process::id());
    rt.ensure_network(&network, &run_labels(&run_id))
        .await
        .expect("create test network");
    Some(DockerEnv {
        rt,
        run_id,
        network,
        cleaned: false,
    })
}

/// The label that marks everything a test run creates.
pub fn run_labels(run_id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(TEST_RUN_LABEL.to_owned(), run_id.to_owned())])
}

impl DockerEnv {
    /// Unique cluster identity for this test (owner differs per object).
    pub fn identity(&self, owner: &str) -> Identity {
        Identity {
            cluster_name: format!("c{}", &self.network[self.network.len() - 8..]),
            namespace: "default".into(),
            cluster_uid: format!("uid-{}", self.run_id),
            owner_uid: owner.into(),
        }
    }

    /// Capability profile (privileged containers cannot start on our build machines), no
    /// /lib/modules (absent in many sandboxes), test network, run label.
    pub fn node_settings(&self) -> NodeSettings {
        NodeSettings {
            network: self.network.clone(),
            security: SecurityProfile::Capabilities,
            mount_lib_modules: false,
            proxy_env: Vec::new(),
            extra_labels: run_labels(&self.run_id),
            ..NodeSettings::default()
        }
    }

    /// The load balancer on this test's network, from the test image, with the run label.
    pub fn lb_settings(&self) -> LbSettings {
        LbSettings {
            network: self.network.clone(),
            image: Some(LB_TEST_IMAGE.to_owned()),
            extra_labels: run_labels(&self.run_id),
            ..LbSettings::default()
        }
    }

    /// Remove everything carrying our run label and the network; assert nothing is left.
    pub async fn cleanup(mut self) {
        remove_all(&self.rt, &self.run_id, &self.network).await;
        let left = self
            .rt
            .list_by_labels(&run_labels(&self.run_id))
            .await
            .expect("list");
        assert!(left.is_empty(), "containers left after cleanup: {left:?}");
        self.cleaned = true;
    }
}

async fn remove_all(rt: &BollardRuntime, run_id: &str, network: &str) {
    if let Ok(list) = rt.list_by_labels(&run_labels(run_id)).await {
        for c in list {
            let _ = rt.remove(&c.name).await;
        }
    }
    let _ = rt.remove_network(network).await;
}

impl Drop for DockerEnv {
    /// A failed test still cleans up (on a fresh runtime: we may be inside a panicking one).
    fn drop(&mut self) {
        if self.cleaned {
            return;
        }
        let (run_id, network) = (self.run_id.clone(), self.network.clone());
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(rt) = BollardRuntime::connect().await {
                    remove_all(&rt, &run_id, &network).await;
                }
            });
        })
        .join();
    }
}

/// Poll `check` until it returns `Some`, or panic after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
