//! The directives chapters use to show repository files, and their expansion into Markdown.
//!
//! | Directive | Shows |
//! |---|---|
//! | `{{#cp NN path:anchor}}` | the anchored region of a checkpoint file |
//! | `{{#cp-file NN path}}` (optional `focus=anchor`) | a whole checkpoint file (outside the focus hidden) |
//! | `{{#cp-diff NN MM}}`, `{{#cp-diff NN MM summary}}`, `{{#cp-diff NN MM path}}` | what changed between two checkpoints |
//! | `{{#cp-crd NN Kind}}` | the committed CRD YAML of a kind |
//! | `{{#cp-tree NN}}` | the files of a checkpoint |
//! | `{{#repo path:anchor}}`, `{{#repo path}}` | a region or all of any repository file (the given crates, scripts) |
//! | `{{#exercise N.M}}` | the code of step N.M as the learner's step starts, the solution folded ([`crate::exercise`]) |
//! | `{{#step-output N.M before\|after}}` | a step's test command and its captured output |
//! | `{{#output NAME}}` | a command and its output, captured from a real run by a test ([`crate::output`]) |
//!
//! Code is shown as the checkpoint's solution reads: exercise markers and start states left out.
//!
//! `{{#schedule ...}}`, the workshop timing table, needs the whole book and lives in
//! [`crate::schedule`].

use std::path::Path;
use std::sync::LazyLock;

use anyhow::{Context, anyhow, bail};
use regex::Regex;

use crate::workspace::Workspace;
use crate::{anchors, code, diff, exercise, output};

static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\{\{#(cp|cp-file|cp-diff|cp-crd|cp-tree|repo|exercise|step-output|output)(\s+[^}]*)?\}\}",
    )
    .expect("valid directive pattern")
});

