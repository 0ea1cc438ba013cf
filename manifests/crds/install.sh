# Sourced by manifests/check.sh and charts/check.sh (needs their kubectl and
# log functions): install_crds installs, for a server-side dry run against
# the cluster of $KUBECONFIG, the cert-manager CRDs and, when the Prometheus
# Operator's own are missing, the stand-in CRDs of crds/prometheus-operator,
# and waits until they are established.
install_crds() {
	local crds
	crds=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	kubectl apply --server-side --force-conflicts -k "$crds/cert-manager" >/dev/null
	if ! kubectl get crd servicemonitors.monitoring.coreos.com podmonitors.monitoring.coreos.com prometheusrules.monitoring.coreos.com >/dev/null 2>&1; then
		kubectl apply --server-side -k "$crds/prometheus-operator" >/dev/null
		log "installed the stand-in Prometheus Operator CRDs"
	fi
	kubectl wait --for=condition=Established --timeout=60s \
		crd/issuers.cert-manager.io crd/certificates.cert-manager.io \
		crd/servicemonitors.monitoring.coreos.com crd/podmonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com >/dev/null
}
