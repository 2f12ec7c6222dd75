//! `{{#schedule ...}}`: the workshop's timing table, computed from the pages themselves. A page's
//! reading time comes from its words and the code it shows; a hands-on page's time in the room
//! from its steps: how much each step's section says and how many lines its exercise has the
//! learner write. Talks and demos keep the instructor's estimate (`<!-- minutes: N -->`).
//!
//! The directive holds the whole plan, one statement per line, so that it lives in one file (the
//! instructor guide) and no chapter has to carry per-path metadata:
//!
//! ```text
//! pace read=200 code=20 write=3 step=2 brief=5
//! path kubecon 90 slack=15 lines=150 KubeCon tutorial
//! path half-day 240 slack=25 Half-day workshop
//! introduction.md   kubecon=talk:10  half-day=talk
//! 01-scaffold.md    kubecon=hands-on:1.1,1.4  half-day=hands-on
//! break             half-day=15
//! 03-cluster-controller.md  kubecon=jump  half-day=hands-on
//! ```
//!
//! | Statement | Meaning |
//! |---|---|
//! | `pace read=W code=C write=L step=S brief=B` | W words and C lines of code read, L lines of code written per minute; S minutes per step besides (read the task, run the test); B minutes to introduce a hands-on page |
//! | `path NAME TARGET [slack=M] [lines=N] TITLE...` | a path, its budget in minutes (breaks included), the minutes it must leave spare and the most lines a participant writes on it |
//! | `FILE.md NAME=MODE[:ARG] ...` | the page on path NAME: `talk` or `demo` (ARG: minutes, else the page's own), `jump` (ARG: minutes, else 1), `hands-on` (ARG: the steps done in the room, `3.3,3.4`, else all; a page without steps takes ARG minutes, else its reading time) |
//! | `break NAME=MINUTES ...` | a break on path NAME after the previous page |
//!
//! Page lines follow SUMMARY order; pages not named are on no path (read at home). Expansion
//! fails on anything it cannot read, and when a path runs into its slack or past its lines.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

use anyhow::{anyhow, bail};
use exercises::Step;
use mdbook::book::{Book, BookItem};
use regex::Regex;

use crate::checks;
use crate::measure::{self, Measured, Size};

static DIRECTIVE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{#schedule(\s[^}]*)?\}\}").expect("valid directive pattern"));

/// How a page is taught on a path.
const MODES: [&str; 4] = ["talk", "demo", "hands-on", "jump"];

/// One page of the book, in SUMMARY order, as the schedule sees it.
#[derive(Debug, Clone)]
pub struct Page {
    /// The title in SUMMARY.md.
    pub name: String,
    /// Path of the Markdown file relative to the book's `src`, `/`-separated.
    pub file: String,
    /// The page's `<!-- minutes: N -->` (the instructor's estimate for a talk or a demo).
    pub minutes: Option<u32>,
    /// Its prose, code and steps, measured on the expanded page.
    pub measured: Measured,
}

/// Every page with a file, in reading order, measured as its content now reads (expand the other
/// directives first, so that included code counts).
pub fn pages(book: &Book) -> Vec<Page> {
    book.iter()
        .filter_map(|item| match item {
            BookItem::Chapter(chapter) => chapter.path.as_ref().map(|path| Page {
                name: chapter.name.clone(),
                file: slash_path(path),
                minutes: checks::minutes(&chapter.content),
                measured: measure::measure(&chapter.content),
            }),
            _ => None,
        })
        .collect()
}

/// Expands every `{{#schedule ...}}` in the content of the page at `here` (relative to `src`).
/// `lines` is how many lines the learner writes in each step. Content without the directive is
/// returned unchanged.
pub fn expand_all(
    content: &str,
    here: &Path,
    pages: &[Page],
    lines: &BTreeMap<Step, usize>,
) -> Result<String, Vec<String>> {
    if !DIRECTIVE.is_match(content) {
        return Ok(content.to_string());
    }
    let mut errors = Vec::new();
    let expanded = DIRECTIVE.replace_all(content, |caps: &regex::Captures<'_>| {
        let body = caps.get(1).map_or("", |m| m.as_str());
        match Plan::parse(body).and_then(|plan| plan.render(here, pages, lines)) {
            Ok(markdown) => markdown,
            Err(error) => {
                errors.push(format!("`{{{{#schedule}}}}`: {error:#}"));
                caps[0].to_string()
            }
        }
    });
    if errors.is_empty() {
        Ok(expanded.into_owned())
    } else {
        Err(errors)
    }
}

