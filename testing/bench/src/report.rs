//! Raw measurements and the report built from them.
//!
//! Every measuring step (the shell script's build and size figures, the real-parts run) writes
//! a raw file into one directory: a `# measured <time>` line, then `key<TAB>value` lines, one
//! per run. The report reads them all, takes medians, forms the ratios, judges the targets,
//! writes `results.json` and prints a table. A raw file left from an earlier run (the cold
//! build in `--quick` mode) is used as it is and marked with its own time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;
use serde_json::json;

/// Measurements of one step, written as one raw file.
#[derive(Default)]
pub struct Raw {
    lines: Vec<(String, f64)>,
}

impl Raw {
    pub fn push(&mut self, key: &str, value: f64) {
        self.lines.push((key.to_owned(), value));
    }

    pub fn write(&self, path: &Path, measured: &str) -> anyhow::Result<()> {
        let mut text = format!("# measured {measured}\n");
        for (key, value) in &self.lines {
            let _ = writeln!(text, "{key}\t{value}");
        }
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    }
}

/// A target a median (or ratio) must meet.
#[derive(Clone, Copy)]
enum Target {
    AtMost(f64),
    Exactly(f64),
}

impl Target {
    fn met(self, value: f64) -> bool {
        match self {
            Target::AtMost(limit) => value <= limit,
            Target::Exactly(wanted) => value == wanted,
        }
    }

    fn text(self, unit: &str) -> String {
        match self {
            Target::AtMost(limit) => format!("<= {}{}", number(limit), unit_suffix(unit)),
            Target::Exactly(wanted) => format!("= {}{}", number(wanted), unit_suffix(unit)),
        }
    }
}

/// Every figure the report knows, in the order it prints them.
const FIGURES: &[(&str, &str, &str, Option<Target>)] = &[
    (
        "build.cold_workspace",
        "cold build, cargo test --workspace --no-run",
        "s",
        None,
    ),
    (
        "build.incremental_workspace",
        "incremental, same, after touching checkpoint-05 src/lib.rs",
        "s",
        None,
    ),
    (
        "build.incremental_checkpoint",
        "incremental, cargo build -p checkpoint-05, touched controller",
        "s",
        Some(Target::AtMost(5.0)),
    ),
    (
        "book.build",
        "book build, in-process, dev profile (as in tests)",
        "ms",
        None,
    ),
    (
        "book.build_release",
        "book build, in-process, release profile",
        "ms",
        None,
    ),
    ("size.binary_debug", "manager binary, debug", "MB", None),
    ("size.binary_release", "manager binary, release", "MB", None),
    (
        "size.binary_stripped",
        "manager binary, release, stripped",
        "MB",
        None,
    ),
    (
        "size.image",
        "manager image (scratch + stripped binary + libs)",
        "MB",
        Some(Target::AtMost(20.0)),
    ),
    ("manager.ready", "manager start to /readyz 200", "ms", None),
    ("manager.rss_idle", "manager RSS, idle", "MiB", None),
    ("manager.rss_n", "manager RSS, N machines", "MiB", None),
    (
        "provision.one.provider",
        "one machine, through the provider",
        "ms",
        None,
    ),
    (
        "provision.one.provider_from_owner",
        "one machine, provider's share (owner set to Ready)",
        "ms",
        None,
    ),
    (
        "breakdown.owned",
        "  of which: until core sets the owner",
        "ms",
        None,
    ),
    (
        "breakdown.provider_id",
        "  until the container runs (providerID)",
        "ms",
        None,
    ),
    (
        "breakdown.bootstrap_started",
        "  until the bootstrap is reported running",
        "ms",
        None,
    ),
    (
        "breakdown.bootstrapped",
        "  until BootstrapSucceeded is true",
        "ms",
        None,
    ),
    (
        "provision.one.layer",
        "one machine, Docker layer directly",
        "ms",
        None,
    ),
    (
        "provision.one.cli",
        "one machine, docker CLI, same steps",
        "ms",
        None,
    ),
    (
        "provision.n.provider",
        "N machines at once, through the provider",
        "s",
        None,
    ),
    (
        "provision.n.provider_from_owner",
        "N machines, provider's share (first owner to last Ready)",
        "s",
        None,
    ),
    (
        "breakdown.n.owned",
        "  of which: until core set the last owner",
        "s",
        None,
    ),
    (
        "breakdown.n.provider_id",
        "  until the last container runs (providerID)",
        "s",
        None,
    ),
    (
        "breakdown.n.bootstrap_started",
        "  until the last bootstrap is reported running",
        "s",
        None,
    ),
    (
        "breakdown.n.bootstrapped",
        "  until the last BootstrapSucceeded is true",
        "s",
        None,
    ),
    (
        "provision.n.layer",
        "N machines at once, Docker layer directly",
        "s",
        None,
    ),
    (
        "provision.n.cli",
        "N machines at once, docker CLI, same steps",
        "s",
        None,
    ),
    (
        "converge.reconciles_per_machine",
        "reconciles per machine to converge (+3 s)",
        "",
        None,
    ),
    (
        "converged.api_writes_per_object",
        "API writes per converged object, poked",
        "",
        Some(Target::Exactly(0.0)),
    ),
    (
        "converged.docker_events_per_object",
        "Docker container events per converged object",
        "",
        Some(Target::Exactly(0.0)),
    ),
    (
        "heal.load_balancer",
        "stopped load balancer running again (Docker events)",
        "ms",
        Some(Target::AtMost(2000.0)),
    ),
    (
        "heal.node_reported",
        "removed node container reported (Docker events)",
        "ms",
        Some(Target::AtMost(2000.0)),
    ),
];

