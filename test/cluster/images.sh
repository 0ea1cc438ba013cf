#!/usr/bin/env bash
# Builds images for the local cluster without a registry and imports them into
# its containerd (namespace k8s.io). Recipes:
#   pause      the pod sandbox (a static Go program that sleeps until SIGTERM)
#   scenario   Cinch's purpose-built scenario program (test/workloads/scenario)
#   apps       real applications from Debian packages (nginx, redis, memcached)
#   cinch      Cinch's webhook and worker (static Go binaries)
#   nats       the official nats-server (NATS_VERSION, built from the module proxy)
#   coredns    the cluster DNS (CoreDNS from the module proxy, ./coredns)
#   all        all of the above but pause
# Images are named docker.io/local/<name>:1; pods must use imagePullPolicy: Never.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
D=${CLUSTER_DIR:-$repo/.cluster}
SOCK=$D/run/containerd.sock
W=$D/images
mkdir -p "$W"
log() { printf '[images] %s\n' "$*" >&2; }

ocipack() {
	[ "$W/ocipack" -nt "$here/cmd/ocipack/main.go" ] || (cd "$here" && CGO_ENABLED=0 go build -o "$W/ocipack" ./cmd/ocipack)
	"$W/ocipack" -import "$SOCK" "$@"
}

# static_image NAME: a rootfs holding static binaries, /etc/passwd and /tmp.
static_rootfs() {
	local r=$1
	rm -rf "$r"; mkdir -p "$r/etc" "$r/tmp" "$r/usr/local/bin" "$r/data"
	chmod 1777 "$r/tmp"
	printf 'root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1000:app:/data:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n' >"$r/etc/passwd"
	printf 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n' >"$r/etc/group"
}

build_pause() {
	local r=$W/pause-rootfs
	static_rootfs "$r"
	(cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$r/pause" ./cmd/pause)
	ocipack -rootfs "$r" -name docker.io/local/pause:1 -o "$W/pause.tar" -entrypoint /pause
	log "imported docker.io/local/pause:1"
}

build_scenario() {
	local r=$W/scenario-rootfs
	static_rootfs "$r"
	(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$r/usr/local/bin/scenario" ./test/workloads/scenario)
	# A setuid-root copy: the "setuid" scenario gains root through it, which
	# allowPrivilegeEscalation=false (no_new_privs) forbids.
	cp "$r/usr/local/bin/scenario" "$r/usr/local/bin/scenario-suid"
	chmod 4755 "$r/usr/local/bin/scenario-suid"
	chown 1000:1000 "$r/data"
	ocipack -rootfs "$r" -name docker.io/local/scenario:1 -o "$W/scenario.tar" -entrypoint /usr/local/bin/scenario
	log "imported docker.io/local/scenario:1"
}

build_apps() {
	local r=$W/apps-rootfs
	if [ ! -f "$W/apps-rootfs.done" ]; then
		rm -rf "$r"
		log "debootstrap nginx, redis-server, memcached (~1 min)"
		debootstrap --variant=minbase --include=nginx,redis-server,memcached bookworm "$r" http://deb.debian.org/debian >"$W/debootstrap.log" 2>&1 \
			|| { tail -20 "$W/debootstrap.log" >&2; exit 1; }
		rm -rf "$r/var/cache/apt/archives"/*.deb "$r/var/lib/apt/lists"/* "$r/usr/share/doc" "$r/usr/share/man" "$r/usr/share/locale"
		# Stock nginx logs to files; containers log to stdout/stderr.
		ln -sf /dev/stdout "$r/var/log/nginx/access.log"
		ln -sf /dev/stderr "$r/var/log/nginx/error.log"
		touch "$W/apps-rootfs.done"
	fi
	ocipack -rootfs "$r" -name docker.io/local/apps:1 -o "$W/apps.tar" -cmd /bin/sh
	log "imported docker.io/local/apps:1"
}

build_cinch() {
	local r=$W/cinch-rootfs
	static_rootfs "$r"
	(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$r/usr/local/bin/" ./cmd/webhook ./cmd/worker)
	ocipack -rootfs "$r" -name docker.io/local/cinch:1 -o "$W/cinch.tar" -user 65532:65532
	log "imported docker.io/local/cinch:1"
}

NATS_VERSION=${NATS_VERSION:-v2.15.2}
build_nats() {
	local r=$W/nats-rootfs bin=$W/nats-bin
	# go install pkg@version builds the main package with nats-server's own go.mod.
	if [ ! -x "$bin/nats-server" ] || [ "$(cat "$bin/version" 2>/dev/null)" != "$NATS_VERSION" ]; then
		log "building nats-server $NATS_VERSION (cold: ~2 min)"
		mkdir -p "$bin"
		GOBIN=$bin CGO_ENABLED=0 go install -trimpath -ldflags=-s "github.com/nats-io/nats-server/v2@$NATS_VERSION"
		echo "$NATS_VERSION" >"$bin/version"
	fi
	static_rootfs "$r"
	cp "$bin/nats-server" "$r/usr/local/bin/nats-server"
	ocipack -rootfs "$r" -name docker.io/local/nats:1 -o "$W/nats.tar" -entrypoint /usr/local/bin/nats-server -user 65532:65532
	log "imported docker.io/local/nats:1"
}

build_coredns() {
	local r=$W/coredns-rootfs bin=$W/coredns-bin/coredns
	if [ ! -x "$bin" ] || [ "$here/coredns/main.go" -nt "$bin" ] || [ "$here/coredns/go.mod" -nt "$bin" ]; then
		log "building coredns (cold: ~2 min)"
		(cd "$here/coredns" && CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$bin" .)
	fi
	static_rootfs "$r"
	cp "$bin" "$r/usr/local/bin/coredns"
	ocipack -rootfs "$r" -name docker.io/local/coredns:1 -o "$W/coredns.tar" -entrypoint /usr/local/bin/coredns -user 65532:65532
	log "imported docker.io/local/coredns:1"
}

[ -S "$SOCK" ] || { log "containerd is not running: make cluster-up first"; exit 1; }
for what in "${@:-all}"; do
	case "$what" in
	pause) build_pause ;;
	scenario) build_scenario ;;
	apps) build_apps ;;
	cinch) build_cinch ;;
	nats) build_nats ;;
	coredns) build_coredns ;;
	all) build_scenario; build_apps ;;
	*) log "unknown recipe $what"; exit 2 ;;
	esac
done
