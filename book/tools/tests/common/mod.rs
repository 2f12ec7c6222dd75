//! A throwaway repository laid out like this one (book.toml at the top level, the book's sources
//! in book/src, checkpoints beside them), for the build and server tests.

use std::path::Path;

/// A temporary repository: two checkpoints and a book with the given pages.
pub struct Fixture {
    dir: tempfile::TempDir,
}

const CHECKPOINT_01: &str = "\
// ANCHOR: greet
pub fn greet() -> &'static str {
    \"hello\"
}
// ANCHOR_END: greet
// ANCHOR: empty
// ANCHOR_END: empty
";

const CHECKPOINT_02: &str = "\
// ANCHOR: greet
pub fn greet() -> &'static str {
    \"hello, world\"
}
// ANCHOR_END: greet
";

const STEP: &str = "\
// ANCHOR: answer
pub fn answer() -> u32 {
    // EXERCISE: 2.1 Return the answer.
    6 * 7
    // EXERCISE_END
}
// ANCHOR_END: answer
";

/// The speaker notes every chapter must have.
pub const GOOD_PAGE_TAIL: &str =
    "\n<details class=\"notes\"><summary>Notes</summary>\n\nSay hello.\n</details>\n";

/// The fixture's book.toml: the real one's layout, with commands that must never run (the build
/// registers both preprocessors in-process).
const BOOK_TOML: &str = "\
[book]
title = \"Fixture\"
src = \"book/src\"

[build]
build-dir = \"target/book\"
extra-watch-dirs = [\"checkpoints\"]

[preprocessor.capdkc]
command = \"false\"
repository-root = \".\"

[preprocessor.admonish]
command = \"false\"
assets_version = \"3.1.0\"
on_failure = \"bail\"
";

impl Fixture {
    pub fn with_chapter(body: &str) -> Self {
        Self::with_summary_and_chapter("# Summary\n\n- [Demo](demo.md)\n", body)
    }

    pub fn with_summary_and_chapter(summary: &str, body: &str) -> Self {
        Self::with_pages(summary, &[("demo.md", body)])
    }

    /// A book with the given SUMMARY.md and pages (file name, content).
    pub fn with_pages(summary: &str, pages: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "checkpoints/01-demo/Cargo.toml",
            "[package]\nname = \"checkpoint-01\"\n",
        );
        let shown = |source: &str| only_anchors_shown(source, pages);
        write(
            root,
            "checkpoints/01-demo/src/lib.rs",
            &shown(CHECKPOINT_01),
        );
        write(
            root,
            "checkpoints/02-demo/Cargo.toml",
            "[package]\nname = \"checkpoint-02\"\n",
        );
        write(
            root,
            "checkpoints/02-demo/src/lib.rs",
            &shown(CHECKPOINT_02),
        );
        write(
            root,
            "checkpoints/02-demo/src/new.rs",
            "pub fn added() {}\n",
        );
        write(root, "book.toml", BOOK_TOML);
        write(root, "book/src/SUMMARY.md", summary);
        for (file, body) in pages {
            write(root, &format!("book/src/{file}"), body);
        }
        Self { dir }
    }

    /// The same, and checkpoint 02 holds an exercise: step 2.1 in `src/step.rs`, inside anchor
    /// `answer`, with the output of its tests captured before it is written.
    pub fn with_exercise(summary: &str, pages: &[(&str, &str)]) -> Self {
        let fixture = Self::with_pages(summary, pages);
        write(fixture.root(), "checkpoints/02-demo/src/step.rs", STEP);
        write(
            fixture.root(),
            "book/src/gen/steps/2.1-before.txt",
            "test step_2_1_answers ... FAILED\n",
        );
        fixture
    }

    /// The repository's top level, where book.toml is.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn build(&self) -> Result<book_tools::Built, String> {
        let root = self.root();
        book_tools::build_book(root, &root.join("target/book")).map_err(|e| format!("{e:#}"))
    }
}

/// The build fails on an anchor no page shows, so the fixture keeps the markers of an anchor only
/// when one of its pages names it (`...:greet}}`).
fn only_anchors_shown(source: &str, pages: &[(&str, &str)]) -> String {
    let named = |anchor: &str| {
        pages
            .iter()
            .any(|(_, body)| body.contains(&format!(":{anchor}}}}}")))
    };
    source
        .lines()
        .filter(|line| {
            let marker = line
                .strip_prefix("// ANCHOR: ")
                .or_else(|| line.strip_prefix("// ANCHOR_END: "));
            marker.is_none_or(named)
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

pub fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A chapter that passes the build's checks, with `body` as its text.
pub fn page(body: &str) -> String {
    format!("<!-- minutes: 5 -->\n# Demo\n\n{body}\n{GOOD_PAGE_TAIL}")
}
