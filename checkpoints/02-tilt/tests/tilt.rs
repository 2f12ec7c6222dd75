//! The Tilt files at the repository root point at this checkpoint and follow Cluster API's rules.

mod support;

use std::path::{Path, PathBuf};

use clap::Parser;
use serde_json::Value;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn json(name: &str) -> Value {
    let text =
        std::fs::read_to_string(repository().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

#[test]
fn tilt_provider_names_the_provider_and_builds_no_go_image() {
    let provider = json("tilt-provider.json");
    assert_eq!(provider["name"], "docker-kubecon");
    assert_eq!(provider["config"]["label"], "CAPDKC");
    // With `image` set, Cluster API's Tiltfile would run `go build`.
    assert!(provider["config"].get("image").is_none());
    let context = provider["config"]["context"].as_str().expect("context");
    assert!(
        repository()
            .join(context)
            .join("config/default/kustomization.yaml")
            .is_file(),
        "{context}"
    );
}

#[test]
fn tilt_settings_enable_the_providers_and_pass_rust_flags() {
    let settings = json("tilt-settings.example.json");
    let enabled: Vec<&str> = settings["enable_providers"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        enabled,
        [
            "docker-kubecon",
            "kubeadm-bootstrap",
            "kubeadm-control-plane"
        ]
    );
    // No `debug` entry: it would switch the provider to delve, which cannot run a Rust binary.
    assert!(settings.get("debug").is_none());
    let extra = settings["extra_args"]["docker-kubecon"]
        .as_array()
        .expect("extra_args");
    let parsed = capdkc_manager::Cli::try_parse_from(
        std::iter::once("manager").chain(extra.iter().filter_map(Value::as_str)),
    );
    assert!(
        parsed.is_ok(),
        "the manager rejects the Tilt extra_args: {parsed:?}"
    );
    assert!(settings["kustomize_substitutions"]["CAPDKC_DOCKER_GID"].is_string());
}

#[test]
fn the_dockerfile_lists_every_workspace_member_for_its_dependency_layer() {
    let dockerfile = std::fs::read_to_string(repository().join("Dockerfile")).expect("Dockerfile");
    let manifest = std::fs::read_to_string(repository().join("Cargo.toml")).expect("Cargo.toml");
    let members_line = manifest
        .lines()
        .find(|l| l.starts_with("members"))
        .expect("members");
    for pattern in members_line.split('"').skip(1).step_by(2) {
        let parent = repository().join(pattern.trim_end_matches("/*"));
        let dirs: Vec<PathBuf> = if pattern.ends_with("/*") {
            std::fs::read_dir(&parent)
                .expect("member dir")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.join("Cargo.toml").is_file())
                .collect()
        } else {
            vec![parent]
        };
        for dir in dirs {
            let relative = dir
                .strip_prefix(repository())
                .expect("inside")
                .to_string_lossy()
                .replace('\\', "/");
            assert!(
                dockerfile.contains(&format!("COPY {relative}/Cargo.toml {relative}/")),
                "Dockerfile misses {relative}"
            );
        }
    }
}
