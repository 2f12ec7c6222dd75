//! The shape of the final image stage, built on the real Docker engine: the binary alone at
//! `/manager` (with the shared libraries a glibc build needs, since the static musl build of the
//! Dockerfile cannot be made without a base image here), running as 65532 from an empty base.
//! Skips without a Docker daemon on a laptop; fails without one in CI.

mod support;

use support::checkpoint;

use std::path::Path;
use std::process::Command;

const MANAGER: &str = support::MANAGER;

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs")
}

fn daemon_answers() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Copies `binary` and every shared library `ldd` names into `root`, keeping their paths.
fn copy_with_libraries(binary: &Path, root: &Path) {
    std::fs::copy(binary, root.join("manager")).expect("copy the binary");
    let ldd = Command::new("ldd").arg(binary).output().expect("ldd runs");
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let path = line
            .split_whitespace()
            .find(|word| word.starts_with('/'))
            .map(Path::new);
        if let Some(library) = path.filter(|p| p.is_file()) {
            let target = root.join(library.strip_prefix("/").expect("absolute"));
            std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            std::fs::copy(library, target).expect("copy a library");
        }
    }
}

#[test]
fn the_manager_runs_from_an_empty_base_as_a_non_root_user() {
    if !daemon_answers() {
        assert!(
            std::env::var("CI").is_err(),
            "a Docker daemon is required in CI (scripts/start-dockerd.sh)"
        );
        eprintln!("SKIPPED: no Docker daemon answers (run scripts/start-dockerd.sh)");
        return;
    }
    let context = tempfile::tempdir().expect("temp dir");
    let root = context.path().join("root");
    std::fs::create_dir_all(&root).expect("mkdir");
    copy_with_libraries(Path::new(MANAGER), &root);
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM scratch\nCOPY root/ /\nUSER 65532:65532\nENTRYPOINT [\"/manager\"]\n",
    )
    .expect("Dockerfile");
    let tag = format!("capdkc-manager-test:{}", std::process::id());
    let built = docker(&[
        "build",
        "--quiet",
        "-t",
        &tag,
        &context.path().to_string_lossy(),
    ]);
    assert!(
        built.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&built.stderr)
    );

    let crds = docker(&["run", "--rm", &tag, "crds"]);
    let user = docker(&[
        "image",
        "inspect",
        "--format",
        "{{.Config.User}} {{json .Config.Entrypoint}}",
        &tag,
    ]);
    let usage = docker(&["run", "--rm", &tag, "--no-such-flag"]);
    docker(&["image", "rm", "--force", &tag]);

    assert!(
        crds.status.success(),
        "{}",
        String::from_utf8_lossy(&crds.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&crds.stdout),
        capdkc_manager::crds::all_to_yaml(&checkpoint::crdgen::crds()).expect("CRDs")
    );
    assert_eq!(
        String::from_utf8_lossy(&user.stdout).trim(),
        "65532:65532 [\"/manager\"]"
    );
    assert_eq!(
        usage.status.code(),
        Some(2),
        "a bad flag is a usage error in the container too"
    );
}
