#!/usr/bin/env bash
# Device identity with the real `sensordb` CLI against a real sensordbd on 127.0.0.1
# (docs/DEVICES.md): `device keygen` makes a 0600 key and a CSR locally; `device enroll` signs it
# and writes the chain, which `openssl x509` and `openssl verify` accept as a clientAuth
# certificate of the project's device CA (`device ca`); `device certs` lists it; renewal adds a
# second certificate; `device revoke` revokes one certificate, then the device; a writer may not
# enrol; the audit log shows every change; the device's private key appears in no output.
# Usage: cli_device_test.sh SENSORDBD SENSORDB
set -uo pipefail

SENSORDBD=${1:?usage: cli_device_test.sh SENSORDBD SENSORDB}
BIN=${2:?usage: cli_device_test.sh SENSORDBD SENSORDB}
source "$(dirname "$0")/cli_test_lib.sh"
unset SENSORDB_SERVER SENSORDB_CA_FILE SENSORDB_TOKEN_FILE SENSORDB_TOKEN SENSORDB_USER \
  SENSORDB_PASSWORD SENSORDB_TIMEOUT
PID=
cleanup() {
  [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- init and start ------------------------------------------------------------------------------
source "$(dirname "$0")/lib/sensordbd.sh"
sensordbd_init "$WORK/srv" || { fail "init"; exit 1; }
sensordbd_start "$WORK/srv" "$WORK/server.out" "$WORK/server.err" ||
  { fail "server did not start: $(cat "$WORK/server.err")"; exit 1; }
PID=$SENSORDBD_PID PORT=$CLIENT_PORT
CA=$WORK/srv/tls/ca.crt
ADMIN=$WORK/srv/bootstrap-admin.token

mkdir "$WORK/t"
cli() {
  local o rc=0
  o=$(mktemp "$WORK/t/XXXXXX")
  timeout 60 "$BIN" --server "127.0.0.1:$PORT" --ca-file "$CA" "$@" </dev/null >"$o.out" 2>"$o.err" ||
    rc=$?
  cat "$o.out"
  cat "$o.err" >&2
  return $rc
}
admin() { cli --token-file "$ADMIN" "$@"; }
certs_json() { admin device certs -p greenhouse --json "$@"; }
D=$WORK/dev
mkdir "$D"

admin project create greenhouse >/dev/null || fail "project create"
admin device register -p greenhouse dl-17 --model TH-200 --firmware 2.1 >/dev/null ||
  fail "device register"

# --- keygen: local, no server, no data directory -------------------------------------------------
out=$("$BIN" device keygen -p greenhouse -d dl-17 --key "$D/dl-17.key" --csr "$D/dl-17.csr") ||
  fail "keygen: $out"
expect_eq "key mode" "600" "$(stat -c %a "$D/dl-17.key")"
openssl req -in "$D/dl-17.csr" -noout -verify 2>&1 | grep -q "verify OK" || fail "CSR verify"
expect_exit "keygen never overwrites" 1 "$BIN" device keygen -p greenhouse -d dl-17 \
  --key "$D/dl-17.key" --csr "$D/other.csr"
[[ -e $D/other.csr ]] && fail "a refused keygen left a CSR behind"

# --- enroll, then check the certificate with openssl --------------------------------------------
out=$(admin device enroll -p greenhouse -d dl-17 --csr "$D/dl-17.csr" --days 30 --out "$D/dl-17.pem") ||
  fail "enroll: $out"
[[ $out == "enrolled device 'dl-17' of project 'greenhouse': certificate "* ]] || fail "enroll: $out"
admin device ca -p greenhouse --out "$D/ca.pem" >/dev/null || fail "device ca"
expect_eq "chain ends with the CA" "$(cat "$D/ca.pem")" \
  "$(sed -n '/-----END CERTIFICATE-----/,$p' "$D/dl-17.pem" | tail -n +2)"
text=$(openssl x509 -in "$D/dl-17.pem" -noout -text) || fail "openssl x509"
for want in "URI:sensordb://greenhouse/dl-17" "CN = dl-17" "TLS Web Client Authentication" \
  "CA:FALSE" "Digital Signature" "Issuer: O = sensordb, CN = sensordb device CA greenhouse"; do
  grep -qF "$want" <<<"$text" || fail "certificate lacks '$want'"
done
openssl verify -CAfile "$D/ca.pem" -purpose sslclient "$D/dl-17.pem" >"$WORK/verify.out" 2>&1 ||
  fail "openssl verify: $(cat "$WORK/verify.out")"
ca_text=$(openssl x509 -in "$D/ca.pem" -noout -text)
grep -qF "CA:TRUE, pathlen:0" <<<"$ca_text" || fail "CA lacks CA:TRUE, pathlen:0"
grep -qF "Certificate Sign, CRL Sign" <<<"$ca_text" || fail "CA key usage"
# The certificate is for the key keygen made.
expect_eq "certificate matches the key" "$(openssl pkey -in "$D/dl-17.key" -pubout)" \
  "$(openssl x509 -in "$D/dl-17.pem" -noout -pubkey)"
SERIAL=$(openssl x509 -in "$D/dl-17.pem" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f')
expect_exit "--out never overwrites" 1 admin device enroll -p greenhouse -d dl-17 \
  --csr "$D/dl-17.csr" --out "$D/dl-17.pem"

# --- certs, renewal, revocation ------------------------------------------------------------------
expect_eq "certs: one" "1" "$(certs_json | json_get 'len(d)')"
expect_eq "certs: serial" "$SERIAL" "$(certs_json | json_get 'd[0]["serial"]')"
expect_eq "certs: catalog fields" "TH-200 2.1 active" \
  "$(certs_json | json_get 'd[0]["model"] + " " + d[0]["firmware_version"] + " " + d[0]["status"]')"
admin device enroll -p greenhouse -d dl-17 --csr "$D/dl-17.csr" >"$D/renewed.pem" || fail "renew"
openssl verify -CAfile "$D/ca.pem" "$D/renewed.pem" >/dev/null 2>&1 || fail "verify renewed"
expect_eq "certs: two after renewal" "2" "$(certs_json -d dl-17 | json_get 'len(d)')"
admin device revoke -p greenhouse -d dl-17 --serial "$SERIAL" >/dev/null || fail "revoke cert"
expect_eq "certs: one revoked" "active revoked" \
  "$(certs_json | json_get '" ".join(sorted(c["status"] for c in d))')"
expect_exit "revoke unknown serial" 1 admin device revoke -p greenhouse -d dl-17 --serial 00ff
admin device revoke -p greenhouse -d dl-17 >/dev/null || fail "revoke device"
expect_eq "certs: device revoked" "device-revoked device-revoked" \
  "$(certs_json | json_get '" ".join(c["status"] for c in d)')"
admin device certs -p greenhouse >/dev/null || fail "certs as a table"

# --- who may ------------------------------------------------------------------------------------
admin service-account create ingest >/dev/null || fail "service-account create"
admin token issue ingest --out "$WORK/ingest.token" >/dev/null || fail "token issue"
admin grant set greenhouse ingest writer >/dev/null || fail "grant writer"
writer() { cli --token-file "$WORK/ingest.token" "$@"; }
expect_exit "writer enroll" 1 writer device enroll -p greenhouse -d dl-18 --csr "$D/dl-17.csr"
[[ $ERR == *"role writer"* ]] || fail "writer enroll message: $ERR"
expect_exit "writer revoke" 1 writer device revoke -p greenhouse -d dl-17
writer device certs -p greenhouse >/dev/null || fail "writer may list"
writer device ca -p greenhouse >/dev/null || fail "writer may read the CA"
expect_exit "enroll without --server" 1 "$BIN" --data-dir "$WORK/none" device enroll \
  -p greenhouse -d dl-17 --csr "$D/dl-17.csr"

# --- audit, and no private key anywhere ----------------------------------------------------------
json_lines() { python3 -c "import json,sys; print(' '.join(sorted(set(str(json.loads(l)['$1']) for l in sys.stdin))))"; }
actions=$(admin audit list --project greenhouse --limit 0 --json | json_lines action)
for a in device-ca-created device-enrolled device-cert-revoked device-revoked; do
  [[ " $actions " == *" $a "* ]] || fail "audit lacks $a (has: $actions)"
done
KEYBODY=$(sed -n 2p "$D/dl-17.key")
grep -rqF -- "$KEYBODY" "$WORK/t" "$WORK/server.out" "$WORK/server.err" "$WORK/srv" &&
  fail "the device key appears in an output, the server's log or its directory"

kill -TERM "$PID"
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && fail "still running 10 s after SIGTERM"
PID=
finish cli_device_test
