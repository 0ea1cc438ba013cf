#!/usr/bin/env bash
# The local overlay's webhook TLS: cert-manager's controller cannot run on the
# local cluster, so this generates what it would have issued (a CA and a
# serving certificate for cinch-webhook.cinch-system.svc) with openssl into
# tls/. kustomize packs them into the Secret cinch-webhook-tls and copies
# ca.crt into the webhook configurations' caBundle. Idempotent: keeps an
# existing certificate that is valid for at least 30 more days.
set -euo pipefail
cd "$(dirname "$0")"
out=tls
svc=cinch-webhook.cinch-system.svc
mkdir -p "$out"
if [ -s "$out/tls.crt" ] && [ -s "$out/ca.crt" ] && openssl x509 -checkend $((30 * 86400)) -noout -in "$out/tls.crt" >/dev/null 2>&1; then
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
	-subj "/CN=cinch-local-webhook-ca" -keyout "$tmp/ca.key" -out "$tmp/ca.crt" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-subj "/CN=$svc" -keyout "$tmp/tls.key" -out "$tmp/tls.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s,DNS:%s.cluster.local\n' "$svc" "$svc" >"$tmp/ext"
openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -CAcreateserial \
	-days 365 -sha256 -extfile "$tmp/ext" -out "$tmp/tls.crt" 2>/dev/null
cp "$tmp/ca.crt" "$tmp/tls.crt" "$tmp/tls.key" "$out/"
echo "generated $PWD/$out (CA and serving certificate for $svc)" >&2
