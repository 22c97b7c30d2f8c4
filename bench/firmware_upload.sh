#!/usr/bin/env bash
# docs/BENCHMARKS.md "The server's firmware store", over the network: a fresh `sensordbd init`
# directory on free loopback ports, then `sensordb --server ... firmware upload` of random
# images of 1, 8 and 15 MiB (one frame each: below the shipped 16 MiB frame limit), RUNS times,
# each timed whole with /usr/bin/time (TLS connect, token login, the upload, the server's checks
# of two Ed25519 signatures, hashing and sealing in 64 KiB chunks, the audit entry), then the
# server's CPU time and peak RSS from /proc.
# Usage: bench/firmware_upload.sh [BUILD_DIR] [RUNS]   (default build, 2)
set -uo pipefail
BUILD=${1:-build}
RUNS=${2:-2}
SENSORDBD=$BUILD/server/sensordbd
BIN=$BUILD/client/sensordb
W=$(mktemp -d)
PID=
trap '[[ -n $PID ]] && kill -9 "$PID" 2>/dev/null; rm -rf "$W"' EXIT
source "$(dirname "$0")/../tests/lib/sensordbd.sh"
sensordbd_init "$W/srv" || exit 1
sensordbd_start "$W/srv" "$W/out" "$W/err" || { cat "$W/err"; exit 1; }
PID=$SENSORDBD_PID
remote=("$BIN" --server "127.0.0.1:$CLIENT_PORT" --ca-file "$W/srv/tls/ca.crt"
  --token-file "$W/srv/bootstrap-admin.token")
fw() { "$BIN" firmware "$@" >/dev/null; }
"${remote[@]}" project create p >/dev/null || exit 1
fw keygen "$W/a.key" && fw keygen "$W/b.key" || exit 1
"${remote[@]}" firmware freshness-key -p p -o "$W/f.pub" >/dev/null || exit 1
fw trust init -p p --key "$W/a.key.pub" --key "$W/b.key.pub" -t 2 --freshness-key "$W/f.pub" \
  -o "$W/root" && fw sign --key "$W/a.key" "$W/root" && fw sign --key "$W/b.key" "$W/root" ||
  exit 1
"${remote[@]}" firmware trust upload -p p "$W/root" >/dev/null || exit 1
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$PID/stat"; }
echo "server before the uploads: CPU $(cpu) s, RSS $(awk '/VmRSS/ {printf "%.0f MiB", $2 / 1024}' /proc/$PID/status)"
before=$(cpu)
for run in $(seq "$RUNS"); do
  for mib in 1 8 15; do
    head -c $((mib * 1048576)) /dev/urandom >"$W/img"
    rm -f "$W/man"
    fw manifest --root "$W/root" --image "$W/img" --model M --version "$mib.$run" \
      --security-version 1 --expires 30d -o "$W/man" &&
      fw sign --key "$W/a.key" "$W/man" && fw sign --key "$W/b.key" "$W/man" || exit 1
    /usr/bin/time -f "upload $mib MiB (run $run): %e s wall, client user %U sys %S" \
      "${remote[@]}" firmware upload -p p --image "$W/img" "$W/man" >/dev/null || exit 1
  done
done
/usr/bin/time -f "releases: %e s wall" "${remote[@]}" firmware releases -p p >/dev/null
echo "server CPU for the uploads and listing: $(awk -v a="$before" -v b="$(cpu)" 'BEGIN {printf "%.2f", b - a}') s;" \
  "peak RSS $(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' /proc/$PID/status)"
kill -TERM "$PID" && wait "$PID" 2>/dev/null
PID=
