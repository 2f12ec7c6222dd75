#!/usr/bin/env bash
# Creates the kind management cluster and installs Cluster API core with the kubeadm bootstrap
# and control-plane providers, at pinned versions. Safe to run again: existing pieces are kept.
# Never run `clusterctl init --infrastructure docker` here: CAPD's CRDs have our CRDs' names.
set -euo pipefail
cd "$(dirname "$0")"

CLUSTER_NAME=${CLUSTER_NAME:-capdkc-mgmt}
CAPI_VERSION=${CAPI_VERSION:-v1.14.2}

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  echo "kind cluster $CLUSTER_NAME exists; keeping it"
else
  kind create cluster --name "$CLUSTER_NAME" --config kind-management-cluster.yaml
fi
kubectl config use-context "kind-$CLUSTER_NAME"

if kubectl get namespace capi-system >/dev/null 2>&1; then
  echo "Cluster API is installed; keeping it"
else
  # clusterctl also installs cert-manager, which the kubeadm providers' webhooks need.
  clusterctl init \
    --core "cluster-api:$CAPI_VERSION" \
    --bootstrap "kubeadm:$CAPI_VERSION" \
    --control-plane "kubeadm:$CAPI_VERSION" \
    --wait-providers
fi
kubectl get pods --all-namespaces
