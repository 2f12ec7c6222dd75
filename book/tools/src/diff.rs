//! What changed between two checkpoints, computed from the two trees whenever the book is built,
//! so that a chapter's diff can never disagree with the code.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use similar::{ChangeTag, TextDiff};

use crate::workspace::Workspace;

/// How one file differs between two checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// Path inside the checkpoint, with `/` separators.
    pub path: String,
    pub status: Status,
    pub added: usize,
    pub removed: usize,
    /// A unified diff (empty for binary files).
    pub unified: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Added,
    Removed,
    Modified,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Modified => "changed",
        }
    }
}

/// Every file that differs from checkpoint `from` to checkpoint `to`, sorted by path. The package
/// name (`checkpoint-NN`, `checkpoint_NN`) is normalised so that the rename alone is no change.
pub fn checkpoint_changes(
    workspace: &Workspace,
    from: &str,
    to: &str,
) -> anyhow::Result<Vec<FileChange>> {
    let from_dir = workspace.checkpoint_dir(from)?;
    let to_dir = workspace.checkpoint_dir(to)?;
    let from_files = workspace.checkpoint_files(&from_dir)?;
    let to_files = workspace.checkpoint_files(&to_dir)?;
    let all: BTreeSet<&PathBuf> = from_files.iter().chain(to_files.iter()).collect();
    let mut changes = Vec::new();
    for relative in all {
        let old = read_if_present(&from_dir, relative, &from_files)
            .map(|text| rename_package(&text, from, to));
        let new = read_if_present(&to_dir, relative, &to_files);
        if let Some(change) = file_change(&display(relative), old.as_deref(), new.as_deref()) {
            changes.push(change);
        }
    }
    Ok(changes)
}

fn read_if_present(dir: &Path, relative: &PathBuf, files: &[PathBuf]) -> Option<String> {
    if !files.contains(relative) {
        return None;
    }
    // Anchor and exercise markers are book plumbing, not code: leave them out of diffs. A file
    // that is not UTF-8 shows as changed without a textual diff.
    let text = match std::fs::read_to_string(dir.join(relative)) {
        Ok(text) => text,
        Err(_) => return Some(String::from("\u{0}binary")),
    };
    let solved = exercises::solved(&text).unwrap_or(text);
    Some(crate::anchors::strip_markers(&solved))
}

fn rename_package(text: &str, from: &str, to: &str) -> String {
    text.replace(&format!("checkpoint-{from}"), &format!("checkpoint-{to}"))
        .replace(&format!("checkpoint_{from}"), &format!("checkpoint_{to}"))
}

fn display(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The change of one file, or `None` when both versions are equal.
pub fn file_change(path: &str, old: Option<&str>, new: Option<&str>) -> Option<FileChange> {
    let status = match (old, new) {
        (Some(a), Some(b)) if a == b => return None,
        (Some(_), Some(_)) => Status::Modified,
        (None, Some(_)) => Status::Added,
        (Some(_), None) => Status::Removed,
        (None, None) => return None,
    };
    let (old, new) = (old.unwrap_or(""), new.unwrap_or(""));
    let diff = TextDiff::from_lines(old, new);
    let (mut added, mut removed) = (0, 0);
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    let unified = if old.contains('\u{0}') || new.contains('\u{0}') {
        String::new()
    } else {
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string()
    };
    Some(FileChange {
        path: path.to_string(),
        status,
        added,
        removed,
        unified,
    })
}

/// Markdown for a set of changes: a summary table, then (unless `summary_only`) every file's diff
/// in a collapsed block.
pub fn render(from: &str, to: &str, changes: &[FileChange], summary_only: bool) -> String {
    let mut out = String::new();
    if changes.is_empty() {
        out.push_str(&format!("Checkpoints {from} and {to} do not differ.\n"));
        return out;
    }
    out.push_str(&format!(
        "| File (checkpoint {from} → {to}) | Change | Lines |\n|---|---|---|\n"
    ));
    for change in changes {
        out.push_str(&format!(
            "| `{}` | {} | +{} −{} |\n",
            change.path,
            change.status.word(),
            change.added,
            change.removed
        ));
    }
    if summary_only {
        return out;
    }
    out.push('\n');
    for change in changes {
        out.push_str(&format!(
            "<details class=\"cp-diff\">\n<summary><code>{}</code> (+{} −{})</summary>\n\n{}\n</details>\n\n",
            change.path,
            change.added,
            change.removed,
            fenced_diff(change)
        ));
    }
    out
}

/// One file's diff, shown open (for `{{#cp-diff NN MM path}}`).
pub fn render_file(change: &FileChange) -> String {
    format!(
        "<div class=\"cp-file\"><code>{}</code> ({})</div>\n\n{}",
        change.path,
        change.status.word(),
        fenced_diff(change)
    )
}

fn fenced_diff(change: &FileChange) -> String {
    if change.unified.is_empty() {
        return String::from("(binary file)\n");
    }
    crate::code::block_without_header("diff", &change.unified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_and_classifies_files() {
        let changed = file_change("src/lib.rs", Some("a\nb\n"), Some("a\nc\nd\n")).unwrap();
        assert_eq!(
            (changed.status, changed.added, changed.removed),
            (Status::Modified, 2, 1)
        );
        assert!(changed.unified.contains("-b\n+c\n+d\n"));
        assert_eq!(file_change("x", Some("same\n"), Some("same\n")), None);
        assert_eq!(
            file_change("x", None, Some("new\n")).unwrap().status,
            Status::Added
        );
        assert_eq!(
            file_change("x", Some("old\n"), None).unwrap().status,
            Status::Removed
        );
    }

    #[test]
    fn a_package_rename_alone_is_no_change() {
        let old = rename_package(
            "name = \"checkpoint-01\"\nuse checkpoint_01::api;\n",
            "01",
            "02",
        );
        assert_eq!(old, "name = \"checkpoint-02\"\nuse checkpoint_02::api;\n");
    }

    #[test]
    fn renders_a_summary_and_collapsed_diffs() {
        let changes = vec![file_change("src/lib.rs", Some("a\n"), Some("b\n")).unwrap()];
        let full = render("01", "02", &changes, false);
        assert!(full.contains("| `src/lib.rs` | changed | +1 −1 |"));
        assert!(full.contains("<details class=\"cp-diff\">"));
        assert!(full.contains("```diff\n--- a/src/lib.rs\n+++ b/src/lib.rs\n"));
        let summary = render("01", "02", &changes, true);
        assert!(!summary.contains("<details"));
    }
}
