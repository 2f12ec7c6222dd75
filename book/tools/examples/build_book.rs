//! Builds the book in this process (mdBook as a library, as the tests do) into a directory, so
//! that scripts can look at the rendered HTML without an installed mdBook.
//!
//!   cargo run -q --locked -p book-tools --example build_book -- OUT_DIR [--repeat N]
//!
//! Prints the directory holding the HTML on the last line of stdout. With `--repeat N` the book
//! is built N more times after a first (warm-up) build and every time is printed in
//! milliseconds as `build_ms <t1> <t2> ...` (scripts/bench.sh takes the median).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out_dir = None;
    let mut repeat = 0usize;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--repeat" => {
                repeat = args
                    .next()
                    .context("--repeat needs a number")?
                    .parse()
                    .context("--repeat needs a number")?;
            }
            _ if out_dir.is_none() && !arg.starts_with('-') => out_dir = Some(PathBuf::from(arg)),
            _ => bail!("usage: build_book OUT_DIR [--repeat N]"),
        }
    }
    let out_dir = out_dir.context("usage: build_book OUT_DIR [--repeat N]")?;
    let book_root = book_tools::repository_root();
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let out_dir = out_dir.canonicalize()?;

    let built = book_tools::build_book(&book_root, &out_dir)?;
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let start = Instant::now();
        book_tools::build_book(&book_root, &out_dir)?;
        times.push(format!("{:.1}", start.elapsed().as_secs_f64() * 1e3));
    }
    if repeat > 0 {
        println!("build_ms {}", times.join(" "));
    }
    println!("{}", built.html_dir.display());
    Ok(())
}
