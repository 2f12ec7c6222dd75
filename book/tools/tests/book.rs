//! The real book builds cleanly, and every way a book can go stale fails the build with a
//! message that names the chapter and the cause.

use std::path::{Path, PathBuf};

use book_tools::build_book;

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

#[test]
fn the_book_builds_with_every_directive_expanded() {
    let out = tempfile::tempdir().expect("temp dir");
    let built =
        build_book(&repository_root().join("book"), out.path()).unwrap_or_else(|e| panic!("{e:#}"));

    let names: Vec<&str> = built
        .chapters
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    for expected in ["Introduction", "Prerequisites", "Setup", "1. Scaffolding"] {
        assert!(
            names.contains(&expected),
            "missing chapter {expected}: {names:?}"
        );
    }
    assert!(built.chapters.iter().all(|(_, minutes)| *minutes > 0));

    let page =
        std::fs::read_to_string(built.html_dir.join("01-scaffold.html")).expect("rendered chapter");
    assert!(page.contains("class=\"cp-file\""), "file-name headers");
    assert!(
        page.contains("pub struct DockerClusterSpec"),
        "checkpoint code included"
    );
    assert!(
        page.contains("class=\"admonition"),
        "admonitions rendered by mdbook-admonish"
    );
    assert!(page.contains("details class=\"notes\""), "speaker notes");
    assert!(!page.contains("ANCHOR"), "anchor markers stripped");
}

/// A throwaway repository: two checkpoints and a book whose one chapter has the given text.
struct Fixture {
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

const GOOD_PAGE_TAIL: &str =
    "\n<details class=\"notes\"><summary>Notes</summary>\n\nSay hello.\n</details>\n";

impl Fixture {
    fn with_chapter(body: &str) -> Self {
        Self::with_summary_and_chapter("# Summary\n\n- [Demo](demo.md)\n", body)
    }

    fn with_summary_and_chapter(summary: &str, body: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        write(
            root,
            "checkpoints/01-demo/Cargo.toml",
            "[package]\nname = \"checkpoint-01\"\n",
        );
        write(root, "checkpoints/01-demo/src/lib.rs", CHECKPOINT_01);
        write(
            root,
            "checkpoints/02-demo/Cargo.toml",
            "[package]\nname = \"checkpoint-02\"\n",
        );
        write(root, "checkpoints/02-demo/src/lib.rs", CHECKPOINT_02);
        write(
            root,
            "checkpoints/02-demo/src/new.rs",
            "pub fn added() {}\n",
        );
        write(
            root,
            "book/book.toml",
            "[book]\ntitle = \"Fixture\"\nsrc = \"src\"\n\n\
             [preprocessor.capdkc]\ncommand = \"false\"\nrepository-root = \"..\"\n\n\
             [preprocessor.admonish]\ncommand = \"false\"\nassets_version = \"3.1.0\"\non_failure = \"bail\"\n",
        );
        write(root, "book/src/SUMMARY.md", summary);
        write(root, "book/src/demo.md", body);
        Self { dir }
    }

