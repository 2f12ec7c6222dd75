//! The real book builds cleanly, and every way a book can go stale fails the build with a
//! message that names the chapter and the cause.

// Each test crate uses part of the shared fixture.
#[allow(dead_code)]
mod common;

use book_tools::build_book;
use common::{Fixture, GOOD_PAGE_TAIL, page};

#[test]
fn the_book_builds_with_every_directive_expanded() {
    let out = tempfile::tempdir().expect("temp dir");
    // The repository's top level holds book.toml (src = "book/src").
    let built =
        build_book(&book_tools::repository_root(), out.path()).unwrap_or_else(|e| panic!("{e:#}"));

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

    let schedule = std::fs::read_to_string(built.html_dir.join("instructor/schedule.html"))
        .expect("rendered schedule");
    for path in ["KubeCon tutorial (90 min)", "Half-day workshop (240 min)"] {
        assert!(schedule.contains(path), "schedule lacks the path {path}");
    }
    assert!(schedule.contains(" of 90</strong>") && schedule.contains(" of 240</strong>"));
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
fn an_anchor_no_page_shows_fails() {
    let fixture = Fixture::with_chapter(&page("{{#cp 01 src/lib.rs:greet}}"));
    common::write(
        fixture.root(),
        "checkpoints/02-demo/src/spare.rs",
        "// ANCHOR: spare\npub fn spare() {}\n// ANCHOR_END: spare\n",
    );
    assert_fails(
        &fixture,
        &["anchor shown by no page", "src/spare.rs: spare"],
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

#[test]
fn book_toml_at_the_top_level_renders_into_an_ignored_directory_outside_the_sources() {
    let root = book_tools::repository_root().canonicalize().expect("root");
    assert!(
        !root.join("book/book.toml").exists(),
        "a second book.toml in book/ would be a second, diverging configuration"
    );
    let config = mdbook::Config::from_disk(root.join("book.toml")).expect("book.toml");
    assert_eq!(config.book.src, std::path::Path::new("book/src"));
    // The mdBook command line empties its build-dir before rendering into it.
    let build_dir = root.join(&config.build.build_dir);
    assert!(
        !root.join(&config.book.src).starts_with(&build_dir) && build_dir != root.join("book"),
        "build-dir {} holds the sources",
        build_dir.display()
    );
    let ignored = std::fs::read_to_string(root.join(".gitignore")).expect(".gitignore");
    assert!(
        ignored.lines().any(|line| {
            let entry = line.trim_matches('/');
            !entry.is_empty() && !entry.contains('*') && build_dir.starts_with(root.join(entry))
        }),
        "build-dir {} is not in .gitignore",
        build_dir.display()
    );
}

/// Three pages; the first holds the schedule of a 30-minute and a 60-minute path.
fn scheduled_book(one: &str, two: &str) -> Fixture {
    let schedule = "{{#schedule
        pace read=200 code=20 write=3 step=2 brief=5
        path short 30 Short talk
        path long 60 Long workshop
        demo.md  long=talk:5
        one.md   short=demo:10    long=demo
        break    long=10
        two.md   short=demo:15 long=demo
    }}";
    Fixture::with_pages(
        "# Summary\n\n- [Demo](demo.md)\n- [One](one.md)\n- [Two](two.md)\n",
        &[
            ("demo.md", &page(schedule)),
            ("one.md", &format!("{one}\n# One\n{GOOD_PAGE_TAIL}")),
            ("two.md", &format!("{two}\n# Two\n{GOOD_PAGE_TAIL}")),
        ],
    )
}

#[test]
fn a_schedule_shows_every_path_with_its_clock_and_total() {
    let fixture = scheduled_book("<!-- minutes: 20 -->", "<!-- minutes: 25 -->");
    let built = fixture.build().unwrap_or_else(|e| panic!("{e}"));
    let html = std::fs::read_to_string(built.html_dir.join("demo.html")).expect("page");
    for expected in [
        "Short talk (30 min)",
        "Long workshop (60 min)",
        "href=\"one.html\"",
        "10 demo (0:00–0:10)",
        "20 demo (0:05–0:25)",
        "<em>Break</em>",
        "10 (0:25–0:35)",
        "25 demo (0:35–1:00)",
        "<strong>25 of 30</strong>",
        "<strong>60 of 60</strong>",
        "5 min spare, 0 lines written",
    ] {
        assert!(html.contains(expected), "schedule lacks `{expected}`");
    }
}

#[test]
fn a_path_over_its_target_fails_the_build() {
    let fixture = scheduled_book("<!-- minutes: 20 -->", "<!-- minutes: 30 -->");
    assert_fails(
        &fixture,
        &[
            "chapter `Demo`",
            "path `long` (Long workshop) takes 65 minutes, which leaves 0 of the 0 spare it needs in 60",
        ],
    );
}

#[test]
fn a_page_without_minutes_fails_the_schedule() {
    let fixture = scheduled_book("<!-- minutes: 20 -->", "");
    assert_fails(
        &fixture,
        &[
            "chapter `Demo`",
            "no `<!-- minutes: N -->` on `Two` (two.md)",
        ],
    );
}

#[test]
fn a_schedule_naming_a_page_that_is_not_in_the_summary_fails() {
    let fixture = Fixture::with_chapter(&page(
        "{{#schedule\npace read=200 code=20 write=3 step=2 brief=5\npath short 30 Short\ndemo.md short=talk\ngone.md short=demo\n}}",
    ));
    assert_fails(&fixture, &["`gone.md` is not a page in SUMMARY.md"]);
}

const EXERCISE_PAGE: &str =
    "## Step 2.1: The answer\n\nWrite it.\n\n{{#exercise 2.1}}\n\n{{#step-output 2.1 before}}\n";

#[test]
fn an_exercise_shows_the_learners_start_and_folds_the_solution() {
    let fixture = Fixture::with_exercise(
        "# Summary\n\n- [Demo](demo.md)\n",
        &[("demo.md", &page(EXERCISE_PAGE))],
    );
    let built = fixture.build().unwrap_or_else(|e| panic!("{e}"));
    let html = std::fs::read_to_string(built.html_dir.join("demo.html")).expect("page");
    for expected in [
        "data-steps=\"2.1\"",
        "as step 2.1 starts",
        "todo!(\"step 2.1: return the answer (chapter 2)\")",
        "<summary>Solution</summary>",
        "6 * 7",
        "$ cargo test step_2_1",
        "test step_2_1_answers ... FAILED",
    ] {
        assert!(
            html.contains(expected),
            "the page lacks `{expected}`:\n{html}"
        );
    }
    assert!(!html.contains("EXERCISE"), "no marker reaches the page");
}

#[test]
fn checkpoint_code_is_shown_without_exercise_markers() {
    let fixture = Fixture::with_exercise(
        "# Summary\n\n- [Demo](demo.md)\n",
        &[(
            "demo.md",
            &page(&format!(
                "{{{{#cp 02 src/step.rs:answer}}}}\n\n{EXERCISE_PAGE}"
            )),
        )],
    );
    let built = fixture.build().unwrap_or_else(|e| panic!("{e}"));
    let html = std::fs::read_to_string(built.html_dir.join("demo.html")).expect("page");
    assert!(!html.contains("EXERCISE"), "no marker reaches the page");
}

#[test]
fn an_exercise_no_page_teaches_fails() {
    let fixture = Fixture::with_exercise(
        "# Summary\n\n- [Demo](demo.md)\n",
        &[("demo.md", &page("No steps here."))],
    );
    assert_fails(
        &fixture,
        &["step 2.1 is an exercise of the checkpoints that no page teaches"],
    );
}

#[test]
fn a_step_without_its_heading_or_a_heading_without_its_step_fails() {
    let fixture = Fixture::with_exercise(
        "# Summary\n\n- [Demo](demo.md)\n",
        &[(
            "demo.md",
            &page("{{#exercise 2.1}}\n\n## Step 2.2: Ghost\n"),
        )],
    );
    assert_fails(
        &fixture,
        &[
            "shows step 2.1 but has no `Step 2.1` heading",
            "a `Step 2.2` heading but no `{{#exercise}}` shows step 2.2",
        ],
    );
}

#[test]
fn a_missing_capture_names_the_command_that_writes_it() {
    let fixture = Fixture::with_exercise(
        "# Summary\n\n- [Demo](demo.md)\n",
        &[(
            "demo.md",
            &page(&EXERCISE_PAGE.replace("2.1 before", "2.1 after")),
        )],
    );
    assert_fails(&fixture, &["CAPDKC_UPDATE_CAPTURES=1"]);
}

const OUTPUT_PAGE: &str = "Run it:\n\n{{#output kubectl-get-dockerclusters}}\n";

#[test]
fn a_captured_output_is_shown_as_text() {
    let fixture = Fixture::with_chapter(&page(OUTPUT_PAGE));
    common::write(
        fixture.root(),
        "book/src/gen/outputs/kubectl-get-dockerclusters.txt",
        "$ kubectl get dockerclusters\nNAME     AGE\nsample   9s\n",
    );
    let built = fixture.build().unwrap_or_else(|e| panic!("{e}"));
    let html = std::fs::read_to_string(built.html_dir.join("demo.html")).expect("page");
    assert!(
        html.contains("<code class=\"language-text\">$ kubectl get dockerclusters\nNAME     AGE\nsample   9s\n</code>"),
        "the capture is a text block:\n{html}"
    );
}

#[test]
fn a_missing_output_capture_names_the_test_that_writes_it() {
    assert_fails(
        &Fixture::with_chapter(&page(OUTPUT_PAGE)),
        &[
            "chapter `Demo`",
            "book/src/gen/outputs/kubectl-get-dockerclusters.txt is missing",
            "CAPDKC_UPDATE_CAPTURES=1 cargo test -p apiserver-harness --test checkpoint_03",
        ],
    );
    assert_fails(
        &Fixture::with_chapter(&page("{{#output kubectl-get-nothing}}")),
        &[
            "`kubectl-get-nothing` is not a captured output",
            "kubectl-get-dockermachines",
        ],
    );
}
