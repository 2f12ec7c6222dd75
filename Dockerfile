# syntax=docker/dockerfile:1
# The manager image: a static binary at /manager on a distroless, non-root base.
#   docker build --build-arg CHECKPOINT=checkpoint-05 -t capdkc-manager:dev .
#   docker build --build-arg CRATE_DIR=workshop -t capdkc-manager:dev .     (your own crate)
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 ... (each platform builds
# natively, under emulation when needed, so that ring's C code needs no cross compiler).

ARG RUST_VERSION=1.95.0

FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm AS builder
# musl-tools: ring (TLS for the Kubernetes client) compiles C; musl gives a fully static binary.
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools && rm -rf /var/lib/apt/lists/*
RUN rustup target add "$(uname -m)-unknown-linux-musl"
WORKDIR /src

# 1. Dependencies only: every manifest plus empty sources, so this layer stays cached until
#    Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
COPY checkpoints/01-scaffold/Cargo.toml checkpoints/01-scaffold/
COPY checkpoints/02-tilt/Cargo.toml checkpoints/02-tilt/
COPY checkpoints/03-cluster-controller/Cargo.toml checkpoints/03-cluster-controller/
COPY checkpoints/04-machine-controller/Cargo.toml checkpoints/04-machine-controller/
COPY checkpoints/05-template/Cargo.toml checkpoints/05-template/
COPY given/capdkc-capi/Cargo.toml given/capdkc-capi/
COPY given/capdkc-docker/Cargo.toml given/capdkc-docker/
COPY given/capdkc-manager/Cargo.toml given/capdkc-manager/
COPY book/tools/Cargo.toml book/tools/
COPY testing/apiserver-harness/Cargo.toml testing/apiserver-harness/
COPY testing/bench/Cargo.toml testing/bench/
COPY testing/captures/Cargo.toml testing/captures/
COPY testing/checkpoint-diffs/Cargo.toml testing/checkpoint-diffs/
COPY testing/exercises/Cargo.toml testing/exercises/
COPY testing/test-support/Cargo.toml testing/test-support/
RUN for dir in checkpoints/01-scaffold checkpoints/02-tilt checkpoints/03-cluster-controller checkpoints/04-machine-controller checkpoints/05-template given/capdkc-capi given/capdkc-docker given/capdkc-manager book/tools testing/apiserver-harness testing/bench testing/captures testing/checkpoint-diffs testing/exercises testing/test-support; do \
      mkdir -p "$dir/src" && echo 'fn main() {}' > "$dir/src/main.rs" && : > "$dir/src/lib.rs"; \
    done
# Every checkpoint's dependencies, whichever CHECKPOINT is built below: one build warms them all.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --release --locked --target "$(uname -m)-unknown-linux-musl" \
      -p checkpoint-01 -p checkpoint-02 -p checkpoint-03 -p checkpoint-04 -p checkpoint-05

# 2. The real sources, and the crate to build: a checkpoint's package (CHECKPOINT), or instead a
#    learner's crate by its directory (CRATE_DIR=workshop). scripts/jump.sh makes that crate a
#    workspace of its own; built into the same target/, it reuses the dependencies compiled above.
COPY . .
ARG CHECKPOINT=checkpoint-05
ARG CRATE_DIR=
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    # COPY keeps the files' old times; make cargo see them as newer than the placeholders.
    find checkpoints given testing book/tools -name '*.rs' -exec touch {} + \
 && target="$(uname -m)-unknown-linux-musl" \
 && if [ -z "$CRATE_DIR" ]; then \
      cargo build --release --locked -p "$CHECKPOINT" --bin "$CHECKPOINT" --target "$target" \
      && binary="$CHECKPOINT"; \
    else \
      # Its binary is named after its package. No --locked: cargo trims the copied lock file.
      binary=$(sed -n '/^\[package\]/,/^\[/ s/^name *= *"\(.*\)"/\1/p' "$CRATE_DIR/Cargo.toml") \
      && cargo build --release --manifest-path "$CRATE_DIR/Cargo.toml" --target-dir target --target "$target"; \
    fi \
 && cp "target/$target/release/$binary" /manager \
 && strip /manager

# distroless/static: no shell, no package manager; `nonroot` is UID/GID 65532, matching the
# Deployment's securityContext.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=builder /manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
