//! `{{#schedule ...}}`: the workshop's timing table, computed from every page's
//! `<!-- minutes: N -->` in SUMMARY order, with one column per teaching path.
//!
//! The directive holds the whole plan, one statement per line, so that it lives in one file (the
//! instructor guide) and no chapter has to carry per-path metadata:
//!
//! ```text
//! path kubecon 90 KubeCon tutorial
//! path half-day 240 Half-day workshop
//! introduction.md   kubecon=talk:10  half-day=talk
//! 01-scaffold.md    kubecon=demo:10  half-day=hands-on
//! break             half-day=15
//! 03-cluster-controller.md  kubecon=jump:3  half-day=hands-on
//! ```
//!
//! | Statement | Meaning |
//! |---|---|
//! | `path NAME TARGET TITLE...` | a path and its time budget in minutes, breaks included |
//! | `FILE.md NAME=MODE[:MINUTES] ...` | the page is on path NAME, run as MODE (`talk`, `demo`, `hands-on`, `jump`), taking the page's own minutes unless MINUTES is given |
//! | `break NAME=MINUTES ...` | a break on path NAME after the previous page |
//!
//! Page lines follow SUMMARY order; pages not named are on no path (read at home). Expansion
//! fails when any page lacks its minutes, a line names an unknown page, path or mode, the lines
//! are out of order, a declared path has no page, or a path's total exceeds its target.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::LazyLock;

use anyhow::{anyhow, bail};
use mdbook::book::{Book, BookItem};
use regex::Regex;

use crate::checks;

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
    /// The page's `<!-- minutes: N -->`, if it has one.
    pub minutes: Option<u32>,
}

/// Every page with a file, in reading order (drafts without a file are reported by the checks).
pub fn pages(book: &Book) -> Vec<Page> {
    book.iter()
        .filter_map(|item| match item {
            BookItem::Chapter(chapter) => chapter.path.as_ref().map(|path| Page {
                name: chapter.name.clone(),
                file: slash_path(path),
                minutes: checks::minutes(&chapter.content),
            }),
            _ => None,
        })
        .collect()
}

