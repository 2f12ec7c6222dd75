//! A step as the learner meets it: `{{#exercise NN path:anchor}}` shows the code around an
//! exercise as the step starts (the learner's file, from the chapter's start state) with the
//! solution folded under it; `{{#step-output N.M before|after}}` shows what the step's tests
//! print, captured by the test that walks every chapter (`testing/exercises/tests/learner.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use exercises::{Region, Step, region};

use crate::workspace::Workspace;
use crate::{anchors, code};

/// Where the learner test writes each step's test output, relative to the repository.
pub const CAPTURES: &str = "book/src/gen/steps";

/// `{{#exercise NN path:anchor}}`: the anchored code of checkpoint NN's `path` as the first of
/// chapter NN's steps inside the anchor starts, then that code solved, folded.
pub fn show(
    workspace: &Workspace,
    number: &str,
    path: &str,
    anchor: &str,
) -> anyhow::Result<String> {
    let chapter: u8 = number.parse().context("a two-digit checkpoint number")?;
    let file = workspace.checkpoint_dir(number)?.join(path);
    let shown = workspace.display_path(&file);
    let text = workspace.read(&file)?;
    let steps = steps_in(&text, anchor, chapter).with_context(|| shown.clone())?;
    let Some(&first) = steps.first() else {
        bail!("anchor `{anchor}` in {shown} holds no exercise of chapter {chapter}");
    };
    let start = exercises::transform(&text, |r| r.step.chapter == chapter && r.step >= first)?;
    let solved = exercises::solved(&text)?;
    let region_of = |text: &str| {
        anchors::region(text, anchor).map_err(|e| anyhow!("anchor `{anchor}` in {shown} {e}"))
    };
    let language = code::language(path);
    let names: Vec<String> = steps.iter().map(Step::to_string).collect();
    let names = names.join(" ");
    Ok(format!(
        "<div class=\"exercise\" data-steps=\"{names}\">\n\n\
         <div class=\"cp-file\"><code>{path}</code> as step {first} starts</div>\n\n{}\n\
         <details class=\"solution\">\n<summary>Solution</summary>\n\n{}\n</details>\n</div>\n",
        code::block_without_header(language, &region_of(&start)?),
        code::block_without_header(language, &region_of(&solved)?),
    ))
}

/// The steps of chapter `chapter` whose regions lie inside anchor `anchor` of `text`, in order.
fn steps_in(text: &str, anchor: &str, chapter: u8) -> anyhow::Result<Vec<Step>> {
    let span = anchors::span(text, anchor).map_err(|e| anyhow!("anchor `{anchor}` {e}"))?;
    let mut steps: Vec<Step> = region::regions(text)?
        .iter()
        .filter(|r: &&Region| r.step.chapter == chapter)
        .filter(|r| span.contains(&r.start) && span.contains(&r.end))
        .map(|r| r.step)
        .collect();
    steps.sort();
    steps.dedup();
    Ok(steps)
}

/// `{{#step-output N.M before|after}}`: the step's test command and its captured output.
pub fn output(workspace: &Workspace, step: &str, when: &str) -> anyhow::Result<String> {
    let parsed = Step::parse(step).ok_or_else(|| anyhow!("`{step}` is not a step (N.M)"))?;
    if !matches!(when, "before" | "after") {
        bail!("`{when}` is neither `before` nor `after`");
    }
    let file = capture(workspace.root(), parsed, when);
    let text = workspace.read(&file).with_context(
        || "captured by `CAPDKC_UPDATE_CAPTURES=1 cargo test -p exercises --test learner`",
    )?;
    let command = format!("$ cargo test {}\n", parsed.test_prefix());
    Ok(code::block_without_header("text", &(command + &text)))
}

/// How many lines the learner writes in each step of every chapter: the regions of chapter NN's
/// steps in checkpoint NN.
pub fn lines_written(workspace: &Workspace) -> anyhow::Result<BTreeMap<Step, usize>> {
    let checkpoints = workspace.root().join("checkpoints");
    let mut lines = BTreeMap::new();
    for (number, dir) in exercises::checkpoint_dirs(&checkpoints)? {
        for (step, regions) in exercises::exercises(&dir)? {
            if step.chapter == number {
                lines.insert(step, regions.iter().map(|e| e.region.lines_written()).sum());
            }
        }
    }
    Ok(lines)
}

/// The capture of `step`'s tests, `before` or `after` its solution.
pub fn capture(root: &Path, step: Step, when: &str) -> PathBuf {
    root.join(CAPTURES).join(format!("{step}-{when}.txt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
// ANCHOR: both
fn a() -> u8 {
    // EXERCISE: 3.2 Return two.
    2
    // EXERCISE_END
}
fn b() -> u8 {
    // EXERCISE: 3.1 Return one.
    1
    // EXERCISE_END
}
// ANCHOR_END: both
// ANCHOR: none
fn c() {}
// ANCHOR_END: none
";

    #[test]
    fn finds_the_steps_of_the_chapter_inside_an_anchor() {
        let both = steps_in(FILE, "both", 3).expect("finds");
        assert_eq!(
            both.iter().map(Step::to_string).collect::<Vec<_>>(),
            ["3.1", "3.2"]
        );
        assert!(steps_in(FILE, "both", 4).expect("finds").is_empty());
        assert!(steps_in(FILE, "none", 3).expect("finds").is_empty());
        assert!(steps_in(FILE, "missing", 3).is_err());
    }
}
