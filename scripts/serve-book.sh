#!/usr/bin/env bash
# Serves the book at http://localhost:3000, rebuilding it when a source changes (open pages
# reload). Installs nothing: serve-book (book/tools) builds the book in-process with mdBook 0.4.52
# and mdbook-admonish 1.20.0 as libraries, at the versions Cargo.lock pins. The first run compiles
# them, which takes minutes (cargo shows its progress); later runs start in seconds.
#
#   scripts/serve-book.sh [--port PORT] [--open] [--hostname IP]     # --help for all options
set -euo pipefail
cd "$(dirname "$0")/.."
echo "serve-book: compiling book-tools with cargo (a first build takes a few minutes)" >&2
# The book-tools profile (Cargo.toml): a quick first build, and rebuilds of the book in about 1 s.
exec cargo run --locked --profile book-tools -p book-tools --bin serve-book -- "$@"