/// Expands every `{{#schedule ...}}` in the content of the page at `here` (relative to `src`).
/// Content without the directive is returned unchanged.
pub fn expand_all(content: &str, here: &Path, pages: &[Page]) -> Result<String, Vec<String>> {
    if !DIRECTIVE.is_match(content) {
        return Ok(content.to_string());
    }
    let mut errors = Vec::new();
    let expanded = DIRECTIVE.replace_all(content, |caps: &regex::Captures<'_>| {
        let body = caps.get(1).map_or("", |m| m.as_str());
        match Plan::parse(body).and_then(|plan| plan.render(here, pages)) {
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

#[derive(Debug)]
struct TeachingPath {
    name: String,
    target: u32,
    title: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Slot {
    mode: String,
    minutes: Option<u32>,
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
    paths: Vec<TeachingPath>,
    lines: Vec<Line>,
}

impl Plan {
    fn parse(body: &str) -> anyhow::Result<Self> {
        let mut paths: Vec<TeachingPath> = Vec::new();
        let mut lines = Vec::new();
        let statements: Vec<Vec<&str>> = body
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .filter(|words| !words.is_empty())
            .collect();
        // Paths first, so that page lines may name any of them.
        for words in statements.iter().filter(|w| w[0] == "path") {
            let [_, name, target, title @ ..] = words.as_slice() else {
                bail!("`{}` is not `path NAME TARGET TITLE`", words.join(" "));
            };
            let target: u32 = target
                .parse()
                .map_err(|_| anyhow!("path `{name}`: target `{target}` is not minutes"))?;
            if paths.iter().any(|p| p.name == *name) {
                bail!("path `{name}` is declared twice");
            }
            let title = if title.is_empty() {
                (*name).to_string()
            } else {
                title.join(" ")
            };
            paths.push(TeachingPath {
                name: (*name).to_string(),
                target,
                title,
            });
        }
        if paths.is_empty() {
            bail!("declares no path (`path NAME TARGET TITLE`)");
        }
        let path_index = |name: &str| {
            paths
                .iter()
                .position(|p| p.name == name)
                .ok_or_else(|| anyhow!("unknown path `{name}` (declared: {})", names(&paths)))
        };
        for words in statements.iter().filter(|w| w[0] != "path") {
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
                    let minutes = value
                        .parse()
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
                    let (mode, minutes) = match value.split_once(':') {
                        Some((mode, minutes)) => {
                            let minutes = minutes.parse().map_err(|_| {
                                anyhow!("`{head}`: `{minutes}` in `{assignment}` is not minutes")
                            })?;
                            (mode, Some(minutes))
                        }
                        None => (value.as_str(), None),
                    };
                    if !MODES.contains(&mode) {
                        bail!(
                            "`{head}`: unknown mode `{mode}` (one of {})",
                            MODES.join(", ")
                        );
                    }
                    slots.push((
                        index,
                        Slot {
                            mode: mode.to_string(),
                            minutes,
                        },
                    ));
                }
                if slots.is_empty() {
                    bail!("`{head}` names no path (`{head} PATH=MODE[:MINUTES]`)");
                }
                lines.push(Line::Page {
                    file: head.to_string(),
                    slots,
                });
            } else {
                bail!(
                    "cannot read `{}`: expected `path ...`, `FILE.md PATH=MODE[:MINUTES] ...` or `break PATH=MINUTES ...`",
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
        Ok(Self { paths, lines })
    }

    /// The table, or why the plan does not fit the book.
    fn render(&self, here: &Path, pages: &[Page]) -> anyhow::Result<String> {
        let without_minutes: Vec<String> = pages
            .iter()
            .filter(|p| p.minutes.is_none())
            .map(|p| format!("`{}` ({})", p.name, p.file))
            .collect();
        if !without_minutes.is_empty() {
            bail!("no `<!-- minutes: N -->` on {}", without_minutes.join(", "));
        }

        // Page lines in SUMMARY order; each break belongs after the page line before it.
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

        let up = "../".repeat(here.parent().map_or(0, |dir| dir.components().count()));
        let mut clock = vec![0_u32; self.paths.len()];
        let mut rows = Vec::new();
        let mut reading = 0;
        for (index, page) in pages.iter().enumerate() {
            let own = page.minutes.unwrap_or(0);
            reading += own;
            let mut cells = Vec::new();
            for (column, time) in clock.iter_mut().enumerate() {
                let slot =
                    slots_of[index].and_then(|slots| slots.iter().find(|(i, _)| *i == column));
                cells.push(match slot {
                    Some((_, slot)) => {
                        let minutes = slot.minutes.unwrap_or(own);
                        let cell = format!("{minutes} {} ({})", slot.mode, span(*time, minutes));
                        *time += minutes;
                        cell
                    }
                    None => "—".to_string(),
                });
            }
            rows.push(format!(
                "| [{}]({up}{}) | {own} | {} |",
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

        let over: Vec<String> = self
            .paths
            .iter()
            .zip(&clock)
            .filter(|(path, total)| **total > path.target)
            .map(|(path, total)| {
                format!(
                    "path `{}` ({}) takes {total} minutes, over its target of {} by {}",
                    path.name,
                    path.title,
                    path.target,
                    total - path.target
                )
            })
            .collect();
        if !over.is_empty() {
            bail!(
                "{}: shorten a page on it, demo it, or jump over it",
                over.join("; ")
            );
        }

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
            .zip(&clock)
            .map(|(path, total)| format!("**{total} of {}**", path.target))
            .collect();
        let _ = writeln!(
            out,
            "| **Total** | **{reading}** | {} |",
            totals.join(" | ")
        );
        Ok(out)
    }
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

    fn book() -> Vec<Page> {
        [
            ("Intro", "intro.md", 15),
            ("One", "one.md", 25),
            ("Two", "two.md", 40),
        ]
        .iter()
        .map(|(name, file, minutes)| Page {
            name: (*name).into(),
            file: (*file).into(),
            minutes: Some(*minutes),
        })
        .collect()
    }

    fn render(body: &str) -> anyhow::Result<String> {
        Plan::parse(body)?.render(Path::new("instructor/schedule.md"), &book())
    }

    const PLAN: &str = "
        path short 30 Short talk
        path long 90 Long workshop
        intro.md short=talk:10 long=talk
        break long=10
        one.md long=hands-on
        two.md short=demo:20 long=hands-on:30
    ";

    #[test]
    fn computes_the_clock_and_the_totals() {
        let table = render(PLAN).unwrap();
        assert!(
            table.contains("| Page | Reading | Short talk (30 min) | Long workshop (90 min) |")
        );
        assert!(
            table.contains(
                "| [Intro](../intro.md) | 15 | 10 talk (0:00–0:10) | 15 talk (0:00–0:15) |"
            )
        );
        assert!(table.contains("| *Break* | |  | 10 (0:15–0:25) |"));
        assert!(table.contains("| [One](../one.md) | 25 | — | 25 hands-on (0:25–0:50) |"));
        assert!(
            table.contains(
                "| [Two](../two.md) | 40 | 20 demo (0:10–0:30) | 30 hands-on (0:50–1:20) |"
            )
        );
        assert!(table.contains("| **Total** | **80** | **30 of 30** | **80 of 90** |"));
    }

    #[test]
    fn rejects_what_does_not_fit() {
        let over = render(&PLAN.replace("short=demo:20", "short=demo:25")).unwrap_err();
        assert!(
            over.to_string()
                .contains("path `short` (Short talk) takes 35 minutes, over its target of 30 by 5"),
            "{over}"
        );
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
    }

    #[test]
    fn rejects_malformed_lines() {
        for (plan, expected) in [
            ("one.md long=talk", "declares no path"),
            ("path long 90\none.md lung=talk", "unknown path `lung`"),
            ("path long 90\none.md long=sing", "unknown mode `sing`"),
            (
                "path long 90\none.md long=talk:ten",
                "`ten` in `long=talk:ten` is not minutes",
            ),
            (
                "path long 90\none.md long=talk long=demo",
                "names path `long` twice",
            ),
            ("path long 90\npath long 60", "declared twice"),
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
            let error = Plan::parse(plan).unwrap_err().to_string();
            assert!(error.contains(expected), "{plan:?}: {error}");
        }
    }

    #[test]
    fn a_page_without_minutes_fails() {
        let mut pages = book();
        pages[1].minutes = None;
        let error = Plan::parse(PLAN)
            .unwrap()
            .render(Path::new("schedule.md"), &pages)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("no `<!-- minutes: N -->` on `One` (one.md)"),
            "{error}"
        );
    }
}
