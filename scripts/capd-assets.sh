#!/usr/bin/env bash
# Builds the upstream Cluster API Docker provider (CAPD) from its Go module, for the bench that
# compares it with ours (testing/bench, `capdkc-bench capd`). Caches it by version and prints its
# directory on the last line of stdout.
#
#   export CAPDKC_CAPD_ASSETS="$(bash scripts/capd-assets.sh | tail -n1)"
#   bash scripts/capd-assets.sh --edit-loop [RUNS]   # times "edit one controller file, go build"
#   bash scripts/capd-assets.sh --cold [RUNS]        # times a build with an empty Go build cache
#
# CAPD lives in the module sigs.k8s.io/cluster-api/test (package .../test/infrastructure/docker).
# Its go.mod replaces the sibling modules sigs.k8s.io/cluster-api and .../api with local paths
# (`../`, `../api`), which a module outside that checkout cannot see; they are published under
# the same tag, so the build pins them there, as scripts/test-assets.sh does for core.
#
# The build's main module is a writable copy of that module (`src/` below), like a developer's
# checkout: the module cache is read-only, and the edit loop needs a file it may change.
#
# Layout of the printed directory:
#   capd-manager        built like `make manager-capd` (-trimpath, version ldflags), CGO_ENABLED=0
#   crds/*.yaml         test/infrastructure/docker/config/crd/bases
#   rbac/*.yaml         its ServiceAccount, ClusterRole and ClusterRoleBinding (config/rbac)
#   versions.txt        versions, and what the bench needs from the source (load balancer image,
#                       Docker network)
#   build-times.tsv     `key<TAB>seconds` lines: build.first, build.noop, later build.edit and
#                       build.cold (appended by --edit-loop and --cold)
#   src/                the module copy the builds run in
#
# Environment (all optional):
#   CAPDKC_CAPI_VERSION       sigs.k8s.io/cluster-api tag (default below, the same as test-assets)
#   CAPDKC_CAPD_ASSETS_ROOT   cache root (default: $XDG_CACHE_HOME/capdkc/capd-assets)
#   CAPDKC_GOTOOLCHAIN        GOTOOLCHAIN for the builds (default: auto)
#   GOMODCACHE, GOCACHE, GOPROXY  as usual for Go
#
# Progress and timings go to stderr. Without options, a second run with everything present does
# not start the Go tool at all. Everything runs from `main`, called on the last line.
set -euo pipefail
shopt -s inherit_errexit

capi_version="${CAPDKC_CAPI_VERSION:-v1.14.2}"
cache_root="${CAPDKC_CAPD_ASSETS_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/capdkc/capd-assets}"
out="$cache_root/capd-${capi_version}"
src="$out/src"
package=sigs.k8s.io/cluster-api/test/infrastructure/docker
# The file a developer of the DockerMachine controller edits, and a line in it the edit loop
# changes (a log message in Reconcile: the package recompiles, its API stays the same).
edited_file=infrastructure/docker/internal/controllers/dockermachine_controller.go
edited_text='Waiting for Machine Controller to set OwnerRef on DockerMachine'

log() { printf 'capd-assets: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

# Seconds since $1 (an $EPOCHREALTIME value), three decimals.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }

complete() {
  [[ -x "$out/capd-manager" && -f "$out/versions.txt" && -f "$out/rbac/role.yaml" ]] &&
    compgen -G "$out/crds/*.yaml" >/dev/null
}

# Prints the value of one field of `go mod download -json` for module@version.
mod_field() {
  local json
  if ! json="$(go mod download -json "$1")"; then
    log "cannot download $1: $(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
    return 1
  fi
  sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}$/\1/p" <<<"$json"
}

# The build the Cluster API Makefile's manager-capd target runs, with the release version
# stamped (unstamped, the manager reports v0.0.0).
go_build() {
  local output="$1" version_pkg=sigs.k8s.io/cluster-api/version
  (
    cd "$src"
    go build -trimpath \
      -ldflags "-X $version_pkg.gitVersion=$capi_version -X $version_pkg.gitTreeState=clean" \
      -o "$output" "$package"
  )
}

# Runs go_build and prints how many seconds it took (its output goes to stderr).
timed_build() {
  local start=$EPOCHREALTIME
  go_build "$1" >&2
  since "$start"
}

record() { printf '%s\t%s\n' "$1" "$2" >>"$out/build-times.tsv"; }

setup_go() {
  # The official Go distribution installs here; a non-login shell may not have it on PATH.
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
  fi
  command -v go >/dev/null 2>&1 ||
    fail "the Go tool is missing: install Go >= 1.21; GOTOOLCHAIN=auto then fetches the toolchain the module needs through the module proxy"
  export GOTOOLCHAIN="${CAPDKC_GOTOOLCHAIN:-auto}"
  # Static binaries, as the release image builds them.
  export CGO_ENABLED=0
  # The module copy is no VCS checkout; keep Go from asking git about it.
  export GOFLAGS="-buildvcs=false"
}

lock() {
  mkdir -p "$cache_root"
  # Two runs at once must not build into the same place.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache_root/.lock"
    flock 9
  fi
}

