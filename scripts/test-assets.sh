#!/usr/bin/env bash
# Builds the real control plane used by the layer-5 tests (kube-apiserver, etcd, the Cluster API
# core manager and its CRDs) from Go modules, caches it by version and prints its directory.
#
#   export KUBEBUILDER_ASSETS="$(bash scripts/test-assets.sh | tail -n1)"
#
# Why from Go modules: no release download or container image is reachable in CI, but the Go
# module proxy is. The layout matches `setup-envtest` output, so readers with internet access can
# point KUBEBUILDER_ASSETS at that instead (the Cluster API parts are then skipped by the tests).
#
# Layout of the printed directory:
#   kube-apiserver  etcd  cluster-api-manager  crds/cluster-api/*.yaml  versions.txt
#   kubeadm-bootstrap-manager  crds/kubeadm-bootstrap/*.yaml
#   kubeadm-control-plane-manager  crds/kubeadm-control-plane/*.yaml
#   webhooks/{cluster-api,kubeadm-bootstrap,kubeadm-control-plane}.yaml  (each manager's webhook
#     configurations, pointing at a Service; a test that wants defaulting and validation points
#     them at the manager it runs)
#   clusterctl   (the same Cluster API version: `clusterctl generate cluster` in the quick-start test)
# A cache directory made before a part was added gains that part on the next run; the parts it
# already has are not rebuilt.
#
# Environment (all optional):
#   CAPDKC_K8S_VERSION   k8s.io/kubernetes tag (default below; CAPI v1.14 manages v1.33-v1.36)
#   CAPDKC_ETCD_VERSION  go.etcd.io/etcd/server/v3 tag
#   CAPDKC_CAPI_VERSION  sigs.k8s.io/cluster-api tag
#   CAPDKC_TEST_ASSETS_ROOT  cache root (default: $XDG_CACHE_HOME/capdkc/test-assets)
#   CAPDKC_GOTOOLCHAIN   GOTOOLCHAIN for the builds (default: auto)
#   GOMODCACHE, GOCACHE, GOPROXY  as usual for Go
#
# Only the path goes to stdout; progress goes to stderr. A second run with everything present
# does not start the Go tool at all. Everything runs from `main`, called on the last line, so the
# whole file is parsed before a long build starts (editing it meanwhile cannot break that run).
set -euo pipefail
# A failing command inside $(...) must stop the script too, not only print nothing.
shopt -s inherit_errexit

k8s_version="${CAPDKC_K8S_VERSION:-v1.36.3}"
# Kubernetes v1.36 is built against the etcd v3.6 client; any v3.6 server patch release fits.
etcd_version="${CAPDKC_ETCD_VERSION:-v3.6.16}"
capi_version="${CAPDKC_CAPI_VERSION:-v1.14.2}"

# The kubernetes module pins its staging modules (k8s.io/api, ...) at v0.0.0 and replaces them with
# local directories, which a dependent module cannot see: v1.X.Y maps to staging tag v0.X.Y.
staging_version="v0.${k8s_version#v1.}"

cache_root="${CAPDKC_TEST_ASSETS_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/capdkc/test-assets}"
out="$cache_root/k8s-${k8s_version}_etcd-${etcd_version}_capi-${capi_version}"

log() { printf 'test-assets: %s\n' "$*" >&2; }

# The Cluster API managers: binary name, Go package under sigs.k8s.io/cluster-api, CRD directory
# under crds/, and that package's CRDs in the module (all three live in the one cluster-api module).
capi_managers=(
  "cluster-api-manager core cluster-api core/config/crd/bases"
  "kubeadm-bootstrap-manager bootstrap/kubeadm kubeadm-bootstrap bootstrap/kubeadm/config/crd/bases"
  "kubeadm-control-plane-manager controlplane/kubeadm kubeadm-control-plane controlplane/kubeadm/config/crd/bases"
)

