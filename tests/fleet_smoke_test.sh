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
source "$(dirname "$0")/lib/sensordbd.sh"
# 20 devices handshake at once from one address: more than the default pre-auth share of an
# address (16) when the machine is slow; real fleets come from many addresses, or retry.
sensordbd_init "$WORK/srv" --set backup.dir= --set limits.max_preauth_per_address=64 ||
  { echo "FAIL: init" >&2; exit 1; }
sensordbd_start "$WORK/srv" "$WORK/out.log" "$WORK/err.log" ||
  { echo "FAIL: no ready line: $(cat "$WORK/err.log")" >&2; exit 1; }
PID=$SENSORDBD_PID
sensordbd_expect_ready sync off || fail "the server does not run as asked"

for protocol in native mqtt; do
  out=$(timeout 120 "$BENCH" fleet --server "127.0.0.1:$CLIENT_PORT" --ca-file "$WORK/srv/tls/ca.crt" \
        --token-file "$WORK/srv/bootstrap-admin.token" --device-port "$DEVICE_PORT" \
        --mqtt-port "$MQTT_PORT" --protocol "$protocol" --qos 1 --devices 20 --channels 4 \
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
