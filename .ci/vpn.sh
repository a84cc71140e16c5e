#!/usr/bin/env bash
# The VPN staff outside the hospital use to reach the console, as CI runs it (tests/deploy/test_vpn.py,
# docs/vpn.md). Debian's openvpn (2.6) and openssl; no systemd.
#
#   .ci/vpn.sh pki DIR      a throw-away CA, the server's and one client's key and certificate, a tls-crypt key
#   .ci/vpn.sh configs DIR  server.conf and client.conf for the addresses below, naming the files `pki` made
#
# The example network (change these lines for a real hospital):
#   hospital LAN  10.20.0.0/24   the gateway (or the Ingress in front of it) is in here
#   VPN pool      10.8.0.0/24    addresses handed to VPN clients; the server itself is 10.8.0.1
#   VPN server    198.51.100.1   its public address, UDP 1194
# The pool is routed, never masqueraded: the gateway must see each client's own pool address, which is
# what its trusted networks admit and what the login log records.
set -euo pipefail

# OpenVPN 2.6 accepts these; EC keys are small and quick to make.
DAYS=${HAMP_VPN_DAYS:-825}

cert() { # cert DIR NAME CN EXTENDED-KEY-USAGE: a key and a certificate signed by DIR/ca
  local dir=$1 name=$2 cn=$3 usage=$4
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/CN=$cn" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' \
    "$usage" >"$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days "$DAYS" -sha256 -extfile "$dir/$name.ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
}

pki() {
  local dir=$1
  mkdir -p "$dir"
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$DAYS" -sha256 \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" -subj "/CN=HAMP VPN CA" 2>/dev/null)
  (umask 077 && cert "$dir" server vpn.hospital.example serverAuth)
  # One certificate per person, named after them, so one can be revoked alone (crl-verify).
  (umask 077 && cert "$dir" client staff-001 clientAuth)
  (umask 077 && openvpn --genkey tls-crypt "$dir/tc.key")
}

configs() {
  local dir=$1
  mkdir -p "$dir"
  cat >"$dir/server.conf" <<'EOF'
# OpenVPN 2.6 server: remote staff reach the hospital LAN, with their own pool address.
port 1194
proto udp
dev tun
topology subnet
server 10.8.0.0 255.255.255.0
push "route 10.20.0.0 255.255.255.0"
ca ca.crt
cert server.crt
key server.key
dh none
tls-crypt tc.key
keepalive 10 60
user nobody
group nogroup
persist-key
persist-tun
verb 3
EOF
  cat >"$dir/client.conf" <<'EOF'
# OpenVPN 2.6 client: one per staff member, with their own certificate.
client
dev tun
proto udp
remote 198.51.100.1 1194
nobind
remote-cert-tls server
verify-x509-name vpn.hospital.example name
ca ca.crt
cert client.crt
key client.key
tls-crypt tc.key
persist-key
persist-tun
verb 3
EOF
}

case "${1:-}" in
  pki) pki "${2:?DIR}" ;;
  configs) configs "${2:?DIR}" ;;
  *) echo "usage: $0 pki DIR | configs DIR" >&2; exit 2 ;;
esac
