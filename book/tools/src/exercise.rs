//! A step as the learner meets it: `{{#exercise N.M}}` shows the code around each of the step's
//! regions as the step starts (the learner's file, from the chapter's start state) with the
//! solution folded under it; `{{#step-output N.M before|after}}` shows what the step's tests
//! print, captured by the test that walks every chapter (`testing/exercises/tests/learner.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
#[cfg(test)]
use exercises::region;
use exercises::{Region, Step};

use crate::workspace::Workspace;
use crate::{anchors, code};

/// Where the learner test writes each step's test output, relative to the repository.
pub const CAPTURES: &str = "book/src/gen/steps";

/// `{{#exercise N.M}}`: for each region of step N.M (in checkpoint N), the code around it (the
/// innermost anchor holding it) as the step starts, then that code solved, folded.
pub fn show(workspace: &Workspace, step: &str) -> anyhow::Result<String> {
    let step = Step::parse(step).ok_or_else(|| anyhow!("`{step}` is not a step (N.M)"))?;
    let dir = workspace.checkpoint_dir(&format!("{:02}", step.chapter))?;
    let all = exercises::exercises(&dir)?;
    let regions = all.get(&step).ok_or_else(|| {
        anyhow!(
            "step {step} has no exercise in {}",
            workspace.display_path(&dir)
        )
    })?;
    let mut blocks = Vec::new();
    let mut files: Vec<&PathBuf> = regions.iter().map(|e| &e.file).collect();
    files.dedup();
    for file in files {
        let text = workspace.read(&dir.join(file))?;
        let shown = workspace.display_path(&dir.join(file));
        let mut anchors: Vec<String> = Vec::new();
        for exercise in regions.iter().filter(|e| &e.file == file) {
            let anchor = innermost_anchor(&text, &exercise.region).ok_or_else(|| {
                anyhow!(
                    "step {step}'s region at line {} of {shown} is in no anchor: wrap it (and \
                     what the learner needs around it) in `ANCHOR: name` ... `ANCHOR_END: name`",
                    exercise.region.start + 1
                )
            })?;
            if !anchors.contains(&anchor) {
                anchors.push(anchor);
            }
        }
        for anchor in anchors {
            blocks.push(block(&text, &file.to_string_lossy(), &anchor, step)?);
        }
    }
    Ok(format!(
        "<div class=\"exercise\" data-steps=\"{step}\">\n\n{}</div>\n",
        blocks.join("\n")
    ))
}

/// The files and anchors `{{#exercise N.M}}` shows for `step` (nothing if it cannot show it).
pub fn anchors_of(workspace: &Workspace, step: Step) -> Vec<(PathBuf, String)> {
    let Ok(dir) = workspace.checkpoint_dir(&format!("{:02}", step.chapter)) else {
        return Vec::new();
    };
    let Ok(all) = exercises::exercises(&dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for exercise in all.get(&step).into_iter().flatten() {
        let file = dir.join(&exercise.file);
        if let Ok(text) = std::fs::read_to_string(&file)
            && let Some(anchor) = innermost_anchor(&text, &exercise.region)
        {
            found.push((file, anchor));
        }
    }
    found
}

/// The smallest anchor of `text` that holds `region`.
fn innermost_anchor(text: &str, region: &Region) -> Option<String> {
    anchors::spans(text)
        .into_iter()
        .filter(|(_, span)| span.contains(&region.start) && span.contains(&region.end))
        .min_by_key(|(_, span)| span.len())
        .map(|(name, _)| name)
}

/// One anchored piece of `text` (the file `path` of the learner's crate) as `step` starts, and
/// solved.
fn block(text: &str, path: &str, anchor: &str, step: Step) -> anyhow::Result<String> {
    // The learner has written the chapter's steps before this one; this one and the later ones
    // are still to do.
    let start = exercises::transform(text, |r| r.step.chapter == step.chapter && r.step >= step)?;
    let solved = exercises::solved(text)?;
    let region_of = |text: &str| {
        anchors::region(text, anchor).map_err(|e| anyhow!("anchor `{anchor}` in {path} {e}"))
    };
    let language = code::language(path);
    Ok(format!(
        "<div class=\"cp-file\"><code>{path}</code> as step {step} starts</div>\n\n{}\n\
         <details class=\"solution\">\n<summary>Solution</summary>\n\n{}\n</details>\n",
        code::block_without_header(language, &region_of(&start)?),
        code::block_without_header(language, &region_of(&solved)?),
    ))
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
// ANCHOR: outer
// ANCHOR: inner
fn a() -> u8 {
    // EXERCISE: 3.2 Return two.
    2
    // EXERCISE_END
}
// ANCHOR_END: inner
// ANCHOR_END: outer
fn b() -> u8 {
    // EXERCISE: 3.1 Return one.
    1
    // EXERCISE_END
}
";

    #[test]
    fn a_region_is_shown_in_the_innermost_anchor_holding_it() {
        let regions = region::regions(FILE).expect("parses");
        assert_eq!(
            innermost_anchor(FILE, &regions[0]).as_deref(),
            Some("inner")
        );
        assert_eq!(innermost_anchor(FILE, &regions[1]), None);
    }

    #[test]
    fn the_block_shows_the_start_and_the_solution() {
        let step = Step::parse("3.2").expect("a step");
        let block = block(FILE, "src/lib.rs", "inner", step).expect("renders");
        assert!(
            block.contains("todo!(\"step 3.2: return two (chapter 3)\")"),
            "{block}"
        );
        assert!(
            block.contains("<summary>Solution</summary>\n\n```rust\nfn a() -> u8 {\n    2\n}"),
            "{block}"
        );
    }
}