/// Ratios of two medians: key, label, numerator, denominator, target.
const RATIOS: &[(&str, &str, &str, &str, Option<Target>)] = &[
    (
        "ratio.incremental_over_cold",
        "incremental ÷ cold workspace build",
        "build.incremental_workspace",
        "build.cold_workspace",
        Some(Target::AtMost(0.10)),
    ),
    (
        "ratio.one_provider_over_cli",
        "one machine: provider ÷ docker CLI",
        "provision.one.provider",
        "provision.one.cli",
        Some(Target::AtMost(1.20)),
    ),
    (
        "ratio.one_provider_share_over_cli",
        "one machine: provider's share ÷ docker CLI",
        "provision.one.provider_from_owner",
        "provision.one.cli",
        Some(Target::AtMost(1.20)),
    ),
    (
        "ratio.one_provider_share_over_layer",
        "one machine: provider's share ÷ Docker layer",
        "provision.one.provider_from_owner",
        "provision.one.layer",
        None,
    ),
    (
        "ratio.one_layer_over_cli",
        "one machine: Docker layer ÷ docker CLI",
        "provision.one.layer",
        "provision.one.cli",
        None,
    ),
    (
        "ratio.n_provider_over_cli",
        "N machines: provider ÷ docker CLI",
        "provision.n.provider",
        "provision.n.cli",
        None,
    ),
    (
        "ratio.n_provider_share_over_cli",
        "N machines: provider's share ÷ docker CLI",
        "provision.n.provider_from_owner",
        "provision.n.cli",
        None,
    ),
    (
        "ratio.n_provider_share_over_layer",
        "N machines: provider's share ÷ Docker layer",
        "provision.n.provider_from_owner",
        "provision.n.layer",
        None,
    ),
    (
        "ratio.n_over_one_provider",
        "provider: T(N) ÷ T(1)",
        "provision.n.provider",
        "provision.one.provider",
        None,
    ),
    (
        "ratio.rss_n_over_idle",
        "manager RSS: N machines ÷ idle",
        "manager.rss_n",
        "manager.rss_idle",
        None,
    ),
    (
        "ratio.image_over_binary",
        "image ÷ stripped binary",
        "size.image",
        "size.binary_stripped",
        None,
    ),
];

#[derive(Serialize)]
struct Figure {
    key: String,
    label: String,
    unit: String,
    runs: Vec<f64>,
    median: f64,
    measured: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    met: Option<bool>,
}

