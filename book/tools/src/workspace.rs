//! The repository the book is built from: where checkpoints and other shown files live.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The repository root, from which every shown path is resolved.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of checkpoint `NN` (`checkpoints/NN-name`), which must exist exactly once.
    pub fn checkpoint_dir(&self, number: &str) -> anyhow::Result<PathBuf> {
        if number.len() != 2 || !number.bytes().all(|b| b.is_ascii_digit()) {
            bail!("`{number}` is not a two-digit checkpoint number");
        }
        let parent = self.root.join("checkpoints");
        let prefix = format!("{number}-");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&parent)
            .with_context(|| format!("cannot read {}", parent.display()))?
        {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(&prefix) && entry.path().is_dir() {
                found.push(entry.path());
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => bail!("checkpoint {number} does not exist (no checkpoints/{number}-* directory)"),
            _ => bail!("checkpoint {number} is ambiguous: {found:?}"),
        }
    }

    /// A path relative to the repository root, with `/` separators, for headers and messages.
    pub fn display_path(&self, path: &Path) -> String {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Reads a file the book shows; the error names the file.
    pub fn read(&self, path: &Path) -> anyhow::Result<String> {
        std::fs::read_to_string(path)
            .with_context(|| format!("file {} cannot be read", self.display_path(path)))
    }

    /// Reads a file as the checkpoint's solution: exercise markers and start states left out.
    pub fn read_solved(&self, path: &Path) -> anyhow::Result<String> {
        let text = self.read(path)?;
        exercises::solved(&text).with_context(|| self.display_path(path))
    }

    /// Every file of a checkpoint, relative to its directory, sorted; build output, hidden files
    /// and insta snapshots (which repeat `config/crd/bases`) are left out.
    pub fn checkpoint_files(&self, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        collect_files(dir, dir, &mut files)?;
        files.sort();
        Ok(files)
    }
}

fn collect_files(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if name.starts_with('.')
            || name == "target"
            || name.ends_with(".snap")
            || name.ends_with(".snap.new")
        {
            continue;
        }
        if path.is_dir() {
            collect_files(base, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(base) {
            out.push(relative.to_path_buf());
        }
    }
    Ok(())
}
