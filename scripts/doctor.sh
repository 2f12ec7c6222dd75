#!/usr/bin/env bash
# Checks what the book and the workshop need, chapter by chapter, and prints a fix for every
# problem it finds.
#
#   scripts/doctor.sh
#
# Exit status 1 only for blockers: a required tool missing or too old, Docker not answering, too
# little memory or disk for Docker, a management cluster without the Docker socket, upstream CAPD
# (or another provider's dockerclusters CRD) in the current cluster. Everything else (optional
# tools, few CPUs, inotify limits, no kind network yet, rootless Docker) is a warning.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

blockers=0
warnings=0
if [ -t 1 ]; then
  ok=$'\e[32mok\e[0m     '; bad=$'\e[31m'; warn=$'\e[33m'; off=$'\e[0m'
else
  ok='ok     '; bad=; warn=; off=
fi

# line NAME STATUS TEXT: one aligned line per check.
pass() { printf '%-12s %s %s\n' "$1" "$ok" "$2"; }
block() { printf '%-12s %s%-7s%s %s\n' "$1" "$bad" "$2" "$off" "$3"; blockers=$((blockers + 1)); }
caution() { printf '%-12s %s%-7s%s %s\n' "$1" "$warn" "$2" "$off" "$3"; warnings=$((warnings + 1)); }
note() { printf '%-12s %-7s %s\n' "$1" "$2" "$3"; }
section() { printf '\n== %s\n' "$1"; }

# Prints the first x.y.z found in the text on stdin.
first_version() { grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1; }
# True if version $1 >= version $2.
at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }
have() { command -v "$1" >/dev/null 2>&1; }

# tool | minimum | tested | needed from | version command | how to install
REQUIRED=(
  "docker|20.10.0|28.2.2|setup|docker version --format {{.Client.Version}}|Docker Desktop, or Docker Engine from your distribution"
  "kind|0.32.0|0.33.0|setup|kind version|https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
  "kubectl|1.33.0|1.36.4|setup|kubectl version --client|https://kubernetes.io/docs/tasks/tools/"
  "clusterctl|1.14.0|1.14.2|setup|clusterctl version -o short|the v1.14.2 binary from github.com/kubernetes-sigs/cluster-api/releases"
  "tilt|0.37.0|0.37.7|chapter 2|tilt version|https://docs.tilt.dev/install.html"
  "kustomize|5.8.0|5.8.1|chapter 2|kustomize version|scripts/install-kustomize.sh, or https://kubectl.docs.kubernetes.io/installation/kustomize/"
)
# tool | minimum | what for | version command | how to install
OPTIONAL=(
  "shellcheck|0.9.0|linting scripts/*.sh|shellcheck --version|your package manager (shellcheck)"
  "go|1.21.0|scripts/test-assets.sh (the real API server tests)|go version|https://go.dev/dl/ (GOTOOLCHAIN=auto fetches newer toolchains)"
  "chromium|120.0.0|scripts/check-book-in-browser.sh|chromium --version|your package manager (chromium)"
)

section "Tools"

# Rust: the toolchain rust-toolchain.toml pins, checked without making rustup download it.
channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml 2>/dev/null)
channel=${channel:-stable}
if have rustup; then
  if rustup toolchain list 2>/dev/null | grep -q "^$channel-"; then
    installed=$(rustup component list --toolchain "$channel" --installed 2>/dev/null)
    missing=""
    for component in rustfmt clippy; do
      echo "$installed" | grep -q "^$component" || missing="$missing $component"
    done
    if [ -n "$missing" ]; then
      caution rust WARN "toolchain $channel lacks$missing: rustup component add --toolchain $channel$missing"
    else
      pass rust "toolchain $channel with rustfmt and clippy (rust-toolchain.toml)"
    fi
  else
    block rust MISSING "toolchain $channel (rust-toolchain.toml) is not installed: rustup toolchain install $channel --component rustfmt,clippy"
  fi
elif have rustc; then
  version=$(rustc --version 2>/dev/null | first_version)
  if [ -n "$version" ] && at_least "$version" "$channel"; then
    pass rust "rustc $version without rustup (rust-toolchain.toml asks for $channel)"
  else
    block rust "TOO OLD" "rustc ${version:-?} is older than $channel: install rustup (https://rustup.rs)"
  fi
else
  block rust MISSING "needed from chapter 1: install rustup (https://rustup.rs); it reads rust-toolchain.toml"
fi
if have cargo; then
  version=$(RUSTUP_AUTO_INSTALL=0 cargo --version 2>/dev/null | first_version)
  pass cargo "${version:-present}"
