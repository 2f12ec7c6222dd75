#!/usr/bin/env bash
# Performance report: every figure as the median of several runs, ratios where there is
# something to compare with, targets judged. Writes target/bench/results.json and prints a table.
#
#   bash scripts/bench.sh           # full: includes a cold workspace build (many minutes)
#   bash scripts/bench.sh --quick   # reuses the cold-build figure of the last full run
#
# Figures (how each is measured: book/src/appendix-performance.md):
#   - build: cold `cargo test --workspace --no-run` in a fresh target directory (full mode
#     only, one run); the same after touching checkpoint-05's src/lib.rs; `cargo build -p
#     checkpoint-05` after touching one controller file; the in-process book build (dev profile,
#     as `cargo test` builds it, and release);
#   - size: the manager binary (debug, release, stripped) and an image of its final stage built
#     the way checkpoints/05-template/tests/image.rs builds it (FROM scratch);
#   - runtime (testing/bench, release build): manager start to ready and its memory, one and N
#     Machines through the provider on a real API server with Cluster API core, the same work
#     through the Docker layer and with the docker CLI, writes and Docker events once converged,
#     time to heal a stopped load balancer and to report a removed node container;
#   - peers: upstream CAPD (Go, scripts/capd-assets.sh) measured the same way in the same run,
#     and the peers table (target/bench/peers.md): ours, CAPD and the docker CLI.
#
# Needs Docker (scripts/start-dockerd.sh), the test images (scripts/build-test-images.sh, run
# here) and the real API server assets (scripts/test-assets.sh, run here; cached after the
# first build). Builds go to their own target directory (target/bench/cargo, or
# CAPDKC_BENCH_TARGET_DIR) so that other builds neither wait for nor disturb the timings.
#
# Environment: BENCH_RUNS (default 5: start, one machine, book), BENCH_BUILD_RUNS (3),
# BENCH_SCALE_RUNS (3), BENCH_MACHINES (N, 100).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

quick=false
case "${1:-}" in
  --quick) quick=true ;;
  "") ;;
  *) echo "usage: bash scripts/bench.sh [--quick]" >&2; exit 2 ;;
esac
runs="${BENCH_RUNS:-5}"
build_runs="${BENCH_BUILD_RUNS:-3}"
scale_runs="${BENCH_SCALE_RUNS:-3}"
machines="${BENCH_MACHINES:-100}"
out="$PWD/target/bench"
raw="$out/raw"
export CARGO_TARGET_DIR="${CAPDKC_BENCH_TARGET_DIR:-$out/cargo}"
export CARGO_TERM_COLOR=never
measured="$(date -u +%Y-%m-%dT%H:%MZ)"
began=$EPOCHREALTIME

log() { printf '\nbench: %s (%s)\n' "$*" "$(date -u +%H:%M:%S)" >&2; }
fail() { echo "bench: $*" >&2; exit 1; }
# Seconds since $1 (an $EPOCHREALTIME value).
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
# Runs a command quietly and prints how many seconds it took; its output goes to $out/last.log.
timed() {
  local start=$EPOCHREALTIME
  "$@" >"$out/last.log" 2>&1 || { cat "$out/last.log" >&2; fail "failed: $*"; }
  since "$start"
}
header() { printf '# measured %s\n' "$measured"; }

mkdir -p "$raw"
if $quick; then
  find "$raw" -name '*.tsv' ! -name 'build-cold.tsv' -delete
