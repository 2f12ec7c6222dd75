//! What a learner does, chapter by chapter: `scripts/jump.sh NN --exercises` writes the start of
//! chapter NN into a fresh crate; `cargo test` there fails, naming the chapter's first step and
//! no earlier chapter's;
//! each step's tests fail until that step's solution is back (in book order) and pass after;
//! at the end the learner's crate passes all of the checkpoint's tests.
//!
//! The output of each step's tests, before and after, is what the book shows
//! (`book/src/gen/steps/`): this test compares it with the committed files, and writes them
//! when `CAPDKC_UPDATE_CAPTURES=1`. It builds the learner's crate with cargo in its own target
//! directory (`target/tmp/learner`); the first run compiles the dependencies once.
//! `CAPDKC_LEARNER_CHAPTERS=4` walks chapter 4 only, while writing it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::LazyLock;

use exercises::Step;
use regex::Regex;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn captures_dir() -> PathBuf {
    repository().join("book/src/gen/steps")
}

/// Runs `cargo test ARGS` in the learner's crate; its output (the test binaries' stdout).
fn cargo_test(crate_dir: &Path, args: &[&str]) -> (bool, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("learner");
    let output: Output = Command::new(cargo)
        .arg("test")
        .args(args)
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("RUST_BACKTRACE")
        .env_remove("CAPDKC_UPDATE_CAPTURES")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() && !stdout.contains("test result:") {
        // It did not even build: show why.
        let stderr = String::from_utf8_lossy(&output.stderr);
        panic!(
            "`cargo test {}` in {} did not build:\n{stderr}",
            args.join(" "),
            crate_dir.display()
        );
    }
    (output.status.success(), stdout)
}

static FINISHED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"finished in \d+\.\d+s").expect("valid"));
static THREAD_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(thread '[^']*') \(\d+\)").expect("valid"));
static STEP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"step (\d+\.\d+)").expect("valid"));

/// The output as the book shows it: no timings or thread ids, which differ from run to run, and
/// the repository's files by their path in it.
fn normalised(output: &str) -> String {
    let root = repository().canonicalize().expect("the repository");
    let output = output.replace(&format!("{}/", root.display()), "");
    let output = FINISHED.replace_all(&output, "finished in 0.00s");
    let output = THREAD_ID.replace_all(&output, "$1");
    output.trim().to_owned() + "\n"
}

/// Compares `output` with the committed capture `name`, or writes it when asked to.
fn capture(name: &str, output: &str, stale: &mut Vec<String>) {
    let file = captures_dir().join(format!("{name}.txt"));
    let output = normalised(output);
    if std::env::var("CAPDKC_UPDATE_CAPTURES").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(captures_dir()).expect("creates the captures directory");
        std::fs::write(&file, &output).expect("writes the capture");
    } else {
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        if without_run_details(&committed) != without_run_details(&output) {
            stale.push(format!("{} (now:\n{output})", file.display()));
        }
    }
}