/// The rates the minutes are computed at.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pace {
    /// Words of prose read per minute.
    read: f64,
    /// Lines of code read per minute.
    code: f64,
    /// Lines of code written per minute.
    write: f64,
    /// Minutes per step besides reading and writing: the task, the test run, its output.
    step: f64,
    /// Minutes the instructor takes to introduce a hands-on page.
    brief: f64,
}

impl Pace {
    fn parse(words: &[&str]) -> anyhow::Result<Self> {
        let mut values = BTreeMap::new();
        for word in words {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| anyhow!("pace: `{word}` is not `KEY=NUMBER`"))?;
            let value: f64 = value
                .parse()
                .ok()
                .filter(|v: &f64| *v > 0.0)
                .ok_or_else(|| anyhow!("pace: `{word}` is not a positive number"))?;
            if values.insert(key, value).is_some() {
                bail!("pace: `{key}` given twice");
            }
        }
        let mut take = |key: &str| {
            values.remove(key).ok_or_else(|| {
                anyhow!("pace: `{key}=` is missing (needs read, code, write, step, brief)")
            })
        };
        let pace = Self {
            read: take("read")?,
            code: take("code")?,
            write: take("write")?,
            step: take("step")?,
            brief: take("brief")?,
        };
        if let Some(key) = values.keys().next() {
            bail!("pace: unknown `{key}=`");
        }
        Ok(pace)
    }

    fn reading(&self, size: Size) -> f64 {
        size.words as f64 / self.read + size.code_lines as f64 / self.code
    }
}

#[derive(Debug)]
struct TeachingPath {
    name: String,
    target: u32,
    slack: u32,
    lines: Option<usize>,
    title: String,
}

/// What a page line says for one path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    /// `talk`, `demo` or `jump`, with explicit minutes or not.
    Fixed { mode: String, minutes: Option<u32> },
    /// `hands-on`: the steps done in the room (`None`: all of the page's), or the minutes of a
    /// page without steps.
    HandsOn {
        steps: Option<Vec<Step>>,
        minutes: Option<u32>,
    },
}

#[derive(Debug)]
enum Line {
    Page {
        file: String,
        slots: Vec<(usize, Slot)>,
    },
    Break {
        slots: Vec<(usize, u32)>,
    },
}

#[derive(Debug)]
struct Plan {
    pace: Pace,
    paths: Vec<TeachingPath>,
    lines: Vec<Line>,
}

fn minutes_of(text: &str, context: &str) -> anyhow::Result<u32> {
    text.parse()
        .map_err(|_| anyhow!("{context}: `{text}` is not minutes"))
}

