//! `mdbook-capdkc`, the command the mdBook command line runs, speaks mdBook's preprocessor protocol.

use std::io::Write;
use std::process::{Command, Stdio};

use mdbook::book::{Book, BookItem, Chapter};

const BIN: &str = env!("CARGO_BIN_EXE_mdbook-capdkc");

#[test]
fn supports_every_renderer() {
    let status = Command::new(BIN)
        .args(["supports", "html"])
        .status()
        .expect("runs");
    assert!(status.success());
}

fn run_with_chapter(content: &str) -> std::process::Output {
    let book_root = book_tools::repository_root();
    let mut book = Book::new();
    book.push_item(BookItem::Chapter(Chapter::new(
        "Demo",
        content.to_string(),
        "demo.md",
        vec![],
    )));
    let input = serde_json::json!([
        {
            "root": book_root,
            "config": { "book": { "src": "book/src" }, "preprocessor": { "capdkc": { "repository-root": "." } } },
            "renderer": "html",
            "mdbook_version": mdbook::MDBOOK_VERSION,
        },
        book,
    ]);
    let mut child = Command::new(BIN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("writes");
    child.wait_with_output().expect("finishes")
}

#[test]
fn expands_checkpoint_code_from_stdin_to_stdout() {
    let output = run_with_chapter("{{#cp 01 src/crdgen.rs:crds}}");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let book: Book = serde_json::from_slice(&output.stdout).expect("a book on stdout");
    let Some(BookItem::Chapter(chapter)) = book.sections.first() else {
        panic!("no chapter")
    };
    assert!(
        chapter
            .content
            .contains("pub fn crds() -> Vec<CustomResourceDefinition>"),
        "{}",
        chapter.content
    );
}

#[test]
fn fails_with_the_reason_on_stderr() {
    let output = run_with_chapter("{{#cp 01 src/crdgen.rs:no_such_anchor}}");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("anchor `no_such_anchor`"), "{stderr}");
}
