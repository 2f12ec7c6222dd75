//! The manager as `checkpoint-05`'s binary runs it (same flags, same controllers), with the
//! Docker settings of the real-Docker tests, so that it runs on our build machines: node
//! containers with the capability profile instead of privileged, no `/lib/modules` mount, a TCP
//! health check in the load balancer (the stand-in node image serves no `/healthz`), and every
//! container labelled with the benchmark's run label (`CAPDKC_BENCH_RUN_ID`) for cleanup.
//!
//! Started by `capdkc-bench` as a separate process, so that its resident memory is the
//! manager's alone.

use anyhow::Context as _;
use capdkc_docker::Docker;
use capdkc_docker::loadbalancer::HealthCheck;
use capdkc_docker::test_support::run_labels;
use checkpoint_05::{controllers, crdgen};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    capdkc_manager::run(crdgen::crds(), async |manager| {
        let docker = Docker::connect(&manager.options().docker)
            .await
            .context("cannot use the Docker engine")?;
        let mut docker = docker.without_privileged_nodes();
        if let Ok(run_id) = std::env::var("CAPDKC_BENCH_RUN_ID") {
            docker.nodes.extra_labels = run_labels(&run_id);
        }
        docker.nodes.mount_lib_modules = false;
        docker.lb_health_check = HealthCheck::TcpConnect;
        controllers::setup(manager, docker);
        Ok(())
    })
    .await
}
