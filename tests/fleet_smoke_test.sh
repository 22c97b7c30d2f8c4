#!/usr/bin/env bash
# `sensordb-bench fleet` against a real sensordbd: 20 simulated devices, each enrolled with its
# own key and certificate, write for 2 seconds over the native device stream and then over MQTT
# (QoS 1); then, with --ota, 20 devices download and verify a release made by the CLI (two
# keys, root and manifest signed by both) with the real agent and report it. Asserts only that
# every session was established, points were acknowledged, images verified and nothing failed —
# never a timing (those belong in docs/BENCHMARKS.md).
# Usage: fleet_smoke_test.sh SENSORDBD SENSORDB_BENCH SENSORDB_CLI
set -uo pipefail
SENSORDBD=$1
BENCH=$2
CLI=$3
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
# address (16) when the machine is slow; real fleets come from many addresses, or retry. Firmware
# reads at 64 KiB/s per device, so that the OTA devices wait out their byte rate.
sensordbd_init "$WORK/srv" --set backup.dir= --set limits.max_preauth_per_address=64 \
  --set devices.firmware_bytes_per_second=65536 ||
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

# --- firmware: the release as release managers make it, then 20 devices update ----------------
F="$WORK/fw"
mkdir -p "$F"
admin=("$CLI" --server "127.0.0.1:$CLIENT_PORT" --ca-file "$WORK/srv/tls/ca.crt"
       --token-file "$WORK/srv/bootstrap-admin.token")
(
  set -e
  "${admin[@]}" project create smoke_ota
  "${admin[@]}" firmware freshness-key -p smoke_ota -o "$F/fresh.pub"
  "$CLI" firmware keygen "$F/a.key"
  "$CLI" firmware keygen "$F/b.key"
  "$CLI" firmware trust init -p smoke_ota --key "$F/a.key.pub" --key "$F/b.key.pub" -t 2 \
    --freshness-key "$F/fresh.pub" -o "$F/root-1"
  head -c 300000 /dev/urandom >"$F/image.bin"
  "$CLI" firmware manifest --root "$F/root-1" --image "$F/image.bin" --model DL-200 \
    --version 2.0.0 --security-version 2 --expires 30d -o "$F/image.sdbm"
  for file in root-1 image.sdbm; do
    for key in a b; do "$CLI" firmware sign --key "$F/$key.key" "$F/$file"; done
  done
) >"$WORK/fw.out" 2>&1 || fail "firmware setup: $(cat "$WORK/fw.out")"
ota_fleet() {  # extra options; the JSON on stdout, the exit code in $rc
  rc=0
  out=$(timeout 120 "$BENCH" fleet --server "127.0.0.1:$CLIENT_PORT" \
        --ca-file "$WORK/srv/tls/ca.crt" --token-file "$WORK/srv/bootstrap-admin.token" \
        --device-port "$DEVICE_PORT" --project smoke_ota --devices 20 --duration 60 --ota \
        --ota-root "$F/root-1" --ota-manifest "$F/image.sdbm" --ota-image "$F/image.bin" \
        --server-pid "$PID" --json "$@" 2>"$WORK/fleet.err") || rc=$?
}
ota_fleet
[[ $rc == 0 ]] || fail "ota: sensordb-bench fleet exited $rc: $(cat "$WORK/fleet.err")"
python3 - "$out" <<'PY' || fail "ota: $out"
import json, sys
r = json.loads(sys.argv[1])
problems = []
if r["sessions"] != 20: problems.append("%d of 20 sessions established" % r["sessions"])
if r["ota_verified"] != 20: problems.append("%d of 20 images verified" % r["ota_verified"])
if r["ota_bytes"] != 20 * 300000: problems.append("%d image bytes received" % r["ota_bytes"])
if r["errors"] != 0 or r["ota_failed"] != 0: problems.append("errors: %s" % r["run_errors"])
# 300 kB per device at 64 KiB/s: reads wait out the device's byte rate and go on.
if r["ota_rate_limited"] == 0: problems.append("no request was rate limited")
if problems:
    print("ota: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
PY
# Devices of another model are offered nothing: the run says so and exits 1.
ota_fleet --ota-model DL-999
[[ $rc == 1 ]] || fail "ota, another model: exit $rc, expected 1: $(cat "$WORK/fleet.err")"
python3 -c 'import json,sys; r = json.loads(sys.argv[1]); sys.exit(0 if r["ota_not_offered"] == 20 and r["ota_verified"] == 0 else 1)' \
  "$out" || fail "ota, another model: $out"
# The devices' reports reached the registry.
"${admin[@]}" firmware devices -p smoke_ota --json >"$WORK/reports.json" 2>&1 ||
  fail "firmware devices: $(cat "$WORK/reports.json")"
verified=$(python3 -c 'import json,sys; print(sum(1 for d in json.load(sys.stdin) if d["step"] == "verified"))' \
  <"$WORK/reports.json" 2>/dev/null)
[[ $verified == 20 ]] || fail "20 verified reports expected, the registry has: $(cat "$WORK/reports.json")"

kill -TERM "$PID"
wait "$PID" || fail "sensordbd did not stop cleanly: $(tail -5 "$WORK/err.log")"
PID=
[[ $FAILURES == 0 ]] || { echo "$FAILURES failure(s)" >&2; exit 1; }
echo "fleet smoke test passed"
