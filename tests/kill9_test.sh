#!/usr/bin/env bash
# Fail closed: no kill -9 may lose an acknowledged point. CYCLES times: start the real sensordbd
# (its init config: sync durability), write to it with `sensordb-bench acked-writes write` (each
# batch logged once acknowledged), kill -9 the server after a random 0.3-1.5 s, wait for the
# writer. Then start the server once more and check every acknowledged point by value
# (`acked-writes check`). Every wait is bounded; every process started here is killed on exit.
# Usage: kill9_test.sh SENSORDBD SENSORDB SENSORDB_BENCH
# Environment: KILL9_CYCLES (default 3), KILL9_SEED (the random delays; default: random, printed),
# KILL9_KEEP=1 keeps the work directory when the test fails (its path is printed).
set -uo pipefail
SENSORDBD=$1
SENSORDB=$2
BENCH=$3
CYCLES=${KILL9_CYCLES:-3}
SEED=${KILL9_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
WORK=$(mktemp -d)
PID=
WRITER=
FAILURES=0
cleanup() {
  [[ -n $WRITER ]] && kill -TERM "$WRITER" 2>/dev/null  # `timeout`, which passes it on
  [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null
  if ((FAILURES > 0)) && [[ ${KILL9_KEEP:-} == 1 ]]; then
    echo "kill9: work directory kept: $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  FAILURES=$((FAILURES + 1))
}
die() {
  fail "$@"
  exit 1
}
source "$(dirname "$0")/lib/sensordbd.sh"
[[ $CYCLES =~ ^[1-9][0-9]*$ ]] || die "KILL9_CYCLES must be a positive number, not '$CYCLES'"
SRV=$WORK/srv
LOG=$WORK/acked.log
START_S=$SECONDS
echo "kill9: $CYCLES cycles, KILL9_SEED=$SEED"

sensordbd_init "$SRV" || die "init: $(cat "$SRV.init.log")"
client_args() {
  echo --server "127.0.0.1:$CLIENT_PORT" --ca-file "$SRV/tls/ca.crt" \
       --token-file "$SRV/bootstrap-admin.token"
}
# start N: starts the server (logs out.N, err.N) or ends the test.
start() {
  sensordbd_start "$SRV" "$WORK/out.$1" "$WORK/err.$1" ||
    die "start $1: no ready line (recovery after kill -9?): $(tail -5 "$WORK/err.$1")"
  PID=$SENSORDBD_PID
}
# wait_gone PID SECONDS: waits for a child of this shell to end (`wait PID` then gives its
# status); 1 on timeout.
wait_gone() {
  for _ in $(seq $(($2 * 10))); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

ACKED=0
for ((cycle = 1; cycle <= CYCLES; cycle++)); do
  start "$cycle"
  if ((cycle == 1)); then
    timeout 30 "$SENSORDB" $(client_args) project create kill9 >"$WORK/project.log" 2>&1 ||
      die "project create: $(cat "$WORK/project.log")"
  fi
  # --seconds far above the delay: the kill ends each run, never the writer's clock.
  timeout 60 "$BENCH" acked-writes write $(client_args) --project kill9 --log "$LOG" \
    --run "$cycle" --seconds 30 --json >"$WORK/writer.$cycle" 2>"$WORK/writer.$cycle.err" &
  WRITER=$!
  delay_ms=$((300 + RANDOM % 1201))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -9 "$PID"
  # (stderr off: bash reports a killed job where it notices it)
  { wait_gone "$PID" 10; } 2>/dev/null || die "cycle $cycle: sensordbd still there 10 s after kill -9"
  wait "$PID" 2>/dev/null
  rc=$?
  [[ $rc == 137 ]] || die "cycle $cycle: sensordbd ended with $rc before the kill: $(tail -5 "$WORK/err.$cycle")"
  PID=
  wait_gone "$WRITER" 30 || die "cycle $cycle: the writer did not end within 30 s of the kill"
  wait "$WRITER"
  rc=$?
  WRITER=
  [[ $rc == 0 ]] || die "cycle $cycle: writer exited $rc: $(cat "$WORK/writer.$cycle.err")"
  acked=$(sed -n 's/.*"points_acked": \([0-9]*\).*/\1/p' "$WORK/writer.$cycle")
  [[ -n $acked ]] || die "cycle $cycle: no writer report: $(cat "$WORK/writer.$cycle")"
  grep -q '"async_batches": 0,' "$WORK/writer.$cycle" ||
    fail "cycle $cycle: the server acknowledged writes as async, not sync: $(cat "$WORK/writer.$cycle")"
  echo "kill9: cycle $cycle: killed after $delay_ms ms, $acked points acknowledged"
  ACKED=$((ACKED + acked))
done
((ACKED > 0)) || die "no point was acknowledged in $CYCLES cycles: nothing was tested"

start final
timeout 300 "$BENCH" acked-writes check $(client_args) --project kill9 --log "$LOG" --json \
  >"$WORK/check" 2>"$WORK/check.err"
rc=$?
cat "$WORK/check.err" >&2
field() { sed -n "s/.*\"$1\": \\([0-9]*\\).*/\\1/p" "$WORK/check"; }
checked=$(field acked_points)
missing=$(field missing)
wrong=$(field wrong)
unacked=$(field unacked_present)
[[ -n $checked ]] || die "check gave no report (exit $rc): $(cat "$WORK/check")"
[[ $rc == 0 ]] || fail "check exited $rc: $(cat "$WORK/check")"
[[ $checked == "$ACKED" ]] || fail "the log holds $checked acknowledged points, the writers reported $ACKED"
kill -TERM "$PID"
if wait_gone "$PID" 15; then
  wait "$PID" || fail "sensordbd exited $? after SIGTERM: $(tail -5 "$WORK/err.final")"
  PID=
else
  fail "sensordbd did not stop within 15 s of SIGTERM"
fi

echo "kill9: $CYCLES cycles, $checked acknowledged points checked, $missing missing, $wrong wrong" \
     "($unacked unacknowledged points present), $((SECONDS - START_S)) s, KILL9_SEED=$SEED"
((FAILURES == 0)) || { echo "$FAILURES failure(s)" >&2; exit 1; }
