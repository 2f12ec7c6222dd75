//! Noticing that the book's sources changed, by comparing file sizes and modification times once
//! a second: a few hundred files, so polling is cheap and needs no file-system notification API.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use mdbook::config::Config;

/// Every file that can change the book, and its state when last looked at.
#[derive(Debug)]
pub struct Watcher {
    root: PathBuf,
    /// Never looked into: where the builds are written (a rebuild must not trigger a rebuild).
    output: PathBuf,
    paths: Vec<PathBuf>,
    seen: Fingerprint,
}

/// Size and modification time of each file.
type Fingerprint = BTreeMap<PathBuf, (u64, Option<SystemTime>)>;

impl Watcher {
    /// Watches what book.toml under `root` names (see [`watched_paths`]), except `output`.
    pub fn new(root: &Path, output: &Path) -> Self {
        let paths = watched_paths(root).unwrap_or_else(|_| vec![root.join("book.toml")]);
        let seen = fingerprint(&paths, output);
        Self {
            root: root.to_path_buf(),
            output: output.to_path_buf(),
            paths,
            seen,
        }
    }

    #[cfg(test)]
    fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// A file added, removed or modified since the last call (or since [`Watcher::new`]), if any.
    pub fn changed(&mut self) -> Option<PathBuf> {
        let now = fingerprint(&self.paths, &self.output);
        let changed = first_difference(&self.seen, &now)?;
        // book.toml may now name other directories; a broken one keeps the old list (and fails
        // the build, which says why).
        if let Ok(paths) = watched_paths(&self.root) {
            self.paths = paths;
        }
        self.seen = fingerprint(&self.paths, &self.output);
        Some(changed)
    }
}

/// What mdBook's own watcher would watch for this book: book.toml, the sources, the theme, the
/// additional CSS and JavaScript, and `[build] extra-watch-dirs` (for us, the checkpoints and the
/// given crates the chapters show).
pub fn watched_paths(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let config = Config::from_disk(root.join("book.toml"))?;
    let html = config.html_config().unwrap_or_default();
    let mut paths = vec![
        root.join("book.toml"),
        root.join(&config.book.src),
        html.theme_dir(root),
    ];
    for path in html
        .additional_css
        .iter()
        .chain(&html.additional_js)
        .chain(&config.build.extra_watch_dirs)
    {
        let path = root.join(path);
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    Ok(paths)
}

fn fingerprint(paths: &[PathBuf], output: &Path) -> Fingerprint {
    let mut files = Fingerprint::new();
    for path in paths {
        record(path, output, &mut files);
    }
    files
}

/// Records `path`, or every file under it. Hidden entries (editor swap files, `.git`) and `target`
/// directories (a checkpoint built on its own) are build noise, not sources.
fn record(path: &Path, output: &Path, files: &mut Fingerprint) {
    if path.starts_with(output) {
        return;
    }
    // Not following links into directories: a link cycle would never end.
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return;
    };
    if metadata.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            record(&entry.path(), output, files);
        }
    } else {
        // For a link to a file, the file it points to is what the build reads.
        let metadata = std::fs::metadata(path).unwrap_or(metadata);
        files.insert(
            path.to_path_buf(),
            (metadata.len(), metadata.modified().ok()),
        );
    }
}

fn first_difference(before: &Fingerprint, after: &Fingerprint) -> Option<PathBuf> {
    let modified_or_added = after
        .iter()
        .find(|(path, state)| before.get(*path) != Some(state));
    let removed = || before.keys().find(|path| !after.contains_key(*path));
    modified_or_added
        .map(|(path, _)| path)
        .or_else(removed)
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// A repository with the watched directories of ours.
    fn repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            &root.join("book.toml"),
            "[book]\nsrc = \"book/src\"\n\n[build]\nextra-watch-dirs = [\"checkpoints\", \"given\"]\n\n\
             [output.html]\ntheme = \"book/theme\"\nadditional-css = [\"book/theme/a.css\"]\n",
        );
        write(&root.join("book/src/SUMMARY.md"), "# Summary\n");
        write(&root.join("book/theme/a.css"), "p {}\n");
        write(&root.join("checkpoints/01-demo/src/lib.rs"), "\n");
        write(&root.join("given/demo/src/lib.rs"), "\n");
        dir
    }

    #[test]
    fn watches_what_book_toml_names() {
        let dir = repository();
        let root = dir.path();
        assert_eq!(
            watched_paths(root).expect("paths"),
            [
                "book.toml",
                "book/src",
                "book/theme",
                "book/theme/a.css",
                "checkpoints",
                "given"
            ]
            .map(|path| root.join(path))
        );
    }

    #[test]
    fn notices_a_file_modified_added_or_removed_but_not_build_noise() {
        let dir = repository();
        let root = dir.path();
        let output = root.join("book/src/out");
        let mut watcher = Watcher::new(root, &output);
        assert_eq!(watcher.changed(), None);

        for noise in [
            "book/src/.chapter.md.swp",
            "checkpoints/01-demo/target/debug/x",
            "book/src/out/index.html",
            "elsewhere.md",
        ] {
            write(&root.join(noise), "noise");
            assert_eq!(watcher.changed(), None, "{noise}");
        }

        // Longer contents change the size, whatever the clock's resolution.
        write(&root.join("checkpoints/01-demo/src/lib.rs"), "// more\n");
        assert_eq!(
            watcher.changed(),
            Some(root.join("checkpoints/01-demo/src/lib.rs"))
        );
        assert_eq!(watcher.changed(), None, "reported once");

        write(&root.join("book/src/new.md"), "# New\n");
        assert_eq!(watcher.changed(), Some(root.join("book/src/new.md")));
        std::fs::remove_file(root.join("given/demo/src/lib.rs")).expect("rm");
        assert_eq!(watcher.changed(), Some(root.join("given/demo/src/lib.rs")));
    }

    #[test]
    fn a_new_watch_directory_in_book_toml_is_watched_from_then_on() {
        let dir = repository();
        let root = dir.path();
        let mut watcher = Watcher::new(root, &root.join("target"));
        write(
            &root.join("book.toml"),
            "[book]\nsrc = \"book/src\"\n\n[build]\nextra-watch-dirs = [\"testing\"]\n",
        );
        assert_eq!(watcher.changed(), Some(root.join("book.toml")));
        assert!(watcher.paths().contains(&root.join("testing")));
        write(&root.join("testing/x.rs"), "\n");
        assert_eq!(watcher.changed(), Some(root.join("testing/x.rs")));
    }
}
