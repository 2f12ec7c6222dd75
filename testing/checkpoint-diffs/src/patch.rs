//! Unified diffs of whole files: made with `similar`, parsed back, and applied (with the hunk
//! moved if the lines around it moved, as `patch` does, but never with changed context).

use similar::TextDiff;

/// One file's change, as a unified diff with `--- a/<path>` and `+++ b/<path>` headers
/// (`/dev/null` on the side where the file does not exist).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDiff {
    pub path: String,
    pub text: String,
}

/// The change from `old` to `new` of the file at `path`; `None` when they are equal.
pub fn diff(path: &str, old: Option<&str>, new: Option<&str>) -> Option<FileDiff> {
    if old == new {
        return None;
    }
    let from = old.map_or_else(|| "/dev/null".to_owned(), |_| format!("a/{path}"));
    let to = new.map_or_else(|| "/dev/null".to_owned(), |_| format!("b/{path}"));
    let (old, new) = (old.unwrap_or(""), new.unwrap_or(""));
    let text = TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&from, &to)
        .to_string();
    Some(FileDiff {
        path: path.to_owned(),
        text,
    })
}

/// The file diffs of a multi-file unified diff, in order.
pub fn parse(text: &str) -> Vec<FileDiff> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| {
            lines[i].starts_with("--- ") && lines.get(i + 1).is_some_and(|l| l.starts_with("+++ "))
        })
        .collect();
    let mut files = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(lines.len());
        let header_path = |line: &str, prefix: &str| {
            let path = line[4..].trim_end();
            path.strip_prefix(prefix).map(str::to_owned)
        };
        let path = header_path(lines[start + 1], "b/")
            .or_else(|| header_path(lines[start], "a/"))
            .unwrap_or_default();
        files.push(FileDiff {
            path,
            text: lines[start..end].concat(),
        });
    }
    files
}

/// Why a diff did not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub path: String,
    /// The hunk header (`@@ -a,b +c,d @@`) whose lines were not found.
    pub hunk: String,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (path, hunk) = (&self.path, &self.hunk);
        write!(
            f,
            "{path}: the lines of hunk `{hunk}` are not in the file any more"
        )
    }
}

struct Hunk {
    header: String,
    old_start: usize,
    old: Vec<String>,
    new: Vec<String>,
}

/// `old` (the file before; `None` when it does not exist) with `file` applied; `None` when the
/// diff removes the file.
pub fn apply(old: Option<&str>, file: &FileDiff) -> Result<Option<String>, Conflict> {
    let mut lines: Vec<String> = old
        .unwrap_or("")
        .split_inclusive('\n')
        .map(str::to_owned)
        .collect();
    let mut offset: isize = 0;
    for hunk in hunks(&file.text) {
        let expected = (hunk.old_start.saturating_sub(1) as isize + offset).max(0) as usize;
        let at = find(&lines, &hunk.old, expected).ok_or_else(|| Conflict {
            path: file.path.clone(),
            hunk: hunk.header.clone(),
        })?;
        lines.splice(at..at + hunk.old.len(), hunk.new.iter().cloned());
        offset +=
            at as isize - expected as isize + hunk.new.len() as isize - hunk.old.len() as isize;
    }
    let removed = file
        .text
        .lines()
        .nth(1)
        .is_some_and(|l| l.trim_end() == "+++ /dev/null");
    Ok((!removed).then(|| lines.concat()))
}

/// Where `block` starts in `lines`: at `expected` if it is there, else the nearest place.
fn find(lines: &[String], block: &[String], expected: usize) -> Option<usize> {
    let fits = |at: usize| at + block.len() <= lines.len() && lines[at..at + block.len()] == *block;
    (0..=lines.len()).find_map(|distance| {
        let before = expected.checked_sub(distance).filter(|&at| fits(at));
        let after = Some(expected + distance).filter(|&at| fits(at));
        before.or(after)
    })
}