complete() {
  [[ -x "$out/kube-apiserver" && -x "$out/etcd" && -x "$out/clusterctl" && -f "$out/versions.txt" ]] || return 1
  local manager binary package crds src
  for manager in "${capi_managers[@]}"; do
    read -r binary package crds src <<<"$manager"
    [[ -x "$out/$binary" && -f "$out/webhooks/$crds.yaml" ]] &&
      compgen -G "$out/crds/$crds/*.yaml" >/dev/null || return 1
  done
}

# Prints the value of one field of `go mod download -json` for module@version.
mod_field() {
  local json
  if ! json="$(go mod download -json "$1")"; then
    # The reason is in the JSON on stdout, not on stderr.
    log "cannot download $1: $(sed -n 's/^[[:space:]]*"Error": "\(.*\)",\{0,1\}$/\1/p' <<<"$json")"
    return 1
  fi
  sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}$/\1/p" <<<"$json"
}

# new_module NAME: a fresh main module in its own directory; prints the directory.
new_module() {
  local dir="$work/$1"
  mkdir -p "$dir"
  (cd "$dir" && go mod init "capdkc.invalid/test-assets/$1" >/dev/null 2>&1)
  printf '%s\n' "$dir"
}

# timed NAME COMMAND...: runs COMMAND and logs how long it took.
timed() {
  local name="$1" start=$SECONDS
  shift
  "$@"
  log "$name built in $((SECONDS - start)) s"
}