impl Plan {
    fn parse(body: &str) -> anyhow::Result<Self> {
        let statements: Vec<Vec<&str>> = body
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .filter(|words| !words.is_empty())
            .collect();
        let mut paces = statements.iter().filter(|w| w[0] == "pace");
        let pace = match (paces.next(), paces.next()) {
            (Some(words), None) => Pace::parse(&words[1..])?,
            (None, _) => bail!("declares no pace (`pace read=W code=C write=L step=S brief=B`)"),
            (Some(_), Some(_)) => bail!("declares its pace twice"),
        };
        let paths = Self::parse_paths(&statements)?;
        let path_index = |name: &str| {
            paths
                .iter()
                .position(|p| p.name == name)
                .ok_or_else(|| anyhow!("unknown path `{name}` (declared: {})", names(&paths)))
        };
        let mut lines = Vec::new();
        for words in statements
            .iter()
            .filter(|w| w[0] != "path" && w[0] != "pace")
        {
            let (head, assignments) = (words[0], &words[1..]);
            let mut seen = HashSet::new();
            let mut split = |assignment: &str| -> anyhow::Result<(usize, String)> {
                let (name, value) = assignment
                    .split_once('=')
                    .ok_or_else(|| anyhow!("`{head}`: `{assignment}` is not `PATH=...`"))?;
                let index = path_index(name)?;
                if !seen.insert(index) {
                    bail!("`{head}` names path `{name}` twice");
                }
                Ok((index, value.to_string()))
            };
            if head == "break" {
                let mut slots = Vec::new();
                for assignment in assignments {
                    let (index, value) = split(assignment)?;
                    let minutes = minutes_of(&value, "break")
                        .ok()
                        .filter(|m| *m > 0)
                        .ok_or_else(|| anyhow!("break: `{value}` is not minutes"))?;
                    slots.push((index, minutes));
                }
                if slots.is_empty() {
                    bail!("`break` names no path (`break PATH=MINUTES`)");
                }
                lines.push(Line::Break { slots });
            } else if head.ends_with(".md") {
                let mut slots = Vec::new();
                for assignment in assignments {
                    let (index, value) = split(assignment)?;
                    slots.push((index, Self::parse_slot(head, assignment, &value)?));
                }
                if slots.is_empty() {
                    bail!("`{head}` names no path (`{head} PATH=MODE[:ARG]`)");
                }
                lines.push(Line::Page {
                    file: head.to_string(),
                    slots,
                });
            } else {
                bail!(
                    "cannot read `{}`: expected `pace ...`, `path ...`, `FILE.md PATH=MODE[:ARG] ...` or `break PATH=MINUTES ...`",
                    words.join(" ")
                );
            }
        }
        for (index, path) in paths.iter().enumerate() {
            let used = lines.iter().any(|line| match line {
                Line::Page { slots, .. } => slots.iter().any(|(i, _)| *i == index),
                Line::Break { .. } => false,
            });
            if !used {
                bail!("path `{}` has no page", path.name);
            }
        }
        Ok(Self { pace, paths, lines })
    }

    fn parse_paths(statements: &[Vec<&str>]) -> anyhow::Result<Vec<TeachingPath>> {
        let mut paths: Vec<TeachingPath> = Vec::new();
        for words in statements.iter().filter(|w| w[0] == "path") {
            let [_, name, target, rest @ ..] = words.as_slice() else {
                bail!("`{}` is not `path NAME TARGET TITLE`", words.join(" "));
            };
            let target = minutes_of(target, &format!("path `{name}`: target"))?;
            if paths.iter().any(|p| p.name == *name) {
                bail!("path `{name}` is declared twice");
            }
            let (mut slack, mut lines) = (0, None);
            let mut title = Vec::new();
            for word in rest {
                match word.split_once('=') {
                    Some(("slack", value)) if title.is_empty() => {
                        slack = minutes_of(value, &format!("path `{name}`: slack"))?;
                    }
                    Some(("lines", value)) if title.is_empty() => {
                        lines = Some(value.parse().map_err(|_| {
                            anyhow!("path `{name}`: lines `{value}` is not a number")
                        })?);
                    }
                    _ => title.push(*word),
                }
            }
            let title = if title.is_empty() {
                (*name).to_string()
            } else {
                title.join(" ")
            };
            paths.push(TeachingPath {
                name: (*name).to_string(),
                target,
                slack,
                lines,
                title,
            });
        }
        if paths.is_empty() {
            bail!("declares no path (`path NAME TARGET TITLE`)");
        }
        Ok(paths)
    }

