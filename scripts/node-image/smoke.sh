#!/usr/bin/env bash
# Smoke test of the node image (scripts/build-node-image.sh): a two-node cluster made by hand
# with kubeadm, as Cluster API's kubeadm bootstrap provider would make it.
#
#   bash scripts/node-image/smoke.sh
#
#  1. builds (or finds cached) the node image;
#  2. starts a control-plane node container on a new Docker network and runs `kubeadm init`;
#  3. applies the pod network (podnet) and waits for the Node to be Ready and a pod to run;
#  4. starts a second node container, `kubeadm join`s it, waits for it to be Ready;
#  5. checks that pods on the two nodes reach each other by pod IP, and that CoreDNS is ready;
#  6. stops and restarts the second node and checks the pods reach each other again.
# Prints each phase's duration; exits non-zero on the first failure, after printing the
# node's kubelet journal and the pods. Removes its containers and network on exit.
#
# Environment (all optional):
#   CAPDKC_SMOKE_PRIVILEGED=1  run the nodes --privileged instead of the capability profile
#   CAPDKC_SMOKE_KEEP=1        leave the containers and network behind
#   CAPDKC_SMOKE_NAME          prefix of the container and network names (default capdkc-smoke)
#   CAPDKC_SMOKE_TIMEOUT       seconds each wait may take (default 300)
set -euo pipefail
shopt -s inherit_errexit

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
name="${CAPDKC_SMOKE_NAME:-capdkc-smoke}"
timeout_s="${CAPDKC_SMOKE_TIMEOUT:-300}"
network="$name"
cp_node="$name-control-plane"
worker="$name-worker"
pod_subnet=10.244.0.0/16
service_subnet=10.96.0.0/16

log() { printf 'smoke: %s\n' "$*" >&2; }
phase_start=$SECONDS
phase() {
  log "phase '$1' took $((SECONDS - phase_start)) s"
  printf '%-34s %4d s\n' "$1" "$((SECONDS - phase_start))" >>"$summary"
  phase_start=$SECONDS
}

summary="$(mktemp)"
failed=1
cleanup() {
  local rc=$?
  if ((failed)); then diagnose || true; fi
  if [[ "${CAPDKC_SMOKE_KEEP:-}" != 1 ]]; then
    docker rm -f "$cp_node" "$worker" >/dev/null 2>&1 || true
    docker network rm "$network" >/dev/null 2>&1 || true
  fi
  log "phase durations:"
  cat "$summary" >&2
  rm -f "$summary"
  if ((failed)); then log "FAILED"; else log "PASSED"; fi
  exit "$rc"
}

kubectl() { docker exec -i "$cp_node" kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }

diagnose() {
  local node
  for node in "$cp_node" "$worker"; do
    docker inspect "$node" >/dev/null 2>&1 || continue
    log "---- $node: docker logs (tail)"
    docker logs --tail 30 "$node" 2>&1 | sed 's/^/    /' >&2 || true
    log "---- $node: failed units, kubelet journal (tail)"
    docker exec "$node" systemctl --failed --no-pager 2>&1 | sed 's/^/    /' >&2 || true
    docker exec "$node" journalctl -u kubelet --no-pager -n 40 2>&1 | sed 's/^/    /' >&2 || true
    docker exec "$node" crictl ps -a 2>&1 | sed 's/^/    /' >&2 || true
  done
  if docker exec "$cp_node" test -f /etc/kubernetes/admin.conf 2>/dev/null; then
    log "---- nodes and pods"
    kubectl get nodes -o wide 2>&1 | sed 's/^/    /' >&2 || true
    kubectl get pods -A -o wide 2>&1 | sed 's/^/    /' >&2 || true
    kubectl get events -A --sort-by=.lastTimestamp 2>&1 | tail -n 25 | sed 's/^/    /' >&2 || true
    log "---- CoreDNS and podnet logs (tail)"
    kubectl -n kube-system logs -l k8s-app=kube-dns --tail 10 2>&1 | sed 's/^/    /' >&2 || true
    kubectl -n kube-system logs -l app=capdkc-podnet --tail 10 2>&1 | sed 's/^/    /' >&2 || true
  fi
}

# until_ok DESCRIPTION COMMAND...: retries COMMAND every 2 s until it succeeds or time is up.
until_ok() {
  local what="$1" deadline=$((SECONDS + timeout_s))
  shift
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${timeout_s}s waiting for: $what"
      return 1
    fi
    sleep 2
  done
}

