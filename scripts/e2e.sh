#!/usr/bin/env bash
# End to end on your machine: a kind management cluster, the provider installed by clusterctl
# from a local release (scripts/release.sh), and a workload cluster with one control-plane node
# and one worker, until both Nodes are Ready. Then everything is deleted again.
#
#   scripts/e2e.sh [--keep] [--dry-run]
#
#   --keep     leave the workload cluster and the kind cluster running; prints how to delete them
#              (with --dry-run: keep the rendered files)
#   --dry-run  check the prerequisites and render every manifest (the release, and the workload
#              cluster if clusterctl is installed) without touching Docker or kind
#
# Needs Docker, kind, kubectl, clusterctl, kustomize (or Go, to build it with
# scripts/install-kustomize.sh) and internet access for the images and Cluster API's releases.
# This project's CI has no internet access: it runs only `--dry-run` (tests/release.rs).
#
# Environment (all optional):
#   E2E_KIND_CLUSTER        management cluster to create (default capdkc-e2e); must not exist
#   E2E_WORKLOAD            workload cluster name (default e2e)
#   E2E_NAMESPACE           namespace of the workload cluster's objects (default default)
#   E2E_KUBERNETES_VERSION  workload Kubernetes version (default v1.36.1)
#   E2E_VERSION             provider release version built and installed (default v0.1.0)
#   E2E_TIMEOUT             timeout of each wait (default 15m)
#   CAPI_VERSION            Cluster API core and kubeadm providers (default v1.14.2)
#   KUSTOMIZE               the kustomize binary (default: kustomize on PATH)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd -P)"
KIND_CLUSTER=${E2E_KIND_CLUSTER:-capdkc-e2e}
WORKLOAD=${E2E_WORKLOAD:-e2e}
NAMESPACE=${E2E_NAMESPACE:-default}
KUBERNETES_VERSION=${E2E_KUBERNETES_VERSION:-v1.36.1}
VERSION=${E2E_VERSION:-v0.1.0}
TIMEOUT=${E2E_TIMEOUT:-15m}
CAPI_VERSION=${CAPI_VERSION:-v1.14.2}
# A local image: `kind load` puts it into the node, imagePullPolicy IfNotPresent uses it. The name
# must be canonical (with a registry) for clusterctl; `localhost/` is never pulled from.
IMAGE=localhost/capdkc-manager

keep=false
dry_run=false
for arg in "$@"; do
  case $arg in
    --keep) keep=true ;;
    --dry-run) dry_run=true ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "e2e: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

