//! Checks on the fully preprocessed book: what mdBook lets through but a reader must never see.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

use exercises::Step;
use mdbook::book::{Book, BookItem};
use regex::Regex;

use crate::measure;

static MINUTES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<!--\s*minutes:\s*(\d+)\s*-->").expect("valid"));
static MD_LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\]\(([^)#:\s]+\.md)(#[^)\s]*)?\)").expect("valid"));
// Marker lines, not text that mentions a marker (a test's string literal, say): a comment
// opening a line, possibly in a diff (`+`, `-`).
static EXERCISE_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[\s+-]*(//|#)\s*EXERCISE(: \d|_END\b|_START_STATE\b)").expect("valid")
});
static ANCHOR_MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^[\s+-]*(//|#|<!--)\s*ANCHOR(_END)?:\s*\w").expect("valid"));

/// Every problem found, each naming its chapter; empty when the book is fit to publish. `steps`
/// are the exercise steps of the checkpoints, each of which a page must teach.
pub fn check(book: &Book, src_dir: &Path, steps: &BTreeSet<Step>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut taught: BTreeMap<Step, Vec<String>> = BTreeMap::new();
    for item in book.iter() {
        let BookItem::Chapter(chapter) = item else {
            continue;
        };
        let name = &chapter.name;
        let Some(path) = &chapter.path else {
            problems.push(format!("SUMMARY.md entry `{name}` has no file"));
            continue;
        };
        let content = &chapter.content;
        if let Some(at) = content.find("{{#") {
            let directive: String = content[at..]
                .chars()
                .take_while(|c| *c != '\n')
                .take(80)
                .collect();
            problems.push(format!(
                "chapter `{name}`: directive left unexpanded: {directive}"
            ));
        }
        if ANCHOR_MARKER.is_match(content) {
            problems.push(format!(
                "chapter `{name}`: an ANCHOR marker line reached the page"
            ));
        }
        if EXERCISE_MARKER.is_match(content) {
            problems.push(format!(
                "chapter `{name}`: an EXERCISE marker line reached the page"
            ));
        }
        let measured = measure::measure(content);
        let headed: BTreeSet<Step> = measured.steps.iter().map(|s| s.step).collect();
        let shown: BTreeSet<Step> = measured.exercises.iter().copied().collect();
        for step in headed.symmetric_difference(&shown) {
            problems.push(if headed.contains(step) {
                format!("chapter `{name}`: a `Step {step}` heading but no `{{{{#exercise}}}}` shows step {step}")
            } else {
                format!("chapter `{name}`: shows step {step} but has no `Step {step}` heading")
            });
        }
        for step in &shown {
            if !steps.contains(step) {
                problems.push(format!(
                    "chapter `{name}`: step {step} is not an exercise of the checkpoints"
                ));
            }
            taught.entry(*step).or_default().push(name.clone());
        }
        if has_empty_code_block(content) {
            problems.push(format!("chapter `{name}`: empty code block"));
        }
        if !MINUTES.is_match(content) {
            problems.push(format!(
                "chapter `{name}`: no `<!-- minutes: N -->` (expected minutes in a session)"
            ));
        }
        if !content.contains("<details class=\"notes\">") {
            problems.push(format!(
                "chapter `{name}`: no speaker notes (`<details class=\"notes\">`)"
            ));
        }
        let dir = path.parent().unwrap_or(Path::new(""));
        for link in MD_LINK.captures_iter(content) {
            let target = &link[1];
            if !src_dir.join(dir).join(target).is_file() {
                problems.push(format!(
                    "chapter `{name}`: link to `{target}`, which does not exist"
                ));
            }
        }
    }
    for step in steps {
        match taught.get(step).map(Vec::as_slice) {
            None | Some([]) => problems.push(format!(
                "step {step} is an exercise of the checkpoints that no page teaches (`{{{{#exercise}}}}`)"
            )),
            Some([_]) => {}
            Some(pages) => problems.push(format!(
                "step {step} is taught on more than one page: {}",
                pages.join(", ")
            )),
        }
    }
    problems
}

/// True if a fenced code block holds only blank lines (what mdBook renders for a missing anchor).
fn has_empty_code_block(content: &str) -> bool {
    let mut open: Option<(usize, bool)> = None; // (fence length, seen content)
    for line in content.lines() {
        let trimmed = line.trim_start();
        let ticks = trimmed.chars().take_while(|c| *c == '`').count();
        match open {
            None if ticks >= 3 => open = Some((ticks, false)),
            Some((length, seen)) if ticks >= length && trimmed[ticks..].trim().is_empty() => {
                if !seen {
                    return true;
                }
                open = None;
            }
            Some((length, _)) if !line.trim().is_empty() => open = Some((length, true)),
            _ => {}
        }
    }
    false
}

/// A chapter's expected minutes, from its `<!-- minutes: N -->` comment.
pub fn minutes(content: &str) -> Option<u32> {
    MINUTES.captures(content).and_then(|c| c[1].parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_empty_fences_but_not_full_ones() {
        assert!(has_empty_code_block("text\n```rust\n```\n"));
        assert!(has_empty_code_block("```\n\n```"));
        assert!(!has_empty_code_block("```rust\nfn x() {}\n```\n"));
        assert!(!has_empty_code_block("```\na\n```\n\n```\nb\n```\n"));
        assert!(!has_empty_code_block("````md\n```\n````\n"));
    }

    #[test]
    fn flags_marker_lines_but_not_text_that_mentions_them() {
        for line in [
            "    // EXERCISE: 3.1 Write it.",
            "+# EXERCISE_END",
            "  # ANCHOR: workers",
            "// ANCHOR_END: spec",
        ] {
            let text = format!("before\n{line}\nafter");
            assert!(
                EXERCISE_MARKER.is_match(&text) || ANCHOR_MARKER.is_match(&text),
                "{line}"
            );
        }
        for line in [
            r##"        if marker == "# EXERCISE_START_STATE" {"##,
            r##"    .any(|m| ["# ANCHOR: ", "# EXERCISE: "].contains(m))"##,
            "The `EXERCISE: N.M` markers are described here.",
        ] {
            assert!(
                !EXERCISE_MARKER.is_match(line) && !ANCHOR_MARKER.is_match(line),
                "{line}"
            );
        }
    }

    #[test]
    fn reads_minutes() {
        assert_eq!(minutes("<!-- minutes: 12 -->\n# Title"), Some(12));
        assert_eq!(minutes("# Title"), None);
    }
}
