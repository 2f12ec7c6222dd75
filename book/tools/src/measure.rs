//! How long a page is, for the schedule: the words of its prose and the lines of code it shows,
//! and the same for each of its steps (a `Step N.M` heading and what follows it up to the next
//! heading of the same or a higher level). Measured on the expanded page, so that included code
//! counts; speaker notes, folded solutions and HTML comments do not.

use std::sync::LazyLock;

use exercises::Step;
use regex::Regex;

static HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(#{1,6})\s+(.*)$").expect("valid"));
static STEP_HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^Step (\d+\.\d+)\b").expect("valid"));
static EXERCISE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"<div class="exercise" data-steps="([^"]*)">"#).expect("valid"));
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").expect("valid"));
static LINK_TARGET: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\]\([^)]*\)").expect("valid"));

/// Words of prose and lines of code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Size {
    pub words: usize,
    pub code_lines: usize,
}

/// One step of a page: its heading's number and the size of its section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSection {
    pub step: Step,
    pub size: Size,
}

/// A page measured: the parts outside steps, each step's section, and the steps its exercise
/// blocks show (`{{#exercise}}`), in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Measured {
    pub outside_steps: Size,
    pub steps: Vec<StepSection>,
    pub exercises: Vec<Step>,
}

/// Measures an expanded page.
pub fn measure(content: &str) -> Measured {
    let mut measured = Measured::default();
    // (heading level, step) of the step section being read, if any.
    let mut in_step: Option<(usize, usize)> = None;
    let mut fence: Option<usize> = None;
    let mut hidden_depth = 0_usize; // inside <details> (notes, solutions) or an HTML comment
    let mut in_comment = false;
    for line in content.lines() {
        let trimmed = line.trim_start();
        for caps in EXERCISE.captures_iter(line) {
            measured
                .exercises
                .extend(caps[1].split_whitespace().filter_map(Step::parse));
        }
        let ticks = trimmed.chars().take_while(|c| *c == '`').count();
        if let Some(length) = fence {
            if ticks >= length && trimmed[ticks..].trim().is_empty() {
                fence = None;
            } else if hidden_depth == 0 && !in_comment {
                section(&mut measured, in_step).code_lines += 1;
            }
            continue;
        }
        if ticks >= 3 {
            fence = Some(ticks);
            continue;
        }
        if in_comment {
            in_comment = !line.contains("-->");
            continue;
        }
        if trimmed.starts_with("<!--") && !line.contains("-->") {
            in_comment = true;
            continue;
        }
        hidden_depth += line.matches("<details").count();
        let closed = line.matches("</details>").count();
        if hidden_depth > 0 {
            hidden_depth = hidden_depth.saturating_sub(closed);
            continue;
        }
        if let Some(caps) = HEADING.captures(line) {
            let level = caps[1].len();
            if in_step.is_some_and(|(step_level, _)| level <= step_level) {
                in_step = None;
            }
            if let Some(step) = STEP_HEADING
                .captures(&caps[2])
                .and_then(|c| Step::parse(&c[1]))
            {
                measured.steps.push(StepSection {
                    step,
                    size: Size::default(),
                });
                in_step = Some((level, measured.steps.len() - 1));
            }
        }
        section(&mut measured, in_step).words += words(line);
    }
    measured
}

fn section(measured: &mut Measured, in_step: Option<(usize, usize)>) -> &mut Size {
    match in_step {
        Some((_, index)) => &mut measured.steps[index].size,
        None => &mut measured.outside_steps,
    }
}

/// The words of a line of Markdown: tags, link targets and HTML comments left out.
fn words(line: &str) -> usize {
    let line = TAG.replace_all(line, " ");
    let line = LINK_TARGET.replace_all(&line, "]");
    line.split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "\
<!-- minutes: 5 -->
# Chapter three

Some words before any step.

```rust
fn shown() {}
```

## Step 3.1: The field

Write the field now.

<div class=\"exercise\" data-steps=\"3.1\">

```rust
pub image: Option<String>,
```

<details class=\"solution\">
<summary>Solution</summary>

```rust
hidden solution
```
</details>
</div>

### A detail of the step

Still step three one.

## Step 3.2: Next

Two words.

## Recap

<details class=\"notes\">
Notes are not read by readers.
</details>

Back [outside](link.md) steps.
";

    #[test]
    fn measures_prose_code_and_steps() {
        let measured = measure(PAGE);
        let step = |s| Step::parse(s).unwrap();
        assert_eq!(measured.exercises, [step("3.1")]);
        assert_eq!(
            measured.steps,
            [
                StepSection {
                    step: step("3.1"),
                    size: Size {
                        words: 17,
                        code_lines: 1
                    }
                },
                StepSection {
                    step: step("3.2"),
                    size: Size {
                        words: 5,
                        code_lines: 0
                    }
                },
            ]
        );
        // "Chapter three", "Some words before any step.", "Recap", "Back outside steps."
        assert_eq!(
            measured.outside_steps,
            Size {
                words: 11,
                code_lines: 1
            }
        );
    }
}
