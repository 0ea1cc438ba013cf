#!/usr/bin/env bash
# Builds the multi-call cluster binary (etcd + Kubernetes v1.34.4 components + kubectl).
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-../../.cluster/bin/kube}
v=v1.34.4
pkg=k8s.io/component-base/version
ld="-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=34 -X $pkg.gitTreeState=clean -X $pkg.buildDate=2026-01-01T00:00:00Z"
ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=34"
CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o "$out" ./cmd/kube