# The writable module copy, with the sibling modules pinned to their published tag.
prepare_source() {
  [[ -f "$src/go.mod" && -f "$src/.prepared" ]] && return 0
  local dir
  dir="$(mod_field "sigs.k8s.io/cluster-api/test@$capi_version" Dir)"
  [[ -f "$dir/go.mod" ]] || fail "no module sigs.k8s.io/cluster-api/test@$capi_version"
  rm -rf "$src"
  mkdir -p "$src"
  cp -R "$dir/." "$src/"
  chmod -R u+w "$src"
  (
    cd "$src"
    go mod edit \
      "-replace=sigs.k8s.io/cluster-api=sigs.k8s.io/cluster-api@$capi_version" \
      "-replace=sigs.k8s.io/cluster-api/api=sigs.k8s.io/cluster-api/api@$capi_version"
    # go.sum has no lines for the two modules that were local paths.
    go mod download sigs.k8s.io/cluster-api sigs.k8s.io/cluster-api/api
    # Everything the package needs, downloaded now so the build timings exclude the network.
    go list -deps "$package" >/dev/null
  )
  grep -q "$edited_text" "$src/$edited_file" ||
    fail "$edited_file no longer contains \"$edited_text\"; pick another line for the edit loop"
  cp "$src/$edited_file" "$src/.edited-file.orig"
  touch "$src/.prepared"
}

# A Go string constant's value in a source file of the module copy.
go_const() {
  sed -n "s/^[[:space:]]*\(const[[:space:]]\{1,\}\)\{0,1\}$2[[:space:]]*=[[:space:]]*\"\(.*\)\"/\2/p" "$src/$1" | head -n1
}

copy_config() {
  local config="$src/infrastructure/docker/config"
  compgen -G "$config/crd/bases/*.yaml" >/dev/null || fail "no CRDs under $config/crd/bases"
  rm -rf "$out/crds" "$out/rbac"
  mkdir -p "$out/crds" "$out/rbac"
  install -m 0644 "$config"/crd/bases/*.yaml "$out/crds/"
  for file in service_account role role_binding; do
    install -m 0644 "$config/rbac/$file.yaml" "$out/rbac/"
  done
}

write_versions() {
  local lb_consts=infrastructure/docker/internal/loadbalancer/const.go
  local manager=infrastructure/docker/internal/docker/manager.go
  local repository image tag network
  repository="$(go_const "$lb_consts" DefaultImageRepository)"
  image="$(go_const "$lb_consts" Image)"
  tag="$(go_const "$lb_consts" DefaultImageTag)"
  network="$(go_const "$manager" DefaultNetwork)"
  [[ -n "$repository" && -n "$image" && -n "$tag" && -n "$network" ]] ||
    fail "cannot read the load balancer image or network from $lb_consts, $manager"
  cat >"$out/versions.txt" <<EOF
cluster-api $capi_version
module sigs.k8s.io/cluster-api/test $capi_version
package $package
go $(go version "$out/capd-manager" | sed 's/.*: //')
lb-image $repository/$image:$tag
network $network
EOF
}

build() {
  if complete; then
    log "cached: $out"
    return 0
  fi
  setup_go
  lock
  log "building CAPD $capi_version into $out (Go: $(go version))"
  local start=$EPOCHREALTIME
  prepare_source
  log "module copy ready in $(since "$start") s (downloads included)"
  # The first build into this directory is the figure worth keeping: an interrupted or failed
  # run after it must not replace it with a cached one.
  local first noop kept=""
  if [[ -f "$out/build-times.tsv" ]]; then
    kept="$(grep '^build\.first	' "$out/build-times.tsv" || true)"
  fi
  printf '%s' "${kept:+$kept$'\n'}" >"$out/build-times.tsv"
  first="$(timed_build "$out/.capd-manager.tmp")"
  log "build: $first s (first into $out: with whatever the shared Go build cache held)"
  [[ -n "$kept" ]] || record build.first "$first"
  # The same command again, same output: what a developer's rebuild without changes costs.
  noop="$(timed_build "$out/.capd-manager.tmp")"
  mv -f "$out/.capd-manager.tmp" "$out/capd-manager"
  log "rebuild, nothing changed: $noop s"
  record build.noop "$noop"
  copy_config
  write_versions
  complete || fail "incomplete: $out"
}

# Edits the controller file (a different log message each run), rebuilds, restores it.
# Global, so that the EXIT traps still see them when the functions have returned.
edit_binary="$out/.capd-edit.tmp"
cold_binary="$out/.capd-cold.tmp"
cold_cache=""

edit_loop() {
  local runs="$1"
  setup_go
  lock
  prepare_source
  trap 'cp "$src/.edited-file.orig" "$src/$edited_file"; rm -f "$edit_binary"' EXIT
  log "warming: a build of the unedited source (not measured)"
  timed_build "$edit_binary" >/dev/null
  local run seconds
  for run in $(seq "$runs"); do
    sed "s/$edited_text/$edited_text (edit $run-$RANDOM)/" "$src/.edited-file.orig" >"$src/$edited_file"
    seconds="$(timed_build "$edit_binary")"
    log "edit $run: changed a log message in $edited_file, go build: $seconds s"
    record build.edit "$seconds"
  done
}

# Builds once with an empty Go build cache (modules already downloaded): the cold compile.
cold_builds() {
  local runs="$1"
  setup_go
  lock
  prepare_source
  cold_cache="$(mktemp -d "${TMPDIR:-/tmp}/capd-gocache.XXXXXX")"
  trap 'rm -rf "$cold_cache" "$cold_binary"' EXIT
  local run seconds
  for run in $(seq "$runs"); do
    rm -rf "${cold_cache:?}"/*
    seconds="$(GOCACHE="$cold_cache" timed_build "$cold_binary")"
    log "cold build $run (empty GOCACHE): $seconds s"
    record build.cold "$seconds"
  done
}

main() {
  case "${1:-}" in
    "")
      build
      ;;
    --edit-loop)
      build
      edit_loop "${2:-3}"
      ;;
    --cold)
      build
      cold_builds "${2:-1}"
      ;;
    *)
      echo "usage: bash scripts/capd-assets.sh [--edit-loop [RUNS] | --cold [RUNS]]" >&2
      exit 2
      ;;
  esac
  printf '%s\n' "$out"
}

main "$@"