step() { printf '\n=== e2e: %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
die() {
  printf 'e2e: %s\n' "$*" >&2
  exit 1
}

# --- prerequisites -------------------------------------------------------------------------
step "prerequisites"
missing=()
for tool in docker kind kubectl clusterctl; do
  if command -v "$tool" >/dev/null; then
    echo "found $tool: $(command -v "$tool")"
  else
    missing+=("$tool")
  fi
done
if [[ -z ${KUSTOMIZE:-} ]]; then
  if command -v kustomize >/dev/null; then
    KUSTOMIZE=$(command -v kustomize)
  elif command -v go >/dev/null; then
    KUSTOMIZE="$(bash "$ROOT/scripts/install-kustomize.sh")/kustomize"
  else
    die "kustomize not found and no Go to build it: install kustomize 5.8 or set KUSTOMIZE"
  fi
fi
export KUSTOMIZE
echo "found kustomize: $KUSTOMIZE"
if ((${#missing[@]} > 0)); then
  if [[ $dry_run == false ]]; then
    die "missing: ${missing[*]} (see the Prerequisites chapter)"
  fi
  echo "missing for a real run: ${missing[*]}"
fi
if [[ $dry_run == false ]]; then
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 || die "the Docker daemon does not answer"
  if kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; then
    die "a kind cluster named $KIND_CLUSTER exists: delete it (kind delete cluster --name $KIND_CLUSTER) or set E2E_KIND_CLUSTER"
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/capdkc-e2e.XXXXXX")
if [[ $keep == true ]]; then
  trap 'echo "kept: $work"' EXIT
else
  trap 'rm -rf "$work"' EXIT
fi
echo "work directory: $work"

# --- the release: components, metadata, templates, a local clusterctl repository ------------
step "release $VERSION (scripts/release.sh)"
CAPDKC_IMAGE=$IMAGE "$ROOT/scripts/release.sh" "$VERSION" "$work/release"
config="$work/release/clusterctl.yaml"
repository="$work/release/clusterctl-repository/infrastructure-docker-kubecon/$VERSION"
template="$repository/cluster-template.yaml"
[[ -f $template ]] || die "the release has no cluster-template.yaml"

# The workload cluster's manifest. --target-namespace: no management cluster needed to render.
render_workload() {
  clusterctl generate cluster "$WORKLOAD" --config "$config" --from "$template" \
    --target-namespace "$NAMESPACE" --kubernetes-version "$KUBERNETES_VERSION" \
    --control-plane-machine-count 1 --worker-machine-count 1 >"$work/workload.yaml"
  echo "workload cluster manifest: $work/workload.yaml ($(grep -c '^kind:' "$work/workload.yaml") objects)"
}

if [[ $dry_run == true ]]; then
  step "render (dry run)"
  # Offline: no check for a newer clusterctl on GitHub.
  export CLUSTERCTL_DISABLE_VERSIONCHECK=true
  if command -v clusterctl >/dev/null; then
    # Never created: clusterctl reaches no cluster in a dry run.
    export KUBECONFIG="$work/no-cluster.kubeconfig"
    # clusterctl reads the local repository as `clusterctl init` will: metadata, components, variables.
    clusterctl generate provider --infrastructure "docker-kubecon:$VERSION" --config "$config" \
      --write-to "$work/provider.yaml"
    echo "provider components as clusterctl installs them: $work/provider.yaml"
    render_workload
    # Every flavor as a user gets it from the repository (a topology flavor with its ClusterClass).
    for file in "$repository"/cluster-template*.yaml; do
      flavor=${file##*/cluster-template}
      flavor=${flavor%.yaml}
      flavor=${flavor#-}
      flavor_args=()
      if [[ -n $flavor ]]; then flavor_args=(--flavor "$flavor"); fi
      clusterctl generate cluster "$WORKLOAD" --config "$config" \
        --infrastructure "docker-kubecon:$VERSION" ${flavor_args[@]+"${flavor_args[@]}"} \
        --target-namespace "$NAMESPACE" --kubernetes-version "$KUBERNETES_VERSION" \
        --control-plane-machine-count 1 --worker-machine-count 1 >"$work/flavor-${flavor:-default}.yaml"
      echo "flavor ${flavor:-default} from the repository: $(grep '^kind:' "$work/flavor-${flavor:-default}.yaml" | sed 's/kind: //' | tr '\n' ' ')"
    done
  else
    echo "clusterctl not installed: the workload cluster manifest is not rendered"
  fi
  cat <<EOF

A real run would now:
  kind create cluster --name $KIND_CLUSTER --config scripts/kind-management-cluster.yaml
  docker build --build-arg CHECKPOINT=checkpoint-05 -t $IMAGE:$VERSION .
  kind load docker-image $IMAGE:$VERSION --name $KIND_CLUSTER
  clusterctl init --config $config \\
    --core cluster-api:$CAPI_VERSION --bootstrap kubeadm:$CAPI_VERSION \\
    --control-plane kubeadm:$CAPI_VERSION --infrastructure docker-kubecon --wait-providers
  clusterctl generate cluster $WORKLOAD --from $template ... | kubectl apply -f -
  kubectl wait cluster/$WORKLOAD --for=condition=ControlPlaneInitialized
  clusterctl get kubeconfig $WORKLOAD   # then kindnet as the CNI, then wait for Ready Nodes
  kubectl delete cluster $WORKLOAD; kind delete cluster --name $KIND_CLUSTER
EOF
  echo "e2e: dry run passed"
  exit 0
fi

# --- cleanup, whatever happens from here on ------------------------------------------------
created_kind=false
applied=false
export KUBECONFIG="$work/management.kubeconfig"
mgmt_node="$KIND_CLUSTER-control-plane"

diagnose() {
  echo "--- clusterctl describe cluster $WORKLOAD"
  clusterctl describe cluster "$WORKLOAD" -n "$NAMESPACE" --show-conditions all || true
  echo "--- the provider's log (last 100 lines)"
  kubectl -n capdkc-system logs deployment/capdkc-controller-manager --tail=100 || true
}

cleanup() {
  local status=$?
  set +e
  if [[ $status -ne 0 && $created_kind == true ]]; then
    step "failed (exit $status): diagnostics"
    diagnose
  fi
  if [[ $keep == true ]]; then
    step "kept (--keep)"
    echo "management cluster: KUBECONFIG=$KUBECONFIG (kind cluster $KIND_CLUSTER)"
    [[ -f $work/workload.kubeconfig ]] && echo "workload cluster:   KUBECONFIG=$work/workload.kubeconfig"
    echo "delete with: KUBECONFIG=$KUBECONFIG kubectl delete cluster $WORKLOAD -n $NAMESPACE; kind delete cluster --name $KIND_CLUSTER; rm -rf $work"
    exit "$status"
  fi
  step "cleanup"
  if [[ $applied == true ]]; then
    # Deleting the Cluster deletes its Machines: the provider removes the node and load-balancer
    # containers. Only then may the management cluster go.
    if ! kubectl delete "clusters.cluster.x-k8s.io/$WORKLOAD" -n "$NAMESPACE" --timeout=10m; then
      echo "e2e: the Cluster was not deleted in time; removing its containers directly" >&2
      local ids
      ids=$(docker ps -aq --filter "label=io.x-k8s.kind.cluster=$WORKLOAD" \
        --filter "label=io.x-k8s.capdkc.cluster-namespace=$NAMESPACE")
      # shellcheck disable=SC2086 # one container ID per word; -v: their anonymous volumes too
      [[ -z $ids ]] || docker rm -fv $ids
    fi
  fi
  if [[ $created_kind == true ]]; then
    kind delete cluster --name "$KIND_CLUSTER"
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the management cluster -----------------------------------------------------------------
# scripts/create-management-cluster.sh keeps an existing cluster and runs its own clusterctl init;
# here we want a fresh cluster and one init with our provider, so only its kind config is shared.
step "kind management cluster $KIND_CLUSTER"
created_kind=true
kind create cluster --name "$KIND_CLUSTER" --config "$ROOT/scripts/kind-management-cluster.yaml" \
  --kubeconfig "$KUBECONFIG"

step "manager image $IMAGE:$VERSION"
docker build --build-arg CHECKPOINT=checkpoint-05 -t "$IMAGE:$VERSION" "$ROOT"
kind load docker-image "$IMAGE:$VERSION" --name "$KIND_CLUSTER"

# The group owning the Docker socket as the node sees it: the manager's supplementalGroups.
CAPDKC_DOCKER_GID=$(docker exec "$mgmt_node" stat -c %g /var/run/docker.sock)
export CAPDKC_DOCKER_GID
echo "CAPDKC_DOCKER_GID=$CAPDKC_DOCKER_GID"

step "clusterctl init (Cluster API $CAPI_VERSION, kubeadm, docker-kubecon $VERSION)"
clusterctl init --config "$config" \
  --core "cluster-api:$CAPI_VERSION" \
  --bootstrap "kubeadm:$CAPI_VERSION" \
  --control-plane "kubeadm:$CAPI_VERSION" \
  --infrastructure docker-kubecon \
  --wait-providers
kubectl -n capdkc-system get deployment capdkc-controller-manager \
  -o jsonpath='{.spec.template.spec.containers[0].image}{"\n"}'

# --- the workload cluster -------------------------------------------------------------------
step "workload cluster $WORKLOAD (Kubernetes $KUBERNETES_VERSION, 1 control plane, 1 worker)"
render_workload
applied=true
kubectl apply -f "$work/workload.yaml"
kubectl wait "clusters.cluster.x-k8s.io/$WORKLOAD" -n "$NAMESPACE" --for=condition=ControlPlaneInitialized --timeout="$TIMEOUT"

step "workload kubeconfig"
clusterctl get kubeconfig "$WORKLOAD" -n "$NAMESPACE" >"$work/workload.kubeconfig"
# The kubeconfig names the load balancer's address on the kind network. Linux hosts reach it;
# Docker Desktop (macOS, Windows) does not, so there kubectl runs inside the management node.
if kubectl --kubeconfig "$work/workload.kubeconfig" --request-timeout=10s version >/dev/null 2>&1; then
  workload_kubectl() { kubectl --kubeconfig "$work/workload.kubeconfig" "$@"; }
else
  echo "the workload API server is not reachable from this host: using kubectl in $mgmt_node"
  docker cp "$work/workload.kubeconfig" "$mgmt_node:/tmp/workload.kubeconfig"
  workload_kubectl() { docker exec -i "$mgmt_node" kubectl --kubeconfig /tmp/workload.kubeconfig "$@"; }
fi

step "CNI: kindnet"
# kind's own CNI manifest ships in every kindest/node image, and so does the kindnetd image: no
# download. It is a template with one field, the pod subnet, which we take from the Cluster.
pod_cidr=$(kubectl get "clusters.cluster.x-k8s.io/$WORKLOAD" -n "$NAMESPACE" -o jsonpath='{.spec.clusterNetwork.pods.cidrBlocks[0]}')
[[ -n $pod_cidr ]] || die "the Cluster has no spec.clusterNetwork.pods.cidrBlocks"
node=$(docker ps -q --filter "label=io.x-k8s.kind.cluster=$WORKLOAD" \
  --filter "label=io.x-k8s.capdkc.cluster-namespace=$NAMESPACE" \
  --filter "label=io.x-k8s.kind.role=control-plane" | head -n1)
[[ -n $node ]] || die "no control-plane node container of $WORKLOAD"
docker exec "$node" cat /kind/manifests/default-cni.yaml |
  sed "s#{{ *\.PodSubnet *}}#$pod_cidr#g" >"$work/kindnet.yaml"
if grep -q '{{' "$work/kindnet.yaml"; then
  die "the node image's CNI manifest has template fields other than the pod subnet: $work/kindnet.yaml"
fi
workload_kubectl apply -f - <"$work/kindnet.yaml"

step "waiting for the control plane and the workers"
kubectl wait "clusters.cluster.x-k8s.io/$WORKLOAD" -n "$NAMESPACE" --for=condition=ControlPlaneAvailable --timeout="$TIMEOUT"
kubectl wait "clusters.cluster.x-k8s.io/$WORKLOAD" -n "$NAMESPACE" --for=condition=WorkersAvailable --timeout="$TIMEOUT"

step "workload Nodes"
deadline=$((SECONDS + 600))
until [[ $(workload_kubectl get nodes --no-headers 2>/dev/null | wc -l) -ge 2 ]]; do
  ((SECONDS < deadline)) || die "the workload cluster did not get 2 Nodes in 10 minutes"
  sleep 5
done
workload_kubectl wait nodes --all --for=condition=Ready --timeout="$TIMEOUT"
workload_kubectl get nodes -o wide
clusterctl describe cluster "$WORKLOAD" -n "$NAMESPACE"

step "passed"
