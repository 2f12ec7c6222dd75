//! Building the book into a fresh directory each time, so that a failed or half-written build
//! never replaces the one being served.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

/// The numbered build directories under one output directory.
#[derive(Debug)]
pub struct Builds {
    output: PathBuf,
    next: u64,
    /// The build being served, and the one before it, which a request that started before the
    /// switch may still be reading.
    served: Option<PathBuf>,
    previous: Option<PathBuf>,
}

/// A good build: where its HTML is, and how long it took.
#[derive(Debug)]
pub struct Published {
    pub html_dir: PathBuf,
    pub took: Duration,
}

impl Builds {
    /// Builds will go to `output/build-N`; those left there by an earlier run are removed.
    pub fn new(output: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(output)
            .with_context(|| format!("cannot create {}", output.display()))?;
        for entry in std::fs::read_dir(output)? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with("build-") {
                std::fs::remove_dir_all(entry.path())
                    .with_context(|| format!("cannot remove {}", entry.path().display()))?;
            }
        }
        Ok(Self {
            output: output.to_path_buf(),
            next: 1,
            served: None,
            previous: None,
        })
    }

    /// Builds the book whose book.toml is in `root` into the next directory. Only a good build
    /// becomes the served one; a failed build's directory is removed.
    pub fn build(&mut self, root: &Path) -> anyhow::Result<Published> {
        let dir = self.output.join(format!("build-{}", self.next));
        self.next += 1;
        let start = Instant::now();
        match crate::build_book(root, &dir) {
            Ok(built) => {
                if let Some(old) = self.previous.take() {
                    // Best effort: a leftover directory costs disk space, not correctness.
                    let _ = std::fs::remove_dir_all(old);
                }
                self.previous = self.served.replace(dir);
                Ok(Published {
                    html_dir: built.html_dir,
                    took: start.elapsed(),
                })
            }
            Err(error) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(error)
            }
        }
    }
}
