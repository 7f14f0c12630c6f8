#!/usr/bin/env bash
# Generates the simulator's TEST-ONLY TLS material and writes it to src/simulator/tls/certs.ts:
#   - a test CA ("proxmox-mcp simulator test CA") and a server certificate it signs, valid for
#     127.0.0.1, ::1 and localhost, about 50 years long;
#   - a second, unrelated CA used only by negative TLS tests (a client trusting it must fail).
# The private keys end up in the repository on purpose: they protect nothing but loopback tests.
# Usage: scripts/gen_sim_certs.sh   (needs openssl; rerunning replaces every certificate)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/src/simulator/tls/certs.ts"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
days=18262 # 50 years

cd "$work"
cat >ca.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
O = proxmox-mcp
CN = proxmox-mcp simulator test CA (insecure, test only)
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF

cat >other.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
O = proxmox-mcp
CN = proxmox-mcp unrelated test CA (negative tests only)
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF

cat >server.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
O = proxmox-mcp
CN = localhost
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, IP:::1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" -config ca.cnf \
  -keyout ca.key -out ca.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" -config other.cnf \
  -keyout other.key -out other.pem 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -sha256 -config server.cnf \
  -keyout server.key -out server.csr 2>/dev/null
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
  -days "$days" -extfile server.cnf -extensions v3_server -out server.pem 2>/dev/null
openssl pkcs8 -topk8 -nocrypt -in server.key -out server.pk8

fingerprint="$(openssl x509 -in server.pem -noout -fingerprint -sha256 | sed 's/^.*=//')"
not_after="$(openssl x509 -in server.pem -noout -enddate | sed 's/^notAfter=//')"

{
  echo '/**'
  echo ' * TLS material of the embedded simulator. TEST-ONLY: this CA and its private key are public'
  echo ' * on purpose (they are committed to the repository) and protect nothing but loopback tests.'
  echo ' * Never trust `simulatorCaCert` anywhere else. Regenerate with `scripts/gen_sim_certs.sh`.'
  echo ' *'
  echo " * Server certificate SANs: 127.0.0.1, ::1, localhost; valid until $not_after."
  echo ' *'
  echo ' * @module'
  echo ' */'
  echo
  echo '/** PEM of the test-only CA that signed the simulator server certificate. */'
  printf 'export const simulatorCaCert = `%s\n`;\n\n' "$(cat ca.pem)"
  echo '/** PEM of the simulator server certificate (127.0.0.1, ::1, localhost). */'
  printf 'export const simulatorServerCert = `%s\n`;\n\n' "$(cat server.pem)"
  echo '/** PEM (PKCS#8) of the simulator server private key; public on purpose, test only. */'
  printf 'export const simulatorServerKey = `%s\n`;\n\n' "$(cat server.pk8)"
  echo '/** SHA-256 fingerprint of the server certificate, colon hex, uppercase (as Proxmox shows). */'
  printf 'export const simulatorServerFingerprint = "%s";\n\n' "$fingerprint"
  echo '/** PEM of a second, unrelated CA for negative TLS tests: it did not sign the server cert. */'
  printf 'export const otherCaCert = `%s\n`;\n' "$(cat other.pem)"
} >"$out"
echo "wrote $out (server fingerprint $fingerprint)"
