#!/usr/bin/env bash
# Builds a Kubernetes node image for CAPDKC (what `kind build node-image` makes), from package
# registries only: Debian's packages and the Go module proxy. Nothing is pulled from an image
# registry, at build time or when a cluster starts.
#
#   eval "$(bash scripts/build-node-image.sh)"
#   # sets CAPDKC_NODE_IMAGE, CAPDKC_CNI_MANIFEST, CAPDKC_TEST_IMAGE (see the end of main)
#
# The image holds a Debian bookworm rootfs with systemd, containerd, runc, the CNI plugins and
# the tools kubeadm and the kubelet need; kubelet, kubeadm, kubectl and crictl built from Go
# modules; and, preloaded into containerd (namespace k8s.io) under the names kubeadm asks for,
# the control-plane images, the pod network (podnet) and a small busybox test image.
# scripts/node-image/README.md describes every part and why it is there.
#
# Environment (all optional):
#   CAPDKC_K8S_VERSION        k8s.io/kubernetes tag (default v1.36.3, as scripts/test-assets.sh)
#   CAPDKC_NODE_IMAGE         image to build (default capdkc/node:$CAPDKC_K8S_VERSION)
#   CAPDKC_NODE_IMAGE_CACHE   cache root (default $XDG_CACHE_HOME/capdkc/node-image)
#   CAPDKC_DEBIAN_MIRROR      Debian mirror for the rootfs (default: the bookworm repositories
#                             apt on this machine uses)
#   CAPDKC_GOTOOLCHAIN        GOTOOLCHAIN for the builds (default: auto)
#
# Needs root (mmdebstrap and chroot), Docker, Go >= 1.21 and the Go module proxy.
#
# Only the KEY=VALUE lines go to stdout; progress and timings go to stderr (and to
# timings.log in the cache). Every part is cached by its inputs; a second run with nothing
# changed only hashes the inputs and inspects one image label.
set -euo pipefail
shopt -s inherit_errexit

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FILES="$HERE/node-image"

k8s_version="${CAPDKC_K8S_VERSION:-v1.36.3}"
staging_version="v0.${k8s_version#v1.}"
k8s_minor="${k8s_version#v1.}"
k8s_minor="${k8s_minor%%.*}"
# cri-tools releases one minor per Kubernetes minor.
crictl_version="v1.${k8s_minor}.0"
node_image="${CAPDKC_NODE_IMAGE:-capdkc/node:$k8s_version}"
cache="${CAPDKC_NODE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capdkc/node-image}"
suite=bookworm
hash_label="io.x-k8s.capdkc.node-image-inputs"
# The images tests and the pod network use; "capdkc.local" is no registry, nothing pulls it.
local_registry="capdkc.local"

# Debian packages of the node. Each line says who needs it.
node_packages=(
  systemd systemd-sysv dbus      # init: kubeadm starts and restarts the kubelet with systemctl
  containerd runc                # the container runtime (CRI) and its OCI runtime
  containernetworking-plugins    # bridge, host-local, portmap, loopback (used by podnet)
  iptables nftables conntrack    # kube-proxy, podnet, docker's embedded DNS rules in the node
  iproute2 ethtool socat         # kubelet/kubeadm preflight; port-forward needs socat
  util-linux mount kmod procps   # losetup, nsenter, mount (kubeadm preflight), modprobe, ps
  ca-certificates bash coreutils
  busybox-static                 # source of the test image and of the shell in small images
)

log() { printf 'build-node-image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# timing NAME START: logs and records how long NAME took since START (a $SECONDS value).
timing() {
  local line
  line="$(printf '%-28s %5d s  %s' "$1" "$((SECONDS - $2))" "${3:-}")"
  log "$line"
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$line" >>"$cache/timings.log"
}

hash_of() { sha256sum | cut -c1-16; }

# ---------------------------------------------------------------------------------------------
# Go binaries

# new_module NAME: a fresh main module in its own directory; prints the directory.
new_module() {
  local dir="$work/$1"
  mkdir -p "$dir"
  (cd "$dir" && go mod init "capdkc.invalid/node-image/$1" >/dev/null 2>&1)
  printf '%s\n' "$dir"
}

mod_field() {
  local json
  if ! json="$(go mod download -json "$1")"; then
    log "cannot download $1: $(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
    return 1
  fi
  sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}$/\1/p" <<<"$json"
}