/// The hunks of one file's diff, each with its old and new lines (line endings included, so
/// that a missing newline at the end of a file is kept as such).
fn hunks(text: &str) -> Vec<Hunk> {
    let mut hunks: Vec<Hunk> = Vec::new();
    let mut last: Option<(char, usize)> = None;
    for line in text.split_inclusive('\n').skip(2) {
        if let Some(range) = line.strip_prefix("@@ -") {
            let start = range.split([',', ' ']).next().and_then(|n| n.parse().ok());
            hunks.push(Hunk {
                header: line.trim_end().to_owned(),
                old_start: start.unwrap_or(1),
                old: Vec::new(),
                new: Vec::new(),
            });
            last = None;
            continue;
        }
        let Some(hunk) = hunks.last_mut() else {
            continue;
        };
        if line.starts_with('\\') {
            // "\ No newline at end of file": the line before has none.
            if let Some((kind, _)) = last {
                if kind != '+' {
                    strip_newline(hunk.old.last_mut());
                }
                if kind != '-' {
                    strip_newline(hunk.new.last_mut());
                }
            }
            continue;
        }
        let (kind, content) = line.split_at(1.min(line.len()));
        let content = if content.is_empty() && kind == "\n" {
            "\n"
        } else {
            content
        };
        let kind = kind.chars().next().unwrap_or(' ');
        match kind {
            '-' => hunk.old.push(content.to_owned()),
            '+' => hunk.new.push(content.to_owned()),
            _ => {
                hunk.old.push(content.to_owned());
                hunk.new.push(content.to_owned());
            }
        }
        last = Some((kind, 0));
    }
    hunks
}

fn strip_newline(line: Option<&mut String>) {
    if let Some(line) = line
        && line.ends_with('\n')
    {
        line.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(old: Option<&str>, new: Option<&str>) {
        let file = diff("x.rs", old, new).expect("a change");
        let parsed = parse(&file.text);
        assert_eq!(parsed, std::slice::from_ref(&file), "parses back");
        assert_eq!(apply(old, &parsed[0]).expect("applies").as_deref(), new);
    }

    #[test]
    fn a_diff_applied_to_its_old_side_gives_its_new_side() {
        round_trip(Some("a\nb\nc\n"), Some("a\nB\nc\nd\n"));
        round_trip(None, Some("new\nfile\n"));
        round_trip(Some("gone\n"), None);
        round_trip(Some("no newline"), Some("no newline\nnow one\n"));
        round_trip(Some("one\n"), Some("one\nwithout"));
        round_trip(Some("\n\n\nx\n"), Some("\n\ny\n"));
    }

    #[test]
    fn a_hunk_follows_its_lines_when_they_moved() {
        let old: String = (1..=20).map(|n| format!("line {n}\n")).collect();
        let new = old.replace("line 15\n", "line fifteen\n");
        let file = diff("x.rs", Some(&old), Some(&new)).expect("a change");
        let moved = format!("inserted above\n{old}");
        let applied = apply(Some(&moved), &file)
            .expect("applies")
            .expect("a file");
        assert_eq!(applied, format!("inserted above\n{new}"));
    }

    #[test]
    fn a_hunk_whose_lines_changed_is_a_conflict_naming_the_file() {
        let file = diff("src/x.rs", Some("a\nb\nc\n"), Some("a\nB\nc\n")).expect("a change");
        let conflict = apply(Some("a\nβ\nc\n"), &file).expect_err("does not apply");
        assert_eq!(conflict.path, "src/x.rs");
        assert!(
            conflict.to_string().contains("@@ -1,3 +1,3 @@"),
            "{conflict}"
        );
    }

    #[test]
    fn several_files_parse_apart() {
        let text = [
            diff("a.rs", Some("1\n"), Some("2\n")),
            diff("b/c.rs", None, Some("new\n")),
            diff("d.rs", Some("old\n"), None),
        ]
        .into_iter()
        .flatten()
        .map(|f| f.text)
        .collect::<String>();
        let paths: Vec<String> = parse(&text).into_iter().map(|f| f.path).collect();
        assert_eq!(paths, ["a.rs", "b/c.rs", "d.rs"]);
    }
}