/// Expands every directive in `content`. Each failure is reported as its own message naming the
/// directive; the content is only returned when all of them expanded.
pub fn expand_all(workspace: &Workspace, content: &str) -> Result<String, Vec<String>> {
    let mut errors = Vec::new();
    let expanded = DIRECTIVE.replace_all(content, |caps: &regex::Captures<'_>| {
        let name = &caps[1];
        let args: Vec<&str> = caps
            .get(2)
            .map(|m| m.as_str().split_whitespace().collect())
            .unwrap_or_default();
        match expand(workspace, name, &args) {
            Ok(markdown) => markdown,
            Err(error) => {
                errors.push(format!("`{}`: {error:#}", &caps[0]));
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

fn expand(workspace: &Workspace, name: &str, args: &[&str]) -> anyhow::Result<String> {
    match (name, args) {
        ("cp", [number, target]) => {
            let (path, anchor) = split_anchor(target)?;
            let anchor = anchor
                .ok_or_else(|| anyhow!("needs `path:anchor` (use cp-file for a whole file)"))?;
            show_region(
                workspace,
                &workspace.checkpoint_dir(number)?.join(path),
                Some(anchor),
            )
        }
        ("cp-file", [number, path, options @ ..]) => {
            let file = workspace.checkpoint_dir(number)?.join(path);
            match options {
                [] => show_region(workspace, &file, None),
                [focus] => {
                    let anchor = focus
                        .strip_prefix("focus=")
                        .ok_or_else(|| anyhow!("unknown option `{focus}`"))?;
                    show_focused(workspace, &file, anchor)
                }
                _ => bail!("too many options"),
            }
        }
        ("repo", [target]) => {
            let (path, anchor) = split_anchor(target)?;
            show_region(workspace, &workspace.root().join(path), anchor)
        }
        ("cp-diff", [from, to, rest @ ..]) => {
            let changes = diff::checkpoint_changes(workspace, from, to)?;
            match rest {
                [] => Ok(diff::render(from, to, &changes, false)),
                ["summary"] => Ok(diff::render(from, to, &changes, true)),
                [path] => {
                    let change = changes.iter().find(|c| c.path == *path).ok_or_else(|| {
                        anyhow!("`{path}` does not differ between checkpoints {from} and {to}")
                    })?;
                    Ok(diff::render_file(change))
                }
                _ => bail!("expected `{{{{#cp-diff NN MM [summary | path]}}}}`"),
            }
        }
        ("exercise", [step]) => exercise::show(workspace, step),
        ("step-output", [step, when]) => exercise::output(workspace, step, when),
        ("output", [name]) => output::show(workspace, name),
        ("cp-crd", [number, kind]) => {
            let plural = format!("{}s", kind.to_lowercase());
            let file = workspace
                .checkpoint_dir(number)?
                .join("config/crd/bases")
                .join(format!("infrastructure.cluster.x-k8s.io_{plural}.yaml"));
            show_region(workspace, &file, None)
        }
        ("cp-tree", [number]) => {
            let dir = workspace.checkpoint_dir(number)?;
            let files = workspace.checkpoint_files(&dir)?;
            Ok(code::block(
                &workspace.display_path(&dir),
                "text",
                &tree(&files),
            ))
        }
        _ => bail!("unknown form of `{name}`: check its arguments"),
    }
}

fn split_anchor(target: &str) -> anyhow::Result<(&str, Option<&str>)> {
    match target.rsplit_once(':') {
        Some((path, anchor)) if !anchor.is_empty() && !path.is_empty() => Ok((path, Some(anchor))),
        Some(_) => bail!("`{target}` is not `path:anchor`"),
        None => Ok((target, None)),
    }
}

fn show_region(workspace: &Workspace, file: &Path, anchor: Option<&str>) -> anyhow::Result<String> {
    let shown = workspace.display_path(file);
    let text = workspace.read_solved(file)?;
    let body = match anchor {
        Some(name) => {
            anchors::region(&text, name).map_err(|e| anyhow!("anchor `{name}` in {shown} {e}"))?
        }
        None => anchors::strip_markers(&text),
    };
    Ok(code::block(&shown, code::language(&shown), &body))
}

fn show_focused(workspace: &Workspace, file: &Path, anchor: &str) -> anyhow::Result<String> {
    let shown = workspace.display_path(file);
    let text = workspace.read_solved(file)?;
    let lines = anchors::lines_with_focus(&text, anchor)
        .map_err(|e| anyhow!("anchor `{anchor}` in {shown} {e}"))?;
    let language = code::language(&shown);
    if language != "rust" {
        bail!("focus= needs a Rust file (only Rust code blocks can hide lines)");
    }
    Ok(code::block(&shown, language, &code::hide_unfocused(&lines)))
}

/// A `tree`-style listing of relative file paths (already sorted).
fn tree(files: &[std::path::PathBuf]) -> String {
    let paths: Vec<Vec<String>> = files
        .iter()
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .collect();
    let mut out = String::new();
    let mut printed: Vec<String> = Vec::new();
    for (index, parts) in paths.iter().enumerate() {
        for depth in 0..parts.len() {
            let prefix = parts[..=depth].join("/");
            if printed.contains(&prefix) {
                continue;
            }
            printed.push(prefix.clone());
            let is_last = !paths[index + 1..].iter().any(|other| {
                other.len() > depth
                    && other[..depth] == parts[..depth]
                    && other[depth] != parts[depth]
            });
            let mut line = String::new();
            for level in 0..depth {
                let ancestor_is_last = !paths[index + 1..].iter().any(|other| {
                    other.len() > level
                        && other[..level] == parts[..level]
                        && other[level] != parts[level]
                });
                line.push_str(if ancestor_is_last { "    " } else { "│   " });
            }
            line.push_str(if is_last { "└── " } else { "├── " });
            line.push_str(&parts[depth]);
            if depth + 1 < parts.len() {
                line.push('/');
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// Where a book's directives resolve their paths: `[preprocessor.capdkc] repository-root`,
/// relative to the directory holding book.toml (default `.`: book.toml sits at the top level).
pub fn workspace_for(book_root: &Path, configured: Option<&str>) -> anyhow::Result<Workspace> {
    let root = book_root.join(configured.unwrap_or("."));
    let root = root
        .canonicalize()
        .with_context(|| format!("repository root {} does not exist", root.display()))?;
    Ok(Workspace::new(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_tree() {
        let files: Vec<std::path::PathBuf> = [
            "Cargo.toml",
            "src/api/mod.rs",
            "src/lib.rs",
            "tests/crds.rs",
        ]
        .iter()
        .map(Into::into)
        .collect();
        assert_eq!(
            tree(&files),
            "├── Cargo.toml\n├── src/\n│   ├── api/\n│   │   └── mod.rs\n│   └── lib.rs\n└── tests/\n    └── crds.rs\n"
        );
    }

    #[test]
    fn splits_paths_from_anchors() {
        assert_eq!(
            split_anchor("src/lib.rs:api").unwrap(),
            ("src/lib.rs", Some("api"))
        );
        assert_eq!(split_anchor("src/lib.rs").unwrap(), ("src/lib.rs", None));
        assert!(split_anchor("src/lib.rs:").is_err());
    }
}
