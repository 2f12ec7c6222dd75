//! The Tilt files at the repository root build the learner's crate or a checkpoint and follow
//! Cluster API's rules.

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

fn read(name: &str) -> String {
    std::fs::read_to_string(repository().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn json(name: &str) -> Value {
    serde_json::from_str(&read(name)).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

#[test]
fn tilt_provider_names_the_provider_and_leaves_build_and_deploy_to_our_tiltfile() {
    let provider = json("tilt-provider.json");
    assert_eq!(provider["name"], "docker-kubecon");
    assert_eq!(provider["config"]["label"], "CAPDKC");
    // With `image` set, Cluster API's Tiltfile would run `go build`; with its provider YAML
    // applied, its tooling would drop the Deployment's securityContext (the socket's group).
    assert!(provider["config"].get("image").is_none());
    assert_eq!(provider["config"]["apply_provider_yaml"], false);
    // What its tilt.d/ runs instead: the same file as the standalone Tiltfile.
    assert!(read("tilt/tilt.d/capdkc.tiltfile").contains("tilt', 'capdkc.tiltfile'"));
    assert!(read("Tiltfile").contains("load('tilt/capdkc.tiltfile', 'capdkc')"));
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
    // Empty: tilt/capdkc.tiltfile reads the Docker socket's group from the kind node.
    assert_eq!(settings["kustomize_substitutions"]["CAPDKC_DOCKER_GID"], "");
}

#[test]
fn the_image_builds_the_learners_crate_as_well_as_a_checkpoint() {
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("ARG CHECKPOINT=") && dockerfile.contains("ARG CRATE_DIR="));
    // The learner's crate must reach the build context (its target/ need not).
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(|line| line.trim().trim_end_matches('/').to_owned())
        .collect();
    assert!(
        !ignored.iter().any(|line| line == "workshop"),
        "{ignored:?}"
    );
    let tiltfile = read("tilt/capdkc.tiltfile");
    for arg in ["'CRATE_DIR'", "'CHECKPOINT'", "'workshop'"] {
        assert!(tiltfile.contains(arg), "tilt/capdkc.tiltfile lacks {arg}");
    }
}

#[test]
fn the_dockerfile_lists_every_workspace_member_for_its_dependency_layer() {
    let dockerfile = read("Dockerfile");
    let manifest = read("Cargo.toml");
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
