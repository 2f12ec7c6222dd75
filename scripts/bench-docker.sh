#!/usr/bin/env bash
# Provisioning benchmark: a load balancer plus a control-plane node through the Docker layer
# versus the docker CLI doing the same steps on the same engine; prints medians and the
# layer/CLI ratio (target: <= 1.20).
#
#   bash scripts/bench-docker.sh            # 7 runs each
#   BENCH_RUNS=11 bash scripts/bench-docker.sh
#
# Needs a daemon and the test images (scripts/start-dockerd.sh, scripts/build-test-images.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
docker version >/dev/null 2>&1 || { echo "bench-docker: no Docker daemon answers" >&2; exit 1; }
bash scripts/build-test-images.sh
# --release: measure the layer, not debug-build overhead.
exec cargo run --release --locked -q -p capdkc-docker --example bench_provision
