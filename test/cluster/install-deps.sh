#!/usr/bin/env bash
# Installs the Debian packages the local cluster and the image recipes need.
# apt starts no daemons here (no systemd); cluster.sh starts them.
set -euo pipefail
pkgs=(containerd runc containernetworking-plugins iptables conntrack openssl debootstrap iproute2)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${missing[@]}" || { apt-get update -q && apt-get install -y -q "${missing[@]}"; }
