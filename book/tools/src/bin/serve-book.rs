//! `serve-book`: builds the book in this process, serves it on localhost and rebuilds it when a
//! source changes; open pages reload themselves. Nothing is installed: mdBook and mdbook-admonish
//! are this program's libraries, at the versions Cargo.lock pins.
//!
//!   cargo run -p book-tools --profile book-tools --bin serve-book -- [--port 3000] [--open]
//!
//! as scripts/serve-book.sh does (the top-level Cargo.toml says why that profile).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use book_tools::serve::{self, Options};

const USAGE: &str = "\
usage: serve-book [--port PORT] [--hostname IP] [--open] [--root DIR] [--output DIR]

  -p, --port PORT      port to listen on (default 3000; 0 picks a free one)
  -n, --hostname IP    address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  -o, --open           open the book in the default browser once it is built
      --root DIR       the directory holding book.toml (default: this repository's top level)
      --output DIR     where the builds go (default: ROOT/target/serve-book)";

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("serve-book: {error:#}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match serve::run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("serve-book: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The options, or `None` when help was asked for.
fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Option<Options>> {
    let mut port = 3000;
    let mut ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut open = false;
    let mut root = None;
    let mut output = None;
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "-p" | "--port" => port = value()?.parse().context("--port needs a number")?,
            "-n" | "--hostname" => ip = value()?.parse().context("--hostname needs an IP")?,
            "-o" | "--open" => open = true,
            "--root" => root = Some(PathBuf::from(value()?)),
            "--output" => output = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Ok(None),
            _ => bail!("unknown argument `{arg}`"),
        }
    }
    let root = root
        .unwrap_or_else(book_tools::repository_root)
        .canonicalize()
        .context("the book's root directory")?;
    // Absolute: mdBook would read a relative build directory as relative to the root.
    let output = std::path::absolute(output.unwrap_or_else(|| root.join("target/serve-book")))?;
    Ok(Some(Options {
        root,
        output,
        address: SocketAddr::new(ip, port),
        open,
    }))
}
