#!/usr/bin/env bash
# InfluxDB line protocol over HTTPS on this machine, RUNS times: each run makes a fresh
# `sensordbd init` directory, starts sensordbd on free loopback ports (the REST listener on an
# ephemeral one, read from the ready line), writes the simulated fleet with `sensordb-bench rest`
# (keep-alive connections, durable acks; the project created and the points counted back over the
# native protocol; the server's CPU read from /proc), stops the server (SIGTERM), seals and
# compacts the data directory with the `sensordb` CLI and divides its size by the points. Prints
# each run's JSON and a table of medians. Usage: bench/rest_ingest.sh [BUILD_DIR] [RUNS]
# [sensordb-bench rest options, e.g. --points 10000000 --connections 4 --lines-per-request 5000
# --gzip; --split time for the fleet as one time-major stream]. The data directory is also
# measured while the server runs: sampled every 0.2 s during the run (its largest size), right
# after the last acknowledgement and, with SETTLE=N in the environment, again N seconds later
# (what the running server compacts by itself). SET="K=V ..."
# adds config settings (docs/SERVER.md), e.g. SET=storage.head_checkpoint_mib=0. QUERY_RUNS=N
# times three REST queries on the running server after that (one keep-alive connection, curl's
# time_total, median of N after one warm-up): the hourly mean of one channel merged over all
# devices and per device (through /api/v1 and as InfluxQL on /query), and the count of all
# points.
# DURABILITY=async in the environment runs the server with async acknowledgements; PERF=FILE
# records the server of the first run with `perf record -g` (or $PERF_ARGS, e.g.
# `--call-graph dwarf`: sensordbd has no frame pointers) into FILE (the recording costs CPU: keep
# that run's figures out of the tables).
set -euo pipefail
build=${1:-build}
runs=${2:-3}
shift $(( $# > 2 ? 2 : $# ))
sensordbd="$build/server/sensordbd"
bench="$build/bench/sensordb-bench"
cli="$build/client/sensordb"
for b in "$sensordbd" "$bench" "$cli"; do [[ -x $b ]] || { echo "missing $b: build it first" >&2; exit 1; }; done
work=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
SENSORDBD=$sensordbd
source "$(dirname "$0")/../tests/lib/sensordbd.sh"
# Every setting asked for is checked to have taken, in the config and in the ready line.
settings=(--set backup.dir= --set "durability=${DURABILITY:-sync}")
for s in ${SET:-}; do settings+=(--set "$s"); done  # e.g. SET="storage.head_zstd_level=0"

for ((i = 0; i < runs; i++)); do
  # The loop runs in a subshell (it feeds a pipe): its own trap stops a server left running.
  trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null; [[ -n $du_pid ]] && kill $du_pid 2>/dev/null' \
    EXIT
  du_pid=
  srv="$work/srv$i"
  sensordbd_init "$srv" "${settings[@]}" || exit 1
  sensordbd_start "$srv" "$srv/out.log" "$srv/err.log" || { cat "$srv/err.log" >&2; exit 1; }
  pid=$SENSORDBD_PID
  sensordbd_expect_ready "${DURABILITY:-sync}" off || exit 1
  port=$CLIENT_PORT
  rest_port=$REST_PORT
  [[ -n $rest_port && $rest_port != 0 ]] || { echo "sensordbd has no REST listener" >&2; exit 1; }
  perf_pid=
  if [[ -n ${PERF:-} && $i == 0 ]]; then
    perf record ${PERF_ARGS:--g} -o "$PERF" -p "$pid" 2>"$srv/perf.log" &
    perf_pid=$!
    sleep 1
  fi
  # The data directory's size every 0.2 s while the tool runs (formatting, then writes).
  ( while :; do du -sb "$srv/data" 2>/dev/null | cut -f1; sleep 0.2; done ) >"$srv/du.log" &
  du_pid=$!
  net=$("$bench" rest --server "127.0.0.1:$rest_port" --native-server "127.0.0.1:$port" \
        --ca-file "$srv/tls/ca.crt" --token-file "$srv/bootstrap-admin.token" \
        --server-pid "$pid" --json "$@")
  kill "$du_pid" 2>/dev/null || true
  wait "$du_pid" 2>/dev/null || true
  du_pid=
  peak_bytes=$(sort -n "$srv/du.log" | tail -n1)
  [[ -n $perf_pid ]] && { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
  # The data directory as the running server left it, then after SETTLE seconds of idling.
  live_bytes=$(du -sb "$srv/data" | cut -f1)
  settled_bytes=$live_bytes
  if [[ ${SETTLE:-0} -gt 0 ]]; then
    sleep "$SETTLE"
    settled_bytes=$(du -sb "$srv/data" | cut -f1)
  fi
  queries='{}'
  if [[ ${QUERY_RUNS:-0} -gt 0 ]]; then
    token=$(cat "$srv/bootstrap-admin.token")
    base="https://127.0.0.1:$rest_port/api/v1/projects/bench/query/aggregate"
    median_ms() {  # URL: median time_total over QUERY_RUNS answers after a warm-up, in ms
      local urls=()
      for ((k = 0; k <= QUERY_RUNS; k++)); do urls+=(-o /dev/null "$1"); done
      curl -sS --fail --cacert "$srv/tls/ca.crt" -H "Authorization: Bearer $token" \
        -w '%{time_total}\n' "${urls[@]}" | tail -n +2 | sort -n |
        awk '{a[NR] = $1} END {printf "%.2f", a[int((NR + 1) / 2)] * 1000}'
    }
    merged=$(median_ms "$base?channel=env.temperature&every=1h&fn=mean")
    per_device=$(median_ms "$base?channel=env.temperature&every=1h&fn=mean&per_series=true")
    count=$(median_ms "$base?fn=count")
    # The per-device hourly mean again, as InfluxQL on /query (the fleet starts 2026-01-01;
    # fill(none) returns the same non-empty buckets as /api/v1).
    influxql="SELECT mean(temperature) FROM env WHERE time >= '2026-01-01T00:00:00Z' AND time < '2026-01-02T00:00:00Z' GROUP BY time(1h), device fill(none)"
    influxql_ms=$(median_ms "https://127.0.0.1:$rest_port/query?db=bench&epoch=ns&q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$influxql")")
    # With --labels: the same hourly mean grouped by a label (10 sites), and per device for
    # one site only (a tenth of the fleet), through the label path (docs/LABELS.md).
    encode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
    per_site=null one_site=null
    if [[ " $* " == *" --labels "* ]]; then
      per_site=$(median_ms "$base?channel=env.temperature&every=1h&fn=mean&group_by=site")
      site_where=" AND site = 'site-3' GROUP BY"  # a variable: quotes in ${x/a/b} are removed
      one_site=$(median_ms "https://127.0.0.1:$rest_port/query?db=bench&epoch=ns&q=$(encode "${influxql/ GROUP BY/$site_where}")")
    fi
    queries="{\"hourly_mean_one_channel_all_devices\": $merged, \"hourly_mean_one_channel_per_device\": $per_device, \"influxql_hourly_mean_per_device\": $influxql_ms, \"count_all_points\": $count, \"hourly_mean_per_site\": $per_site, \"influxql_hourly_mean_per_device_one_site\": $one_site}"
  fi
  # The server's peak resident memory, from the kernel, before it stops.
  peak_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
  # Seal the head into blocks and compact, as the engine benchmark does before it measures.
  "$cli" --data-dir "$srv/data" --key-file "$srv/master.key" flush >/dev/null
  "$cli" --data-dir "$srv/data" --key-file "$srv/master.key" compact >/dev/null
  stats=$("$cli" --data-dir "$srv/data" --key-file "$srv/master.key" stats --json)
  echo "{\"rest\": $net, \"stats\": $stats, \"server_peak_rss_kib\": ${peak_kib:-0}, \"live_bytes\": $live_bytes, \"settled_bytes\": $settled_bytes, \"peak_bytes\": ${peak_bytes:-0}, \"query_ms\": $queries}"
  rm -rf "$srv"
done | tee "$work/runs.jsonl" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
for r in rows:
    print(json.dumps(r), file=sys.stderr)
    if r["stats"]["points"] != r["rest"]["points"]:
        sys.exit("stats counts %d points, %d were written" % (r["stats"]["points"], r["rest"]["points"]))
med = lambda f: statistics.median(f(r) for r in rows)
rng = lambda f: "%.3g–%.3g" % (min(f(r) for r in rows), max(f(r) for r in rows))
r0 = rows[0]["rest"]
print("%d points, %d connections split by %s, %d lines per request, API %s%s" % (r0["points"],
      r0["connections"], r0["split"], r0["lines_per_request"], r0["api"], ", gzip" if r0["gzip"] else ""))
print("| figure | median of %d runs | range |" % len(rows))
print("| --- | --- | --- |")
figures = [
    ("M points/s over HTTPS, durable acks", lambda r: r["rest"]["points_per_s"] / 1e6),
    ("requests/s", lambda r: r["rest"]["requests_per_s"]),
    ("request latency p50 (ms)", lambda r: r["rest"]["latency_ms_p50"]),
    ("request latency p99 (ms)", lambda r: r["rest"]["latency_ms_p99"]),
    ("server CPU-s per million points", lambda r: r["rest"]["server_cpu_s_per_mpoints"]),
    ("tool CPU-s per million points (TLS, HTTP)", lambda r: r["rest"]["client_cpu_s_per_mpoints"]),
    ("tool CPU-s per million points (formatting, before the clock)", lambda r: r["rest"]["format_cpu_s_per_mpoints"]),
    ("server peak RSS (MiB)", lambda r: r["server_peak_rss_kib"] / 1024),
    ("largest data directory during ingest (sampled every 0.2 s), bytes per point written", lambda r: r["peak_bytes"] / r["rest"]["points"]),
    ("bytes/point on disk, running, right after ingest", lambda r: r["live_bytes"] / r["rest"]["points"]),
    ("bytes/point on disk, running, after SETTLE s", lambda r: r["settled_bytes"] / r["rest"]["points"]),
    ("bytes/point stored (flushed, compacted)", lambda r: r["stats"]["disk_bytes"] / r["stats"]["points"]),
]
for q in rows[0]["query_ms"]:
    if rows[0]["query_ms"][q] is not None:  # null: not asked in this mode (--labels)
        figures.append(("REST query %s (ms, warm)" % q, lambda r, q=q: r["query_ms"][q]))
for name, f in figures:
    print("| %s | %.3f | %s |" % (name, med(f), rng(f)))
'
