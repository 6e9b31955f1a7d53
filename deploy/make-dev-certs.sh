#!/usr/bin/env bash
# Makes a development CA and, signed by it, a certificate for eroom-collector
# and one for its clients (eroom-agent, eroomctl) for mutual TLS. For
# development and tests; production certificates come from your own CA.
#
#   deploy/make-dev-certs.sh OUT_DIR [EXTRA_NAME...]
#
# OUT_DIR receives ca.crt ca.key collector.crt collector.key client.crt
# client.key. The collector certificate is valid for localhost, 127.0.0.1,
# ::1, this host's name and every EXTRA_NAME (a DNS name or an IP address).
# Idempotent: existing files are kept; a missing CA means new certificates.
set -euo pipefail

if (($# < 1)); then
  echo "usage: $0 OUT_DIR [EXTRA_NAME...]" >&2
  exit 2
fi
out=$1
shift
mkdir -p "$out"
cd "$out"
umask 077  # Private keys are readable by their owner only.

new_key() {  # file
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

if [[ ! -f ca.crt || ! -f ca.key ]]; then
  new_key ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -out ca.crt \
    -subj "/CN=eroom-monitor development CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
  rm -f collector.crt client.crt  # Signed by the CA that is gone.
fi

subject_alt_names() {  # extra names...
  local name san="" fqdn
  fqdn=$(hostname -f 2>/dev/null || true)
  local -A seen=()
  for name in localhost 127.0.0.1 ::1 "$(hostname)" ${fqdn:+"$fqdn"} "$@"; do
    [[ -n ${seen[$name]:-} ]] && continue
    seen[$name]=1
    if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then san+="IP:$name,"; else san+="DNS:$name,"; fi
  done
  echo "${san%,}"
}

sign() {  # name, subject CN, extensions
  local name=$1 cn=$2 extensions=$3
  [[ -f $name.crt && -f $name.key ]] && return
  new_key "$name.key"
  openssl req -new -key "$name.key" -subj "/CN=$cn" -out "$name.csr"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -sha256 -days 825 -out "$name.crt" -extfile <(printf '%s\n' "$extensions") 2>/dev/null
  rm -f "$name.csr"
}

sign collector eroom-collector "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$(subject_alt_names "$@")"
sign client eroom-client "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
chmod 644 ca.crt collector.crt client.crt
echo "development certificates in $(pwd)"
