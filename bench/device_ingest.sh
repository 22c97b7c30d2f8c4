#!/usr/bin/env bash
# The device benchmarks of docs/BENCHMARKS.md "Devices", RUNS times each: every run makes a fresh
# `sensordbd init` directory and starts sensordbd on free loopback ports (device listeners on
# ephemeral ports, read from its ready line), then runs `sensordb-bench fleet` (one process, 2
# io threads, a key, certificate and mutual-TLS session per device; the server's CPU and RSS read
# from /proc) for one scenario, and stops the server:
#   native         1000 devices, native device stream, durable acks, as fast as they are acked
#   mqtt           1000 devices, MQTT 3.1.1 PUBLISH of line protocol at QoS 1 (PUBACK when
#                  durable), as fast as they are acked
#   native_target  the same as native at the target load (3000 points/s per device: 3 M/s)
#   mqtt_target    the same as mqtt at the target load (1000 points/s per device: 1 M/s)
#   idle           10 000 devices, native device stream, no data: one Ping per device every 10 s
# Devices have 10 channels and send 300 samples per channel per request (3000 points: a
# datalogger scanning its sensors every second and uploading every 5 minutes), 2 requests in
# flight. Without a rate the devices are a closed loop: the ack latency is then mostly queueing
# (1000 devices x 2 requests in the server's queues); the *_target runs give the latency at load.
# Prints each run's JSON on stderr and a table of medians. The config of each server is the
# default of `sensordbd init` except (printed below too): the connection limits raised to 12 000
# or what the open-files hard limit allows (limits.max_connections,
# limits.max_connections_per_address, and the pre-auth pool limits.max_preauth_connections,
# limits.max_preauth_per_address, since every simulated device connects from 127.0.0.1;
# defaults 1024, 64, 256 and 16; the idle scenario's 10 000 devices are cut to fit), REST off,
# MQTT only for the MQTT scenarios, the per-device points limit raised to 10 M/s
# (devices.points_per_second, default 100 000) so that it never throttles a benchmark, and the
# daily backup off.
# Usage: bench/device_ingest.sh [BUILD_DIR] [RUNS] [SCENARIOS] [sensordb-bench fleet options
# for every scenario]. SCENARIOS: comma-separated, default all five. DURATION (20) and
# IDLE_DURATION (60) in the environment set the seconds of data and of idling.
set -euo pipefail
build=${1:-build}
runs=${2:-3}
scenarios=${3:-native,mqtt,native_target,mqtt_target,idle}
shift $(( $# > 3 ? 3 : $# ))
duration=${DURATION:-20}
idle_duration=${IDLE_DURATION:-60}
data="--channels 10 --batch-points 300 --window 2"
sensordbd="$build/server/sensordbd"
bench="$build/bench/sensordb-bench"
work=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
SENSORDBD=$sensordbd
source "$(dirname "$0")/../tests/lib/sensordbd.sh"
# sensordbd refuses to start unless the open-files hard limit covers its caps (listeners x
# limits.max_connections + 1024 + 64): raise it where allowed (root), then the soft limit to it,
# and size the caps to what it allows: REST off, MQTT only for the MQTT scenarios.
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
hard=$(ulimit -Hn)
cap_for() {  # SCENARIO: limits.max_connections that fits, at most 12 000
  local listeners=2
  [[ $1 == mqtt* ]] && listeners=3
  local cap=$(((hard - 1024 - 64) / listeners))
  ((cap > 12000)) && cap=12000
  echo "$cap"
}
# Every setting asked for is checked to have taken (sensordbd_init), and the ready line too.
settings_for() {  # SCENARIO
  local cap mqtt=false
  cap=$(cap_for "$1")
  [[ $1 == mqtt* ]] && mqtt=true
  echo "--set backup.dir= --set rest.enabled=false --set devices.mqtt=$mqtt" \
       "--set limits.max_connections=$cap --set limits.max_connections_per_address=$cap" \
       "--set limits.max_preauth_connections=$cap --set limits.max_preauth_per_address=$cap" \
       "--set devices.points_per_second=10000000"
}
idle_devices=$(($(cap_for idle) - 16))
((idle_devices > 10000)) && idle_devices=10000
echo "server config changes: limits.max_connections, limits.max_connections_per_address and the" \
     "pre-auth pool all $(cap_for native) (native) / $(cap_for mqtt) (MQTT), REST off, MQTT only" \
     "for the MQTT scenarios, devices.points_per_second = 10000000, backup off; file" \
     "descriptors: ulimit -n $hard; idle scenario: $idle_devices devices" >&2

scenario_args() {
  case $1 in
    native) echo "--protocol native --devices 1000 --duration $duration $data" ;;
    mqtt) echo "--protocol mqtt --qos 1 --devices 1000 --duration $duration $data" ;;
    native_target) echo "--protocol native --devices 1000 --duration $duration $data --rate 3000" ;;
    mqtt_target) echo "--protocol mqtt --qos 1 --devices 1000 --duration $duration $data --rate 1000" ;;
    idle) echo "--protocol native --devices $idle_devices --idle --duration $idle_duration --ping-interval 10" ;;
    *) echo "unknown scenario $1" >&2; exit 2 ;;
  esac
}

