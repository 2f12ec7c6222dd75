//! A checkpoint's files on disk: read through links, written back as files or links.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::Problem;

/// One checkpoint: `checkpoints/NN-name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub number: u8,
    /// `NN-name`.
    pub name: String,
    pub dir: PathBuf,
}

/// The checkpoints under `dir`, in order of their numbers.
pub fn checkpoints(dir: &Path) -> anyhow::Result<Vec<Checkpoint>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let number = name.get(..2).and_then(|n| n.parse().ok());
        if let Some(number) = number.filter(|_| name.as_bytes().get(2) == Some(&b'-'))
            && entry.path().is_dir()
        {
            found.push(Checkpoint {
                number,
                name,
                dir: entry.path(),
            });
        }
    }
    found.sort_by_key(|c| c.number);
    Ok(found)
}

impl Checkpoint {
    /// Where this chapter's change is recorded: `checkpoints/NN-name.diff`.
    pub fn diff_file(&self) -> PathBuf {
        self.dir.with_file_name(format!("{}.diff", self.name))
    }

    /// Every file, by path relative to the checkpoint, read through links; build output, hidden
    /// files and insta snapshots (written by the tests themselves) are left out.
    pub fn files(&self) -> anyhow::Result<BTreeMap<PathBuf, String>> {
        let mut files = BTreeMap::new();
        for path in self.paths()? {
            let full = self.dir.join(&path);
            let text = std::fs::read_to_string(&full)
                .with_context(|| format!("cannot read {} as text", full.display()))?;
            files.insert(path, text);
        }
        Ok(files)
    }

    /// [`Checkpoint::files`], with this checkpoint's package name written as `next`'s: the
    /// rename is no change of a chapter.
    pub fn files_renamed_to(&self, next: &Checkpoint) -> anyhow::Result<BTreeMap<PathBuf, String>> {
        let (from, to) = (self.number, next.number);
        Ok(self
            .files()?
            .into_iter()
            .map(|(path, text)| {
                let renamed = text
                    .replace(
                        &format!("checkpoint-{from:02}"),
                        &format!("checkpoint-{to:02}"),
                    )
                    .replace(
                        &format!("checkpoint_{from:02}"),
                        &format!("checkpoint_{to:02}"),
                    );
                (path, renamed)
            })
            .collect())
    }

    /// The relative paths of [`Checkpoint::files`], sorted.
    pub fn paths(&self) -> anyhow::Result<Vec<PathBuf>> {
        let mut paths = Vec::new();
        collect(&self.dir, &self.dir, &mut paths)?;
        paths.sort();
        Ok(paths)
    }
}

fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || name == "target"
        || name.ends_with(".snap")
        || name.ends_with(".snap.new")
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        if ignored(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            collect(base, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(base) {
            out.push(relative.to_path_buf());
        }
    }
    Ok(())
}

/// A path with `/` separators.
pub fn display(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Only Rust files become links: kustomize refuses a link that leaves its directory, and the
/// rest is not code.
fn linked(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rs")
}

/// Copies that should be links, and links that point anywhere but the same file one
/// checkpoint back.
pub fn link_problems(previous: &Checkpoint, next: &Checkpoint) -> anyhow::Result<Vec<Problem>> {
    let mut problems = Vec::new();
    for path in next.paths()? {
        let file = next.dir.join(&path);
        let is_link = std::fs::symlink_metadata(&file)?.file_type().is_symlink();
        let same = previous.dir.join(&path);
        let (checkpoint, shown) = (next.name.clone(), display(&path));
        if is_link {
            let target = std::fs::canonicalize(&file).ok();
            if !linked(&path) || target.is_none() || target != std::fs::canonicalize(&same).ok() {
                problems.push(Problem::StrayLink {
                    checkpoint,
                    path: shown,
                });
            }
        } else if linked(&path) && same.is_file() && std::fs::read(&file)? == std::fs::read(&same)?
        {
            problems.push(Problem::Copy {
                checkpoint,
                path: shown,
            });
        }
    }
    Ok(problems)
}

/// Makes `next` exactly `files`: an unchanged Rust file of `previous` as a link to it, every
/// other file as itself; files not in `files` are removed.
pub fn write(
    previous: &Checkpoint,
    next: &Checkpoint,
    files: &BTreeMap<PathBuf, String>,
) -> anyhow::Result<()> {
    for path in next.paths()? {
        if !files.contains_key(&path) {
            std::fs::remove_file(next.dir.join(&path))?;
        }
    }
    for (path, text) in files {
        let file = next.dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let unchanged = std::fs::read_to_string(previous.dir.join(path))
            .ok()
            .as_ref()
            == Some(text);
        let existing = std::fs::symlink_metadata(&file).ok();
        if linked(path) && unchanged {
            let target = link_target(previous, path);
            if existing.is_some() {
                if std::fs::read_link(&file).ok() == Some(target.clone()) {
                    continue;
                }
                std::fs::remove_file(&file)?;
            }
            symlink(&target, &file)?;
        } else {
            if existing.is_some_and(|m| m.file_type().is_symlink()) {
                std::fs::remove_file(&file)?;
            }
            if std::fs::read_to_string(&file).ok().as_ref() != Some(text) {
                std::fs::write(&file, text)
                    .with_context(|| format!("cannot write {}", file.display()))?;
            }
        }
    }
    Ok(())
}

/// `../../…/NN-name/<path>`, relative to the link's own directory.
fn link_target(previous: &Checkpoint, path: &Path) -> PathBuf {
    let mut target = PathBuf::new();
    for _ in path.components() {
        target.push("..");
    }
    target.push(&previous.name);
    target.push(path);
    target
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> anyhow::Result<()> {
    std::os::unix::fs::symlink(target, link)
        .with_context(|| format!("cannot link {} to {}", link.display(), target.display()))
}

#[cfg(not(unix))]
fn symlink(_target: &Path, link: &Path) -> anyhow::Result<()> {
    anyhow::bail!(
        "{}: checkpoints link unchanged files; use a Unix system (or WSL)",
        link.display()
    )
}