else
  block cargo MISSING "comes with rustup (https://rustup.rs)"
fi

for row in "${REQUIRED[@]}"; do
  IFS='|' read -r tool minimum tested needed command install <<<"$row"
  if ! have "$tool"; then
    block "$tool" MISSING "needed from $needed (tested with $tested): $install"
    continue
  fi
  version=$($command 2>/dev/null | first_version)
  if [ -z "$version" ]; then
    block "$tool" UNKNOWN "\"$command\" printed no version"
  elif ! at_least "$version" "$minimum"; then
    block "$tool" "TOO OLD" "$version is older than $minimum, needed from $needed (tested $tested): $install"
  elif [ "$tool" = clusterctl ] && [ "${version%.*}" != "${tested%.*}" ]; then
    caution "$tool" WARN "$version: the book pins Cluster API v1.14.2; clusterctl ${version%.*} is untested here (tested $tested)"
  else
    pass "$tool" "$version (minimum $minimum, tested $tested)"
  fi
done

for row in "${OPTIONAL[@]}"; do
  IFS='|' read -r tool minimum purpose command install <<<"$row"
  if [ "$tool" = chromium ] && ! have chromium; then
    for other in chromium-browser google-chrome; do
      if have "$other"; then tool=$other; command="$other --version"; break; fi
    done
  fi
  if ! have "$tool"; then
    note "$tool" "-" "not installed (optional, for $purpose): $install"
    continue
  fi
  version=$($command 2>/dev/null | first_version)
  if [ -n "$version" ] && at_least "$version" "$minimum"; then
    pass "$tool" "$version (optional, for $purpose)"
  else
    note "$tool" "old" "${version:-unknown version}, older than $minimum (optional, for $purpose)"
  fi
done

section "Docker (from setup on)"

docker_up=false
if ! have docker; then
  note dockerd "-" "skipped: no docker client"
elif ! server=$(docker version --format '{{.Server.Version}}|{{.Server.APIVersion}}' 2>/dev/null) || [ -z "$server" ]; then
  block dockerd DOWN "the Docker daemon does not answer: start Docker Desktop, or sudo systemctl start docker; on Linux, 'permission denied' on /var/run/docker.sock means: sudo usermod -aG docker \$USER, then log in again"
else
  docker_up=true
  IFS='|' read -r server_version api_version <<<"$server"
  if ! at_least "$(echo "$server_version" | first_version)" 20.10.0 || ! at_least "$api_version.0" 1.41.0; then
    block dockerd "TOO OLD" "engine $server_version (API $api_version); the provider needs Docker 20.10 (API 1.41) or newer"
  else
    pass dockerd "engine $server_version, API $api_version"
  fi
fi

if $docker_up; then
  IFS='|' read -r ncpu mem_bytes root_dir os security <<<"$(docker info --format '{{.NCPU}}|{{.MemTotal}}|{{.DockerRootDir}}|{{.OperatingSystem}}|{{json .SecurityOptions}}' 2>/dev/null)"
  gib=$((1024 * 1024 * 1024))
  if [ "${ncpu:-0}" -lt 2 ]; then
    block cpus SMALL "Docker has ${ncpu:-0} CPU: kubeadm needs 2 per control-plane node; give Docker 4"
  elif [ "$ncpu" -lt 4 ]; then
    caution cpus SMALL "Docker has $ncpu CPUs: clusters come up slowly; 4 or more recommended (Docker Desktop: Settings > Resources)"
  else
    pass cpus "Docker has $ncpu CPUs"
  fi
  # Docker Desktop's "8 GB" shows as about 7.7 GiB inside its VM.
  if [ "${mem_bytes:-0}" -lt $((7 * gib)) ]; then
    block memory SMALL "Docker has $(awk -v b="${mem_bytes:-0}" 'BEGIN { printf "%.1f", b / 1073741824 }') GiB: the management and a workload cluster need 8 GB (Docker Desktop: Settings > Resources)"
  else
    pass memory "Docker has $(awk -v b="$mem_bytes" 'BEGIN { printf "%.1f", b / 1073741824 }') GiB"
  fi
  # Free disk where Docker keeps images and containers, when that directory is on this machine.
  if [[ "$os" != *"Docker Desktop"* ]] && [ -d "$root_dir" ] && free_kb=$(df -Pk "$root_dir" 2>/dev/null | awk 'NR == 2 { print $4 }') && [ -n "$free_kb" ]; then
    if [ "$free_kb" -lt $((20 * 1024 * 1024)) ]; then
      block disk LOW "$((free_kb / 1024 / 1024)) GB free in $root_dir; node images and clusters need 20 GB: docker system prune, or free space"
    else
      pass disk "$((free_kb / 1024 / 1024)) GB free in $root_dir"
    fi
  else
    note disk "?" "Docker keeps its data in a VM ($os): check 20 GB free there (Docker Desktop: Settings > Resources > Disk; docker system df)"
  fi
  if [[ "$security" == *rootless* ]]; then
    caution rootless WARN "rootless Docker: kind node containers need privileged mode and cgroup delegation (kind's rootless guide); a rootful engine is the tested setup"
  fi
