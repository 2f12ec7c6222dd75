#!/usr/bin/env bash
# Pulls every image the workshop needs, so that the day depends neither on the venue's network
# nor on registry rate limits. Run it at home, the day before, on a good connection.
#
#   scripts/prepull-images.sh                        pull what is missing (about 6 GB on disk)
#   scripts/prepull-images.sh --list                 print the images, one per line; pull nothing
#   scripts/prepull-images.sh --kubernetes v1.36.1   of the workload node images, only this version
#   scripts/prepull-images.sh --save DIR             pull, then save one tarball per image into DIR
#   scripts/prepull-images.sh --load DIR             docker load every tarball in DIR (offline room)
#   scripts/prepull-images.sh --kind [NAME]          pull, then load the in-cluster images (Cluster
#                                                    API, cert-manager) into the kind management
#                                                    cluster NAME (default capdkc-mgmt)
#
# The images, each read from where the repository pins it:
#   - the management cluster's node image: scripts/kind-management-cluster.yaml;
#   - the workload clusters' node images and the load balancer: the pinned table in
#     given/capdkc-docker/src/images.rs (what the provider runs when a DockerMachine names none);
#   - what `clusterctl init` installs in the management cluster, for the Cluster API version in
#     scripts/create-management-cluster.sh (see in_cluster_images below);
#   - the bases of the manager image (Dockerfile), which Tilt builds from chapter 2 on.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)

die() { echo "prepull: $*" >&2; exit 1; }

# cert-manager version that clusterctl v1.14.2 installs: CertManagerDefaultVersion in
# cmd/clusterctl/client/config/cert_manager_client.go of sigs.k8s.io/cluster-api@v1.14.2, and the
# three images Cluster API's own e2e script pre-pulls for it (hack/scripts/ci/ci-e2e-lib.sh).
# A clusterctl of another version may install another cert-manager: `clusterctl init` then pulls.
CERT_MANAGER_VERSION=v1.21.1