#[derive(Serialize)]
struct Ratio {
    key: String,
    label: String,
    numerator: String,
    denominator: String,
    value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    met: Option<bool>,
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Reads every `*.tsv` in `raw_dir`: values per key, and when each key was measured.
fn read_raw(raw_dir: &Path) -> anyhow::Result<BTreeMap<String, (Vec<f64>, String)>> {
    let mut found: BTreeMap<String, (Vec<f64>, String)> = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(raw_dir)
        .with_context(|| format!("cannot read {}", raw_dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "tsv"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let mut measured = String::new();
        for line in text.lines() {
            if let Some(when) = line.strip_prefix("# measured ") {
                measured = when.trim().to_owned();
                continue;
            }
            let Some((key, value)) = line.split_once('\t') else {
                continue;
            };
            let value: f64 = value
                .trim()
                .parse()
                .with_context(|| format!("{}: not a number: {line}", file.display()))?;
            let entry = found
                .entry(key.to_owned())
                .or_insert_with(|| (Vec::new(), measured.clone()));
            entry.0.push(value);
        }
    }
    Ok(found)
}

/// Builds `results.json` at `out` from the raw files and prints the table. Returns whether
/// every target with a figure was met.
pub fn report(raw_dir: &Path, out: &Path, now: &str) -> anyhow::Result<bool> {
    let raw = read_raw(raw_dir)?;
    let machines = raw
        .get("config.machines")
        .map(|(values, _)| median(values))
        .unwrap_or(f64::NAN);
    let mut figures = Vec::new();
    for (key, label, unit, target) in FIGURES {
        let Some((runs, measured)) = raw.get(*key) else {
            continue;
        };
        let value = median(runs);
        figures.push(Figure {
            key: (*key).to_owned(),
            label: label.replace("N machines", &format!("{machines} machines")),
            unit: (*unit).to_owned(),
            runs: runs.clone(),
            median: value,
            measured: measured.clone(),
            target: target.map(|t| t.text(unit)),
            met: target.map(|t| t.met(value)),
        });
    }
    let median_of = |key: &str| {
        figures
            .iter()
            .find(|f| f.key == key)
            .map(|f| (f.median, f.unit.as_str()))
    };
    let mut ratios = Vec::new();
    for (key, label, numerator, denominator, target) in RATIOS {
        let (Some((top, top_unit)), Some((bottom, bottom_unit))) =
            (median_of(numerator), median_of(denominator))
        else {
            continue;
        };
        let value = in_seconds(top, top_unit) / in_seconds(bottom, bottom_unit);
        ratios.push(Ratio {
            key: (*key).to_owned(),
            label: label.replace("N machines", &format!("{machines} machines")),
            numerator: (*numerator).to_owned(),
            denominator: (*denominator).to_owned(),
            value,
            target: target.map(|t| t.text("")),
            met: target.map(|t| t.met(value)),
        });
    }

    let results = json!({
        "date": now,
        "machine": machine(),
        "machines": machines,
        "figures": figures,
        "ratios": ratios,
    });
    std::fs::write(out, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("cannot write {}", out.display()))?;

    println!(
        "{}",
        results["machine"]["summary"].as_str().unwrap_or_default()
    );
    println!(
        "{:<58} {:>12} {:>9} {:<4} runs",
        "figure (median)", "value", "target", "met"
    );
    for figure in &figures {
        let reused = if figure.measured == now {
            String::new()
        } else {
            format!(" (measured {})", figure.measured)
        };
        println!(
            "{:<58} {:>12} {:>9} {:<4} {}{}",
            figure.label,
            format!("{}{}", number(figure.median), unit_suffix(&figure.unit)),
            figure.target.clone().unwrap_or_default(),
            verdict(figure.met),
            figure
                .runs
                .iter()
                .map(|v| number(*v))
                .collect::<Vec<_>>()
                .join(" "),
            reused,
        );
    }
    for ratio in &ratios {
        println!(
            "{:<58} {:>12} {:>9} {:<4}",
            ratio.label,
            number(ratio.value),
            ratio.target.clone().unwrap_or_default(),
            verdict(ratio.met),
        );
    }
    println!("written: {}", out.display());
    let all_met = figures
        .iter()
        .filter_map(|f| f.met)
        .chain(ratios.iter().filter_map(|r| r.met))
        .all(|met| met);
    Ok(all_met)
}

fn in_seconds(value: f64, unit: &str) -> f64 {
    match unit {
        "ms" => value / 1e3,
        _ => value,
    }
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "",
    }
}

fn unit_suffix(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    }
}

/// Three significant digits or so: 0.0412, 1.23, 45.6, 1234.
fn number(value: f64) -> String {
    let magnitude = value.abs();
    if value == 0.0 || magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else if magnitude >= 1.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.3}")
    }
}

/// CPU model, cores, memory and Docker version of this machine.
fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
        .unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_gib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let docker = std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    json!({
        "cpu_model": model,
        "cpus": cpus,
        "memory_gib": (memory_gib * 10.0).round() / 10.0,
        "docker": docker,
        "summary": format!("{cpus} CPUs ({model}), {memory_gib:.1} GiB, Docker {docker}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn the_report_takes_medians_ratios_and_targets_from_raw_files() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        std::fs::write(
            dir.join("a.tsv"),
            "# measured then\nbuild.cold_workspace\t100\n",
        )
        .unwrap();
        let mut raw = Raw::default();
        for value in [3.0, 9.0, 4.0] {
            raw.push("build.incremental_workspace", value);
        }
        raw.push("converged.api_writes_per_object", 0.0);
        raw.write(&dir.join("b.tsv"), "now").unwrap();
        let out = dir.join("results.json");
        assert!(report(dir, &out, "now").unwrap());
        let results: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let ratio = &results["ratios"][0];
        assert_eq!(ratio["key"], "ratio.incremental_over_cold");
        assert_eq!(ratio["value"], 0.04);
        assert_eq!(ratio["met"], true);
        assert_eq!(results["figures"][0]["measured"], "then");
    }
}
