//! Exercise regions in a file: what a learner writes, marked like the book's anchors.
//!
//! ```text
//!     // EXERCISE: 3.2 Run the load balancer and point the endpoint at it.
//!     ... the solution ...
//!     // EXERCISE_END
//! ```
//!
//! In a chapter's start state the solution gives way to `todo!("step 3.2: ...")`, so the
//! region must end a function body (what comes before it in the body is given code the learner
//! builds on). Anywhere else (a type, a YAML block) the region says
//! what the learner starts from, as comment lines between `EXERCISE_START_STATE` and the end:
//!
//! ```text
//! // EXERCISE: 1.1 Give DockerCluster its group, version and kind.
//! #[kube(group = "infrastructure.cluster.x-k8s.io", version = "v1alpha1", ...)]
//! // EXERCISE_START_STATE
//! // #[kube(group = "example.com", version = "v1", kind = "DockerCluster", namespaced)]
//! // EXERCISE_END
//! ```
//!
//! Comments are `//` in Rust and `#` in YAML, TOML and shell files.

use std::sync::LazyLock;

use anyhow::bail;
use regex::Regex;

static START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\s*)(//|#) EXERCISE: (\d+)\.(\d+) (\S.*)$").expect("a valid pattern")
});
static START_STATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(//|#) EXERCISE_START_STATE\s*$").expect("a valid pattern"));
static END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(//|#) EXERCISE_END\s*$").expect("a valid pattern"));

/// A step's number: chapter and step within it (`3.2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Step {
    pub chapter: u8,
    pub number: u8,
}

impl Step {
    /// `3.2`.
    pub fn parse(text: &str) -> Option<Self> {
        let (chapter, number) = text.split_once('.')?;
        Some(Self {
            chapter: chapter.parse().ok()?,
            number: number.parse().ok()?,
        })
    }

    /// The prefix of this step's test names: `step_3_2`.
    pub fn test_prefix(&self) -> String {
        format!("step_{}_{}", self.chapter, self.number)
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.chapter, self.number)
    }
}

/// One exercise region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub step: Step,
    /// What the learner is asked to do (the marker's text).
    pub task: String,
    /// Line indices (0-based) of the `EXERCISE:` and `EXERCISE_END` markers.
    pub start: usize,
    pub end: usize,
    /// The solution: the lines between the markers (up to the start state, if any).
    pub solution: Vec<String>,
    /// What the learner starts from, uncommented; `None`: a `todo!()` in its place.
    pub start_state: Option<Vec<String>>,
    /// The indentation of the start marker.
    pub indent: String,
}

impl Region {
    /// The region's text in a start state: the start state, or a `todo!` naming the step.
    pub fn start_state_lines(&self) -> Vec<String> {
        match &self.start_state {
            Some(lines) => lines.clone(),
            None => vec![format!("{}todo!(\"{}\")", self.indent, self.todo_message())],
        }
    }

    /// How many lines the learner writes: the solution's lines of code (comments and blank
    /// lines left out) that the start state does not already hold.
    pub fn lines_written(&self) -> usize {
        let is_code = |line: &&String| {
            let line = line.trim();
            !(line.is_empty() || line.starts_with("//") || line == "#" || line.starts_with("# "))
        };
        let mut given: Vec<&str> = self
            .start_state
            .iter()
            .flatten()
            .filter(is_code)
            .map(|l| l.trim())
            .collect();
        self.solution
            .iter()
            .filter(is_code)
            .filter(|line| match given.iter().position(|g| *g == line.trim()) {
                Some(at) => {
                    given.swap_remove(at);
                    false
                }
                None => true,
            })
            .count()
    }

    /// `step 3.2: run the load balancer and point the endpoint at it (chapter 3)`.
    pub fn todo_message(&self) -> String {
        let mut task = self.task.trim_end_matches('.').to_owned();
        if let Some(first) = task.get(..1) {
            task.replace_range(..1, &first.to_lowercase());
        }
        let task = task.replace('\\', "\\\\").replace('"', "\\\"");
        format!("step {}: {task} (chapter {})", self.step, self.step.chapter)
    }
}

/// The exercise regions of `text`, in order. Markers that do not pair up are an error naming
/// the line.
pub fn regions(text: &str) -> anyhow::Result<Vec<Region>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut open: Option<(usize, Step, String, String, Option<usize>)> = None;
    for (index, line) in lines.iter().enumerate() {
        if let Some(caps) = START.captures(line) {
            if let Some((at, ..)) = open {
                bail!(
                    "line {}: EXERCISE inside the exercise opened at line {}",
                    index + 1,
                    at + 1
                );
            }
            let step = Step {
                chapter: caps[3].parse()?,
                number: caps[4].parse()?,
            };
            open = Some((index, step, caps[5].to_owned(), caps[1].to_owned(), None));
        } else if START_STATE.is_match(line) {
            match open.as_mut() {
                Some((.., state @ None)) => *state = Some(index),
                _ => bail!(
                    "line {}: EXERCISE_START_STATE outside an exercise",
                    index + 1
                ),
            }
        } else if END.is_match(line) {
            let Some((start, step, task, indent, state)) = open.take() else {
                bail!("line {}: EXERCISE_END without EXERCISE", index + 1);
            };
            let solution_end = state.unwrap_or(index);
            let solution = lines[start + 1..solution_end]
                .iter()
                .map(|l| l.to_string())
                .collect();
            let start_state =
                state.map(|at| lines[at + 1..index].iter().map(|l| uncomment(l)).collect());
            found.push(Region {
                step,
                task,
                start,
                end: index,
                solution,
                start_state,
                indent,
            });
        }
    }
    if let Some((start, ..)) = open {
        bail!("line {}: EXERCISE without EXERCISE_END", start + 1);
    }
    Ok(found)
}

