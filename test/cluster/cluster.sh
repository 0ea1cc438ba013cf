#!/usr/bin/env bash
# Local single-node Kubernetes for Cinch's tests and demo (see README.md here).
#
#   cluster.sh up [--apiserver-only]   start what is not running (idempotent)
#   cluster.sh down                    stop exactly what up started, clean up
#   cluster.sh status                  list components and their PIDs
#   cluster.sh stop COMPONENT          stop one component (e.g. kube-apiserver, to
#                                      test an outage); "up" starts it again
#
# Everything lives under $CLUSTER_DIR (default: <repo>/.cluster): binaries,
# PKI, etcd data, containerd and kubelet state, logs and PID files.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
D=${CLUSTER_DIR:-$repo/.cluster}
BIN=$D/bin
KUBE=$BIN/kube
NODE=cinch-node
NODE_IP=198.18.255.1      # on the cinch0 interface, so the API server may proxy to the kubelet
POD_CIDR=198.18.0.0/24
POD_GW=198.18.0.1
SVC_CIDR=198.19.0.0/24
SVC_IP=198.19.0.1         # the kubernetes Service
DNS_IP=198.19.0.10
API_PORT=6443
CTR_SOCK=$D/run/containerd.sock

log() { printf '[cluster] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------- processes ----------
pidfile() { echo "$D/pids/$1.pid"; }
running() {
	local f; f=$(pidfile "$1")
	[ -f "$f" ] || return 1
	local pid; pid=$(cat "$f")
	[ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null
}
start() { # name cmd...
	local name=$1; shift
	if running "$name"; then log "$name already running (pid $(cat "$(pidfile "$name")"))"; return 0; fi
	mkdir -p "$D/pids" "$D/logs"
	setsid "$@" >>"$D/logs/$name.log" 2>&1 </dev/null &
	echo $! >"$(pidfile "$name")"
	log "started $name (pid $!)"
}
# write_file PATH writes stdin to PATH only when it differs: a second "up"
# must not touch the config of a running component (kube-proxy exits when its
# config file changes, and "up" would then not restart it: ClusterIP
# Services created afterwards would silently stop working).
write_file() {
	local tmp; tmp=$(mktemp "$1.XXXXXX")
	cat >"$tmp"
	if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv -f "$tmp" "$1"; fi
}
stop() { # name
	local f; f=$(pidfile "$1")
	[ -f "$f" ] || return 0
	local pid; pid=$(cat "$f")
	if [ -d "/proc/$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		log "stopped $1 (pid $pid)"
	fi
	rm -f "$f"
}
wait_for() { # description seconds cmd...
	local what=$1 secs=$2; shift 2
	local end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || die "timed out after ${secs}s waiting for $what (logs: $D/logs)"
		sleep 0.3
	done
}
kubectl() { "$KUBE" kubectl --kubeconfig "$D/kubeconfig" "$@"; }

# ---------- build ----------
build() {
	if [ -x "$KUBE" ] && [ "$KUBE" -nt "$here/go.mod" ] && [ "$KUBE" -nt "$here/cmd/kube/main.go" ]; then return 0; fi
	log "building the cluster binary (cold: ~6 min on 2 cores)"
	mkdir -p "$BIN"
	"$here/build.sh" "$KUBE"
}

# ---------- PKI ----------
cert() { # name subject [sans]
	local name=$1 subj=$2 sans=${3:-}
	[ -f "$D/pki/$name.crt" ] && return 0
	openssl genrsa -out "$D/pki/$name.key" 2048 2>/dev/null
	openssl req -new -key "$D/pki/$name.key" -subj "$subj" -out "$D/pki/$name.csr" 2>/dev/null
	local ext="$D/pki/$name.ext"
	{
		echo "basicConstraints=CA:FALSE"
		echo "keyUsage=critical,digitalSignature,keyEncipherment"
		echo "extendedKeyUsage=serverAuth,clientAuth"
		[ -z "$sans" ] || echo "subjectAltName=$sans"
	} >"$ext"
	openssl x509 -req -in "$D/pki/$name.csr" -CA "$D/pki/ca.crt" -CAkey "$D/pki/ca.key" \
		-CAcreateserial -days 3650 -sha256 -extfile "$ext" -out "$D/pki/$name.crt" 2>/dev/null
}
kubeconfig() { # file cert server
	local file=$1 name=$2 server=$3
	[ -f "$file" ] && return 0
	cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cinch-local
  cluster:
    certificate-authority: $D/pki/ca.crt
    server: $server
users:
- name: $name
  user:
    client-certificate: $D/pki/$name.crt
    client-key: $D/pki/$name.key
contexts:
- name: cinch-local
  context: {cluster: cinch-local, user: $name}
current-context: cinch-local
EOF
}
pki() {
	mkdir -p "$D/pki" "$D/conf"
	if [ ! -f "$D/pki/ca.crt" ]; then
		openssl genrsa -out "$D/pki/ca.key" 2048 2>/dev/null
		openssl req -x509 -new -key "$D/pki/ca.key" -subj "/CN=cinch-local-ca" -days 3650 -sha256 -out "$D/pki/ca.crt" 2>/dev/null
	fi
	[ -f "$D/pki/sa.key" ] || { openssl genrsa -out "$D/pki/sa.key" 2048 2>/dev/null; openssl rsa -in "$D/pki/sa.key" -pubout -out "$D/pki/sa.pub" 2>/dev/null; }
	cert apiserver "/CN=kube-apiserver" "IP:127.0.0.1,IP:$NODE_IP,IP:$SVC_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
	cert admin "/O=system:masters/CN=cinch-admin"
	cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
	cert kubelet "/O=system:nodes/CN=system:node:$NODE" "IP:$NODE_IP,IP:127.0.0.1,DNS:$NODE"
	cert controller-manager "/CN=system:kube-controller-manager"
	cert scheduler "/CN=system:kube-scheduler"
	cert kube-proxy "/CN=system:kube-proxy"
	local server=https://$NODE_IP:$API_PORT
	kubeconfig "$D/kubeconfig" admin "$server"
	kubeconfig "$D/conf/kubelet.kubeconfig" kubelet "$server"
	kubeconfig "$D/conf/controller-manager.kubeconfig" controller-manager "$server"
	kubeconfig "$D/conf/scheduler.kubeconfig" scheduler "$server"
	kubeconfig "$D/conf/kube-proxy.kubeconfig" kube-proxy "$server"
}

# ---------- network ----------
node_ip() {
	# The node's own address on a local interface (a bridge without ports: the
	# kernel here has no dummy device type). The API server refuses to proxy to
	# loopback node addresses.
	ip link show cinch0 >/dev/null 2>&1 || ip link add cinch0 type bridge
	ip addr show dev cinch0 | grep -q "$NODE_IP/" || ip addr add "$NODE_IP/32" dev cinch0
	ip link set cinch0 up
}

# ---------- control plane ----------
up_etcd() {
	start etcd "$KUBE" etcd --name=cinch --data-dir="$D/etcd" \
		--listen-client-urls=http://127.0.0.1:2379 --advertise-client-urls=http://127.0.0.1:2379 \
		--listen-peer-urls=http://127.0.0.1:2380 --initial-advertise-peer-urls=http://127.0.0.1:2380 \
		--initial-cluster=cinch=http://127.0.0.1:2380 --listen-metrics-urls=http://127.0.0.1:2381 \
		--quota-backend-bytes=2147483648 --log-level=warn
}
up_apiserver() {
	start kube-apiserver "$KUBE" kube-apiserver \
		--bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port=$API_PORT \
		--etcd-servers=http://127.0.0.1:2379 \
		--service-cluster-ip-range=$SVC_CIDR --service-node-port-range=30000-32767 \
		--client-ca-file="$D/pki/ca.crt" \
		--tls-cert-file="$D/pki/apiserver.crt" --tls-private-key-file="$D/pki/apiserver.key" \
		--kubelet-client-certificate="$D/pki/apiserver-kubelet-client.crt" \
		--kubelet-client-key="$D/pki/apiserver-kubelet-client.key" \
		--kubelet-certificate-authority="$D/pki/ca.crt" \
		--kubelet-preferred-address-types=InternalIP,Hostname \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$D/pki/sa.pub" --service-account-signing-key-file="$D/pki/sa.key" \
		--authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
		--allow-privileged=true --profiling=false --v=1
	wait_for "the API server" 120 "$KUBE" kubectl --kubeconfig "$D/kubeconfig" get --raw /readyz
}
up_controllers() {
	start kube-controller-manager "$KUBE" kube-controller-manager \
		--kubeconfig="$D/conf/controller-manager.kubeconfig" \
		--authentication-kubeconfig="$D/conf/controller-manager.kubeconfig" \
		--authorization-kubeconfig="$D/conf/controller-manager.kubeconfig" \
		--bind-address=127.0.0.1 --secure-port=10257 \
		--service-account-private-key-file="$D/pki/sa.key" --root-ca-file="$D/pki/ca.crt" \
		--cluster-signing-cert-file="$D/pki/ca.crt" --cluster-signing-key-file="$D/pki/ca.key" \
		--use-service-account-credentials=true --service-cluster-ip-range=$SVC_CIDR \
		--enable-hostpath-provisioner=true --leader-elect=false --v=1
	start kube-scheduler "$KUBE" kube-scheduler \
		--kubeconfig="$D/conf/scheduler.kubeconfig" \
		--authentication-kubeconfig="$D/conf/scheduler.kubeconfig" \
		--authorization-kubeconfig="$D/conf/scheduler.kubeconfig" \
		--bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --v=1
}

# ---------- node ----------
up_containerd() {
	mkdir -p "$D/run" "$D/containerd" "$D/cni/net.d" "$D/cni/ipam"
	write_file "$D/conf/containerd.toml" <<EOF
version = 2
root = "$D/containerd/root"
state = "$D/run/containerd"
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/local/pause:1"
  restrict_oom_score_adj = true
  enable_unprivileged_ports = false
  enable_unprivileged_icmp = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$D/cni/net.d"
EOF
	write_file "$D/cni/net.d/10-cinch.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "cinch",
  "plugins": [
    {
      "type": "bridge", "bridge": "cinch-cni0", "isGateway": true, "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$D/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "gateway": "$POD_GW"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
	start containerd containerd --config "$D/conf/containerd.toml"
	wait_for "containerd" 30 test -S "$CTR_SOCK"
}
up_kubelet() {
	mkdir -p "$D/kubelet"
	write_file "$D/conf/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $D/pki/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $D/pki/kubelet.crt
tlsPrivateKeyFile: $D/pki/kubelet.key
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
containerRuntimeEndpoint: unix://$CTR_SOCK
imageServiceEndpoint: unix://$CTR_SOCK
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
resolvConf: /etc/resolv.conf
maxPods: 110
serializeImagePulls: false
podPidsLimit: 4096
EOF
	start kubelet "$KUBE" kubelet --config="$D/conf/kubelet.yaml" \
		--kubeconfig="$D/conf/kubelet.kubeconfig" --root-dir="$D/kubelet" \
		--hostname-override=$NODE --node-ip=$NODE_IP --v=1
}
up_proxy() {
	write_file "$D/conf/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $D/conf/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0}
EOF
	start kube-proxy "$KUBE" kube-proxy --config="$D/conf/kube-proxy.yaml" --v=1
}

# ---------- add-ons: cluster DNS, default StorageClass ----------
up_addons() {
	"$here/images.sh" coredns
	kubectl apply -f "$here/addons.yaml" >/dev/null
	kubectl -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null \
		|| die "cluster DNS not ready (kubectl -n kube-system logs deploy/coredns)"
}

cmd_up() {
	local only_api=false
	[ "${1:-}" = "--apiserver-only" ] && only_api=true
	local t0=$SECONDS
	for c in openssl ip iptables containerd runc; do command -v $c >/dev/null || die "$c not found: run test/cluster/install-deps.sh"; done
	build
	pki
	node_ip
	up_etcd
	up_apiserver
	if ! $only_api; then
		up_controllers
		up_containerd
		"$here/images.sh" pause
		up_kubelet
		up_proxy
		wait_for "node $NODE Ready" 120 sh -c "'$KUBE' kubectl --kubeconfig '$D/kubeconfig' get node $NODE -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -q True"
		wait_for "the default ServiceAccount" 60 "$KUBE" kubectl --kubeconfig "$D/kubeconfig" -n default get serviceaccount default
		up_addons
	fi
	log "cluster up in $((SECONDS - t0))s"
	echo "export KUBECONFIG=$D/kubeconfig"
}

# ---------- teardown ----------
kill_pods() {
	# Every container process lives in the kubelet's kubepods cgroup tree.
	local cg=/sys/fs/cgroup/pids/kubepods
	[ -d $cg ] || return 0
	local pids
	pids=$(find $cg -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}
kill_shims() {
	local p
	for p in $(pgrep -f "containerd-shim.*-address $CTR_SOCK" || true); do kill -KILL "$p" 2>/dev/null || true; done
}
unmount_all() {
	local m
	for _ in 1 2 3; do
		for m in $(awk -v d="$D/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do umount -l "$m" 2>/dev/null || true; done
	done
	for m in $(awk '$2 ~ "^/(var/)?run/netns/cni-" {print $2}' /proc/mounts); do umount -l "$m" 2>/dev/null || true; rm -f "$m"; done
}
remove_cgroups() {
	local c
	for c in /sys/fs/cgroup/*/kubepods; do
		[ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}
remove_kube_chains() {
	# kube-proxy --cleanup removes its own chains; the kubelet's (KUBE-FIREWALL,
	# KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT) stay: remove every KUBE-* rule and chain.
	local ipt t rule chain
	for ipt in iptables ip6tables; do
		command -v $ipt >/dev/null || continue
		for t in filter nat mangle; do
			{ $ipt-save -t $t 2>/dev/null | grep -E -- '^-A .*(-j|-g) KUBE-' | grep -v '^-A KUBE-' || true; } | while read -r rule; do
				eval "$ipt -t $t ${rule/-A/-D}" 2>/dev/null || true
			done
			for chain in $($ipt-save -t $t 2>/dev/null | awk '/^:KUBE-/ {print substr($1, 2)}'); do
				$ipt -t $t -F "$chain" 2>/dev/null || true
			done
			for chain in $($ipt-save -t $t 2>/dev/null | awk '/^:KUBE-/ {print substr($1, 2)}'); do
				$ipt -t $t -X "$chain" 2>/dev/null || true
			done
		done
	done
}
cmd_down() {
	stop kube-proxy
	stop kubelet
	kill_pods
	stop containerd
	kill_shims
	stop kube-scheduler
	stop kube-controller-manager
	stop kube-apiserver
	stop etcd
	[ -x "$KUBE" ] && "$KUBE" kube-proxy --cleanup >/dev/null 2>&1 || true
	remove_kube_chains
	unmount_all
	remove_cgroups
	ip link del cinch-cni0 2>/dev/null || true
	ip link del cinch0 2>/dev/null || true
	rm -rf "$D/cni/ipam"
	log "cluster down"
}
cmd_status() {
	local c
	for c in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy; do
		if running $c; then echo "$c running pid=$(cat "$(pidfile $c)")"; else echo "$c stopped"; fi
	done
}

case "${1:-}" in
up) shift; cmd_up "$@" ;;
down) cmd_down ;;
status) cmd_status ;;
stop)
	case "${2:-}" in
	etcd | kube-apiserver | kube-controller-manager | kube-scheduler | containerd | kubelet | kube-proxy) stop "$2" ;;
	*) echo "usage: $0 stop etcd|kube-apiserver|kube-controller-manager|kube-scheduler|containerd|kubelet|kube-proxy" >&2; exit 2 ;;
	esac ;;
build) build ;;
*) echo "usage: $0 up [--apiserver-only] | down | status | stop COMPONENT | build" >&2; exit 2 ;;
esac
