//! The book's exercises, cut from the checkpoints.
//!
//! A chapter's exercises are regions of checkpoint NN's files marked `EXERCISE: NN.M` (see
//! [`region`]). A learner starts chapter NN from checkpoint NN with those regions cut out
//! ([`start_state`]); each step has tests named `step_NN_M_...` that fail until its region is
//! written and pass once it is ([`put_back`] does it for the tests of this mechanism).

pub mod region;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, bail};
use regex::Regex;

pub use region::{Region, Step, is_marker, solved, transform};

/// One exercise: a region of a checkpoint file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exercise {
    /// The file, relative to the checkpoint.
    pub file: PathBuf,
    pub region: Region,
}

/// Every exercise region in the files under `dir` (read through links), by step. A step may
/// span several regions (a type and the function that uses it, say).
pub fn exercises(dir: &Path) -> anyhow::Result<BTreeMap<Step, Vec<Exercise>>> {
    let mut found: BTreeMap<Step, Vec<Exercise>> = BTreeMap::new();
    for file in files(dir)? {
        let Ok(text) = std::fs::read_to_string(dir.join(&file)) else {
            continue;
        };
        let regions =
            region::regions(&text).with_context(|| format!("{}", dir.join(&file).display()))?;
        for region in regions {
            let exercise = Exercise {
                file: file.clone(),
                region,
            };
            found
                .entry(exercise.region.step)
                .or_default()
                .push(exercise);
        }
    }
    Ok(found)
}

/// The steps of chapter `chapter` found under `dir`, in order.
pub fn steps(dir: &Path, chapter: u8) -> anyhow::Result<Vec<Step>> {
    let all = exercises(dir)?;
    Ok(all.into_keys().filter(|s| s.chapter == chapter).collect())
}

/// Rewrites the files under `dir` in place as the start of chapter `chapter`: its regions cut
/// out (but those of `solved` steps), every other region solved, no marker left.
pub fn start_state(dir: &Path, chapter: u8, solved: &[Step]) -> anyhow::Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    for file in files(dir)? {
        let path = dir.join(&file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if !text.lines().any(is_marker) {
            continue;
        }
        let cut = |r: &Region| r.step.chapter == chapter && !solved.contains(&r.step);
        let rewritten = transform(&text, cut).with_context(|| format!("{}", path.display()))?;
        std::fs::write(&path, rewritten)
            .with_context(|| format!("cannot write {}", path.display()))?;
        changed.push(file);
    }
    Ok(changed)
}

/// Puts the solution of `step`, as checkpoint `solutions` holds it, back into the learner's
/// crate `dir`, which started chapter `step.chapter` with [`start_state`] and has the steps of
/// `solved` written since. The files of `step` are written as the checkpoint's with the steps
/// still to come cut out; each must be, before, what the previous steps left. `rename` turns the
/// checkpoint's names into the learner's (package, crate).
pub fn put_back(
    dir: &Path,
    solutions: &Path,
    step: Step,
    solved: &[Step],
    rename: impl Fn(&str) -> String,
) -> anyhow::Result<()> {
    let all = exercises(solutions)?;
    let Some(regions) = all.get(&step) else {
        bail!("step {step} has no exercise in {}", solutions.display());
    };
    let mut files: Vec<&PathBuf> = regions.iter().map(|e| &e.file).collect();
    files.dedup();
    let mut with_step = solved.to_vec();
    with_step.push(step);
    for file in files {
        let checkpoint = std::fs::read_to_string(solutions.join(file))?;
        let as_of = |done: &[Step]| {
            let cut = |r: &Region| r.step.chapter == step.chapter && !done.contains(&r.step);
            transform(&checkpoint, cut).map(|text| rename(&text))
        };
        let path = dir.join(file);
        let current = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if current != as_of(solved)? {
            bail!("{}: not what the steps before {step} leave", path.display());
        }
        std::fs::write(&path, as_of(&with_step)?)?;
    }
    Ok(())
}

static STEP_TEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"fn (step_(\d+)_(\d+)_\w+)\s*\(").expect("a valid pattern"));

/// The step tests under `dir/tests`: step, test file (relative to `dir`), test names.
pub fn step_tests(dir: &Path) -> anyhow::Result<BTreeMap<Step, BTreeMap<PathBuf, Vec<String>>>> {
    let mut found: BTreeMap<Step, BTreeMap<PathBuf, Vec<String>>> = BTreeMap::new();
    let tests = dir.join("tests");
    for file in files(&tests)? {
        if file.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(tests.join(&file))?;
        for caps in STEP_TEST.captures_iter(&text) {
            let step = Step {
                chapter: caps[2].parse()?,
                number: caps[3].parse()?,
            };
            let names = found
                .entry(step)
                .or_default()
                .entry(Path::new("tests").join(&file));
            names.or_default().push(caps[1].to_owned());
        }
    }
    Ok(found)
}

/// What keeps the exercises of the checkpoints under `checkpoints` from being usable: a
/// chapter's steps not numbered 1, 2, ...; a step first marked in another checkpoint than its
/// chapter's; an exercise without tests named after its step, or such tests without an
/// exercise.
pub fn problems(checkpoints: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    for (number, dir) in checkpoint_dirs(checkpoints)? {
        let exercises = exercises(&dir)?;
        let tests = step_tests(&dir)?;
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let own: Vec<Step> = exercises
            .keys()
            .copied()
            .filter(|s| s.chapter == number)
            .collect();
        for (index, step) in own.iter().enumerate() {
            if usize::from(step.number) != index + 1 {
                problems.push(format!(
                    "{name}: chapter {number}'s steps are not numbered 1, 2, ...: {step}"
                ));
            }
        }
        for step in exercises.keys().filter(|s| s.chapter > number) {
            problems.push(format!("{name}: step {step} belongs to a later chapter"));
        }
        for step in exercises.keys() {
            if !tests.contains_key(step) {
                let prefix = step.test_prefix();
                problems.push(format!(
                    "{name}: step {step} has no test named {prefix}_..."
                ));
            }
        }
        for step in tests.keys() {
            if !exercises.contains_key(step) {
                problems.push(format!(
                    "{name}: tests named {}_... but no exercise {step}",
                    step.test_prefix()
                ));
            }
        }
    }
    Ok(problems)
}

/// `checkpoints/NN-name` directories, by number.
pub fn checkpoint_dirs(checkpoints: &Path) -> anyhow::Result<Vec<(u8, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(checkpoints)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(number) = name.get(..2).and_then(|n| n.parse().ok())
            && entry.path().is_dir()
        {
            found.push((number, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Every file under `dir`, relative to it, through links; build output and hidden files left out.
fn files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if dir.is_dir() {
        collect(dir, dir, &mut out)?;
    }
    out.sort();
    Ok(out)
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            collect(base, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(base) {
            out.push(relative.to_path_buf());
        }
    }
    Ok(())
}