/// A start-state line without its comment marker: `    // x` gives `    x`, `    //` gives ``.
fn uncomment(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let rest = trimmed
        .strip_prefix("// ")
        .or_else(|| trimmed.strip_prefix("# "))
        .or_else(|| trimmed.strip_prefix("//"))
        .or_else(|| trimmed.strip_prefix('#'))
        .unwrap_or(trimmed);
    if rest.is_empty() {
        String::new()
    } else {
        format!("{indent}{rest}")
    }
}

/// Whether `line` is one of the markers (for tools that show the code without them).
pub fn is_marker(line: &str) -> bool {
    START.is_match(line) || START_STATE.is_match(line) || END.is_match(line)
}

/// `text` as the checkpoint's solution reads: markers and start states left out.
pub fn solved(text: &str) -> anyhow::Result<String> {
    transform(text, |_| false)
}

/// `text` with the regions for which `cut` holds replaced by their start state, every other
/// region solved, and no markers left.
pub fn transform(text: &str, cut: impl Fn(&Region) -> bool) -> anyhow::Result<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut next = 0;
    for region in regions(text)? {
        out.extend(lines[next..region.start].iter().map(|l| l.to_string()));
        if cut(&region) {
            out.extend(region.start_state_lines());
        } else {
            out.extend(region.solution.iter().cloned());
        }
        next = region.end + 1;
    }
    out.extend(lines[next..].iter().map(|l| l.to_string()));
    let mut result = out.join("\n");
    if text.ends_with('\n') {
        result.push('\n');
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
fn keep() -> u8 {
    // EXERCISE: 3.2 Return \"seven\".
    let seven = 7;
    seven
    // EXERCISE_END
}

// EXERCISE: 1.1 Make the kind.
#[kube(group = \"infrastructure.cluster.x-k8s.io\")]
// EXERCISE_START_STATE
// #[kube(group = \"example.com\")]
//
// EXERCISE_END
struct Spec;
";

    #[test]
    fn a_body_region_becomes_a_todo_naming_its_step_and_the_others_are_solved() {
        let start = transform(FILE, |r| r.step.chapter == 3).expect("transforms");
        assert_eq!(
            start,
            "fn keep() -> u8 {\n    todo!(\"step 3.2: return \\\"seven\\\" (chapter 3)\")\n}\n\n#[kube(group = \"infrastructure.cluster.x-k8s.io\")]\nstruct Spec;\n"
        );
    }

    #[test]
    fn a_region_with_a_start_state_starts_from_it() {
        let start = transform(FILE, |r| r.step.chapter == 1).expect("transforms");
        assert!(
            start.contains("#[kube(group = \"example.com\")]\n\nstruct Spec;"),
            "{start}"
        );
        assert!(start.contains("let seven = 7;"), "{start}");
        assert!(!start.lines().any(is_marker), "{start}");
    }

    #[test]
    fn the_solution_drops_markers_and_start_states() {
        let solved = solved(FILE).expect("solves");
        assert!(
            !solved.contains("EXERCISE") && !solved.contains("example.com"),
            "{solved}"
        );
    }

    #[test]
    fn the_lines_written_are_the_solutions_code_the_start_state_lacks() {
        let regions = regions(FILE).expect("parses");
        assert_eq!(regions[0].lines_written(), 2, "two lines of a body");
        assert_eq!(regions[1].lines_written(), 1, "the attribute replaced");
        let same = "// EXERCISE: 2.1 x\n# a comment\nkeep: 1\nnew: 2\n# EXERCISE_START_STATE\n# keep: 1\n# EXERCISE_END\n";
        assert_eq!(
            regions_of(same)[0].lines_written(),
            1,
            "a kept line is not written"
        );
    }

    fn regions_of(text: &str) -> Vec<Region> {
        regions(text).expect("parses")
    }

    #[test]
    fn markers_that_do_not_pair_up_name_their_line() {
        for (text, expected) in [
            (
                "// EXERCISE: 1.1 a\n",
                "line 1: EXERCISE without EXERCISE_END",
            ),
            (
                "x\n// EXERCISE_END\n",
                "line 2: EXERCISE_END without EXERCISE",
            ),
            (
                "// EXERCISE: 1.1 a\n// EXERCISE: 1.2 b\n",
                "line 2: EXERCISE inside",
            ),
            (
                "# EXERCISE_START_STATE\n",
                "line 1: EXERCISE_START_STATE outside",
            ),
        ] {
            let error = regions(text).expect_err("refused").to_string();
            assert!(error.starts_with(expected), "{error}");
        }
    }
}
