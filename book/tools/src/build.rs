//! Building the whole book in this process: mdBook as a library, with our preprocessor and
//! mdbook-admonish registered directly, so no installed tool and no version drift is involved.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;

use anyhow::{Context, bail};
use mdbook::MDBook;
use mdbook::config::Config;
use mdbook::renderer::HtmlHandlebars;

use crate::{Capdkc, checks, exercise, expand, unused};

/// Preprocessors the CLI runs as commands; here they run in-process instead.
const IN_PROCESS: [&str; 2] = ["capdkc", "admonish"];

/// What a successful build produced.
#[derive(Debug)]
pub struct Built {
    /// Directory holding the rendered HTML.
    pub html_dir: PathBuf,
    /// Every chapter's name and expected minutes, in reading order.
    pub chapters: Vec<(String, u32)>,
}

/// Builds the book configured by `book_root/book.toml` (in this repository, its top level) into
/// `build_dir`, failing on anything a reader should not see: a directive that cannot be expanded
/// (missing file, anchor, checkpoint), an admonition that does not render, a SUMMARY entry without
/// a file, a directive or marker left in the text, an empty code block, a broken relative link, a
/// chapter without minutes or speaker notes, an exercise step the book does not teach, an anchor
/// in the code that no page shows, or any error mdBook logs.
pub fn build_book(book_root: &Path, build_dir: &Path) -> anyhow::Result<Built> {
    let mut config =
        Config::from_disk(book_root.join("book.toml")).context("cannot read book.toml")?;
    let repository_root = config
        .get("preprocessor.capdkc.repository-root")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let removed = take_in_process_tables(&mut config)?;
    config.build.build_dir = build_dir.to_path_buf();
    config.build.create_missing = false;

    let errors_before = logged_errors_on_this_thread().len();
    let mut book = MDBook::load_with_config(book_root, config).context("cannot load the book")?;
    // Admonish reads its table at run time, so it must be back in the config.
    for (name, table) in removed {
        book.config.set(format!("preprocessor.{name}"), table)?;
    }
    book.with_preprocessor(Capdkc)
        .with_preprocessor(mdbook_admonish::Admonish);

    let (preprocessed, _) = book.preprocess_book(&HtmlHandlebars::new())?;
    let workspace = expand::workspace_for(book_root, repository_root.as_deref())?;
    let steps = exercise::lines_written(&workspace)?.into_keys().collect();
    let mut problems = checks::check(&preprocessed, &book.source_dir(), &steps);
    let shown = unused::shown(&book.book, &workspace);
    problems.extend(
        unused::unused(&workspace, &shown)
            .into_iter()
            .map(|anchor| format!("anchor shown by no page (remove it, or show it): {anchor}")),
    );
    if !problems.is_empty() {
        bail!(
            "the book has {} problem(s):\n  {}",
            problems.len(),
            problems.join("\n  ")
        );
    }
    book.build()?;

    let logged = logged_errors_on_this_thread();
    if logged.len() > errors_before {
        bail!(
            "mdBook logged errors:\n  {}",
            logged[errors_before..].join("\n  ")
        );
    }
    let chapters = preprocessed
        .iter()
        .filter_map(|item| match item {
            mdbook::BookItem::Chapter(chapter) => Some((
                chapter.name.clone(),
                checks::minutes(&chapter.content).unwrap_or(0),
            )),
            _ => None,
        })
        .collect();
    Ok(Built {
        html_dir: book.build_dir_for("html"),
        chapters,
    })
}

/// Removes `[preprocessor.capdkc]` and `[preprocessor.admonish]` so that mdBook does not also run
/// them as external commands, and returns them.
fn take_in_process_tables(
    config: &mut Config,
) -> anyhow::Result<Vec<(String, impl serde::Serialize + use<>)>> {
    let table = config
        .get_mut("preprocessor")
        .and_then(|value| value.as_table_mut())
        .context("book.toml has no [preprocessor] tables")?;
    let mut removed = Vec::new();
    for name in IN_PROCESS {
        let value = table
            .remove(name)
            .with_context(|| format!("book.toml has no [preprocessor.{name}]"))?;
        removed.push((name.to_string(), value));
    }
    Ok(removed)
}

// mdBook reports some failures (a missing `{{#include}}` file, say) only as log records. A
// process-wide logger keeps ERROR records per thread, so parallel tests do not see each other's.
static RECORDS: Mutex<Vec<(ThreadId, String)>> = Mutex::new(Vec::new());

struct Recorder;

impl log::Log for Recorder {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        eprintln!("[{} {}] {}", record.level(), record.target(), record.args());
        if record.level() == log::Level::Error {
            let mut records = RECORDS
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            records.push((std::thread::current().id(), record.args().to_string()));
        }
    }

    fn flush(&self) {}
}

fn logged_errors_on_this_thread() -> Vec<String> {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        if log::set_logger(&Recorder).is_ok() {
            log::set_max_level(log::LevelFilter::Warn);
        }
    });
    let me = std::thread::current().id();
    let records = RECORDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    records
        .iter()
        .filter(|(thread, _)| *thread == me)
        .map(|(_, message)| message.clone())
        .collect()
}
