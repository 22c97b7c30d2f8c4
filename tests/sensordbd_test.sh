#!/usr/bin/env bash
# sensordbd as an operator runs it, with real clients on 127.0.0.1: `init`, start, refusals
# seen by `openssl s_client` (TLS 1.2, no CA) and by plain TCP, the metrics endpoint through
# `curl` with and without a token, SIGHUP certificate reload, a config that cannot start, and a
# clean stop on SIGTERM. Usage: sensordbd_test.sh SENSORDBD
set -uo pipefail
SENSORDBD=$1
WORK=$(mktemp -d)
PID=
cleanup() {
  [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
FAILURES=0
fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}

# A free port on 127.0.0.1 (the kernel's choice), for the two listeners.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
MPORT=$(free_port)

# --- init and a refused start ------------------------------------------------------------------
# Device and REST listeners on ephemeral ports.
"$SENSORDBD" init "$WORK/srv" --port "$PORT" --set "metrics.port=$MPORT" --set devices.port=0 \
  --set devices.mqtt_port=0 --set rest.port=0 >"$WORK/init.log" || fail "init failed"
source "$(dirname "$0")/lib/sensordbd.sh"
sensordbd_check "$WORK/srv" "metrics.port=$MPORT" devices.port=0 rest.port=0 "client.port=$PORT" ||
  fail "init --set did not take"
# --set: TOML values, bare words as strings; checked like the file, before anything is made.
"$SENSORDBD" init "$WORK/s2" --set durability=async --set backup.dir= \
  --set limits.max_connections=2048 --set 'log_level="warn"' >/dev/null || fail "init --set failed"
sensordbd_check "$WORK/s2" durability=async backup.dir= limits.max_connections=2048 log_level=warn ||
  fail "init --set did not take"
sensordbd_check "$WORK/s2" durability=sync 2>"$WORK/err" && fail "sensordbd_check passed a wrong value"
grep -q "durability = 'async' in effect, not sync" "$WORK/err" || fail "check message: $(cat "$WORK/err")"
[[ -e $WORK/s2/backups ]] && fail "init made a backup directory with backup.dir empty"
for bad in limits.nope=1 limits.max_connections=0 durability=maybe key_file=x tls.cert_file=y nokey; do
  "$SENSORDBD" init "$WORK/s3" --set "$bad" >/dev/null 2>"$WORK/err" && fail "init took --set $bad"
  [[ -e $WORK/s3 ]] && fail "a refused --set $bad left $WORK/s3 behind"
  grep -q -- "${bad%%=*}" "$WORK/err" || fail "--set $bad: the error does not name it: $(cat "$WORK/err")"
done
for f in master.key bootstrap-admin.token metrics.token tls/server.key tls/ca.key; do
  mode=$(stat -c %a "$WORK/srv/$f")
  [[ $mode == 600 ]] || fail "$f has mode $mode, expected 600"
done
"$SENSORDBD" >/dev/null 2>"$WORK/err" && fail "started without a config"
grep -q "no configuration given" "$WORK/err" || fail "no-config message: $(cat "$WORK/err")"
cp "$WORK/srv/sensordbd.toml" "$WORK/bad.toml"
echo 'key_file = "other.key"' >>"$WORK/bad.toml"
"$SENSORDBD" --config "$WORK/bad.toml" >/dev/null 2>"$WORK/err" && fail "started with a duplicate key"
[[ -s $WORK/err ]] || fail "a bad config gave no message"
# A hard open-files limit below what the connection caps need refuses the start (issue 13).
(ulimit -Sn 1000 && ulimit -Hn 2000 && exec "$SENSORDBD" --config "$WORK/srv/sensordbd.toml") >/dev/null 2>"$WORK/err" &&
  fail "started with a hard open-files limit below the caps"
grep -q "open-files hard limit is 2000" "$WORK/err" || fail "no open-files message: $(cat "$WORK/err")"

# --- start ---------------------------------------------------------------------------------------
"$SENSORDBD" --config "$WORK/srv/sensordbd.toml" >"$WORK/out.log" 2>"$WORK/err.log" &
PID=$!
for _ in $(seq 100); do
  grep -q '^ready' "$WORK/out.log" 2>/dev/null && break
  sleep 0.1
done
grep -q "^ready client_port=$PORT metrics_port=$MPORT" "$WORK/out.log" ||
  { fail "server did not start: $(cat "$WORK/err.log")"; exit 1; }
grep -q "^ready .* rest_port=[1-9][0-9]* durability=sync backups=on$" "$WORK/out.log" ||
  fail "ready line: $(grep '^ready' "$WORK/out.log")"
CA=$WORK/srv/tls/ca.crt

s_client() { timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost "$@" </dev/null 2>&1; }

# TLS 1.3 with the development CA: verified.
s_client -CAfile "$CA" -verify_return_error -verify_hostname localhost >"$WORK/tls13" ||
  fail "TLS 1.3 handshake failed: $(tail -5 "$WORK/tls13")"
grep -q "Protocol *: TLSv1.3" "$WORK/tls13" || grep -q "TLSv1.3" "$WORK/tls13" || fail "not TLS 1.3"
# TLS 1.2 only: refused.
s_client -tls1_2 -CAfile "$CA" >"$WORK/tls12" && fail "a TLS 1.2 client completed a handshake"
grep -qi "alert\|error" "$WORK/tls12" || fail "TLS 1.2 refusal not visible: $(tail -3 "$WORK/tls12")"
# A client that does not trust the CA refuses the server (verification on).
s_client -verify_return_error >"$WORK/noca" && fail "verification passed without the CA"
# Plaintext HTTP to the TLS port: the server closes without answering HTTP.
out=$(curl -s -m 5 "http://127.0.0.1:$PORT/" 2>&1) && fail "plaintext got an HTTP answer: $out"

# --- metrics -------------------------------------------------------------------------------------
M=http://127.0.0.1:$MPORT/metrics
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$M")
[[ $code == 401 ]] || fail "metrics without a token: HTTP $code, expected 401"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 -H "Authorization: Bearer sdb_nope_nope" "$M")
[[ $code == 401 ]] || fail "metrics with a bad token: HTTP $code, expected 401"
# The server counts a refused handshake when it is done with the connection, which may be just
# after the client gave up: scrape until the three refusals above are in (bounded: 5 s).
for _ in $(seq 50); do
  curl -s -m 5 -H "Authorization: Bearer $(cat "$WORK/srv/metrics.token")" "$M" >"$WORK/metrics" ||
    fail "metrics scrape failed"
  n=$(grep -F 'sensordb_refusals_total{reason="tls-handshake-failed"}' "$WORK/metrics" | awk '{print $2}')
  [[ ${n:-0} -ge 3 ]] && break
  sleep 0.1
