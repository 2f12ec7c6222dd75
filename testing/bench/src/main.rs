//! `capdkc-bench`: the performance figures of scripts/bench.sh that need real parts, and the
//! report that collects every figure.
//!
//!   capdkc-bench runtime --raw FILE --measured TIME [--runs 5] [--scale-runs 3] [--machines 20]
//!   capdkc-bench report --raw-dir DIR --out results.json --measured TIME
//!   capdkc-bench capd --raw FILE --measured TIME [--sizes 20,100] [--results results.json]
//!
//! `runtime` needs KUBEBUILDER_ASSETS (kube-apiserver, etcd, the Cluster API core manager), a
//! Docker daemon with the test images, and `bench-manager` next to this binary.

mod capd;
mod direct;
mod report;
mod runtime;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Performance figures of the provider on real parts")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manager start and memory, provisioning through the provider versus directly, writes
    /// when converged; written as a raw file.
    Runtime {
        #[arg(long)]
        raw: PathBuf,
        #[arg(long)]
        measured: String,
        /// Runs of the quick figures (start, one machine).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Runs of the N-machine figures.
        #[arg(long, default_value_t = 3)]
        scale_runs: usize,
        /// N: machines provisioned at once.
        #[arg(long, default_value_t = 20)]
        machines: usize,
    },
    /// The upstream Go provider (CAPD, from scripts/capd-assets.sh) measured the same way: a raw
    /// file, its figures and the peers table (with our row when given results.json).
    Capd {
        #[arg(long)]
        raw: PathBuf,
        #[arg(long)]
        measured: String,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long, default_value_t = 1)]
        scale_runs: usize,
        /// The N values: DockerClusters, then DockerMachines, created at once.
        #[arg(long, value_delimiter = ',', default_value = "20,100")]
        sizes: Vec<usize>,
        /// The quiet window after convergence, in seconds.
        #[arg(long, default_value_t = 60)]
        window_secs: u64,
        #[arg(long)]
        results: Option<PathBuf>,
    },
    /// Medians, ratios and targets from every raw file in a directory: results.json and a table.
    Report {
        #[arg(long)]
        raw_dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        measured: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Runtime {
            raw,
            measured,
            runs,
            scale_runs,
            machines,
        } => {
            let mut figures = report::Raw::default();
            figures.push("config.machines", machines as f64);
            let options = runtime::Options {
                runs,
                scale_runs,
                machines,
            };
            runtime::run(&options, &mut figures).await?;
            figures.write(&raw, &measured)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Capd {
            raw,
            measured,
            runs,
            scale_runs,
            sizes,
            window_secs,
            results,
        } => {
            let options = capd::Options {
                runs,
                scale_runs,
                sizes,
                window: std::time::Duration::from_secs(window_secs),
                ..capd::Options::default()
            };
            capd::run_command(&options, &raw, &measured, results.as_deref()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            raw_dir,
            out,
            measured,
        } => {
            let all_met = report::report(&raw_dir, &out, &measured)?;
            if !all_met {
                println!("some targets were missed (marked NO)");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
