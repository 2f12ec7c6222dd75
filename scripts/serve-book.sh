#!/usr/bin/env bash
# Serves the book at http://localhost:3000, installing the pinned mdBook tools when absent.
# mdbook-admonish 1.20.0 works only with mdBook 0.4.x, hence the exact pins.
set -euo pipefail
cd "$(dirname "$0")/.."

install_pinned() { # name version
  if ! "$1" --version 2>/dev/null | grep -q "$2"; then
    echo "serve-book: installing $1 $2 (once; takes a few minutes)"
    cargo install --locked "$1" --version "$2"
  fi
}
install_pinned mdbook 0.4.52
install_pinned mdbook-admonish 1.20.0
# Build our preprocessor before mdBook calls it, so the first page load does not time out.
cargo build --quiet --locked -p book-tools --bin mdbook-capdkc
exec mdbook serve book "$@"
