#!/usr/bin/env bash
# The firmware rollout benchmark of docs/BENCHMARKS.md "Firmware rollout", RUNS times: a fresh
# `sensordbd init` directory and server on free loopback ports; the release made as release
# managers make it (`sensordb firmware keygen`, `trust init` naming the server's freshness key,
# `manifest` of a random image, each signed by 2 of 2 keys); then `sensordb-bench fleet --ota`:
# DEVICES devices (default 1000) enrolled with their own key and certificate, the root and
# release uploaded and offered to every device at once (rollouts of 1024 names), and every
# device on its own mutual-TLS session asking for its offer, reading the image in 64 KiB ranges
# (waiting out its per-device byte rate), checking statement, manifest and image with the real
# agent and reporting `verified`. The server's CPU, its RSS before the sessions, once they are up,
# and its peak during the run (sampled every 20 ms) come from /proc.
# Server config: the default of `sensordbd init` except connection caps of DEVICES + 100 or what
# the open-files hard limit allows (every device
# connects from 127.0.0.1), REST and MQTT off, backup off, and devices.firmware_bytes_per_second =
# RATE (default 1048576, the shipped default).
# Usage: bench/fleet_ota.sh [BUILD_DIR] [RUNS] [IMAGE_BYTES]; DEVICES, RATE in the environment.
set -euo pipefail
build=${1:-build}
runs=${2:-3}
image_bytes=${3:-1048576}
devices=${DEVICES:-1000}
rate=${RATE:-1048576}
SENSORDBD="$build/server/sensordbd"
cli="$build/client/sensordb"
bench="$build/bench/sensordb-bench"
work=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/../tests/lib/sensordbd.sh"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536
# sensordbd needs 2 listeners x the cap + 1088 file descriptors: the cap is what the hard limit
# allows, at most DEVICES + 100.
cap=$((devices + 100))
fit=$((($(ulimit -Hn) - 1088) / 2))
((cap > fit)) && cap=$fit
for ((i = 0; i < runs; i++)); do
  # The loop runs in a subshell (it feeds a pipe): its own trap stops a server left running.
  trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null' EXIT
  srv="$work/srv-$i"
  sensordbd_init "$srv" --set backup.dir= --set rest.enabled=false --set devices.mqtt=false \
    --set limits.max_connections=$cap --set limits.max_connections_per_address=$cap \
    --set limits.max_preauth_connections=$cap --set limits.max_preauth_per_address=$cap \
    --set devices.firmware_bytes_per_second="$rate" || exit 1
  sensordbd_start "$srv" "$srv/out.log" "$srv/err.log" || { cat "$srv/err.log" >&2; exit 1; }
  pid=$SENSORDBD_PID
  sensordbd_expect_ready sync off || exit 1
  admin=("$cli" --server "127.0.0.1:$CLIENT_PORT" --ca-file "$srv/tls/ca.crt"
         --token-file "$srv/bootstrap-admin.token")
  f="$srv/fw"
  mkdir -p "$f"
  "${admin[@]}" project create fleet >/dev/null
  "${admin[@]}" firmware freshness-key -p fleet -o "$f/fresh.pub" >/dev/null
  "$cli" firmware keygen "$f/a.key" >/dev/null
  "$cli" firmware keygen "$f/b.key" >/dev/null
  "$cli" firmware trust init -p fleet --key "$f/a.key.pub" --key "$f/b.key.pub" -t 2 \
    --freshness-key "$f/fresh.pub" -o "$f/root-1" >/dev/null
  head -c "$image_bytes" /dev/urandom >"$f/image.bin"
  "$cli" firmware manifest --root "$f/root-1" --image "$f/image.bin" --model DL-200 \
    --version 2.0.0 --security-version 2 --expires 30d -o "$f/image.sdbm" >/dev/null
  for file in root-1 image.sdbm; do
    for key in a b; do "$cli" firmware sign --key "$f/$key.key" "$f/$file" >/dev/null; done
  done
  rc=0
  out=$("$bench" fleet --server "127.0.0.1:$CLIENT_PORT" --ca-file "$srv/tls/ca.crt" \
        --token-file "$srv/bootstrap-admin.token" --device-port "$DEVICE_PORT" \
        --project fleet --devices "$devices" --server-pid "$pid" --duration 300 --json --ota \
        --ota-root "$f/root-1" --ota-manifest "$f/image.sdbm" --ota-image "$f/image.bin") || rc=$?
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
  echo "$out"  # a run where a device did not verify exits 1: its JSON says why
  ((rc == 0 || rc == 1)) || exit "$rc"
  rm -rf "$srv"
done | tee "$work/runs.jsonl" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
for r in rows: print(json.dumps(r), file=sys.stderr)
print("| run | devices verified | failed / unfinished / lost | seconds | MiB/s | update p50 / p99 ms | server CPU-s | client CPU-s | server RSS: no sessions / sessions up / peak MiB | retried |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for i, r in enumerate(rows):
    mib = r["ota_bytes"] / 1048576
    print("| %d | %d of %d | %d / %d / %d | %.2f | %.1f | %.0f / %.0f | %.2f | %.2f | %.1f / %.1f / %.1f | %d |" % (
        i + 1, r["ota_verified"], r["sessions"], r["ota_failed"], r["ota_unfinished"],
        r["sessions_lost"], r["run_s"], mib / r["run_s"], r["ack_ms_p50"], r["ack_ms_p99"],
        r["server_cpu_s"], r["client_cpu_s"],
        r["server_rss_before_bytes"] / 1048576, r["server_rss_sessions_bytes"] / 1048576,
        r["server_rss_peak_bytes"] / 1048576,
        r["ota_rate_limited"]))
'