fi

if [ "$(uname -s)" = Linux ] && [ -r /proc/sys/fs/inotify/max_user_watches ]; then
  watches=$(cat /proc/sys/fs/inotify/max_user_watches)
  instances=$(cat /proc/sys/fs/inotify/max_user_instances)
  if [ "$watches" -lt 524288 ] || [ "$instances" -lt 512 ]; then
    caution inotify LOW "max_user_watches=$watches, max_user_instances=$instances: Tilt misses changes and kind nodes fail with 'too many open files'. Fix: sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 (keep it in /etc/sysctl.d/99-kind.conf)"
  else
    pass inotify "max_user_watches=$watches, max_user_instances=$instances"
  fi
fi

section "Clusters: kind and the current kubectl context"

management=capdkc-mgmt
if $docker_up; then
  if docker network inspect kind >/dev/null 2>&1; then
    pass network "the kind network exists (workload nodes join it)"
  else
    caution network WARN "no kind network yet: the first kind create cluster makes it (Setup); workload nodes cannot start without it"
  fi
  if have kind && kind get clusters 2>/dev/null | grep -qx "$management"; then
    node="$management-control-plane"
    if [ "$(docker inspect -f '{{.State.Running}}' "$node" 2>/dev/null)" != true ]; then
      block cluster STOPPED "the kind node $node is not running: docker start $node"
    elif docker inspect -f '{{range .Mounts}}{{.Destination}} {{end}}' "$node" 2>/dev/null | grep -q '/var/run/docker.sock'; then
      pass cluster "kind cluster $management, with the Docker socket mounted"
    else
      block cluster SOCKET "kind cluster $management has no /var/run/docker.sock mount, so the provider cannot run in it: kind delete cluster --name $management && scripts/create-management-cluster.sh"
    fi
  else
    note cluster "-" "no kind cluster $management yet: scripts/create-management-cluster.sh (Setup)"
  fi
fi

# Upstream CAPD, or another provider's CRDs with our names, in the current cluster.
if have kubectl && kubectl get --raw /readyz --request-timeout=5s >/dev/null 2>&1; then
  context=$(kubectl config current-context 2>/dev/null)
  crd=dockerclusters.infrastructure.cluster.x-k8s.io
  if kubectl get namespace capd-system >/dev/null 2>&1 \
    || kubectl get providers.clusterctl.cluster.x-k8s.io -A -o name 2>/dev/null | grep -q '/infrastructure-docker$'; then
    block capd CONFLICT "context $context runs upstream CAPD (clusterctl init --infrastructure docker): its CRDs have our names. Use a cluster of its own (scripts/create-management-cluster.sh), or clusterctl delete --infrastructure docker --include-crd"
  elif found=$(kubectl get crd "$crd" -o jsonpath='{.metadata.labels.cluster\.x-k8s\.io/provider}|{.spec.versions[*].name}' 2>/dev/null); then
    IFS='|' read -r provider versions <<<"$found"
    if [ "$provider" = infrastructure-docker ] || [[ " $versions " != *" v1alpha1 "* ]]; then
      block crd CONFLICT "context $context has a $crd from another provider (label '${provider:-none}', versions $versions): kubectl delete crd $crd, or use a cluster of its own"
    else
      pass crd "context $context: $crd is ours (versions $versions)"
    fi
  else
    pass capd "context $context: no CAPD, no dockerclusters CRD yet"
  fi
else
  note capd "-" "no cluster answers on the current kubectl context: CAPD check skipped (fine before Setup)"
fi

echo
if [ "$blockers" -gt 0 ]; then
  echo "doctor: $blockers blocker(s) and $warnings warning(s) above; each line says how to fix it. The Prerequisites chapter and the Troubleshooting appendix have more."
  exit 1
fi
echo "doctor: no blockers ($warnings warning(s)). Next: scripts/prepull-images.sh and cargo build --workspace --locked."
