#!/usr/bin/env bash
# Installs Cinch into the local cluster (test/cluster) from this overlay, or
# removes it again.
#
#   install.sh up        TLS (gen-tls.sh), cert-manager CRDs, apply, wait for rollout
#   install.sh down      delete everything the overlay made, and left-over trial clones
#
# Needs the images docker.io/local/cinch:1 and docker.io/local/nats:1
# (test/cluster/images.sh cinch nats). KUBECONFIG defaults to the local cluster's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
D=${CLUSTER_DIR:-$repo/.cluster}
export KUBECONFIG=${KUBECONFIG:-$D/kubeconfig}
kubectl() { "$D/bin/kube" kubectl "$@"; }
log() { printf '[install] %s\n' "$*" >&2; }
NS=cinch-system

up() {
	local t0=$SECONDS
	"$here/gen-tls.sh"
	# Prerequisite: cert-manager's CRDs, so the Issuer and Certificate validate
	# (its controller cannot run here; gen-tls.sh stands in for it).
	kubectl apply --server-side --force-conflicts -k "$repo/manifests/crds/cert-manager" >/dev/null
	kubectl wait --for=condition=Established --timeout=60s crd/issuers.cert-manager.io crd/certificates.cert-manager.io >/dev/null
	kubectl apply -k "$here" | { grep -v ' unchanged$' || true; }
	# The local images keep their tag (docker.io/local/cinch:1): roll the pods
	# when the image archive changed since they started.
	local img
	if img=$(sha256sum "$D/images/cinch.tar" 2>/dev/null | cut -c1-16); then
		for d in cinch-webhook cinch-worker; do
			kubectl -n $NS patch deployment $d --type=merge \
				-p "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"cinch.dev/image-archive\":\"$img\"}}}}}" >/dev/null
		done
	fi
	kubectl -n $NS rollout status statefulset/cinch-nats --timeout=180s
	kubectl -n $NS rollout status deployment/cinch-webhook --timeout=180s
	kubectl -n $NS rollout status deployment/cinch-worker --timeout=180s
	log "Cinch installed in $((SECONDS - t0))s"
}

down() {
	local t0=$SECONDS
	kubectl delete -k "$here" --ignore-not-found --wait=true --timeout=180s
	# Trial clones the worker could not delete before it stopped: only this
	# installation's (--clone-labels); other processes sharing the cluster
	# (tests running the pipeline in-process) delete their own.
	kubectl delete namespace -l cinch.dev/clone-of,installation.cinch.dev/namespace=cinch-system \
		--ignore-not-found --wait=true --timeout=180s
	log "Cinch removed in $((SECONDS - t0))s"
}

case "${1:-}" in
up) up ;;
down) down ;;
*) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
