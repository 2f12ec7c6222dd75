#!/usr/bin/env bash
# Installs kustomize from its Go module when it is not on PATH (no release download needed) and
# prints the directory holding it, for PATH.  Usage: export PATH="$(scripts/install-kustomize.sh):$PATH"
set -euo pipefail
VERSION=${KUSTOMIZE_VERSION:-v5.8.1}
BIN_DIR=${CAPDKC_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/capdkc/tools}/kustomize-$VERSION

if [ -x "$BIN_DIR/kustomize" ]; then
  echo "$BIN_DIR"
  exit 0
fi
command -v go >/dev/null || { echo "install-kustomize: Go is needed to build kustomize $VERSION" >&2; exit 1; }
mkdir -p "$BIN_DIR"
echo "install-kustomize: building kustomize $VERSION from its Go module" >&2
GOBIN="$BIN_DIR" GOFLAGS=-trimpath CGO_ENABLED=0 go install "sigs.k8s.io/kustomize/kustomize/v5@$VERSION" >&2
"$BIN_DIR/kustomize" version >&2
echo "$BIN_DIR"
