//! `mdbook-capdkc`: the `capdkc` preprocessor for the mdBook command line (`mdbook serve`).

use std::io;
use std::process::ExitCode;

use book_tools::Capdkc;
use mdbook::preprocess::{CmdPreprocessor, Preprocessor};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, renderer] = args.as_slice()
        && command == "supports"
    {
        return if Capdkc.supports_renderer(renderer) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mdbook-capdkc: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let (ctx, book) = CmdPreprocessor::parse_input(io::stdin())?;
    if ctx.mdbook_version != mdbook::MDBOOK_VERSION {
        eprintln!(
            "mdbook-capdkc: built against mdbook {}, called by mdbook {} (the book pins 0.4.52)",
            mdbook::MDBOOK_VERSION,
            ctx.mdbook_version
        );
    }
    let book = Capdkc.run(&ctx, book)?;
    serde_json::to_writer(io::stdout(), &book)?;
    Ok(())
}
