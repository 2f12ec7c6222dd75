#!/usr/bin/env bash
# Puts a finished checkpoint into your own crate, so that you can continue from there.
#
#   scripts/jump.sh NN [DIR] [--force]
#   scripts/jump.sh NN [DIR] --exercises [--solved N.M,...] [--force]
#
#   NN           checkpoint number, 01 to 05: the end of chapter NN, which is where chapter NN+1
#                starts
#   DIR          your crate (default: workshop/ at the repository root, which git ignores)
#   --exercises  the START of chapter NN instead: checkpoint NN with what chapter NN's steps ask
#                you to write cut out (a `todo!("step NN.M: ...")` in its place); `cargo test
#                step_NN_M` in DIR checks step NN.M
#   --solved L   with --exercises: these steps come written (`--solved 3.1,3.2`), say to skip them
#   --force      replace DIR even when it holds changes (they are moved to DIR/.jump-backups/ first)
#
# What it does:
#   - copies checkpoints/NN-*/ into DIR; DIR/target/ and DIR's hidden files and directories (.git,
#     editor settings) are kept;
#   - renames the package to DIR's package name (from DIR/Cargo.toml, else "workshop"), and the
#     crate name, binary name and regenerate commands in the sources and tests with it;
#   - makes DIR a workspace of its own with the repository's dependency versions (the repository's
#     [workspace.package], [workspace.dependencies], [profile.*] tables and Cargo.lock), and, when
#     DIR is inside the repository, lets it share the repository's target/ so that the warmed-up
#     dependencies are not compiled again;
#   - refuses to replace files you changed since the last jump, unless they are committed in a
#     git repository or you pass --force. With --force nothing is lost either: the old content is
#     moved to DIR/.jump-backups/<time>/.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "jump: $*" >&2; exit 1; }

force=false
exercises=false
solved=""
args=()
expect_solved=false
for arg in "$@"; do
  if $expect_solved; then solved=$arg; expect_solved=false; continue; fi
  case "$arg" in
    --force) force=true ;;
    --exercises) exercises=true ;;
    --solved) expect_solved=true ;;
    --solved=*) solved=${arg#--solved=} ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "unknown option $arg" ;;
    *) args+=("$arg") ;;
  esac
done
if [ "${#args[@]}" -lt 1 ] || [ "${#args[@]}" -gt 2 ] || $expect_solved; then usage >&2; exit 2; fi
if [ -n "$solved" ] && ! $exercises; then usage >&2; die "--solved goes with --exercises"; fi

number=${args[0]}
[[ "$number" =~ ^[0-9]{1,2}$ ]] || die "\"$number\" is not a checkpoint number (01 to 05)"
number=$(printf '%02d' "$((10#$number))")
shopt -s nullglob
matches=("$ROOT/checkpoints/$number"-*/)
shopt -u nullglob
[ "${#matches[@]}" -eq 1 ] || die "checkpoint $number does not exist: no single checkpoints/$number-* directory"
source_dir=${matches[0]%/}
checkpoint=$(basename "$source_dir")

dir=${args[1]:-$ROOT/workshop}
if [ -d "$dir" ]; then
  dir=$(cd "$dir" && pwd -P)
elif [ -d "$(dirname "$dir")" ]; then
  dir="$(cd "$(dirname "$dir")" && pwd -P)/$(basename "$dir")"
else
  die "$(dirname "$dir") does not exist"
fi
case "$dir" in
  "$ROOT" | "$ROOT"/checkpoints* | "$ROOT"/given* | "$ROOT"/testing* | "$ROOT"/book* | "$ROOT"/scripts* | "$ROOT"/target* | / | "${HOME:-/}")
    die "refusing to write into $dir: choose a directory of its own (default: workshop/)" ;;
esac

# How files refer to DIR (relative to the repository when inside it) and to the repository.
if [[ "$dir" == "$ROOT"/* ]]; then
  shown=${dir#"$ROOT"/}
  up=$(echo "$shown" | sed -E 's#[^/]+#..#g')
else
  shown=$dir
  up=$ROOT
fi

# The package name to keep: DIR's own, else "workshop".
package=workshop
if [ -f "$dir/Cargo.toml" ]; then
  found=$(awk '/^\[/ { in_package = ($0 == "[package]") } in_package && /^name *=/ { gsub(/.*= *"|".*/, ""); print; exit }' "$dir/Cargo.toml")
  package=${found:-workshop}
