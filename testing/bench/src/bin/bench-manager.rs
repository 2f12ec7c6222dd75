//! The manager as `checkpoint-05`'s binary runs it (same flags, same `manager::start`), with the
//! Docker settings of the real-Docker tests, so that it runs on our build machines: node
//! containers with the capability profile instead of privileged, no `/lib/modules` mount, a TCP
//! health check in the load balancer (the stand-in node image serves no `/healthz`), and every
//! container labelled with the benchmark's run label (`CAPDKC_BENCH_RUN_ID`) for cleanup.
//!
//! Started by `capdkc-bench` as a separate process, so that its resident memory is the
//! manager's alone.

use anyhow::Context as _;
use clap::Parser;

use capdkc_docker::loadbalancer::HealthCheck;
use capdkc_docker::test_support::run_labels;
use capdkc_docker::{BollardRuntime, SecurityProfile};
use checkpoint_05::cli::Cli;
use checkpoint_05::controllers::{self, Docker};
use checkpoint_05::{manager, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Cli::parse().manager;
    telemetry::init(&options.log_level, options.log_format)?;
    let runtime = BollardRuntime::connect()
        .await
        .context("cannot use the Docker engine")?;
    let mut docker = Docker::new(runtime, &options.docker_network);
    if let Ok(run_id) = std::env::var("CAPDKC_BENCH_RUN_ID") {
        docker.extra_labels = run_labels(&run_id);
    }
    docker.node_security = SecurityProfile::Capabilities;
    docker.mount_lib_modules = false;
    docker.lb_health_check = HealthCheck::TcpConnect;
    controllers::docker_reachable(&docker).await?;
    let client = kube::Client::try_default().await?;
    let running = manager::start(client, &options, docker).await?;
    let shutdown = running.shutdown_handle();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.cancel();
    });
    running.wait().await
}