    fn parse_slot(head: &str, assignment: &str, value: &str) -> anyhow::Result<Slot> {
        let (mode, argument) = match value.split_once(':') {
            Some((mode, argument)) => (mode, Some(argument)),
            None => (value, None),
        };
        if !MODES.contains(&mode) {
            bail!(
                "`{head}`: unknown mode `{mode}` (one of {})",
                MODES.join(", ")
            );
        }
        let minutes = |argument: &str| {
            minutes_of(argument, &format!("`{head}`: `{assignment}`"))
                .map_err(|_| anyhow!("`{head}`: `{argument}` in `{assignment}` is not minutes"))
        };
        Ok(match (mode, argument) {
            ("hands-on", None) => Slot::HandsOn {
                steps: None,
                minutes: None,
            },
            ("hands-on", Some(argument)) if argument.contains('.') => {
                let steps = argument
                    .split(',')
                    .map(|s| {
                        Step::parse(s).ok_or_else(|| {
                            anyhow!("`{head}`: `{s}` in `{assignment}` is not a step (N.M)")
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                Slot::HandsOn {
                    steps: Some(steps),
                    minutes: None,
                }
            }
            ("hands-on", Some(argument)) => Slot::HandsOn {
                steps: None,
                minutes: Some(minutes(argument)?),
            },
            (mode, argument) => Slot::Fixed {
                mode: mode.to_string(),
                minutes: argument.map(minutes).transpose()?,
            },
        })
    }

    /// The table, or why the plan does not fit the book.
    fn render(
        &self,
        here: &Path,
        pages: &[Page],
        lines: &BTreeMap<Step, usize>,
    ) -> anyhow::Result<String> {
        let without_minutes: Vec<String> = pages
            .iter()
            .filter(|p| p.minutes.is_none())
            .map(|p| format!("`{}` ({})", p.name, p.file))
            .collect();
        if !without_minutes.is_empty() {
            bail!("no `<!-- minutes: N -->` on {}", without_minutes.join(", "));
        }
        let (slots_of, breaks_after) = self.placed(pages)?;

        let up = "../".repeat(here.parent().map_or(0, |dir| dir.components().count()));
        let mut clock = vec![0_u32; self.paths.len()];
        let mut written = vec![0_usize; self.paths.len()];
        let mut rows = Vec::new();
        let mut reading_total = 0;
        for (index, page) in pages.iter().enumerate() {
            let costs = StepCosts::of(page, lines, &self.pace)?;
            let reading = minutes(self.pace.reading(page.measured.outside_steps) + costs.all());
            reading_total += reading;
            let mut cells = Vec::new();
            for (column, time) in clock.iter_mut().enumerate() {
                let slot =
                    slots_of[index].and_then(|slots| slots.iter().find(|(i, _)| *i == column));
                cells.push(match slot {
                    Some((_, slot)) => {
                        let taught = self.taught(page, slot, &costs, reading)?;
                        let cell = format!(
                            "{} {} ({})",
                            taught.minutes,
                            taught.how,
                            span(*time, taught.minutes)
                        );
                        *time += taught.minutes;
                        written[column] += taught.lines;
                        cell
                    }
                    None => "—".to_string(),
                });
            }
            rows.push(format!(
                "| [{}]({up}{}) | {reading} | {} |",
                page.name.replace('|', "\\|"),
                page.file,
                cells.join(" | ")
            ));
            for slots in &breaks_after[index] {
                let mut cells = Vec::new();
                for (column, time) in clock.iter_mut().enumerate() {
                    cells.push(match slots.iter().find(|(i, _)| *i == column) {
                        Some((_, minutes)) => {
                            let cell = format!("{minutes} ({})", span(*time, *minutes));
                            *time += minutes;
                            cell
                        }
                        None => String::new(),
                    });
                }
                rows.push(format!("| *Break* | | {} |", cells.join(" | ")));
            }
        }
        self.check_fit(&clock, &written)?;

        let mut out = String::new();
        let headers: Vec<String> = self
            .paths
            .iter()
            .map(|p| format!("{} ({} min)", p.title, p.target))
            .collect();
        let _ = writeln!(out, "| Page | Reading | {} |", headers.join(" | "));
        let _ = writeln!(out, "|---|---:|{}", "---|".repeat(self.paths.len()));
        for row in rows {
            let _ = writeln!(out, "{row}");
        }
        let totals: Vec<String> = self
            .paths
            .iter()
            .zip(clock.iter().zip(&written))
            .map(|(path, (total, lines))| {
                format!(
                    "**{total} of {}**: {} min spare, {lines} lines written",
                    path.target,
                    path.target - total
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "| **Total** | **{reading_total}** | {} |",
            totals.join(" | ")
        );
        let pace = &self.pace;
        let _ = writeln!(
            out,
            "\nComputed at {} words and {} lines of code read, and {} lines of code written, a \
             minute; {} minutes per step besides (the task, the test run, its output) and {} to \
             introduce a hands-on page.",
            pace.read, pace.code, pace.write, pace.step, pace.brief
        );
        Ok(out)
    }

    /// Each page's slots and the breaks after it, in SUMMARY order.
    #[allow(clippy::type_complexity)] // two parallel per-page lists, read right below
    fn placed<'a>(
        &'a self,
        pages: &[Page],
    ) -> anyhow::Result<(
        Vec<Option<&'a [(usize, Slot)]>>,
        Vec<Vec<&'a [(usize, u32)]>>,
    )> {
        let mut slots_of: Vec<Option<&[(usize, Slot)]>> = vec![None; pages.len()];
        let mut breaks_after: Vec<Vec<&[(usize, u32)]>> = vec![Vec::new(); pages.len()];
        let mut last: Option<usize> = None;
        for line in &self.lines {
            match line {
                Line::Page { file, slots } => {
                    let index = pages
                        .iter()
                        .position(|p| p.file == *file)
                        .ok_or_else(|| anyhow!("`{file}` is not a page in SUMMARY.md"))?;
                    if let Some(previous) = last.filter(|previous| *previous >= index) {
                        bail!(
                            "`{file}` is listed after `{}`; list pages in SUMMARY.md order",
                            pages[previous].file
                        );
                    }
                    slots_of[index] = Some(slots);
                    last = Some(index);
                }
                Line::Break { slots } => {
                    let index = last.ok_or_else(|| anyhow!("a `break` before the first page"))?;
                    breaks_after[index].push(slots);
                }
            }
        }
        Ok((slots_of, breaks_after))
    }

    /// How `page` is taught in `slot`: its minutes, a description and the lines written.
    fn taught(
        &self,
        page: &Page,
        slot: &Slot,
        costs: &StepCosts,
        reading: u32,
    ) -> anyhow::Result<Taught> {
        Ok(match slot {
            Slot::Fixed { mode, minutes } => Taught {
                minutes: minutes.unwrap_or(match mode.as_str() {
                    "jump" => 1,
                    _ => page.minutes.unwrap_or(0),
                }),
                how: mode.clone(),
                lines: 0,
            },
            Slot::HandsOn { minutes, .. } if costs.steps.is_empty() => Taught {
                minutes: minutes.unwrap_or(reading),
                how: "hands-on".into(),
                lines: 0,
            },
            Slot::HandsOn {
                minutes: Some(_), ..
            } => bail!(
                "`{}`: a page with steps takes the minutes of its steps; name the steps done in the room instead (`hands-on:N.M,N.M`)",
                page.file
            ),
            Slot::HandsOn { steps, .. } => {
                let chosen: Vec<&StepCost> = match steps {
                    None => costs.steps.iter().collect(),
                    Some(steps) => steps
                        .iter()
                        .map(|step| {
                            costs
                                .steps
                                .iter()
                                .find(|c| c.step == *step)
                                .ok_or_else(|| anyhow!("`{}` has no step {step}", page.file))
                        })
                        .collect::<anyhow::Result<_>>()?,
                };
                let work: f64 = chosen.iter().map(|c| c.minutes).sum();
                let names: Vec<String> = chosen.iter().map(|c| c.step.to_string()).collect();
                Taught {
                    minutes: minutes(self.pace.brief + work),
                    how: if chosen.len() == costs.steps.len() {
                        "hands-on, every step".into()
                    } else {
                        format!("hands-on, steps {}", names.join(", "))
                    },
                    lines: chosen.iter().map(|c| c.lines).sum(),
                }
            }
        })
    }

    fn check_fit(&self, clock: &[u32], written: &[usize]) -> anyhow::Result<()> {
        let mut over = Vec::new();
        for ((path, total), lines) in self.paths.iter().zip(clock).zip(written) {
            if total + path.slack > path.target {
                over.push(format!(
                    "path `{}` ({}) takes {total} minutes, which leaves {} of the {} spare it needs \
                     in {}",
                    path.name,
                    path.title,
                    path.target.saturating_sub(*total),
                    path.slack,
                    path.target
                ));
            }
            if let Some(most) = path.lines.filter(|most| lines > most) {
                over.push(format!(
                    "path `{}` ({}) has participants write {lines} lines, more than {most}",
                    path.name, path.title
                ));
            }
        }
        if !over.is_empty() {
            bail!(
                "{}: do fewer steps in the room, demo a page, or jump over it",
                over.join("; ")
            );
        }
        Ok(())
    }
}

/// A page taught one way on one path.
struct Taught {
    minutes: u32,
    how: String,
    lines: usize,
}

/// One step of a page: how many lines it has the learner write, and its minutes in the room.
#[derive(Debug)]
struct StepCost {
    step: Step,
    lines: usize,
    minutes: f64,
}

/// The steps of a page, each with its section's size and its exercise's lines.
struct StepCosts {
    steps: Vec<StepCost>,
}

impl StepCosts {
    fn of(page: &Page, lines: &BTreeMap<Step, usize>, pace: &Pace) -> anyhow::Result<Self> {
        let mut steps = Vec::new();
        for section in &page.measured.steps {
            let written = *lines.get(&section.step).ok_or_else(|| {
                anyhow!(
                    "`{}`: step {} has no exercise in the checkpoints",
                    page.file,
                    section.step
                )
            })?;
            steps.push(StepCost {
                step: section.step,
                lines: written,
                minutes: pace.step + pace.reading(section.size) + written as f64 / pace.write,
            });
        }
        Ok(Self { steps })
    }

    fn all(&self) -> f64 {
        self.steps.iter().map(|c| c.minutes).sum()
    }
}

/// Whole minutes, rounded up.
fn minutes(exact: f64) -> u32 {
    exact.ceil() as u32
}

/// `0:10–0:20` for a slot starting at minute 10 and lasting 10 minutes.
fn span(start: u32, minutes: u32) -> String {
    let clock = |m: u32| format!("{}:{:02}", m / 60, m % 60);
    format!("{}–{}", clock(start), clock(start + minutes))
}

fn names(paths: &[TeachingPath]) -> String {
    paths
        .iter()
        .map(|p| format!("`{}`", p.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::StepSection;

    fn step(text: &str) -> Step {
        Step::parse(text).expect("a step")
    }

    /// Intro: 400 words. One: 200 words and two steps. Two: 40 lines of code.
    fn book() -> Vec<Page> {
        let page =
            |name: &str, file: &str, minutes, words, code_lines, steps: Vec<StepSection>| Page {
                name: name.into(),
                file: file.into(),
                minutes: Some(minutes),
                measured: Measured {
                    outside_steps: Size { words, code_lines },
                    exercises: steps.iter().map(|s| s.step).collect(),
                    steps,
                },
            };
        let section = |s: &str, words| StepSection {
            step: step(s),
            size: Size {
                words,
                code_lines: 0,
            },
        };
        vec![
            page("Intro", "intro.md", 15, 400, 0, vec![]),
            page(
                "One",
                "one.md",
                25,
                200,
                0,
                vec![section("1.1", 100), section("1.2", 300)],
            ),
            page("Two", "two.md", 40, 0, 40, vec![]),
        ]
    }

    /// Step 1.1 has 12 lines to write, 1.2 has 30.
    fn lines() -> BTreeMap<Step, usize> {
        BTreeMap::from([(step("1.1"), 12), (step("1.2"), 30)])
    }

    fn render(body: &str) -> anyhow::Result<String> {
        Plan::parse(body)?.render(Path::new("instructor/schedule.md"), &book(), &lines())
    }

    // Reading: Intro 400/200 = 2; One 200/200 + (2 + 100/200 + 12/3) + (2 + 300/200 + 30/3)
    // = 1 + 6.5 + 13.5 = 21; Two 40/20 = 2.
    const PLAN: &str = "
        pace read=200 code=20 write=3 step=2 brief=5
        path short 30 slack=5 lines=20 Short talk
        path long 90 Long workshop
        intro.md short=talk:10 long=talk
        break long=10
        one.md short=hands-on:1.1 long=hands-on
        two.md long=demo:30
    ";

    #[test]
    fn computes_reading_and_hands_on_minutes_from_the_pages() {
        let table = render(PLAN).unwrap();
        assert!(
            table.contains("| Page | Reading | Short talk (30 min) | Long workshop (90 min) |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| [Intro](../intro.md) | 2 | 10 talk (0:00–0:10) | 15 talk (0:00–0:15) |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| *Break* | |  | 10 (0:15–0:25) |"),
            "{table}"
        );
        // Short: brief 5 + step 1.1's 6.5 = 11.5 -> 12. Long: 5 + 6.5 + 13.5 = 25.
        assert!(
            table.contains(
                "| [One](../one.md) | 21 | 12 hands-on, steps 1.1 (0:10–0:22) | 25 hands-on, every step (0:25–0:50) |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| [Two](../two.md) | 2 | — | 30 demo (0:50–1:20) |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| **Total** | **25** | **22 of 30**: 8 min spare, 12 lines written | **80 of 90**: 10 min spare, 42 lines written |"
            ),
            "{table}"
        );
        assert!(table.contains("Computed at 200 words"), "{table}");
    }

    #[test]
    fn rejects_a_path_that_eats_its_slack_or_writes_too_much() {
        let slack = render(&PLAN.replace("short=talk:10", "short=talk:14")).unwrap_err();
        assert!(
            slack.to_string().contains(
                "path `short` (Short talk) takes 26 minutes, which leaves 4 of the 5 spare it needs in 30"
            ),
            "{slack}"
        );
        let lines = render(&PLAN.replace("short=hands-on:1.1", "short=hands-on:1.2")).unwrap_err();
        assert!(
            lines.to_string().contains(
                "path `short` (Short talk) has participants write 30 lines, more than 20"
            ),
            "{lines}"
        );
    }

    #[test]
    fn rejects_what_does_not_match_the_book() {
        let order = render(
            &PLAN
                .replace("one.md", "ONE")
                .replace("two.md", "one.md")
                .replace("ONE", "two.md"),
        )
        .unwrap_err();
        assert!(
            order.to_string().contains("list pages in SUMMARY.md order"),
            "{order}"
        );
        let unknown = render(&PLAN.replace("intro.md", "outro.md")).unwrap_err();
        assert!(
            unknown.to_string().contains("`outro.md` is not a page"),
            "{unknown}"
        );
        let no_step =
            render(&PLAN.replace("short=hands-on:1.1", "short=hands-on:1.3")).unwrap_err();
        assert!(
            no_step.to_string().contains("`one.md` has no step 1.3"),
            "{no_step}"
        );
        let fixed = render(&PLAN.replace("long=hands-on", "long=hands-on:20")).unwrap_err();
        assert!(
            fixed.to_string().contains("takes the minutes of its steps"),
            "{fixed}"
        );
        let mut pages = book();
        pages[1].minutes = None;
        let error = Plan::parse(PLAN)
            .unwrap()
            .render(Path::new("schedule.md"), &pages, &lines())
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("no `<!-- minutes: N -->` on `One` (one.md)"),
            "{error}"
        );
        let error = Plan::parse(PLAN)
            .unwrap()
            .render(Path::new("schedule.md"), &book(), &BTreeMap::new())
            .unwrap_err();
        assert!(
            error.to_string().contains("step 1.1 has no exercise"),
            "{error}"
        );
    }

    #[test]
    fn rejects_malformed_lines() {
        const PACE: &str = "pace read=200 code=20 write=3 step=2 brief=5\n";
        for (plan, expected) in [
            ("path long 90\none.md long=talk", "declares no pace"),
            (
                "pace read=200\npath long 90\none.md long=talk",
                "`code=` is missing",
            ),
            ("pace read=x\n", "not a positive number"),
            ("one.md long=talk", "declares no path"),
            ("path long 90\none.md lung=talk", "unknown path `lung`"),
            ("path long 90\none.md long=sing", "unknown mode `sing`"),
            (
                "path long 90\none.md long=talk:ten",
                "`ten` in `long=talk:ten` is not minutes",
            ),
            (
                "path long 90\none.md long=hands-on:1.x",
                "`1.x` in `long=hands-on:1.x` is not a step",
            ),
            (
                "path long 90\none.md long=talk long=demo",
                "names path `long` twice",
            ),
            ("path long 90\npath long 60", "declared twice"),
            ("path long 90 slack=x", "slack: `x` is not minutes"),
            (
                "path long 90\npath idle 60\none.md long=talk",
                "path `idle` has no page",
            ),
            (
                "path long 90\none.md long=talk\nbreak long=0",
                "is not minutes",
            ),
            (
                "path long 90\none.md long=talk\nlunch long=30",
                "cannot read `lunch long=30`",
            ),
        ] {
            let plan = if plan.starts_with("pace") || expected == "declares no pace" {
                plan.to_string()
            } else {
                format!("{PACE}{plan}")
            };
            let error = Plan::parse(&plan).unwrap_err().to_string();
            assert!(error.contains(expected), "{plan:?}: {error}");
        }
    }
}
