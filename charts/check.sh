#!/usr/bin/env bash
# Validates the Helm chart charts/cinch (make helm-check):
#  1. helm lint --strict and helm template, with the default values (what
#     manifests/overlays/production installs) and with every ci/*-values.yaml;
#  2. test/helm: the chart renders the objects the kustomize manifests render
#     (no drift), and non-default values reach every name and flag;
#  3. a strict server-side dry run of each rendering against the cluster of
#     $KUBECONFIG (default: the local cluster), as manifests/check.sh does for
#     the production overlay: the cert-manager CRDs and, when the Prometheus
#     Operator's own are missing, the stand-in CRDs of
#     manifests/crds/prometheus-operator are installed first; the namespaced
#     objects go to a throw-away namespace (created and deleted here), the
#     cluster-scoped ones are dry-run as they are.
# $HELM is the helm binary (make helm builds .cluster/bin/helm).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
D=${CLUSTER_DIR:-$repo/.cluster}
export KUBECONFIG=${KUBECONFIG:-$D/kubeconfig}
HELM=${HELM:-$D/bin/helm}
chart=$here/cinch
kubectl() { "$D/bin/kube" kubectl "$@"; }
# shellcheck source=../manifests/crds/install.sh
. "$repo/manifests/crds/install.sh"
log() { printf '[helm-check] %s\n' "$*" >&2; }

tmp=$(mktemp -d)
ns=
cleanup() {
	[ -z "$ns" ] || kubectl delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# Each rendering: a name, the release name and the helm arguments.
renders=("default cinch")
for f in "$chart"/ci/*-values.yaml; do
	renders+=("$(basename "$f" .yaml) acme -f $f")
done

for r in "${renders[@]}"; do
	read -r name release args <<<"$r"
	# shellcheck disable=SC2086 # args are words
	"$HELM" lint --strict "$chart" $args >"$tmp/lint" 2>&1 || { cat "$tmp/lint" >&2; log "FAIL: helm lint ($name)"; exit 1; }
	# shellcheck disable=SC2086
	"$HELM" template "$release" "$chart" --namespace cinch-system $args >"$tmp/$name.yaml"
	log "lint and template ($name values): $(grep -c '^kind:' "$tmp/$name.yaml") objects"
done

(cd "$repo" && CINCH_HELM=$HELM CINCH_KUBE=$D/bin/kube ${GOTEST:-go test} -count=1 ./test/helm/...)
log "the chart and the kustomize manifests render the same objects"

install_crds

ns=cinch-helm-dryrun-$(date +%s)
kubectl create namespace "$ns" >/dev/null
for r in "${renders[@]}"; do
	read -r name release args <<<"$r"
	# shellcheck disable=SC2086
	"$HELM" template "$release" "$chart" --namespace "$ns" $args >"$tmp/$name-dryrun.yaml"
	kubectl apply -f "$tmp/$name-dryrun.yaml" --dry-run=server --validate=strict >"$tmp/out" 2>&1 ||
		{ cat "$tmp/out" >&2; log "FAIL: chart dry run ($name values)"; exit 1; }
	log "chart ($name values): $(grep -c 'server dry run' "$tmp/out") objects pass a server-side dry run"
done
