//! Anchors no page shows: a marker that shows nothing is noise in the code a learner reads, and
//! usually a region a chapter stopped showing. The build names each one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use exercises::Step;
use mdbook::book::{Book, BookItem};
use regex::Regex;

use crate::anchors;
use crate::workspace::Workspace;

static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{#(cp|cp-file|repo|exercise)\s+([^}]*)\}\}").expect("valid directive pattern")
});

/// Where anchors live: these directories and files of the repository.
const SCANNED: [&str; 8] = [
    "checkpoints",
    "given",
    "scripts",
    "tilt",
    "Cargo.toml",
    "Dockerfile",
    "Tiltfile",
    ".github",
];

/// A file as anchors are matched: a checkpoint's file by its path in the checkpoint (a later
/// checkpoint carries an earlier one's anchors), any other by its path in the repository.
fn key(workspace: &Workspace, file: &Path) -> String {
    let shown = workspace.display_path(file);
    match shown.strip_prefix("checkpoints/") {
        Some(rest) => format!(
            "checkpoints/*/{}",
            rest.split_once('/').map_or(rest, |(_, p)| p)
        ),
        None => shown,
    }
}

/// Every anchor the pages of `book` (as written, before expansion) show.
pub fn shown(book: &Book, workspace: &Workspace) -> BTreeSet<(String, String)> {
    let mut shown = BTreeSet::new();
    for item in book.iter() {
        let BookItem::Chapter(chapter) = item else {
            continue;
        };
        for caps in DIRECTIVE.captures_iter(&chapter.content) {
            let args: Vec<&str> = caps[2].split_whitespace().collect();
            let mut show = |file: PathBuf, anchor: &str| {
                shown.insert((key(workspace, &file), anchor.to_owned()));
            };
            match (&caps[1], args.as_slice()) {
                ("cp", [number, target]) => {
                    if let (Ok(dir), Some((path, anchor))) =
                        (workspace.checkpoint_dir(number), target.rsplit_once(':'))
                    {
                        show(dir.join(path), anchor);
                    }
                }
                ("cp-file", [number, path, focus]) => {
                    if let (Ok(dir), Some(anchor)) = (
                        workspace.checkpoint_dir(number),
                        focus.strip_prefix("focus="),
                    ) {
                        show(dir.join(path), anchor);
                    }
                }
                ("repo", [target]) => {
                    if let Some((path, anchor)) = target.rsplit_once(':') {
                        show(workspace.root().join(path), anchor);
                    }
                }
                ("exercise", [step]) => {
                    if let Some(step) = Step::parse(step) {
                        for (file, anchor) in crate::exercise::anchors_of(workspace, step) {
                            show(file, &anchor);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    shown
}

/// Every anchor in the scanned files that `shown` does not hold, as `path: name`.
pub fn unused(workspace: &Workspace, shown: &BTreeSet<(String, String)>) -> Vec<String> {
    let mut files = Vec::new();
    for entry in SCANNED {
        collect(&workspace.root().join(entry), &mut files);
    }
    files.sort();
    let mut unused = BTreeSet::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let file_key = key(workspace, &file);
        for (name, _) in anchors::spans(&text) {
            if !shown.contains(&(file_key.clone(), name.clone())) {
                unused.insert(format!("{file_key}: {name}"));
            }
        }
    }
    unused.into_iter().collect()
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    if name == "target" || name.ends_with(".diff") || name.ends_with(".snap") {
        return;
    }
    if path.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            for entry in entries.flatten() {
                collect(&entry.path(), out);
            }
        }
    } else if path.is_file() && !path.is_symlink() {
        out.push(path.to_path_buf());
    }
}