for ((i = 0; i < runs; i++)); do
  for scenario in ${scenarios//,/ }; do
    # The loop runs in a subshell (it feeds a pipe): its own trap stops a server left running.
    trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null' EXIT
    srv="$work/srv-$scenario-$i"
    # shellcheck disable=SC2046
    sensordbd_init "$srv" $(settings_for "$scenario") || exit 1
    sensordbd_start "$srv" "$srv/out.log" "$srv/err.log" || { cat "$srv/err.log" >&2; exit 1; }
    pid=$SENSORDBD_PID
    sensordbd_expect_ready sync off || exit 1
    # shellcheck disable=SC2046
    out=$("$bench" fleet --server "127.0.0.1:$CLIENT_PORT" --ca-file "$srv/tls/ca.crt" \
          --token-file "$srv/bootstrap-admin.token" --device-port "$DEVICE_PORT" \
          --mqtt-port "$MQTT_PORT" --server-pid "$pid" --json $(scenario_args "$scenario") "$@")
    kill -TERM "$pid"
    wait "$pid" || true
    pid=
    echo "{\"scenario\": \"$scenario\", \"run\": $out}"
    rm -rf "$srv"
  done
done | tee "$work/runs.jsonl" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
for r in rows: print(json.dumps(r), file=sys.stderr)
names = [s for s in ("native", "mqtt", "native_target", "mqtt_target", "idle") if any(r["scenario"] == s for r in rows)]
by = {s: [r["run"] for r in rows if r["scenario"] == s] for s in names}
def med(s, f):
    v = [f(r) for r in by[s]]
    v = [x for x in v if x is not None and x >= 0]
    return statistics.median(v) if v else None
def cell(s, f, fmt):
    m = med(s, f)
    return "-" if m is None else fmt % m
head = {"native": "native, 1000 devices", "mqtt": "MQTT QoS 1, 1000 devices",
        "native_target": "native at 3 M points/s", "mqtt_target": "MQTT QoS 1 at 1 M points/s",
        "idle": "idle, 10 000 sessions"}
runs = {s: len(by[s]) for s in names}
print("| median of %s | %s |" % ("/".join(str(runs[s]) for s in names), " | ".join(head[s] for s in names)))
print("| --- |" + " --- |" * len(names))
data = lambda s: s != "idle"
rowdefs = [
    ("M points/s acknowledged", lambda r: r["points_per_s"] / 1e6 if not r["idle"] else None, "%.2f"),
    ("ack latency p50 / p99 / max (ms; idle: ping)", None, None),
    ("server CPU-s per million points", lambda r: r["server_cpu_s_per_mpoints"] if not r["idle"] else None, "%.3f"),
    ("client CPU-s per million points", lambda r: r["client_cpu_s_per_mpoints"] if not r["idle"] else None, "%.3f"),
    ("sessions established / failed", None, None),
    ("session setup, sessions/s", lambda r: r["setup_per_s"], "%.0f"),
    ("connect p50 / p99 (ms)", None, None),
    ("enrolment, devices/s", lambda r: r["enroll_per_s"], "%.0f"),
    ("server RSS per session (KiB)", lambda r: r["server_rss_per_session_bytes"] / 1024, "%.1f"),
    ("client RSS per session (KiB)", lambda r: r["client_rss_per_session_bytes"] / 1024, "%.1f"),
    ("errors (all runs)", None, None),
]
for title, f, fmt in rowdefs:
    cells = []
    for s in names:
        if title.startswith("ack latency"):
            cells.append("%s / %s / %s" % (cell(s, lambda r: r["ack_ms_p50"], "%.1f"),
                                          cell(s, lambda r: r["ack_ms_p99"], "%.1f"),
                                          cell(s, lambda r: r["ack_ms_max"], "%.1f")))
        elif title.startswith("sessions established"):
            cells.append("%s / %s" % (cell(s, lambda r: r["sessions"], "%d"),
                                      cell(s, lambda r: r["sessions_failed"], "%d")))
        elif title.startswith("connect"):
            cells.append("%s / %s" % (cell(s, lambda r: r["connect_ms_p50"], "%.0f"),
                                      cell(s, lambda r: r["connect_ms_p99"], "%.0f")))
        elif title.startswith("errors"):
            cells.append(str(sum(r["errors"] for r in by[s])))
        else:
            cells.append(cell(s, f, fmt))
    print("| %s | %s |" % (title, " | ".join(cells)))
'