# The container flags: privileged where asked, else the profile that works where
# --privileged is refused (see README.md: no CAP_SYS_RESOURCE here).
security_flags() {
  if [[ "${CAPDKC_SMOKE_PRIVILEGED:-}" == 1 ]]; then
    printf '%s\n' --privileged
    return
  fi
  printf '%s\n' --cap-add ALL --cap-drop SYS_RESOURCE \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm'
}

start_node() {
  local node="$1" flags=()
  mapfile -t flags < <(security_flags)
  # Only where the machine has modules for the running kernel: an empty /lib/modules (Docker
  # creates one for any -v of a missing path) that is later removed leaves the node a deleted
  # directory, and every pod that mounts it (kube-proxy) then fails to start.
  if [[ -d "/lib/modules/$(uname -r)" ]]; then flags+=(-v /lib/modules:/lib/modules:ro); fi
  docker run -d --name "$node" --hostname "$node" --network "$network" \
    "${flags[@]}" --cgroupns private --tmpfs /run --tmpfs /tmp -v /var \
    --label io.x-k8s.capdkc.smoke="$name" "$CAPDKC_NODE_IMAGE" >/dev/null
}

system_up() {
  local state
  state="$(docker exec "$1" systemctl is-system-running 2>/dev/null || true)"
  [[ "$state" == running || "$state" == degraded ]]
}

node_ip() { docker inspect -f "{{ (index .NetworkSettings.Networks \"$network\").IPAddress }}" "$1"; }

