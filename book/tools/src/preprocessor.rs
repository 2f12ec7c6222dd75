//! `capdkc`, the mdBook preprocessor that expands our directives (see [`crate::expand`]).

use mdbook::book::{Book, BookItem};
use mdbook::errors::Result;
use mdbook::preprocess::{Preprocessor, PreprocessorContext};

use mdbook::book::Chapter;

use crate::{exercise, expand, schedule};

/// Expands `{{#cp ...}}` and its siblings, and `{{#schedule ...}}`; any directive that cannot be expanded fails the build
/// with a message naming the chapter and the directive (mdBook's own `{{#include}}` would render
/// an empty block or leave the text and still succeed).
#[derive(Debug, Default, Clone, Copy)]
pub struct Capdkc;

impl Preprocessor for Capdkc {
    fn name(&self) -> &str {
        "capdkc"
    }

    fn run(&self, ctx: &PreprocessorContext, mut book: Book) -> Result<Book> {
        let configured = ctx
            .config
            .get("preprocessor.capdkc.repository-root")
            .and_then(|v| v.as_str());
        let workspace = expand::workspace_for(&ctx.root, configured)?;
        let mut problems = Vec::new();
        // The schedule measures the pages as readers see them: expand everything else first.
        book.for_each_mut(|item| {
            if let BookItem::Chapter(chapter) = item {
                match expand::expand_all(&workspace, &chapter.content) {
                    Ok(content) => chapter.content = content,
                    Err(errors) => problems.extend(errors.into_iter().map(|e| located(chapter, e))),
                }
            }
        });
        let pages = schedule::pages(&book);
        let lines = exercise::lines_written(&workspace)?;
        book.for_each_mut(|item| {
            if let BookItem::Chapter(chapter) = item {
                let here = chapter.path.clone().unwrap_or_default();
                match schedule::expand_all(&chapter.content, &here, &pages, &lines) {
                    Ok(content) => chapter.content = content,
                    Err(errors) => problems.extend(errors.into_iter().map(|e| located(chapter, e))),
                }
            }
        });
        if problems.is_empty() {
            Ok(book)
        } else {
            Err(anyhow::anyhow!(
                "{} directive(s) could not be expanded:\n  {}",
                problems.len(),
                problems.join("\n  ")
            ))
        }
    }

    fn supports_renderer(&self, _renderer: &str) -> bool {
        true
    }
}

/// `error`, naming the chapter and its file.
fn located(chapter: &Chapter, error: String) -> String {
    let file = chapter
        .source_path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    format!("chapter `{}` ({file}): {error}", chapter.name)
}