done
for series in 'sensordb_refusals_total{reason="tls-handshake-failed"}' \
              'sensordb_refusals_total{reason="metrics-unauthenticated"}' \
              'sensordb_connections_accepted_total' 'sensordb_backup_runs_total' \
              'sensordb_master_key_info' 'sensordb_ingest_points_total'; do
  grep -qF "$series" "$WORK/metrics" || fail "metrics lack $series"
done
failed=$(grep -F 'sensordb_refusals_total{reason="tls-handshake-failed"}' "$WORK/metrics" | awk '{print $2}')
[[ ${failed:-0} -ge 3 ]] || fail "tls-handshake-failed counted $failed, expected >= 3"
# The daily backup ran at start (none existed yet) and is visible.
grep -q '^sensordb_backup_runs_total 1' "$WORK/metrics" || fail "no backup run in the metrics"

# --- SIGHUP: a new certificate from another CA ------------------------------------------------
mkdir "$WORK/ca2"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=ca2 \
  -keyout "$WORK/ca2/ca.key" -out "$WORK/ca2/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$WORK/ca2/server.key" -out "$WORK/ca2/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$WORK/ca2/ext"
openssl x509 -req -in "$WORK/ca2/server.csr" -CA "$WORK/ca2/ca.crt" -CAkey "$WORK/ca2/ca.key" \
  -CAcreateserial -days 2 -extfile "$WORK/ca2/ext" -out "$WORK/ca2/server.crt" 2>/dev/null
cat "$WORK/ca2/server.crt" "$WORK/ca2/ca.crt" >"$WORK/srv/tls/server.crt"
cp "$WORK/ca2/server.key" "$WORK/srv/tls/server.key"
kill -HUP "$PID"
for _ in $(seq 50); do grep -q "SIGHUP: reloaded" "$WORK/err.log" && break; sleep 0.1; done
grep -q "SIGHUP: reloaded" "$WORK/err.log" || fail "no reload logged: $(cat "$WORK/err.log")"
s_client -CAfile "$WORK/ca2/ca.crt" -verify_return_error -verify_hostname localhost >"$WORK/new" ||
  fail "the reloaded certificate does not verify against the new CA"
s_client -CAfile "$CA" -verify_return_error >"$WORK/old" && fail "the old certificate is still served"

# --- SIGTERM -------------------------------------------------------------------------------------
kill -TERM "$PID"
rc=0
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PID" 2>/dev/null; then
  fail "still running 10 s after SIGTERM"
else
  wait "$PID" || rc=$?
  [[ $rc == 0 ]] || fail "exit status $rc after SIGTERM"
fi
PID=
grep -q "stopped" "$WORK/err.log" || fail "no clean stop logged"
for t in "$(cat "$WORK/srv/bootstrap-admin.token")" "$(cat "$WORK/srv/metrics.token")"; do
  grep -qF "$t" "$WORK/err.log" "$WORK/out.log" && fail "a token appears in the server's output"
done

if ((FAILURES > 0)); then
  echo "$FAILURES check(s) failed" >&2
  exit 1
fi
echo "sensordbd_test: all checks passed"