k8s_commands=(kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy)

# All Kubernetes commands in one `go build`: they share most packages, and the staging modules
# are pinned to their published tags exactly as scripts/test-assets.sh does.
build_kubernetes() {
  local out="$1" dir gomod module replaces=() pkgs=() cmd
  dir="$(new_module kubernetes)"
  gomod="$(mod_field "k8s.io/kubernetes@$k8s_version" GoMod)"
  while read -r module; do
    replaces+=("-replace=$module=$module@$staging_version")
  done < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/.*#\1#p' "$gomod")
  ((${#replaces[@]} > 0)) || die "no staging modules found in $gomod"
  for cmd in "${k8s_commands[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  local v=k8s.io/component-base/version
  (
    cd "$dir"
    go mod edit "${replaces[@]}"
    go get "${pkgs[@]/%/@$k8s_version}"
    mkdir -p "$out.tmp"
    nice -n 10 go build -trimpath -o "$out.tmp/" \
      -ldflags "-s -w -X $v.gitVersion=$k8s_version -X $v.gitTreeState=clean -X $v.gitMajor=1 -X $v.gitMinor=$k8s_minor" \
      "${pkgs[@]}"
  )
}

build_etcd() {
  local out="$1" version="$2" dir
  dir="$(new_module etcd)"
  (
    cd "$dir"
    go get "go.etcd.io/etcd/server/v3@$version" "go.etcd.io/etcd/etcdctl/v3@$version"
    mkdir -p "$out.tmp"
    nice -n 10 go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcd" go.etcd.io/etcd/server/v3
    nice -n 10 go build -trimpath -ldflags "-s -w" -o "$out.tmp/etcdctl" go.etcd.io/etcd/etcdctl/v3
  )
}

build_coredns() {
  local out="$1" version="$2" dir
  dir="$(new_module coredns)"
  (
    cd "$dir"
    go get "github.com/coredns/coredns@$version"
    mkdir -p "$out.tmp"
    nice -n 10 go build -trimpath -o "$out.tmp/coredns" \
      -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$version" github.com/coredns/coredns
  )
}

build_crictl() {
  local out="$1" dir
  dir="$(new_module crictl)"
  (
    cd "$dir"
    go get "sigs.k8s.io/cri-tools/cmd/crictl@$crictl_version"
    mkdir -p "$out.tmp"
    nice -n 10 go build -trimpath -o "$out.tmp/crictl" \
      -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$crictl_version" \
      sigs.k8s.io/cri-tools/cmd/crictl
  )
}

# build_local NAME REQUIREMENTS...: a program of this repository (scripts/node-image/NAME).
build_local() {
  local out="$1" name="$2" dir
  shift 2
  dir="$(new_module "$name")"
  cp "$FILES/$name/main.go" "$dir/"
  (
    cd "$dir"
    if (($# > 0)); then go get "$@"; fi
    go mod tidy
    mkdir -p "$out.tmp"
    nice -n 10 go build -trimpath -ldflags "-s -w" -o "$out.tmp/$name" .
  )
}

# cached_build NAME DIR FUNCTION ARGS...: runs FUNCTION DIR ARGS... unless DIR exists; FUNCTION
# builds into DIR.tmp, which becomes DIR only when complete.
cached_build() {
  local name="$1" dir="$2" start=$SECONDS
  shift 2
  if [[ -d "$dir" ]]; then
    timing "$name" "$start" "cached"
    return 0
  fi
  local fn="$1"
  shift
  rm -rf "$dir.tmp"
  "$fn" "$dir" "$@"
  mv "$dir.tmp" "$dir"
  timing "$name" "$start" "built"
}

# ---------------------------------------------------------------------------------------------
# Debian rootfs

# Prints one sources.list line per Debian repository for $suite (main, -updates, -security):
# the ones apt on this machine uses, so the rootfs comes from the mirror this machine reaches.
debian_sources() {
  if [[ -n "${CAPDKC_DEBIAN_MIRROR:-}" ]]; then
    printf 'deb %s %s main\n' "$CAPDKC_DEBIAN_MIRROR" "$suite" "$CAPDKC_DEBIAN_MIRROR" "$suite-updates"
    return 0
  fi
  # shellcheck disable=SC2016 # apt's own $(FIELD) placeholders
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(IDENTIFIER)' |
    awk -v s="$suite" '$3 == "Packages" && ($2 == s || $2 == s "-updates" || $2 == s "-security") { print "deb " $1 " " $2 " main" }' |
    sort -u
}

build_rootfs() {
  local out="$1" sources=() line
  while read -r line; do sources+=("$line"); done < <(debian_sources)
  ((${#sources[@]} > 0)) || die "apt knows no Debian $suite repository; run apt-get update or set CAPDKC_DEBIAN_MIRROR"
  mkdir -p "$out.tmp"
  local include
  include="$(IFS=,; printf '%s' "${node_packages[*]}")"
  # shellcheck disable=SC2016 # the hook is a shell command mmdebstrap runs with $1 = the rootfs
  # minbase: essential packages and apt only; no recommends; no docs, man pages or locales.
  nice -n 10 mmdebstrap --quiet --variant=minbase --include="$include" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --customize-hook='chroot "$1" dpkg-query -W -f "\${Package} \${Version}\n" >"$1/etc/capdkc-packages.txt"' \
    "$suite" "$out.tmp/rootfs.tar" "${sources[@]}"
  tar -xOf "$out.tmp/rootfs.tar" ./etc/capdkc-packages.txt >"$out.tmp/packages.txt"
}

ensure_mmdebstrap() {
  command -v mmdebstrap >/dev/null 2>&1 && return 0
  log "installing Debian's mmdebstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap >&2 ||
    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap >&2; }
}

build_base() {
  ensure_mmdebstrap
  local key
  key="$({ printf '%s\n' "$suite" "${node_packages[@]}"; declare -f build_rootfs debian_sources; } | hash_of)"
  rootfs="$cache/rootfs/$suite-$key"
  cached_build "rootfs debian $suite" "$rootfs" build_rootfs
}

# ---------------------------------------------------------------------------------------------
# Images preloaded into the node's containerd

# The names and tags kubeadm pulls for this version, e.g. registry.k8s.io/etcd:3.6.8-0.
kubeadm_images() {
  "$bin_k8s/kubeadm" config images list --kubernetes-version "$k8s_version" 2>/dev/null
}

# image_for SUFFIX: the one name from kubeadm_images ending in /SUFFIX:tag.
image_for() { grep -E "/$1:[^:/]+$" <<<"$images_list" | head -n 1; }
tag_of() { printf '%s\n' "${1##*:}"; }

# add_busybox ROOT: a shell and coreutils (Debian's busybox-static) for images that need one.
add_busybox() {
  local root="$1" applet
  mkdir -p "$root/bin" "$root/usr/bin" "$root/sbin" "$root/usr/sbin"
  cp "$rootfs_dir/bin/busybox" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
  done
}

# add_from_rootfs ROOT FILES...: files of the node rootfs and every library they load.
add_from_rootfs() {
  local root="$1" f lib
  shift
  for f in "$@"; do
    (cd "$rootfs_dir" && cp -a --parents ".$f" "$root/")
    # Symlinks (the alternatives) are followed inside the rootfs, not on this machine.
    while [[ -L "$rootfs_dir$f" ]]; do
      local target
      target="$(readlink "$rootfs_dir$f")"
      [[ "$target" == /* ]] || target="$(dirname "$f")/$target"
      f="$target"
      (cd "$rootfs_dir" && cp -a --parents ".$f" "$root/")
    done
    for lib in $(chroot "$rootfs_dir" ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' | sort -u); do
      (cd "$rootfs_dir" && cp -aL --parents ".$lib" "$root/") 2>/dev/null || true
    done
  done
}

# iptables as kube-proxy and podnet call it: Debian's nft backend (the default in Debian and
# of the host's Docker), with the extension modules it loads at run time.
add_iptables() {
  local root="$1" cmd mod
  add_from_rootfs "$root" /usr/sbin/xtables-nft-multi
  for cmd in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sf xtables-nft-multi "$root/usr/sbin/$cmd"
  done
  for mod in "$rootfs_dir"/usr/lib/x86_64-linux-gnu/xtables/*.so; do
    add_from_rootfs "$root" "${mod#"$rootfs_dir"}"
  done
  mkdir -p "$root/etc" "$root/run"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

# archive_image OUT NAME ROOT CHANGES...: ROOT as image NAME, saved to OUT (docker save format).
archive_image() {
  local out="$1" name="$2" root="$3"
  shift 3
  local changes=(--change "ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") c
  for c in "$@"; do changes+=(--change "$c"); done
  mkdir -p "$root/tmp" "$root/etc"
  chmod 1777 "$root/tmp"
  [[ -e "$root/etc/passwd" ]] || printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  [[ -e "$root/etc/group" ]] || printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar --numeric-owner -C "$root" -c . | docker import "${changes[@]}" - "$name" >/dev/null
  docker save -o "$out" "$name"
  # The archive is what counts; keep registry.k8s.io names out of the host's image list.
  docker rmi "$name" >/dev/null
}

# The node rootfs as a directory, for copying iptables and busybox into small images.
ensure_rootfs_dir() {
  [[ -z "${rootfs_dir:-}" ]] || return 0
  rootfs_dir="$work/rootfs"
  mkdir -p "$rootfs_dir"
  tar -C "$rootfs_dir" -xf "$rootfs/rootfs.tar"
}

# image_static OUT NAME ENTRY FILES...: an image of FILES in /usr/local/bin. ENTRY is the
# entrypoint's name in /usr/local/bin, "busybox" (a shell image), or "iptables:NAME" (NAME
# with iptables and a shell beside it).
image_static() {
  local out="$1" name="$2" entry="$3" root
  shift 3
  ensure_rootfs_dir
  mkdir -p "$out.tmp"
  root="$(mktemp -d "$work/image.XXXXXX")"
  mkdir -p "$root/usr/local/bin"
  if (($# > 0)); then cp "$@" "$root/usr/local/bin/"; fi
  case "$entry" in
    busybox)
      add_busybox "$root"
      archive_image "$out.tmp/image.tar" "$name" "$root" 'CMD ["sh"]'
      ;;
    iptables:*)
      add_busybox "$root"
      add_iptables "$root"
      archive_image "$out.tmp/image.tar" "$name" "$root" "ENTRYPOINT [\"/usr/local/bin/${entry#iptables:}\"]"
      ;;
    *) archive_image "$out.tmp/image.tar" "$name" "$root" "ENTRYPOINT [\"/usr/local/bin/$entry\"]" ;;
  esac
  rm -rf "$root"
}

# cached_image NAME ENTRY FILES...: the archive of one image, cached by what goes in: the files
# are immutable cache entries whose paths name their versions, the rootfs path names its inputs.
cached_image() {
  local name="$1" entry="$2" key
  shift 2
  key="$({ printf '%s\n' "$name" "$entry" "$rootfs" "$@"; declare -f image_static archive_image add_iptables add_from_rootfs add_busybox; } | hash_of)"
  local out="$cache/images/$key"
  cached_build "image $name" "$out" image_static "$name" "$entry" "$@"
  image_archives+=("$out/image.tar")
  image_names+=("$name")
}

# ---------------------------------------------------------------------------------------------
# The node image

# Everything in the repository that goes into the image, and the versions; not the Debian
# package versions (the rootfs is cached by its package list; delete the cache to refresh it).
inputs_hash() {
  {
    printf '%s\n' "$k8s_version" "$crictl_version" "$suite" "$node_image"
    cat "${BASH_SOURCE[0]}"
    find "$FILES" -type f ! -name README.md ! -name smoke.sh -print0 | sort -z | xargs -0 cat
  } | hash_of
}

image_label() {
  docker image inspect --format "{{ index .Config.Labels \"$hash_label\" }}" "$1" 2>/dev/null || true
}

# The output: KEY=VALUE lines for `eval`.
print_result() {
  local dir="$1"
  printf 'CAPDKC_NODE_IMAGE=%s\n' "$node_image"
  printf 'CAPDKC_CNI_MANIFEST=%s\n' "$dir/podnet.yaml"
  printf 'CAPDKC_TEST_IMAGE=%s\n' "$(cat "$dir/test-image")"
  printf 'CAPDKC_NODE_IMAGE_KUBEADM_IMAGES=%s\n' "$dir/images.txt"
}

assemble() {
  local out="$1" ctx="$work/ctx" base name container
  mkdir -p "$ctx/bin" "$ctx/images"
  cp -a "$FILES/files" "$ctx/files"
  cp "$bin_k8s/kubelet" "$bin_k8s/kubeadm" "$bin_k8s/kubectl" "$bin_crictl/crictl" "$ctx/bin/"
  local i
  for i in "${!image_archives[@]}"; do
    ln "${image_archives[$i]}" "$ctx/images/$i.tar" 2>/dev/null || cp "${image_archives[$i]}" "$ctx/images/$i.tar"
  done
  printf '%s\n' "${image_names[@]}" >"$ctx/images.txt"
  image_for pause >"$ctx/pause-image"
  sed "s#@PODNET_IMAGE@#$podnet_image#" "$FILES/files/podnet.yaml.in" >"$ctx/podnet.yaml"

  base="capdkc-build/node-base:${rootfs##*/}"
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    docker import --change 'ENV container=docker' "$rootfs/rootfs.tar" "$base" >/dev/null
  fi
  container="capdkc-node-build-$$"
  docker rm -f "$container" >/dev/null 2>&1 || true
  docker run --name "$container" --network none -v "$ctx:/build:ro" --entrypoint /bin/bash "$base" /build/files/prepare >&2
  local previous
  previous="$(docker image inspect --format '{{.Id}}' "$node_image" 2>/dev/null || true)"
  docker commit "$container" "capdkc-build/node-prepared:$inputs" >/dev/null
  docker rm "$container" >/dev/null
  # kind's conventions: systemd is PID 1 (after the entrypoint's fixups), stops on SIGRTMIN+3,
  # and knows it runs in a container from $container. `docker commit` cannot set a stop
  # signal, so a one-line build does; its FROM is local, nothing is pulled.
  local builder=()
  if ! docker buildx version >/dev/null 2>&1; then builder=(env DOCKER_BUILDKIT=0); fi
  "${builder[@]}" docker build -q -t "$node_image" - >/dev/null 2>&1 <<EOF || die "docker build of $node_image failed"
FROM capdkc-build/node-prepared:$inputs
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
CMD []
LABEL $hash_label=$inputs io.x-k8s.capdkc.kubernetes-version=$k8s_version
EOF
  docker rmi "capdkc-build/node-prepared:$inputs" >/dev/null
  # The image this one replaces is ~1 GB of layers of its own; drop it unless a container uses it.
  if [[ -n "$previous" ]]; then docker rmi "$previous" >/dev/null 2>&1 || true; fi
  mkdir -p "$out.tmp"
  cp "$ctx/podnet.yaml" "$ctx/images.txt" "$out.tmp/"
  printf '%s\n' "$test_image" >"$out.tmp/test-image"
}

main() {
  docker version >/dev/null 2>&1 || die "no Docker daemon answers (run scripts/start-dockerd.sh first)"
  mkdir -p "$cache"
  local total=$SECONDS
  inputs="$(inputs_hash)"
  local result="$cache/out/$inputs"
  if [[ "$(image_label "$node_image")" == "$inputs" && -f "$result/podnet.yaml" ]]; then
    timing "node image $node_image" "$total" "cached"
    print_result "$result"
    return 0
  fi

  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
  command -v go >/dev/null 2>&1 || die "the Go tool is missing: install Go >= 1.21 (GOTOOLCHAIN=auto fetches the rest)"
  export GOTOOLCHAIN="${CAPDKC_GOTOOLCHAIN:-auto}" CGO_ENABLED=0 GOFLAGS="-buildvcs=false"
  exec 9>"$cache/.lock"
  flock 9
  work="$(mktemp -d "$cache/.work.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  log "building $node_image (Kubernetes $k8s_version) in $cache; inputs $inputs"

  # 1. Binaries.
  bin_k8s="$cache/bin/kubernetes-$k8s_version"
  cached_build "kubernetes $k8s_version" "$bin_k8s" build_kubernetes
  images_list="$(kubeadm_images)"
  [[ -n "$images_list" ]] || die "kubeadm config images list printed nothing"
  local etcd_tag coredns_tag etcd_version
  etcd_tag="$(tag_of "$(image_for etcd)")"
  coredns_tag="$(tag_of "$(image_for coredns)")"
  # kubeadm's etcd tags carry an image revision: 3.6.8-0 is etcd v3.6.8.
  etcd_version="v${etcd_tag%-*}"
  local bin_etcd="$cache/bin/etcd-$etcd_version" bin_coredns="$cache/bin/coredns-$coredns_tag"
  bin_crictl="$cache/bin/crictl-$crictl_version"
  cached_build "etcd $etcd_version" "$bin_etcd" build_etcd "$etcd_version"
  cached_build "coredns $coredns_tag" "$bin_coredns" build_coredns "$coredns_tag"
  cached_build "crictl $crictl_version" "$bin_crictl" build_crictl
  local pause_key podnet_key
  pause_key="$(hash_of <"$FILES/pause/main.go")"
  podnet_key="$({ cat "$FILES/podnet/main.go"; echo "$staging_version"; } | hash_of)"
  local bin_pause="$cache/bin/pause-$pause_key" bin_podnet="$cache/bin/podnet-$podnet_key"
  cached_build "pause" "$bin_pause" build_local pause
  # podnet talks to the API server with the client of the same Kubernetes version.
  local netlink_version
  netlink_version="$(sed -n 's#^[[:space:]]*github.com/vishvananda/netlink \(v[^[:space:]]*\).*#\1#p' \
    "$(mod_field "k8s.io/kubernetes@$k8s_version" GoMod)")"
  cached_build "podnet" "$bin_podnet" build_local podnet \
    "k8s.io/client-go@$staging_version" "k8s.io/api@$staging_version" \
    "k8s.io/apimachinery@$staging_version" "github.com/vishvananda/netlink@$netlink_version"

  # 2. Debian rootfs.
  build_base

  # 3. Images, under the exact names kubeadm asks for, plus podnet and the test image.
  image_archives=() image_names=()
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    cached_image "$(image_for "$c")" "$c" "$bin_k8s/$c"
  done
  cached_image "$(image_for kube-proxy)" iptables:kube-proxy "$bin_k8s/kube-proxy"
  cached_image "$(image_for etcd)" etcd "$bin_etcd/etcd" "$bin_etcd/etcdctl"
  # CoreDNS's manifest (kubeadm's addon) passes only arguments: the entrypoint is /coredns.
  cached_image "$(image_for coredns)" coredns "$bin_coredns/coredns"
  cached_image "$(image_for pause)" pause "$bin_pause/pause"
  podnet_image="$local_registry/podnet:$podnet_key"
  cached_image "$podnet_image" iptables:podnet "$bin_podnet/podnet"
  local busybox_version
  busybox_version="$(awk '$1 == "busybox-static" { v = $2; sub(/^[0-9]+:/, "", v); sub(/-[^-]*$/, "", v); print v }' "$rootfs/packages.txt")"
  test_image="$local_registry/busybox:$busybox_version"
  cached_image "$test_image" busybox
  local name
  while read -r name; do
    printf '%s\n' "${image_names[@]}" | grep -qxF "$name" || die "kubeadm asks for $name, which is not built"
  done <<<"$images_list"

  # 4. The node image.
  rm -rf "$result"
  cached_build "node image $node_image" "$result" assemble
  timing "total" "$total"
  print_result "$result"
}

main "$@"