/// The output with what differs between two runs of the same code blanked out: an Event's time
/// and its generated name (an unexpected request's body shows them), and test durations.
fn without_run_details(output: &str) -> String {
    let details = [
        (r#""eventTime":"[^"]*""#, r#""eventTime":"<time>""#),
        (
            r#""name":"([a-z0-9.-]+)\.[0-9a-f]{16}""#,
            r#""name":"$1.<hex>""#,
        ),
        (r"finished in [0-9.]+s", "finished in <seconds>"),
    ];
    details
        .iter()
        .fold(output.to_owned(), |text, (pattern, blank)| {
            let pattern = regex::Regex::new(pattern).expect("a valid pattern");
            pattern.replace_all(&text, *blank).into_owned()
        })
}

#[test]
fn run_details_do_not_make_a_capture_stale() {
    let body = |time: &str, name: &str| {
        format!(
            r#"got POST /events {{"eventTime":"{time}","metadata":{{"name":"{name}"}}}}
test result: FAILED. 0 passed; finished in 0.01s"#
        )
    };
    let committed = body("2026-12-05T19:43:28.866826Z", "demo.18ee730ed2907945");
    let now = body("2026-12-05T20:51:28.851434Z", "demo.18ee76c4c498fab7");
    assert_eq!(without_run_details(&committed), without_run_details(&now));
    let other = body("2026-12-05T20:51:28.851434Z", "other.18ee76c4c498fab7");
    assert_ne!(without_run_details(&committed), without_run_details(&other));
}

/// Checkpoint NN's directory and the steps of chapter NN, for every chapter with exercises (or
/// those `CAPDKC_LEARNER_CHAPTERS=3,4` names, while writing a chapter).
fn chapters() -> Vec<(u8, PathBuf, Vec<Step>)> {
    let only: Option<Vec<u8>> = std::env::var("CAPDKC_LEARNER_CHAPTERS").ok().map(|list| {
        list.split(',')
            .filter_map(|n| n.trim().parse().ok())
            .collect()
    });
    let checkpoints = repository().join("checkpoints");
    let dirs = exercises::checkpoint_dirs(&checkpoints).expect("the checkpoints");
    dirs.into_iter()
        .filter_map(|(number, dir)| {
            let steps = exercises::steps(&dir, number).expect("the exercises");
            let wanted = only.as_ref().is_none_or(|only| only.contains(&number));
            (wanted && !steps.is_empty()).then_some((number, dir, steps))
        })
        .collect()
}

fn jump(chapter: u8, crate_dir: &Path) {
    let status = Command::new("bash")
        .arg(repository().join("scripts/jump.sh"))
        .arg(format!("{chapter:02}"))
        .arg(crate_dir)
        .args(["--exercises", "--force"])
        .env("CAPDKC_EXERCISES", env!("CARGO_BIN_EXE_exercises"))
        .output()
        .expect("jump.sh runs");
    assert!(
        status.status.success(),
        "jump.sh {chapter:02} --exercises failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn a_learner_works_through_every_chapter_step_by_step() {
    // A fresh directory, outside the repository as a learner's own crate may be.
    let work = tempfile::tempdir().expect("a temporary directory");
    let crate_dir = work.path().join("workshop");
    let mut stale = Vec::new();
    for (chapter, checkpoint, steps) in chapters() {
        jump(chapter, &crate_dir);
        let (passed, output) = cargo_test(&crate_dir, &["--no-fail-fast"]);
        assert!(
            !passed,
            "chapter {chapter}'s start state passes its tests already"
        );
        // What `cargo test` names is where the learner starts: this chapter's first step, and
        // nothing of an earlier chapter (whose steps are done).
        let named: std::collections::BTreeSet<Step> = STEP
            .captures_iter(&output)
            .filter_map(|c| Step::parse(&c[1]))
            .collect();
        assert!(
            named.contains(&steps[0]) && named.iter().all(|s| s.chapter == chapter),
            "`cargo test` at the start of chapter {chapter} should name step {} and only this \
             chapter's steps, not {named:?}:\n{output}",
            steps[0]
        );
        let tests = exercises::step_tests(&checkpoint).expect("the step tests");
        let rename = |text: &str| {
            text.replace(&format!("checkpoint-{chapter:02}"), "workshop")
                .replace(&format!("checkpoint_{chapter:02}"), "workshop")
        };
        let mut solved = Vec::new();
        for step in &steps {
            let files = tests
                .get(step)
                .unwrap_or_else(|| panic!("step {step} has tests"));
            let prefix = step.test_prefix();
            let run = |file: &Path| {
                let target = file
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                // One test at a time: the output, which the book shows, in a stable order.
                cargo_test(
                    &crate_dir,
                    &["--test", &target, &prefix, "--", "--test-threads=1"],
                )
            };
            let mut before = String::new();
            for file in files.keys() {
                let (passed, output) = run(file);
                assert!(
                    !passed,
                    "step {step}'s tests in {} pass before it is written:\n{output}",
                    file.display()
                );
                assert!(
                    output.contains(&format!("step {step}")),
                    "step {step}'s failing tests should name it:\n{output}"
                );
                before.push_str(&output);
            }
            exercises::put_back(&crate_dir, &checkpoint, *step, &solved, rename)
                .expect("puts the solution back");
            solved.push(*step);
            let mut after = String::new();
            for file in files.keys() {
                let (passed, output) = run(file);
                assert!(
                    passed,
                    "step {step}'s tests in {} fail with its solution:\n{output}",
                    file.display()
                );
                after.push_str(&output);
            }
            capture(&format!("{step}-before"), &before, &mut stale);
            capture(&format!("{step}-after"), &after, &mut stale);
        }
        let (passed, output) = cargo_test(&crate_dir, &[]);
        assert!(
            passed,
            "with every solution back, chapter {chapter}'s crate fails:\n{output}"
        );
    }
    assert!(
        stale.is_empty(),
        "the book's captured step outputs are stale; run with CAPDKC_UPDATE_CAPTURES=1:\n{}",
        stale.join("\n")
    );
}

#[test]
fn every_exercise_has_its_tests_and_every_step_test_its_exercise() {
    let problems = exercises::problems(&repository().join("checkpoints")).expect("reads");
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}