cgroup_v1() { [[ "$(docker exec "$1" stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]]; }

# The kubelet settings CAPD and kind use for nodes in containers (README.md says why).
kubelet_args() {
  cat <<EOF
  kubeletExtraArgs:
    - name: cgroup-root
      value: /kubelet
    - name: runtime-cgroups
      value: /system.slice/containerd.service
    - name: eviction-hard
      value: nodefs.available<0%,nodefs.inodesFree<0%,imagefs.available<0%
    - name: image-gc-high-threshold
      value: "100"
    - name: fail-swap-on
      value: "false"
EOF
  if cgroup_v1 "$1"; then
    cat <<EOF
    - name: fail-cgroupv1
      value: "false"
EOF
  fi
}

# Preflight checks that cannot pass here; see README.md. Only one: on a cgroup v1 host
# kubeadm's SystemVerification refuses cgroup v1 for kubelet >= 1.35 even when the kubelet is
# configured to accept it (the error message itself says to skip the check).
preflight_args() {
  if cgroup_v1 "$1"; then printf '%s\n' --ignore-preflight-errors SystemVerification; fi
}

ready() { [[ "$(kubectl get node "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" == True ]]; }
pod_running() { [[ "$(kubectl get pod "$1" -o 'jsonpath={.status.phase}')" == Running ]]; }

restarted() {
  local n
  n="$(kubectl get pod "$1" -o 'jsonpath={.status.containerStatuses[0].restartCount}')"
  ((${n:-0} >= 1)) &&
    [[ "$(kubectl get pod "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}

pod_ip() { kubectl get pod "$1" -o 'jsonpath={.status.podIP}'; }

# http_get POD IP: from inside POD, GET / from the web server on IP:8080. With busybox's nc:
# Debian's static busybox wget dies of SIGSEGV (exit 139) in this image, even for 127.0.0.1.
http_get() {
  local out
  out="$(kubectl exec "$1" -- sh -c "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $2 8080" | tr -d '\r')"
  [[ -n "$out" ]] && printf '%s\n' "$out"
}

# reach FROM TO: the pod FROM gets the page of the pod TO, by pod IP.
reach() {
  local ip answer
  ip="$(pod_ip "$2")"
  until_ok "$1 reaches $2 ($ip)" http_get "$1" "$ip"
  answer="$(http_get "$1" "$ip" | tail -n 1)"
  [[ "$answer" == "$2" ]] || { log "$1 -> $2 ($ip): unexpected answer '$answer'"; return 1; }
  log "$1 ($(pod_ip "$1")) -> $2 ($ip): '$answer'"
}

web_server_command() {
  printf 'mkdir -p /www && echo %s >/www/index.html && httpd -p 8080 -h /www && exec sleep 100000' "$1"
}

run_pod() {
  local pod="$1" node="$2"
  shift 2
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $pod
spec:
  nodeName: $node
  tolerations:
    - operator: Exists
  terminationGracePeriodSeconds: 1
  containers:
    - name: main
      image: $CAPDKC_TEST_IMAGE
      imagePullPolicy: Never
      command: ["sh", "-c", "$*"]
EOF
}

main() {
  trap cleanup EXIT
  docker rm -f "$cp_node" "$worker" >/dev/null 2>&1 || true
  docker network rm "$network" >/dev/null 2>&1 || true

  local build
  build="$(bash "$HERE/../build-node-image.sh")"
  eval "$build"
  log "image $CAPDKC_NODE_IMAGE, CNI manifest $CAPDKC_CNI_MANIFEST, test image $CAPDKC_TEST_IMAGE"
  phase "build node image (cached if fast)"

  docker network create "$network" >/dev/null
  start_node "$cp_node"
  until_ok "systemd in $cp_node" system_up "$cp_node"
  phase "control-plane container boots"

  local cp_ip token
  cp_ip="$(node_ip "$cp_node")"
  token="$(docker exec "$cp_node" kubeadm token generate)"
  docker exec -i "$cp_node" sh -c 'cat >/etc/kubernetes/kubeadm.yaml' <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
  - token: $token
    ttl: 1h
localAPIEndpoint:
  advertiseAddress: $cp_ip
  bindPort: 6443
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
$(kubelet_args "$cp_node")
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: $(docker exec "$cp_node" kubeadm version -o short)
controlPlaneEndpoint: $cp_ip:6443
networking:
  podSubnet: $pod_subnet
  serviceSubnet: $service_subnet
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
conntrack:
  # nf_conntrack_max is not per network namespace: leave the host's alone.
  maxPerCore: 0
EOF
  log "kubeadm init on $cp_node ($cp_ip)"
  local args=()
  mapfile -t args < <(preflight_args "$cp_node")
  docker exec "$cp_node" kubeadm init --config /etc/kubernetes/kubeadm.yaml "${args[@]}" --skip-token-print >&2
  phase "kubeadm init"

  kubectl apply -f - <"$CAPDKC_CNI_MANIFEST" >&2
  until_ok "node $cp_node Ready" ready "$cp_node"
  phase "pod network applied, first node Ready"

  # Each test pod serves its own name on :8080 (busybox httpd) and stays up with sleep.
  run_pod pod-a "$cp_node" "$(web_server_command pod-a)"
  until_ok "pod pod-a Running" pod_running pod-a
  phase "first pod runs"

  start_node "$worker"
  until_ok "systemd in $worker" system_up "$worker"
  docker exec -i "$worker" sh -c 'cat >/etc/kubernetes/kubeadm-join.yaml' <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: $cp_ip:6443
    token: $token
    unsafeSkipCAVerification: true
nodeRegistration:
  criSocket: unix:///run/containerd/containerd.sock
$(kubelet_args "$worker")
EOF
  log "kubeadm join on $worker"
  mapfile -t args < <(preflight_args "$worker")
  docker exec "$worker" kubeadm join --config /etc/kubernetes/kubeadm-join.yaml "${args[@]}" >&2
  phase "second node boots and joins"
  until_ok "node $worker Ready" ready "$worker"
  phase "second node Ready"

  run_pod pod-b "$worker" "$(web_server_command pod-b)"
  until_ok "pod pod-b Running" pod_running pod-b
  reach pod-a pod-b
  reach pod-b pod-a
  phase "pod-to-pod across nodes"

  until_ok "CoreDNS ready" kubectl -n kube-system wait --for=condition=Available deployment/coredns --timeout=5s
  phase "CoreDNS available"

  # A node container restarts like a machine: same disk (the /var volume), new boot.
  docker stop -t 60 "$worker" >/dev/null
  phase "second node stops (docker stop)"
  docker start "$worker" >/dev/null
  until_ok "systemd in $worker" system_up "$worker"
  # The Node may still look Ready from before; pod-b's restart proves the kubelet is back,
  # and new requests in both directions prove the pod network is.
  until_ok "pod-b restarted on $worker" restarted pod-b
  reach pod-a pod-b
  reach pod-b pod-a
  phase "second node restarts, pods reach each other again"

  # Everything came from the preload: containerd logs each CRI PullImage call.
  local node pulls
  for node in "$cp_node" "$worker"; do
    pulls="$(docker exec "$node" journalctl -u containerd --no-pager -b | grep -c 'PullImage' || true)"
    if ((pulls > 0)); then
      docker exec "$node" journalctl -u containerd --no-pager -b | grep 'PullImage' >&2
      log "$node: containerd was asked to pull images"
      return 1
    fi
  done
  log "no image pull was attempted on either node"

  kubectl get nodes -o wide >&2
  kubectl get pods -A -o wide >&2
  kubectl -n kube-system logs -l app=capdkc-podnet --tail 6 --prefix >&2
  failed=0
}

main "$@"