build_kube_apiserver() {
  local dir gomod
  dir="$(new_module kube-apiserver)"
  gomod="$(mod_field "k8s.io/kubernetes@$k8s_version" GoMod)"
  # Pin every staging module the kubernetes go.mod replaces locally to its published tag.
  local replaces=()
  while read -r module; do
    replaces+=("-replace=$module=$module@$staging_version")
  done < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/.*#\1#p' "$gomod")
  if ((${#replaces[@]} == 0)); then
    log "no staging modules found in $gomod"
    return 1
  fi
  local version_pkg=k8s.io/component-base/version
  (
    cd "$dir"
    go mod edit "${replaces[@]}"
    go get "k8s.io/kubernetes/cmd/kube-apiserver@$k8s_version"
    # The release scripts stamp the version; unstamped, /version says v0.0.0-master and the
    # Cluster API manager refuses the server as older than its minimum management cluster version.
    go build -trimpath -o "$out/.kube-apiserver.tmp" \
      -ldflags "-s -w -X $version_pkg.gitVersion=$k8s_version -X $version_pkg.gitTreeState=clean" \
      k8s.io/kubernetes/cmd/kube-apiserver
  )
  mv -f "$out/.kube-apiserver.tmp" "$out/kube-apiserver"
}

build_etcd() {
  local dir
  dir="$(new_module etcd)"
  # The server module's own go.mod replaces its sibling modules with local paths, so
  # `go install ...@version` refuses it; as a dependency its requirements apply instead.
  (
    cd "$dir"
    go get "go.etcd.io/etcd/server/v3@$etcd_version"
    go build -trimpath -ldflags "-s -w" -o "$out/.etcd.tmp" go.etcd.io/etcd/server/v3
  )
  mv -f "$out/.etcd.tmp" "$out/etcd"
}

# build_capi_manager BINARY PACKAGE: one Cluster API program (a manager, clusterctl) from the
# cluster-api module.
build_capi_manager() {
  local binary="$1" package="sigs.k8s.io/cluster-api/$2" dir
  dir="$(new_module "$binary")"
  local version_pkg=sigs.k8s.io/cluster-api/version
  (
    cd "$dir"
    # cluster-api requires its api module at a placeholder version and replaces it locally;
    # the api module is published under the same tag (api/vX.Y.Z).
    go mod edit "-replace=sigs.k8s.io/cluster-api/api=sigs.k8s.io/cluster-api/api@$capi_version"
    go get "$package@$capi_version"
    go build -trimpath -o "$out/.$binary.tmp" \
      -ldflags "-s -w -X $version_pkg.gitVersion=$capi_version -X $version_pkg.gitTreeState=clean" \
      "$package"
  )
  mv -f "$out/.$binary.tmp" "$out/$binary"
}

# copy_capi_crds NAME SRC: the CRDs under SRC in the cluster-api module into crds/NAME/.
copy_capi_crds() {
  local name="$1" src
  src="$(mod_field "sigs.k8s.io/cluster-api@$capi_version" Dir)/$2"
  if ! compgen -G "$src/*.yaml" >/dev/null; then
    log "no CRDs under $src"
    return 1
  fi
  rm -rf "$out/.crds-$name.tmp"
  mkdir -p "$out/.crds-$name.tmp" "$out/crds"
  # The module cache is read-only; the copies must be removable with the cache directory.
  install -m 0644 "$src"/*.yaml "$out/.crds-$name.tmp/"
  rm -rf "${out:?}/crds/$name"
  mv "$out/.crds-$name.tmp" "$out/crds/$name"
}

# copy_capi_webhooks NAME CRD_SRC: the webhook configurations beside the CRDs (config/webhook/
# next to config/crd/bases) into webhooks/NAME.yaml.
copy_capi_webhooks() {
  local name="$1" src
  src="$(mod_field "sigs.k8s.io/cluster-api@$capi_version" Dir)/${2%/crd/bases}/webhook/manifests.yaml"
  if [[ ! -f "$src" ]]; then
    log "no webhook configurations at $src"
    return 1
  fi
  mkdir -p "$out/webhooks"
  install -m 0644 "$src" "$out/webhooks/.$name.yaml.tmp"
  mv -f "$out/webhooks/.$name.yaml.tmp" "$out/webhooks/$name.yaml"
}

main() {
  if complete; then
    log "cached: $out"
    printf '%s\n' "$out"
    return 0
  fi

  # The official Go distribution installs here; a non-login shell may not have it on PATH.
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
  fi
  if ! command -v go >/dev/null 2>&1; then
    log "the Go tool is missing: install Go >= 1.21 (e.g. Debian's golang-go); GOTOOLCHAIN=auto then fetches the toolchain these modules need through the module proxy"
    exit 1
  fi

  mkdir -p "$out"
  # Two test runs starting at once must not build the same binary twice into the same place.
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache_root/.lock"
    flock 9
  fi

  # A newer Go than the installed one is fetched through the module proxy when a go.mod asks for it.
  export GOTOOLCHAIN="${CAPDKC_GOTOOLCHAIN:-auto}"
  # Static binaries: they run on any Linux without the build machine's libc.
  export CGO_ENABLED=0
  # The throwaway modules are no VCS checkouts; keep Go from asking git about them.
  export GOFLAGS="-buildvcs=false"

  work="$(mktemp -d "${TMPDIR:-/tmp}/capdkc-test-assets.XXXXXX")"
  trap 'rm -rf "$work"' EXIT

  log "building into $out (Go: $(go version))"
  if [[ ! -x "$out/kube-apiserver" ]]; then timed "kube-apiserver $k8s_version" build_kube_apiserver; fi
  if [[ ! -x "$out/etcd" ]]; then timed "etcd $etcd_version" build_etcd; fi
  local manager binary package crds src
  for manager in "${capi_managers[@]}"; do
    read -r binary package crds src <<<"$manager"
    if [[ ! -x "$out/$binary" ]]; then timed "$binary $capi_version" build_capi_manager "$binary" "$package"; fi
    if ! compgen -G "$out/crds/$crds/*.yaml" >/dev/null; then copy_capi_crds "$crds" "$src"; fi
    if [[ ! -f "$out/webhooks/$crds.yaml" ]]; then copy_capi_webhooks "$crds" "$src"; fi
  done
  if [[ ! -x "$out/clusterctl" ]]; then
    timed "clusterctl $capi_version" build_capi_manager clusterctl cmd/clusterctl
  fi

  cat >"$out/versions.txt" <<EOF
kubernetes $k8s_version (staging $staging_version)
etcd $etcd_version
cluster-api $capi_version
go $(go version "$out/kube-apiserver" | sed 's/.*: //')
EOF

  if ! complete; then
    log "incomplete: $out"
    exit 1
  fi
  printf '%s\n' "$out"
}

main "$@"
