#!/usr/bin/env bash
# The REST API of a real sensordbd with curl as the client (docs/REST.md): tokens, both InfluxDB
# write endpoints (plain and gzip), reading back through /api/v1, refusals: no or bad token, a
# reader writing, unknown precision, a malformed line (named, nothing applied), invalid UTF-8,
# a body over the limit, a slowloris body. Every curl call is bounded (-m).
# Usage: rest_curl_test.sh SENSORDBD SENSORDB
set -uo pipefail
SENSORDBD=$1
SENSORDB=$2
WORK=$(mktemp -d)
PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$(dirname "$0")/lib/sensordbd.sh"
sensordbd_init "$WORK/srv" --set rest.max_body_bytes=1048576 --set rest.timeout_ms=2000 ||
  fail "init failed"
sensordbd_start "$WORK/srv" "$WORK/out.log" "$WORK/err.log" ||
  fail "sensordbd did not start: $(cat "$WORK/err.log")"
PID=$SENSORDBD_PID PORT=$CLIENT_PORT RPORT=$REST_PORT
CA=$(find "$WORK/srv/tls" -name 'ca.crt' -o -name 'ca.pem' | head -1)
TOKEN=$(cat "$WORK/srv/bootstrap-admin.token")
U=https://127.0.0.1:$RPORT
code() { curl -s -m 10 -o "$WORK/body" -w '%{http_code}' --cacert "$CA" "$@"; }
c=$(code "$U/api/v1/health")
[[ $c == 401 ]] || fail "health without a token: $c"
[[ $(code -H "Authorization: Token nope" "$U/api/v1/health") == 401 ]] || fail "bad token"
[[ $(code -H "Authorization: Token $TOKEN" "$U/api/v1/health") == 200 ]] || fail "health"
# The project and a reader account come from the CLI over the native protocol.
sdb() { "$SENSORDB" --server "127.0.0.1:$PORT" --ca-file "$CA" --token-file "$WORK/srv/bootstrap-admin.token" "$@"; }
sdb project create plant >/dev/null || fail "project create"
sdb service-account create viewer >/dev/null || fail "service-account create"
sdb token issue viewer --out "$WORK/viewer.token" >/dev/null || fail "token issue"
sdb grant set plant viewer reader >/dev/null || fail "grant"
A=(-H "Authorization: Token $TOKEN")
printf 'env,device=d1 temp=21.5 1000\nenv,device=d1 temp=22.5 2000\n' >"$WORK/lp"
c=$(code "${A[@]}" --data-binary @"$WORK/lp" "$U/write?db=plant&precision=ns")
[[ $c == 204 ]] || fail "/write: $c $(cat "$WORK/body")"
printf 'env,device=d2 hum=3i 5\n' | gzip -c >"$WORK/lp.gz"
[[ $(code "${A[@]}" -H 'Content-Encoding: gzip' --data-binary @"$WORK/lp.gz" \
      "$U/api/v2/write?bucket=plant&org=x&precision=s") == 204 ]] || fail "gzip v2 write"
[[ $(code "${A[@]}" "$U/api/v1/projects/plant/query/raw?device=d1") == 200 ]] || fail "raw"
grep -q '"count":2' "$WORK/body" || fail "raw count: $(cat "$WORK/body")"
[[ $(code "${A[@]}" --data-binary 'env,device=x t=1 1' "$U/write?db=plant&precision=d") == 400 ]] ||
  fail "unknown precision"
[[ $(code "${A[@]}" --data-binary $'env,device=x t=1 1\nbad line' "$U/write?db=plant") == 400 ]] ||
  fail "malformed line"
grep -q 'line 2' "$WORK/body" || fail "no line number: $(cat "$WORK/body")"
[[ $(code "${A[@]}" "$U/api/v1/projects/plant/query/raw?device=x") == 404 ]] ||
  fail "the malformed request applied its good line"
[[ $(code "${A[@]}" --data-binary $'env,device=\xff t=1 1' "$U/write?db=plant") == 400 ]] ||
  fail "invalid UTF-8"
# Huge lines within the body limit: a 600 KiB device name, a 600 KiB measurement; 400 naming
# line 1 and the limit, nothing applied, and the server keeps serving.
python3 -c 'import sys; sys.stdout.write("env,device=" + "d" * (600 << 10) + " t=1 1\n")' >"$WORK/longdev"
[[ $(code "${A[@]}" --data-binary @"$WORK/longdev" "$U/write?db=plant") == 400 ]] || fail "huge device name"
grep -q 'line 1: device name of 614400 bytes is longer than' "$WORK/body" || fail "huge device: $(head -c 300 "$WORK/body")"
python3 -c 'import sys; sys.stdout.write("m" * (600 << 10) + ",device=d3 t=1 1\n")' >"$WORK/longm"
[[ $(code "${A[@]}" --data-binary @"$WORK/longm" "$U/write?db=plant") == 400 ]] || fail "huge measurement"
grep -q 'line 1: channel name' "$WORK/body" || fail "huge measurement: $(head -c 300 "$WORK/body")"
[[ $(code "${A[@]}" "$U/api/v1/projects/plant/query/raw?device=d3") == 404 ]] ||
  fail "a refused huge line applied something"
# The reader may read, not write.
R=(-H "Authorization: Bearer $(cat "$WORK/viewer.token")")
[[ $(code "${R[@]}" "$U/api/v1/projects/plant/query/latest?device=d1") == 200 ]] || fail "reader read"
[[ $(code "${R[@]}" --data-binary 'env,device=r t=1 1' "$U/write?db=plant") == 403 ]] ||
  fail "reader write"
# A body over max_body_bytes (1 MiB here): 413.
python3 -c 'import sys; sys.stdout.write("env,device=big t=1 %d\n" * 1 % 1 + "#" * (2 << 20))' >"$WORK/big"
[[ $(code "${A[@]}" --data-binary @"$WORK/big" "$U/write?db=plant") == 413 ]] || fail "huge body"
# Slowloris: a body sent at 1 byte per second is cut at timeout_ms (2 s); others are served.
printf 'env,device=slow t=1 1\n%.0s' $(seq 20) >"$WORK/slow"
start=$(date +%s)
curl -s -m 15 -o /dev/null --cacert "$CA" "${A[@]}" --limit-rate 1 --data-binary @"$WORK/slow" \
  "$U/write?db=plant" && fail "a slowloris body was accepted"
(( $(date +%s) - start < 12 )) || fail "the slow body was not cut by the timeout"
[[ $(code "${A[@]}" "$U/api/v1/health") == 200 ]] || fail "not serving after the slow client"
grep -qF "$TOKEN" "$WORK/out.log" "$WORK/err.log" && fail "a token appears in the server's output"
echo "rest_curl: ok"
