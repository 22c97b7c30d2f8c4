#!/usr/bin/env bash
# `sensordb-bench rest` against a real sensordbd: 20 devices x 10 channels, 20 000 points of
# InfluxDB line protocol over HTTPS, once through /api/v2/write and once gzipped through /write.
# Asserts only that every point was acknowledged and counted back over the native protocol, that
# nothing failed and that the token appears in no output — never a timing (those belong in
# docs/BENCHMARKS.md).
# Usage: rest_bench_smoke_test.sh SENSORDBD SENSORDB_BENCH
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
# Asked for as the benchmark scripts ask (issue 20): checked in the config, then in the ready line.
sensordbd_init "$WORK/srv" --set backup.dir= --set durability=async || { echo "FAIL: init" >&2; exit 1; }
sensordbd_start "$WORK/srv" "$WORK/out.log" "$WORK/err.log" ||
  { echo "FAIL: no ready line: $(cat "$WORK/err.log")" >&2; exit 1; }
PID=$SENSORDBD_PID
sensordbd_expect_ready async off || fail "the server does not run as asked"
[[ -n $REST_PORT && $REST_PORT != 0 ]] || { echo "FAIL: no rest_port in the ready line" >&2; exit 1; }
TOKEN=$(cat "$WORK/srv/bootstrap-admin.token")

run() {  # NAME API [--gzip]
  local name=$1 api=$2
  shift 2
  local out rc
  out=$(timeout 120 "$BENCH" rest --server "127.0.0.1:$REST_PORT" --native-server "127.0.0.1:$CLIENT_PORT" \
        --ca-file "$WORK/srv/tls/ca.crt" --token-file "$WORK/srv/bootstrap-admin.token" \
        --project "smoke_$name" --api "$api" --devices 20 --channels 10 --points 20000 \
        --lines-per-request 500 --connections 2 --server-pid "$PID" --json "$@" 2>"$WORK/$name.err")
  rc=$?
  [[ $rc == 0 ]] || fail "$name: sensordb-bench rest exited $rc: $(cat "$WORK/$name.err")"
  { echo "$out"; cat "$WORK/$name.err"; } | grep -qF "$TOKEN" && fail "$name: the token appears in the output"
  [[ $rc == 0 ]] || return
  python3 - "$name" "$out" <<'PY' || fail "$name: $out"
import json, sys
name, r = sys.argv[1], json.loads(sys.argv[2])
problems = []
if r["points"] != 20000: problems.append("planned %d points, not 20000" % r["points"])
if r["points_acked"] != 20000: problems.append("%d of 20000 points acknowledged" % r["points_acked"])
if r["points_counted"] != 20000: problems.append("the server counts %d points" % r["points_counted"])
if r["requests"] != 4: problems.append("%d requests, expected 4 (2000 lines of 500)" % r["requests"])
if problems:
    print(name + ": " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
PY
}
run v2 v2
run v1_gzip v1 --gzip

kill -TERM "$PID"
wait "$PID" || fail "sensordbd did not stop cleanly: $(tail -5 "$WORK/err.log")"
PID=
grep -qF "$TOKEN" "$WORK/out.log" "$WORK/err.log" && fail "a token appears in the server's output"
[[ $FAILURES == 0 ]] || { echo "$FAILURES failure(s)" >&2; exit 1; }
echo "rest bench smoke test passed"
