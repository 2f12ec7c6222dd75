//! The book's tooling: the `capdkc` preprocessor that shows checkpoint code by anchor, diffs
//! between checkpoints and the workshop schedule, an in-process build of the whole book that
//! fails on anything stale, and a server that rebuilds it as the sources change.

pub mod anchors;
pub mod build;
pub mod checks;
pub mod code;
pub mod diff;
pub mod exercise;
pub mod expand;
pub mod measure;
pub mod output;
pub mod preprocessor;
pub mod schedule;
pub mod serve;
pub mod unused;
pub mod workspace;

pub use build::{Built, build_book};
pub use preprocessor::Capdkc;

/// The repository this crate was built from: its top level holds book.toml.
pub fn repository_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
