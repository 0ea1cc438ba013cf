#!/usr/bin/env bash
# The main job (`make demo`): on a fresh machine, bring up the local cluster,
# build and import the images, install Cinch from manifests/overlays/local,
# opt a demo namespace in, deploy four example workloads and wait while the
# in-cluster webhook and worker harden them; then print, per workload, the
# status, the PodSecurity level reached, the recommended settings and the
# failed checks with their evidence (read from the cinch.dev/* annotations).
#
# Environment: DEMO_NAMESPACE (cinch-demo), DEMO_TIMEOUT seconds (900),
# DEMO_WORKLOADS (file names under test/workloads/manifests, without .yaml),
# DEMO_KEEP=1 keeps the namespace of a previous run instead of starting fresh.
# `test/demo.sh results` prints the table again for the demo namespace.
# The recording duration R is the local overlay's (--recording-duration=30s).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
D=${CLUSTER_DIR:-$repo/.cluster}
export KUBECONFIG=$D/kubeconfig
NS=${DEMO_NAMESPACE:-cinch-demo}
TIMEOUT=${DEMO_TIMEOUT:-900}
read -r -a WORKLOADS <<<"${DEMO_WORKLOADS:-scenario-fine scenario-write-root scenario-bind-80 nginx-unprivileged-tmp}"

t0=$SECONDS
log() { printf '\033[1m[demo %s]\033[0m %s\n' "$(elapsed $((SECONDS - t0)))" "$*"; }
elapsed() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
kubectl() { "$D/bin/kube" kubectl "$@"; }

