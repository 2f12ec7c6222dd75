#!/usr/bin/env bash
# Builds the release artifacts of the provider (checkpoint-05), the files clusterctl reads.
#
#   scripts/release.sh VERSION [OUT_DIR]
#   CAPDKC_IMAGE_DIGEST=sha256:<64 hex> scripts/release.sh v0.1.0 out/release
#
# VERSION is a semantic version with a leading v (v0.1.0, v0.1.1-rc.1) whose major.minor is a
# release series of checkpoints/05-template/metadata.yaml. OUT_DIR defaults to out/release in
# the repository. Other versions already in OUT_DIR are kept. Writes:
#   OUT_DIR/VERSION/                 the GitHub release assets: infrastructure-components.yaml,
#                                    metadata.yaml, cluster-template*.yaml, clusterclass-*.yaml
#   OUT_DIR/clusterctl-repository/infrastructure-docker-kubecon/VERSION/
#                                    the same files, as a local clusterctl repository
#   OUT_DIR/clusterctl.yaml          a clusterctl configuration whose providers entry points at
#                                    that repository by absolute path:
#                                    clusterctl init --infrastructure docker-kubecon --config OUT_DIR/clusterctl.yaml
#
# Environment (all optional):
#   CAPDKC_IMAGE         the manager image, canonical (with its registry) and without tag
#                        (default ghcr.io/capdkc/capdkc-manager); the tag is always VERSION
#   CAPDKC_IMAGE_DIGEST  sha256:<64 hex>: pins the image by digest too (name:VERSION@sha256:...)
#   KUSTOMIZE            the kustomize binary (default: kustomize on PATH)
#
# The components keep one clusterctl variable, with a default: ${CAPDKC_DOCKER_GID:=0}, the
# group owning /var/run/docker.sock on the nodes (see the Releasing chapter).
set -euo pipefail
shopt -s nullglob # (bash 3.2 compatible: macOS runs this too)

ROOT="$(cd "$(dirname "$0")/.." && pwd -P)"
CHECKPOINT="$ROOT/checkpoints/05-template"
PROVIDER_LABEL=infrastructure-docker-kubecon
IMAGE=${CAPDKC_IMAGE:-ghcr.io/capdkc/capdkc-manager}
DIGEST=${CAPDKC_IMAGE_DIGEST:-}
KUSTOMIZE=${KUSTOMIZE:-kustomize}

die() {
  printf 'release: %s\n' "$*" >&2
  exit 1
}

