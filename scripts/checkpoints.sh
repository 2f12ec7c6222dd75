#!/usr/bin/env bash
# The checkpoints as one chain: checkpoint NN is checkpoint NN-1 plus chapter NN's change,
# recorded as checkpoints/NN-name.diff; Rust files a chapter leaves alone are links.
#
#   scripts/checkpoints.sh check        every checkpoint is its predecessor plus its change
#   scripts/checkpoints.sh carry NN     after editing checkpoint NN: generate NN+1.. again
#   scripts/checkpoints.sh record NN    after changing chapter NN on purpose: record it
#
# Editing checkpoint 03, say: edit it, `record 03` (chapter 3's change is another one now),
# then `carry 03` (chapters 4 and 5 keep their own changes on top of the edit).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --locked -p checkpoint-diffs -- "$@"