    fn build(&self) -> Result<book_tools::Built, String> {
        let book = self.dir.path().join("book");
        build_book(&book, &book.join("out")).map_err(|e| format!("{e:#}"))
    }
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn page(body: &str) -> String {
    format!("<!-- minutes: 5 -->\n# Demo\n\n{body}\n{GOOD_PAGE_TAIL}")
}

fn assert_fails(fixture: &Fixture, expected: &[&str]) {
    let error = fixture
        .build()
        .err()
        .unwrap_or_else(|| panic!("the build should fail with {expected:?}"));
    for part in expected {
        assert!(error.contains(part), "error lacks `{part}`:\n{error}");
    }
}

#[test]
fn a_good_fixture_builds() {
    let fixture = Fixture::with_chapter(&page(
        "{{#cp 01 src/lib.rs:greet}}\n\n```admonish tip\nHi.\n```\n",
    ));
    let built = fixture.build().expect("builds");
    let html = std::fs::read_to_string(built.html_dir.join("demo.html")).expect("page");
    assert!(html.contains("checkpoints/01-demo/src/lib.rs"));
    assert!(html.contains("greet"));
    assert!(html.contains("admonition"));
}

#[test]
fn a_missing_anchor_names_the_chapter_and_the_anchor() {
    let fixture = Fixture::with_chapter(&page("{{#cp 01 src/lib.rs:farewell}}"));
    assert_fails(
        &fixture,
        &[
            "chapter `Demo`",
            "anchor `farewell`",
            "checkpoints/01-demo/src/lib.rs",
        ],
    );
}

#[test]
fn an_empty_anchor_region_fails() {
    let fixture = Fixture::with_chapter(&page("{{#cp 01 src/lib.rs:empty}}"));
    assert_fails(
        &fixture,
        &["chapter `Demo`", "anchor `empty`", "empty region"],
    );
}

#[test]
fn a_missing_file_or_checkpoint_fails() {
    assert_fails(
        &Fixture::with_chapter(&page("{{#cp 01 src/gone.rs:greet}}")),
        &["chapter `Demo`", "src/gone.rs"],
    );
    assert_fails(
        &Fixture::with_chapter(&page("{{#cp 07 src/lib.rs:greet}}")),
        &["checkpoint 07 does not exist"],
    );
    assert_fails(
        &Fixture::with_chapter(&page("{{#repo scripts/none.sh}}")),
        &["scripts/none.sh"],
    );
}

#[test]
fn a_directive_left_unexpanded_fails() {
    // mdBook logs a missing {{#include}} file but leaves the text and carries on.
    let fixture = Fixture::with_chapter(&page("{{#include ../../nowhere.txt}}"));
    assert_fails(
        &fixture,
        &[
            "chapter `Demo`",
            "directive left unexpanded: {{#include ../../nowhere.txt}}",
        ],
    );
    let fixture = Fixture::with_chapter(&page("{{#cp-unknown 01}}"));
    assert_fails(&fixture, &["chapter `Demo`", "directive left unexpanded"]);
}

#[test]
fn an_admonition_that_does_not_render_fails() {
    let fixture = Fixture::with_chapter(&page(
        "```admonish warning title=\"unterminated\n\nText.\n```\n",
    ));
    assert_fails(&fixture, &["Error processing admonition"]);
}

#[test]
fn a_summary_entry_without_a_file_fails() {
    let missing = Fixture::with_summary_and_chapter(
        "# Summary\n\n- [Demo](demo.md)\n- [Later](later.md)\n",
        &page("Hi."),
    );
    assert_fails(&missing, &["later.md"]);
    let draft = Fixture::with_summary_and_chapter(
        "# Summary\n\n- [Demo](demo.md)\n- [Draft]()\n",
        &page("Hi."),
    );
    assert_fails(&draft, &["`Draft` has no file"]);
}

#[test]
fn a_chapter_without_minutes_or_speaker_notes_fails() {
    assert_fails(
        &Fixture::with_chapter("# Demo\n\nNo metadata.\n"),
        &["no `<!-- minutes: N -->`", "no speaker notes"],
    );
}

#[test]
fn a_broken_relative_link_fails() {
    assert_fails(
        &Fixture::with_chapter(&page("See [there](there.md).")),
        &["link to `there.md`"],
    );
}

#[test]
fn diffs_between_checkpoints_are_computed_from_the_trees() {
    let fixture =
        Fixture::with_chapter(&page("{{#cp-diff 01 02}}\n\n{{#cp-diff 01 02 src/lib.rs}}"));
    let built = fixture.build().expect("builds");
    let html = std::fs::read_to_string(built.html_dir.join("demo.html")).expect("page");
    assert!(html.contains("src/new.rs"), "added file listed");
    assert!(html.contains("hello, world"), "changed line shown");
    // The package rename (checkpoint-01 -> checkpoint-02) alone is not a change.
    assert!(
        !html.contains("Cargo.toml"),
        "renamed package shown as a change"
    );
}