fi
[[ "$package" =~ ^[A-Za-z][A-Za-z0-9_-]*$ ]] || die "package name \"$package\" in $shown/Cargo.toml is not a valid crate name"
crate=${package//-/_}

# The learner's files: everything except target/, hidden entries and the lock file (cargo
# rewrites it) and insta's pending snapshots (tests write them).
own_files() {
  (cd "$dir" && find . -path ./target -prune -o -path './.*' -prune -o -type f \
    ! -name Cargo.lock ! -name '*.snap.new' ! -name '*.pending-snap' -print | LC_ALL=C sort)
}
fingerprint() { own_files | while IFS= read -r file; do (cd "$dir" && cksum "$file"); done; }

existing=()
if [ -d "$dir" ]; then
  while IFS= read -r entry; do existing+=("$entry"); done < <(cd "$dir" && find . -mindepth 1 -maxdepth 1 ! -name target ! -name '.*' | LC_ALL=C sort)
fi

if [ "${#existing[@]}" -gt 0 ]; then
  unchanged=false
  # Unchanged since the last jump?
  if [ -f "$dir/.jump-manifest" ] && [ "$(fingerprint)" = "$(cat "$dir/.jump-manifest")" ]; then
    unchanged=true
  fi
  # Or committed: DIR has tracked files and git sees no change outside our own files.
  if ! $unchanged && git -C "$dir" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
    && [ -n "$(git -C "$dir" ls-files -- . | head -n 1)" ] \
    && [ -z "$(git -C "$dir" status --porcelain --untracked-files=all -- . ':(exclude)target' ':(exclude).jump-backups' ':(exclude).jump-manifest' ':(exclude).cargo' ':(exclude)Cargo.lock')" ]; then
    unchanged=true
  fi
  if ! $unchanged && ! $force; then
    echo "jump: $shown has changes that are neither committed nor what the last jump wrote:" >&2
    if [ -f "$dir/.jump-manifest" ]; then
      diff <(cat "$dir/.jump-manifest") <(fingerprint) | sed -n 's/^[<>] [0-9]* [0-9]* \.\//  /p' | LC_ALL=C sort -u | head -n 10 >&2 || true
    else
      printf '  %s\n' "${existing[@]#./}" | head -n 10 >&2 || true
    fi
    cat >&2 <<EOF
Keep your work first: commit it (git), or copy it elsewhere. Then run again, or pass --force:
the current content is then moved to $shown/.jump-backups/<time>/ and nothing is deleted.
EOF
    exit 1
  fi
  backup=".jump-backups/$(date +%Y%m%d-%H%M%S)"
  if [ -e "$dir/$backup" ]; then backup="$backup-$$"; fi
  mkdir -p "$dir/$backup"
  for entry in "${existing[@]}"; do mv "$dir/$entry" "$dir/$backup/"; done
  echo "jump: the previous content of $shown is in $shown/$backup/"
fi

mkdir -p "$dir"
# -L: files a chapter left alone are links to an earlier checkpoint's; the copy holds the files.
cp -RL "$source_dir"/. "$dir"/

# Rename: the package, the crate, the binary, the regenerate commands and the checkpoint's path.
export JUMP_FROM_PACKAGE="checkpoint-$number" JUMP_FROM_CRATE="checkpoint_$number" \
  JUMP_FROM_PATH="checkpoints/$checkpoint" JUMP_PACKAGE="$package" JUMP_CRATE="$crate" \
  JUMP_PATH="$shown" JUMP_UP="$up"
(cd "$source_dir" && find -L . -type f -print) | while IFS= read -r file; do
  target="$dir/${file#./}"
  grep -Iq . "$target" 2>/dev/null || continue # binary or empty
  perl -pi -e '
    s/-p \Q$ENV{JUMP_FROM_PACKAGE}\E\b/--manifest-path $ENV{JUMP_PATH}\/Cargo.toml/g;
    s/\Q$ENV{JUMP_FROM_PATH}\E\b/$ENV{JUMP_PATH}/g;
    s/^name = "\Q$ENV{JUMP_FROM_PACKAGE}\E"/name = "$ENV{JUMP_PACKAGE}"/;
    s/CARGO_BIN_EXE_\Q$ENV{JUMP_FROM_PACKAGE}\E\b/CARGO_BIN_EXE_$ENV{JUMP_PACKAGE}/g;
    s/\b\Q$ENV{JUMP_FROM_CRATE}\E\b/$ENV{JUMP_CRATE}/g;
    s/\.join\("\.\.\/\.\."\)/.join("$ENV{JUMP_UP}")/g;
  ' "$target"
done

# A workspace of its own, with the repository's versions and profiles. Path dependencies (the
# given Docker layer) point back into the repository.
{
  echo
  echo "# Added by scripts/jump.sh: this crate is a workspace of its own with the repository's"
  echo "# dependency versions, so it builds outside the repository's workspace."
  echo "[workspace]"
  echo 'resolver = "3"'
  echo
  # The book's own build profile names packages this crate does not have: left out.
  awk '/^\[/ { copy = ($0 ~ /^\[(workspace\.package|workspace\.dependencies|profile\..*)\]$/) && $0 !~ /^\[profile\.book-tools/ } copy' "$ROOT/Cargo.toml" \
    | perl -pe 's/path = "(?!\/)/path = "$ENV{JUMP_UP}\//g'
} >>"$dir/Cargo.toml"
cp "$ROOT/Cargo.lock" "$dir/Cargo.lock"
[[ "$dir" == "$ROOT"/* ]] || cp "$ROOT/rust-toolchain.toml" "$dir/"
if [[ "$dir" == "$ROOT"/* ]] && { [ ! -f "$dir/.cargo/config.toml" ] || grep -q 'scripts/jump.sh' "$dir/.cargo/config.toml"; }; then
  mkdir -p "$dir/.cargo"
  cat >"$dir/.cargo/config.toml" <<EOF
# Written by scripts/jump.sh: build into the repository's target/, where the dependencies are
# already compiled (cargo build --workspace warmed it up).
[build]
target-dir = "$up/target"
EOF
fi
# The exercise markers go; with --exercises, chapter NN's regions give way to their start.
chapter=$((10#$number))
if ! $exercises; then chapter=0; fi
set -- start "$dir" "$chapter"
if [ -n "$solved" ]; then set -- "$@" --solved "$solved"; fi
if [ -n "${CAPDKC_EXERCISES:-}" ]; then
  "$CAPDKC_EXERCISES" "$@"
else
  (cd "$ROOT" && cargo run --quiet --locked -p exercises -- "$@")
fi
fingerprint >"$dir/.jump-manifest"

if $exercises; then
  echo "jump: $shown now holds the start of chapter $chapter ($checkpoint with its steps to write) as package \"$package\""
  echo "  check a step as you go:  cd $shown && cargo test step_${chapter}_1"
else
  echo "jump: $shown now holds checkpoint $number ($checkpoint) as package \"$package\""
  echo "  continue with chapter $((10#$number + 1)) of the book in it:  cd $shown && cargo run -- --help"
fi
