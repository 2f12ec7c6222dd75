//! The chain at work on a copy of the repository's checkpoints: an edit that is not carried
//! forward is found and named; `carry` brings it into the later checkpoints.

use std::path::{Path, PathBuf};

use checkpoint_diffs::{Problem, carry, check, record};

/// A copy of `checkpoints/` (and its recorded changes) in a temporary repository, links kept.
fn copy_of_the_checkpoints() -> tempfile::TempDir {
    let repository = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let copy = tempfile::tempdir().expect("a temporary directory");
    copy_tree(
        &repository.join("checkpoints"),
        &copy.path().join("checkpoints"),
    );
    copy
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("creates");
    for entry in std::fs::read_dir(from).expect("reads") {
        let entry = entry.expect("an entry");
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        let kind = entry.file_type().expect("a type");
        if kind.is_symlink() {
            let link = std::fs::read_link(&source).expect("a link");
            std::os::unix::fs::symlink(link, &target).expect("links");
        } else if kind.is_dir() {
            copy_tree(&source, &target);
        } else {
            std::fs::copy(&source, &target).expect("copies");
        }
    }
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("reads");
    assert!(text.contains(from), "{} contains {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).expect("writes");
}

const CONTROLLER: &str = "src/controllers/docker_cluster.rs";
const EDITED: &str = "cannot run the load-balancer container (edited)";

#[test]
fn an_edit_to_checkpoint_03_not_carried_forward_is_named_and_carry_brings_it() {
    let repository = copy_of_the_checkpoints();
    let root = repository.path();
    let checkpoints = root.join("checkpoints");
    edit(
        &checkpoints.join("03-cluster-controller").join(CONTROLLER),
        "cannot run the load-balancer container",
        EDITED,
    );

    // Chapter 3's change to the file is now another one, and chapter 4's copy did not follow.
    let problems = check(root).expect("checks");
    let drift = |checkpoint: &str| Problem::Drift {
        checkpoint: checkpoint.into(),
        path: CONTROLLER.into(),
    };
    assert_eq!(
        problems,
        [
            drift("03-cluster-controller"),
            drift("04-machine-controller")
        ]
    );
    let message = problems[1].to_string();
    assert!(
        message.starts_with("checkpoints/04-machine-controller/src/controllers/docker_cluster.rs")
            && message.contains("scripts/checkpoints.sh carry 03"),
        "{message}"
    );

    record(root, 3).expect("records chapter 3's change");
    let (written, kept) = carry(root, 3).expect("carries");
    assert_eq!(written, ["04-machine-controller", "05-template"]);
    assert_eq!(kept, [] as [String; 0], "every change applied");
    assert_eq!(check(root).expect("checks"), []);
    for later in ["04-machine-controller", "05-template"] {
        let text =
            std::fs::read_to_string(checkpoints.join(later).join(CONTROLLER)).expect("reads");
        assert!(text.contains(EDITED), "{later} has the edit");
    }
    let link = checkpoints.join("05-template").join(CONTROLLER);
    assert!(
        link.is_symlink(),
        "checkpoint 05 still links chapter 4's file"
    );
}

#[test]
fn an_edit_to_a_file_later_checkpoints_link_is_theirs_at_once() {
    let repository = copy_of_the_checkpoints();
    let root = repository.path();
    let api = root.join("checkpoints/03-cluster-controller/src/api/docker_cluster.rs");
    edit(
        &api,
        "Where the workload cluster's API server is reached.",
        "Where it is reached.",
    );
    // Chapter 3's own change to it is another one now; 04 and 05 link the file, so nothing else.
    let changed_chapter_3 = Problem::Drift {
        checkpoint: "03-cluster-controller".into(),
        path: "src/api/docker_cluster.rs".into(),
    };
    assert_eq!(check(root).expect("checks"), [changed_chapter_3]);
    record(root, 3).expect("records chapter 3's change");
    assert_eq!(check(root).expect("checks"), []);
}

#[test]
fn a_copy_where_a_link_belongs_and_an_unrecorded_change_are_both_named() {
    let repository = copy_of_the_checkpoints();
    let root = repository.path();
    let file = root.join("checkpoints/05-template/src/controllers/docker_machine.rs");
    let text = std::fs::read_to_string(&file).expect("reads");
    std::fs::remove_file(&file).expect("removes the link");
    std::fs::write(&file, &text).expect("writes a copy");
    let main = root.join("checkpoints/05-template/src/lib.rs");
    edit(&main, "Checkpoint 05", "Checkpoint five");

    let problems = check(root).expect("checks");
    let named: Vec<String> = problems.iter().map(Problem::file).collect();
    assert_eq!(
        named,
        [
            "checkpoints/05-template/src/lib.rs",
            "checkpoints/05-template/src/controllers/docker_machine.rs",
        ]
    );
    assert!(matches!(problems[0], Problem::Drift { .. }));
    assert!(matches!(problems[1], Problem::Copy { .. }));
}

#[test]
fn a_change_that_no_longer_applies_keeps_the_later_file_and_says_so() {
    let repository = copy_of_the_checkpoints();
    let root = repository.path();
    let checkpoints = root.join("checkpoints");
    // Chapter 3 rewrites checkpoint 02's `setup`: an edit inside it cannot be carried.
    let setup = checkpoints.join("02-tilt/src/controllers/mod.rs");
    edit(
        &setup,
        "let docker_clusters = manager.watch",
        "let docker_clusters = (manager).watch",
    );
    record(root, 2).expect("records chapter 2's change");
    let before =
        std::fs::read_to_string(checkpoints.join("03-cluster-controller/src/controllers/mod.rs"))
            .expect("reads");
    let (_, kept) = carry(root, 2).expect("carries");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        kept[0].starts_with(
            "checkpoints/03-cluster-controller/src/controllers/mod.rs: the lines of hunk"
        ),
        "{kept:?}"
    );
    let after =
        std::fs::read_to_string(checkpoints.join("03-cluster-controller/src/controllers/mod.rs"))
            .expect("reads");
    assert_eq!(before, after, "kept as it was");
    assert_eq!(
        check(root).expect("checks"),
        [],
        "and chapter 3's change recorded as it is"
    );
}

#[test]
fn carry_refuses_to_overwrite_a_later_checkpoints_unrecorded_edit() {
    let repository = copy_of_the_checkpoints();
    let root = repository.path();
    let checkpoints = root.join("checkpoints");
    let template = checkpoints.join("05-template/templates/cluster-template.yaml");
    edit(
        &template,
        "What every worker DockerMachine",
        "What each worker DockerMachine",
    );
    edit(
        &checkpoints.join("03-cluster-controller").join(CONTROLLER),
        "cannot run the load-balancer container",
        EDITED,
    );
    record(root, 3).expect("records chapter 3's change");

    let error = carry(root, 3)
        .expect_err("chapter 5's edit is not recorded")
        .to_string();
    assert!(
        error.contains("checkpoints/05-template/templates/cluster-template.yaml")
            && error.contains("scripts/checkpoints.sh record 05"),
        "{error}"
    );
    let text = std::fs::read_to_string(&template).expect("reads");
    assert!(text.contains("What each worker"), "the edit is still there");
    let later = checkpoints.join("04-machine-controller").join(CONTROLLER);
    let text = std::fs::read_to_string(later).expect("reads");
    assert!(!text.contains(EDITED), "nothing was carried");
}