mode=pull
only_version=
target_dir=
kind_cluster=
while [ $# -gt 0 ]; do
  case "$1" in
    --list) mode=list ;;
    --kubernetes) only_version=${2:?--kubernetes needs a version such as v1.36.1}; shift ;;
    --save) mode=save; target_dir=${2:?--save needs a directory}; shift ;;
    --load) mode=load; target_dir=${2:?--load needs a directory}; shift ;;
    --kind)
      kind_cluster=capdkc-mgmt
      if [ $# -gt 1 ] && [[ "$2" != --* ]]; then kind_cluster=$2; shift; fi ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done

if [ -n "$only_version" ] && ! grep -q "\"kindest/node:$only_version@" "$ROOT/given/capdkc-docker/src/images.rs"; then
  die "given/capdkc-docker/src/images.rs pins no kindest/node image for $only_version"
fi

management_node_images() {
  sed -n 's/^[[:space:]]*image:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$ROOT/scripts/kind-management-cluster.yaml"
}

# Every reference pinned by digest in images.rs: the kindest/node table and the HAProxy default.
workload_images() {
  grep -oE '"[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}"' "$ROOT/given/capdkc-docker/src/images.rs" \
    | tr -d '"' \
    | { if [ -n "$only_version" ]; then grep -v "^kindest/node:" ; else cat; fi; }
  if [ -n "$only_version" ]; then
    grep -oE "\"kindest/node:${only_version//./\\.}@sha256:[0-9a-f]{64}\"" "$ROOT/given/capdkc-docker/src/images.rs" \
      | tr -d '"'
  fi
}

# What `clusterctl init --core cluster-api --bootstrap kubeadm --control-plane kubeadm` runs in
# the management cluster. The Cluster API images are the ones its release manifests name:
# PROD_REGISTRY (registry.k8s.io/cluster-api), the image names and RELEASE_TAG in the Makefile of
# sigs.k8s.io/cluster-api@v1.14.2 (release-manifests). They are tags, not digests: the release
# manifests pin tags only.
in_cluster_images() {
  local capi
  # shellcheck disable=SC2016 # a literal ${...} in the script we read
  capi=$(sed -n 's/^CAPI_VERSION=\${CAPI_VERSION:-\(v[0-9.]*\)}$/\1/p' "$ROOT/scripts/create-management-cluster.sh")
  [ -n "$capi" ] || die "cannot read CAPI_VERSION from scripts/create-management-cluster.sh"
  echo "registry.k8s.io/cluster-api/cluster-api-controller:$capi"
  echo "registry.k8s.io/cluster-api/kubeadm-bootstrap-controller:$capi"
  echo "registry.k8s.io/cluster-api/kubeadm-control-plane-controller:$capi"
  echo "quay.io/jetstack/cert-manager-cainjector:$CERT_MANAGER_VERSION"
  echo "quay.io/jetstack/cert-manager-controller:$CERT_MANAGER_VERSION"
  echo "quay.io/jetstack/cert-manager-webhook:$CERT_MANAGER_VERSION"
}

# The manager image's bases: the BuildKit frontend named by `# syntax=` and every FROM image, with
# the Dockerfile's ARG defaults filled in. (BuildKit may still ask the registry whether the
# frontend tag moved; building once before the day also caches apt and crates.)
build_images() {
  local dockerfile=$ROOT/Dockerfile
  sed -n 's/^# *syntax=\(.*\)$/\1/p' "$dockerfile" | head -n 1
  awk '
    /^ARG [A-Za-z_]+=/ { split(substr($0, 5), kv, "="); value[kv[1]] = kv[2] }
    /^FROM / {
      image = $2
      for (name in value) { gsub("\\$\\{" name "\\}", value[name], image); gsub("\\$" name, value[name], image) }
      if (image !~ /\$/ && !seen[image]++) print image
    }' "$dockerfile" | grep -v -E '^[a-z]+$' || true
}

all_images() {
  { management_node_images; workload_images; in_cluster_images; build_images; } | awk 'NF && !seen[$0]++'
}

# A file name for an image reference.
archive_name() { echo "$1" | sed -e 's/@sha256:\(.\{12\}\).*/@\1/' -e 's#[/:@]#_#g' | sed 's/$/.tar/'; }

if [ "$mode" = list ]; then
  all_images
  exit 0
fi

command -v docker >/dev/null 2>&1 || die "docker is not installed (see scripts/doctor.sh)"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "the Docker daemon does not answer: start Docker first"

if [ "$mode" = load ]; then
  shopt -s nullglob
  archives=("$target_dir"/*.tar)
  [ "${#archives[@]}" -gt 0 ] || die "no *.tar in $target_dir"
  for archive in "${archives[@]}"; do
    echo "prepull: loading $archive"
    docker load -i "$archive"
  done
  cat <<'EOF'
prepull: done. Docker's classic image store forgets registry digests on save and load, so an
image referenced by digest (name:tag@sha256:...) may still be pulled. Where the network allows,
pull from the registry instead (scripts/prepull-images.sh without --load).
EOF
  exit 0
fi

if [ -n "$kind_cluster" ]; then
  command -v kind >/dev/null 2>&1 || die "kind is not installed (see scripts/doctor.sh)"
  kind get clusters 2>/dev/null | grep -qx "$kind_cluster" \
    || die "no kind cluster $kind_cluster: create it first (kind create cluster --config scripts/kind-management-cluster.yaml)"
fi

failed=()
while IFS= read -r image; do
  if docker image inspect "$image" >/dev/null 2>&1; then
    echo "prepull: have  $image"
  else
    echo "prepull: pull  $image"
    docker pull --quiet "$image" >/dev/null || failed+=("$image")
  fi
done < <(all_images)

if [ "$mode" = save ]; then
  mkdir -p "$target_dir"
  while IFS= read -r image; do
    archive="$target_dir/$(archive_name "$image")"
    if [ -s "$archive" ]; then continue; fi
    echo "prepull: save  $image -> $archive"
    docker save -o "$archive" "$image" || failed+=("save $image")
  done < <(all_images)
fi

if [ -n "$kind_cluster" ]; then
  arch=$(docker version --format '{{.Server.Arch}}')
  while IFS= read -r image; do
    echo "prepull: load  $image into kind cluster $kind_cluster"
    if ! kind load docker-image --name "$kind_cluster" "$image"; then
      # Docker's containerd image store (default from Docker 29) exports every platform's
      # manifest but has only one platform's layers: kind issue 3795. Save one platform instead.
      archive=$(mktemp)
      if docker image save --platform "linux/$arch" -o "$archive" "$image" \
        && kind load image-archive --name "$kind_cluster" "$archive"; then :; else failed+=("kind load $image"); fi
      rm -f "$archive"
    fi
  done < <(in_cluster_images)
fi

if [ "${#failed[@]}" -gt 0 ]; then
  printf 'prepull: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "prepull: all images are present."
