#!/usr/bin/env bash
# `sensordb-bench fleet` against a real sensordbd: 20 simulated devices, each enrolled with its
# own key and certificate, write for 2 seconds over the native device stream and then over MQTT
# (QoS 1). Asserts only that every session was established, points were acknowledged and
# nothing failed — never a timing (those belong in docs/BENCHMARKS.md).
# Usage: fleet_smoke_test.sh SENSORDBD SENSORDB_BENCH
set -uo pipefail
SENSORDBD=$1
BENCH=$2
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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$SENSORDBD" init "$WORK/srv" --port "$(free_port)" >/dev/null || { echo "FAIL: init" >&2; exit 1; }
sed -i "s/^port = 9470/port = $(free_port)/; s/^dir = \"backups\"/dir = \"\"/" "$WORK/srv/sensordbd.toml"
sed -i "s/^port = 7071/port = 0/; s/^port = 8086/port = 0/; s/^mqtt_port = 8883/mqtt_port = 0/" "$WORK/srv/sensordbd.toml"
"$SENSORDBD" --config "$WORK/srv/sensordbd.toml" >"$WORK/out.log" 2>"$WORK/err.log" &
PID=$!
for _ in $(seq 100); do
  grep -q '^ready' "$WORK/out.log" 2>/dev/null && break
  sleep 0.1
done
READY=$(grep '^ready' "$WORK/out.log") || { echo "FAIL: no ready line: $(cat "$WORK/err.log")" >&2; exit 1; }
port() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$READY"; }
CLIENT_PORT=$(sed -n 's/^ready client_port=\([0-9]*\).*/\1/p' <<<"$READY")

for protocol in native mqtt; do
  out=$(timeout 120 "$BENCH" fleet --server "127.0.0.1:$CLIENT_PORT" --ca-file "$WORK/srv/tls/ca.crt" \
        --token-file "$WORK/srv/bootstrap-admin.token" --device-port "$(port device_port)" \
        --mqtt-port "$(port mqtt_port)" --protocol "$protocol" --qos 1 --devices 20 --channels 4 \
        --duration 2 --rate 2000 --batch-points 10 --project "smoke_$protocol" \
        --server-pid "$PID" --json 2>"$WORK/fleet.err")
  rc=$?
  [[ $rc == 0 ]] || fail "$protocol: sensordb-bench fleet exited $rc: $(cat "$WORK/fleet.err")"
  python3 - "$protocol" "$out" <<'PY' || fail "$protocol: $out"
import json, sys
protocol, r = sys.argv[1], json.loads(sys.argv[2])
problems = []
if r["enrolled"] != 20: problems.append("enrolled %d of 20" % r["enrolled"])
if r["sessions"] != 20: problems.append("%d of 20 sessions established" % r["sessions"])
if r["points_acked"] <= 0: problems.append("no point acknowledged")
if r["errors"] != 0: problems.append("errors: %s %s %s" % (r["enrol_errors"], r["setup_errors"], r["run_errors"]))
if r["requests_unacked"] != 0: problems.append("%d requests unacknowledged" % r["requests_unacked"])
if problems:
    print(protocol + ": " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
PY
done

kill -TERM "$PID"
wait "$PID" || fail "sensordbd did not stop cleanly: $(tail -5 "$WORK/err.log")"
PID=
[[ $FAILURES == 0 ]] || { echo "$FAILURES failure(s)" >&2; exit 1; }
echo "fleet smoke test passed"