# ---------- results (also: test/demo.sh results) ----------
print_results() {
	# Flattens a securityContext: {"a":1,"b":{"c":[x,y]}} -> "a=1 b.c=x,y".
	local jq_lib='def v: if type == "array" then map(tostring) | join(",") else tostring end;
def flat: to_entries | map(if (.value | type) == "object"
	then (.key as $k | .value | to_entries | map("\($k).\(.key)=\(.value | v)") | join(" "))
	else "\(.key)=\(.value | v)" end) | join(" ");
def item: if type == "object" then to_entries | map("\(.key)=\(.value | if type == "string" then . else tojson end)") | join(" ") else tostring end;
def pad($n): .[0:$n] | . + " " * ($n - length);'
	printf '\033[1m%-26s %-10s %-12s %s\033[0m\n' WORKLOAD STATUS PODSECURITY "VERIFIED AT"
	local d
	for d in "$@"; do
		kubectl -n "$NS" get deployment "$d" -o json | jq -r "$jq_lib"'
		.metadata.annotations as $a
		| ($a["cinch.dev/recommendation"] // "{}" | fromjson) as $r
		| ($a["cinch.dev/checks"] // "{\"checks\":[]}" | fromjson) as $c
		| "\(.metadata.name | pad(26)) \($a["cinch.dev/status"] // "-" | pad(10)) \($a["cinch.dev/pod-security-level"] // "-" | pad(12)) \($a["cinch.dev/verified-at"] // "-")",
		  "    recommended:",
		  (if $r.pod then "      pod:            \($r.pod | flat)" else empty end),
		  ($r.containers // {} | to_entries[] | "      container \(.key): \(.value | flat)"),
		  ($r.initContainers // {} | to_entries[] | "      init \(.key): \(.value | flat)"),
		  ([$c.checks[] | select(.pass | not)] as $f
		   | if ($f | length) == 0 then "    failed checks:  none"
		     else "    failed checks:", ($f[]
		       | "      \(.id // "all checks together") (trial \(.trial)): \(.reason // "")",
		         (.evidence // [] | if type == "array" then .[] else . end
		          | if type == "object" and has("pass") then
		              (select(.pass | not) | "        \(.id // "") \(.name // ""): \(.reason // "")",
		               ((.evidence // []) | if type == "array" then .[0:3][] else . end | "          - \(item | .[0:150])"))
		            else "        - \(item | .[0:150])" end))
		     end),
		  ""'
	done
}
if [ "${1:-}" = results ]; then
	mapfile -t DEPLOYS < <(kubectl -n "$NS" get deployments -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')
	print_results "${DEPLOYS[@]}"
	exit 0
fi
# ---------- 1. cluster, images, Cinch ----------
log "local cluster (dependencies, build on first run: ~6 min cold)"
test/cluster/install-deps.sh
command -v jq >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q jq >/dev/null || { apt-get update -q && apt-get install -y -q jq; }; }
make --no-print-directory cluster-up
log "images: scenario, apps, cinch (webhook, worker), nats"
make --no-print-directory images images-cinch
log "installing Cinch from manifests/overlays/local"
t_install=$SECONDS
manifests/overlays/local/install.sh up
log "Cinch installed in $((SECONDS - t_install))s"
kubectl -n cinch-system get pods -o wide

# ---------- 2. opt a namespace in, deploy the workloads ----------
if [ "${DEMO_KEEP:-0}" != 1 ] && kubectl get namespace "$NS" >/dev/null 2>&1; then
	log "deleting the previous demo namespace $NS"
	kubectl delete namespace "$NS" --wait=true --timeout=180s
fi
kubectl apply -f - <<EOF
apiVersion: v1
kind: Namespace
metadata:
  name: $NS
  labels:
    cinch.dev/harden: enabled
EOF
log "namespace $NS opted in (label cinch.dev/harden=enabled); deploying ${WORKLOADS[*]}"
for w in "${WORKLOADS[@]}"; do
	kubectl -n "$NS" apply -f "test/workloads/manifests/$w.yaml"
done

# ---------- 3. wait, showing progress ----------
# Deployment names: the workload manifests' Deployments.
mapfile -t DEPLOYS < <(for w in "${WORKLOADS[@]}"; do
	kubectl -n "$NS" get -f "test/workloads/manifests/$w.yaml" -o json |
		jq -r '(.items // [.])[] | select(.kind == "Deployment") | .metadata.name'
done)
t_wait=$SECONDS
log "waiting for the worker (R = 30 s per trial; timeout ${TIMEOUT}s)"
while :; do
	line="" done_n=0
	for d in "${DEPLOYS[@]}"; do
		s=$(kubectl -n "$NS" get deployment "$d" -o jsonpath='{.metadata.annotations.cinch\.dev/status}' 2>/dev/null || true)
		line+=" $d=${s:-(queued)}"
		case "$s" in Verified | Failed) done_n=$((done_n + 1)) ;; esac
	done
	clones=$(kubectl get namespace -l "cinch.dev/clone-of=$NS" --no-headers 2>/dev/null | grep -c Active || true)
	log "$done_n/${#DEPLOYS[@]} done, $clones trial clones running:$line"
	[ "$done_n" -lt "${#DEPLOYS[@]}" ] || break
	if [ $((SECONDS - t_wait)) -ge "$TIMEOUT" ]; then
		log "timed out; the worker's log:"
		kubectl -n cinch-system logs deployment/cinch-worker --tail=30 || true
		exit 1
	fi
	sleep 10
done
log "all workloads finished in $(elapsed $((SECONDS - t_wait))) (hardening) / $(elapsed $((SECONDS - t0))) (whole demo)"

# ---------- 4. results ----------
echo
print_results "${DEPLOYS[@]}"

cat <<EOF
Read the results yourself:
  export KUBECONFIG=$KUBECONFIG; alias kubectl='$D/bin/kube kubectl'
  kubectl -n $NS get deploy -o custom-columns='NAME:.metadata.name,STATUS:.metadata.annotations.cinch\.dev/status,PODSECURITY:.metadata.annotations.cinch\.dev/pod-security-level,VERIFIED:.metadata.annotations.cinch\.dev/verified-at'
  kubectl -n $NS get deploy scenario-fine -o jsonpath='{.metadata.annotations.cinch\.dev/recommendation}' | jq .
  kubectl -n $NS get events --field-selector reason=HardeningTrialFailed
Remove: kubectl delete namespace $NS; make uninstall
EOF
log "demo done in $(elapsed $((SECONDS - t0)))"
