#!/usr/bin/env bash
# Validates the manifests: renders every kustomization, then dry-runs the
# production overlay server-side against the cluster of $KUBECONFIG (default:
# the local cluster), with strict field validation. The cert-manager CRDs and,
# when the Prometheus Operator's own are missing, the stand-in CRDs of
# crds/prometheus-operator are installed first. The dry run goes to a
# throw-away namespace (created and deleted here), so it works whether or not
# Cinch is installed; the cluster-scoped objects are dry-run as they are.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
D=${CLUSTER_DIR:-$repo/.cluster}
export KUBECONFIG=${KUBECONFIG:-$D/kubeconfig}
kubectl() { "$D/bin/kube" kubectl "$@"; }
# shellcheck source=crds/install.sh
. "$repo/manifests/crds/install.sh"
log() { printf '[check] %s\n' "$*" >&2; }

[ -f "$here/overlays/local/tls/ca.crt" ] || "$here/overlays/local/gen-tls.sh"
for k in base overlays/local overlays/production crds/cert-manager crds/prometheus-operator; do
	kubectl kustomize "$here/$k" >/dev/null
	log "rendered $k"
done

install_crds

ns=cinch-dryrun-$(date +%s)
tmp=$(mktemp -d)
trap 'kubectl delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
kubectl create namespace "$ns" >/dev/null
cat >"$tmp/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $ns
resources:
- $(realpath --relative-to="$tmp" "$here/overlays/production")
YAML
kubectl apply -k "$tmp" --dry-run=server --validate=strict >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; log "FAIL: production overlay dry run"; exit 1; }
log "production overlay: $(grep -c 'server dry run' "$tmp/out") objects pass a server-side dry run"
