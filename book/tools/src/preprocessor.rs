//! `capdkc`, the mdBook preprocessor that expands our directives (see [`crate::expand`]).

use mdbook::book::{Book, BookItem};
use mdbook::errors::Result;
use mdbook::preprocess::{Preprocessor, PreprocessorContext};

use crate::{expand, schedule};

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
        // The schedule needs every page's minutes, so read them before any page changes.
        let pages = schedule::pages(&book);
        let mut problems = Vec::new();
        book.for_each_mut(|item| {
            let BookItem::Chapter(chapter) = item else {
                return;
            };
            let here = chapter.path.clone().unwrap_or_default();
            let expanded = schedule::expand_all(&chapter.content, &here, &pages)
                .and_then(|content| expand::expand_all(&workspace, &content));
            match expanded {
                Ok(content) => chapter.content = content,
                Err(errors) => {
                    let file = chapter
                        .source_path
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    for error in errors {
                        problems.push(format!("chapter `{}` ({file}): {error}", chapter.name));
                    }
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
