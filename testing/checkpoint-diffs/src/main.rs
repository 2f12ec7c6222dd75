//! `checkpoint-diffs check | record NN | carry NN`: see the library's documentation.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = std::env::var_os("CAPDKC_REPOSITORY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let number = || args.get(1).and_then(|n| n.parse::<u8>().ok());
    let result = match (args.first().map(String::as_str), number()) {
        (Some("check"), _) => checkpoint_diffs::check(&root).map(|problems| {
            for problem in &problems {
                eprintln!("{problem}");
            }
            problems.is_empty()
        }),
        (Some("record"), Some(n)) => checkpoint_diffs::record(&root, n).map(|file| {
            eprintln!("recorded {}", file.display());
            true
        }),
        (Some("carry"), Some(n)) => checkpoint_diffs::carry(&root, n).map(|(written, kept)| {
            eprintln!("generated again: {}", written.join(", "));
            for file in &kept {
                eprintln!("kept as it was (its chapter's change does not apply): {file}");
            }
            if !kept.is_empty() {
                eprintln!(
                    "check those files: their chapters' changes are recorded as they now are"
                );
            }
            kept.is_empty()
        }),
        _ => {
            eprintln!("usage: checkpoint-diffs check | record NN | carry NN");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("{error:#}");
            ExitCode::FAILURE
        }
    }
}
