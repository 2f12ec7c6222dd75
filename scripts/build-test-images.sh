#!/usr/bin/env bash
# Build the images the real-Docker tests use, locally, without pulling anything:
#
#   capdkc-test/node:dev     busybox (shell + coreutils) and a listener on 6443 that answers
#                            with the container's hostname (stand-in for kube-apiserver)
#   capdkc-test/haproxy:dev  Debian's haproxy in master-worker mode (-W): reads
#                            /usr/local/etc/haproxy/haproxy.cfg and reloads on SIGHUP, like
#                            kindest/haproxy
#
# Each image is a rootfs tarball fed to `docker import`. The inputs (this script, the files in
# scripts/test-images/, the busybox and haproxy package versions) are hashed into a label;
# an image with the same label is not rebuilt.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FILES="$HERE/test-images"
NODE_IMAGE="${CAPDKC_NODE_TEST_IMAGE:-capdkc-test/node:dev}"
LB_IMAGE="${CAPDKC_LB_TEST_IMAGE:-capdkc-test/haproxy:dev}"
HASH_LABEL="io.x-k8s.capdkc.test-image-inputs"

log() { echo "build-test-images: $*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

need_packages() {
  local missing=()
  [ -x /bin/busybox ] || missing+=(busybox-static)
  [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

pkg_version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || "$2" 2>&1 | head -n 1; }

inputs_hash() {
  {
    cat "${BASH_SOURCE[0]}" "$FILES"/*
    pkg_version busybox-static "/bin/busybox"
    pkg_version haproxy "/usr/sbin/haproxy -v"
    echo "$1"
  } | sha256sum | cut -c1-16
}

up_to_date() {
  local have
  have="$(docker image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$1" 2>/dev/null || true)"
  [ "$have" = "$2" ]
}

# Copy a dynamically linked binary and the libraries `ldd` lists into a rootfs.
copy_with_libs() {
  local bin="$1" root="$2"
  cp --parents "$bin" "$root"
  ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' | sort -u | while read -r lib; do
    cp --parents -L "$lib" "$root"
  done
}

add_busybox() {
  local root="$1"
  mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/tmp" "$root/etc" "$root/root"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  # One link per applet; applets busybox reports under sbin/usr paths go to /bin too (PATH has it).
  for applet in $(/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\ncapdkc:x:1000:1000:capdkc test user:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\ncapdkc:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
}

import_rootfs() {
  local root="$1" image="$2" hash="$3"; shift 3
  local changes=(--change "LABEL $HASH_LABEL=$hash" --change "ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
  for c in "$@"; do changes+=(--change "$c"); done
  tar --numeric-owner -C "$root" -c . | docker import "${changes[@]}" - "$image" >/dev/null
  log "built $image"
}

build_node() {
  local hash; hash="$(inputs_hash node)"
  if up_to_date "$NODE_IMAGE" "$hash"; then log "$NODE_IMAGE is up to date"; return; fi
  local root; root="$(mktemp -d)"
  add_busybox "$root"
  mkdir -p "$root/usr/local/bin" "$root/run" "$root/var"
  install -m 0755 "$FILES/fake-apiserver" "$root/usr/local/bin/fake-apiserver"
  install -m 0755 "$FILES/node-entrypoint" "$root/usr/local/bin/node-entrypoint"
  import_rootfs "$root" "$NODE_IMAGE" "$hash" 'CMD ["/usr/local/bin/node-entrypoint"]' 'EXPOSE 6443/tcp'
  rm -rf "$root"
}

build_lb() {
  local hash; hash="$(inputs_hash lb)"
  if up_to_date "$LB_IMAGE" "$hash"; then log "$LB_IMAGE is up to date"; return; fi
  local root; root="$(mktemp -d)"
  add_busybox "$root"
  copy_with_libs /usr/sbin/haproxy "$root"
  mkdir -p "$root/usr/local/etc/haproxy" "$root/run" "$root/var/lib/haproxy"
  install -m 0644 "$FILES/haproxy.cfg" "$root/usr/local/etc/haproxy/haproxy.cfg"
  # Validate the shipped config with the very binary we ship.
  /usr/sbin/haproxy -c -q -f "$root/usr/local/etc/haproxy/haproxy.cfg"
  # -W: master-worker; the master re-reads the config and replaces its worker on SIGHUP.
  # -db: stay in the foreground, log to stdout.
  import_rootfs "$root" "$LB_IMAGE" "$hash" \
    'CMD ["/usr/sbin/haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]' \
    'EXPOSE 6443/tcp'
  rm -rf "$root"
}

docker version >/dev/null 2>&1 || { log "no Docker daemon answers (run scripts/start-dockerd.sh first)"; exit 1; }
need_packages
build_node
build_lb