else
  rm -f "$raw"/*.tsv
fi

log "prerequisites: Docker, test images, real API server assets"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || bash scripts/start-dockerd.sh
bash scripts/build-test-images.sh
KUBEBUILDER_ASSETS="$(bash scripts/test-assets.sh | tail -n1)"
export KUBEBUILDER_ASSETS

# --- builds ---
if $quick; then
  [ -f "$raw/build-cold.tsv" ] || echo "bench: no cold-build figure yet (run without --quick once)" >&2
  log "warming $CARGO_TARGET_DIR (not measured)"
  timed cargo test --workspace --no-run --locked >/dev/null
else
  log "cold build: cargo test --workspace --no-run in an empty $CARGO_TARGET_DIR (many minutes)"
  rm -rf "$CARGO_TARGET_DIR"
  cold="$(timed cargo test --workspace --no-run --locked)"
  echo "  ${cold} s"
  { header; printf 'build.cold_workspace\t%s\n' "$cold"; } >"$raw/build-cold.tsv"
fi

log "incremental builds, $build_runs runs each"
{
  header
  for _ in $(seq "$build_runs"); do
    touch checkpoints/05-template/src/lib.rs
    t="$(timed cargo test --workspace --no-run --locked)"
    echo "  workspace after touching checkpoint-05 src/lib.rs: $t s" >&2
    printf 'build.incremental_workspace\t%s\n' "$t"
  done
  timed cargo build --locked -p checkpoint-05 >/dev/null
  for _ in $(seq "$build_runs"); do
    touch checkpoints/05-template/src/controllers/docker_machine.rs
    t="$(timed cargo build --locked -p checkpoint-05)"
    echo "  checkpoint-05 after touching src/controllers/docker_machine.rs: $t s" >&2
    printf 'build.incremental_checkpoint\t%s\n' "$t"
  done
} >"$raw/build-incremental.tsv"

log "book build, in-process, $runs runs after a warm-up, as the tests build it and in release"
book_times() { # key, cargo flags...: runs the example, prints raw lines
  local key="$1" times t
  shift
  cargo run --locked -q "$@" -p book-tools --example build_book -- "$out/book" --repeat "$runs" >"$out/last.log"
  read -r -a times <<<"$(sed -n 's/^build_ms //p' "$out/last.log")"
  [ "${#times[@]}" -gt 0 ] || fail "the book build printed no times"
  for t in "${times[@]}"; do printf '%s\t%s\n' "$key" "$t"; done
}
{
  header
  book_times book.build
  book_times book.build_release --release
} >"$raw/book.tsv"

# --- sizes ---
log "binary and image sizes (release build, not measured)"
timed cargo build --release --locked -p checkpoint-05 -p capdkc-bench >/dev/null
context="$out/image"
rm -rf "$context"
mkdir -p "$context/root"
strip -o "$context/root/manager" "$CARGO_TARGET_DIR/release/checkpoint-05"
# As checkpoints/05-template/tests/image.rs does: the binary and the shared libraries ldd names.
ldd "$CARGO_TARGET_DIR/release/checkpoint-05" | grep -o '/[^ ]*' | while read -r library; do
  [ -f "$library" ] || continue
  mkdir -p "$context/root$(dirname "$library")"
  cp -L "$library" "$context/root$library"
done
printf 'FROM scratch\nCOPY root/ /\nUSER 65532:65532\nENTRYPOINT ["/manager"]\n' >"$context/Dockerfile"
tag="capdkc-bench-image:$$"
docker build --quiet -t "$tag" "$context" >/dev/null
image_bytes="$(docker image inspect --format '{{.Size}}' "$tag")"
docker run --rm "$tag" --help >/dev/null || fail "the image's manager does not run"
docker image rm --force "$tag" >/dev/null
mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }
{
  header
  printf 'size.binary_debug\t%s\n' "$(mb "$(stat -c %s "$CARGO_TARGET_DIR/debug/checkpoint-05")")"
  printf 'size.binary_release\t%s\n' "$(mb "$(stat -c %s "$CARGO_TARGET_DIR/release/checkpoint-05")")"
  printf 'size.binary_stripped\t%s\n' "$(mb "$(stat -c %s "$context/root/manager")")"
  printf 'size.image\t%s\n' "$(mb "$image_bytes")"
} >"$raw/size.tsv"

# --- runtime ---
log "manager and provisioning on a real API server and Docker (N = $machines)"
"$CARGO_TARGET_DIR/release/capdkc-bench" runtime --raw "$raw/runtime.tsv" --measured "$measured" \
  --runs "$runs" --scale-runs "$scale_runs" --machines "$machines"

# --- report ---
log "report"
"$CARGO_TARGET_DIR/release/capdkc-bench" report --raw-dir "$raw" --out "$out/results.json" --measured "$measured"

# --- peers ---
# Upstream CAPD (Go) of the same Cluster API version, on the same machine in the same run, and
# the peers table with our row from the report above. Its own raw file stays out of the report.
log "upstream CAPD: build (cached by version), edit loop, then the same figures as ours"
CAPDKC_CAPD_ASSETS="$(bash scripts/capd-assets.sh | tail -n1)"
export CAPDKC_CAPD_ASSETS
bash scripts/capd-assets.sh --edit-loop "$build_runs" >/dev/null
if ! $quick; then bash scripts/capd-assets.sh --cold 1 >/dev/null; fi
mkdir -p "$out/peers"
"$CARGO_TARGET_DIR/release/capdkc-bench" capd --raw "$out/peers/capd.tsv" --measured "$measured" \
  --runs "$runs" --sizes "20,$machines" --results "$out/results.json" | tee "$out/peers.md"
echo "bench: done in $(awk -v s="$(since "$began")" 'BEGIN { printf "%.0f", s / 60 }') min ($( $quick && echo quick || echo full ) mode)"