if [[ $# -lt 1 || $# -gt 2 || $1 == -h || $1 == --help ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
fi
VERSION=$1
OUT_DIR=${2:-$ROOT/out/release}

# --- validate the inputs before writing anything -------------------------------------------
# Semantic version with a leading v; no build metadata (+...), which image tags cannot hold.
semver='^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$'
if [[ ! $VERSION =~ $semver ]]; then
  die "VERSION '$VERSION' is not a release version: expected v<major>.<minor>.<patch>[-prerelease], e.g. v0.1.0"
fi
major=${BASH_REMATCH[1]}
minor=${BASH_REMATCH[2]}

if [[ -n $DIGEST && ! $DIGEST =~ ^sha256:[0-9a-f]{64}$ ]]; then
  die "CAPDKC_IMAGE_DIGEST '$DIGEST' is not a digest: expected sha256:<64 lowercase hex digits>"
fi
if [[ ! $IMAGE =~ ^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?$ || $IMAGE == *@* ]]; then
  die "CAPDKC_IMAGE '$IMAGE' is not an image name without tag or digest"
fi
if [[ ${IMAGE##*/} == *:* ]]; then
  die "CAPDKC_IMAGE '$IMAGE' has a tag: the tag is always VERSION ($VERSION)"
fi
# clusterctl refuses short names (capdkc-manager): the first part must be a registry.
registry=${IMAGE%%/*}
if [[ $IMAGE != */* || ($registry != *.* && $registry != *:* && $registry != localhost) ||
  ($registry == docker.io && ${IMAGE#docker.io/} != */*) ]]; then
  die "CAPDKC_IMAGE '$IMAGE' is not a canonical name, which clusterctl requires: name the registry, e.g. ghcr.io/<owner>/capdkc-manager or localhost/capdkc-manager"
fi

# ANCHOR: series
# The release series of metadata.yaml, one "major minor contract" line each.
series=$(awk '
  function flush() { if (major != "" && minor != "") print major, minor, contract; major = minor = contract = "" }
  /^[[:space:]]*-/ { flush(); sub(/^[[:space:]]*-[[:space:]]*/, "") }
  /^[[:space:]]*major:/ { major = $2 }
  /^[[:space:]]*minor:/ { minor = $2 }
  /^[[:space:]]*contract:/ { contract = $2 }
  END { flush() }' "$CHECKPOINT/metadata.yaml")
contract=$(awk -v major="$major" -v minor="$minor" '$1 == major && $2 == minor { print $3 }' <<<"$series")
if [[ -z $contract ]]; then
  declared=$(awk '{ printf "%s%s.%s (%s)", sep, $1, $2, $3; sep = ", " }' <<<"$series")
  die "VERSION $VERSION belongs to release series $major.$minor, which checkpoints/05-template/metadata.yaml does not declare (it declares: ${declared:-nothing}). Add a releaseSeries entry for $major.$minor with its contract first."
fi
# ANCHOR_END: series

command -v "$KUSTOMIZE" >/dev/null ||
  die "kustomize not found (set KUSTOMIZE or PATH; scripts/install-kustomize.sh builds it)"

# --- render the components ------------------------------------------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# ANCHOR: render
# An overlay over a copy of config/ sets the image; the committed kustomization stays untouched.
cp -R "$CHECKPOINT/config" "$work/config"
mkdir "$work/config/release"
{
  echo "resources:"
  echo "  - ../default"
  echo "images:"
  echo "  - name: capdkc-manager"
  echo "    newName: $IMAGE"
  echo "    newTag: $VERSION"
  if [[ -n $DIGEST ]]; then echo "    digest: $DIGEST"; fi
} >"$work/config/release/kustomization.yaml"
"$KUSTOMIZE" build "$work/config/release" >"$work/infrastructure-components.yaml" ||
  die "kustomize build failed"

# The CRDs must declare the contract that metadata.yaml promises for this series.
crds=$(grep -c '^kind: CustomResourceDefinition$' "$work/infrastructure-components.yaml" || true)
labelled=$(grep -c "^    cluster.x-k8s.io/$contract: " "$work/infrastructure-components.yaml" || true)
if [[ $crds -eq 0 || $labelled -ne $crds ]]; then
  die "metadata.yaml maps $major.$minor to contract $contract, but $labelled of $crds CRDs carry the label cluster.x-k8s.io/$contract"
fi
# ANCHOR_END: render

templates=("$CHECKPOINT"/templates/cluster-template*.yaml "$CHECKPOINT"/templates/clusterclass-*.yaml)
[[ -f $CHECKPOINT/templates/cluster-template.yaml ]] ||
  die "no templates/cluster-template.yaml: clusterctl generate cluster needs the default template"

# The book's markers (anchors, exercises and their start states) are not for users: a template
# without them, on stdout.
without_book_markers() {
  awk '/^[[:space:]]*# EXERCISE_START_STATE[[:space:]]*$/ { skip = 1; next }
       /^[[:space:]]*# EXERCISE_END[[:space:]]*$/ { skip = 0; next }
       skip { next }
       /^[[:space:]]*# (ANCHOR(_END)?|EXERCISE): / { next }
       { print }' "$1"
}

# --- lay out the release and the local clusterctl repository --------------------------------
# ANCHOR: layout
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd -P)
release_dir="$OUT_DIR/$VERSION"
repository="$OUT_DIR/clusterctl-repository"
repository_dir="$repository/$PROVIDER_LABEL/$VERSION"
for dir in "$release_dir" "$repository_dir"; do
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$work/infrastructure-components.yaml" "$CHECKPOINT/metadata.yaml" "$dir/"
  for template in ${templates[@]+"${templates[@]}"}; do
    without_book_markers "$template" >"$dir/$(basename "$template")"
  done
done

cat >"$OUT_DIR/clusterctl.yaml" <<EOF
# Written by scripts/release.sh for $VERSION: installs the provider from the local repository
# next to this file, without a GitHub release.
#   clusterctl init --infrastructure docker-kubecon --config $OUT_DIR/clusterctl.yaml
providers:
  - name: docker-kubecon
    url: $repository_dir/infrastructure-components.yaml
    type: InfrastructureProvider
# Optional variables (environment variables take precedence):
# CAPDKC_DOCKER_GID: "0"   # group of /var/run/docker.sock on the nodes (default 0)
EOF
# ANCHOR_END: layout

image="$IMAGE:$VERSION${DIGEST:+@$DIGEST}"
echo "release: $VERSION (series $major.$minor, contract $contract), image $image"
(cd "$release_dir" && ls -1)
echo "release: local clusterctl repository $repository_dir"
echo "release: clusterctl configuration $OUT_DIR/clusterctl.yaml"
