#!/usr/bin/env bash
# Native-protocol ingest over TLS 1.3 on this machine, RUNS times: each run makes a fresh
# `sensordbd init` directory, starts sensordbd on free loopback ports, streams the simulated
# fleet with `sensordb-bench server` (client library, pipelined writes, durable acks; the
# server's CPU read from /proc), times the standard queries over the protocol, stops the server
# and times the same queries embedded on the same data directory. Prints each run's JSON and a
# table of medians. Usage: bench/server_ingest.sh [BUILD_DIR] [RUNS] [sensordb-bench server
# options, e.g. --points 10000000 --connections 2 --window 8]. DURABILITY=async in the
# environment runs the server with async acknowledgements (default: sync).
set -euo pipefail
build=${1:-build}
runs=${2:-3}
shift $(( $# > 2 ? 2 : $# ))
sensordbd="$build/server/sensordbd"
bench="$build/bench/sensordb-bench"
work=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
SENSORDBD=$sensordbd
source "$(dirname "$0")/../tests/lib/sensordbd.sh"
# Every setting asked for is checked to have taken, in the config and in the ready line.
settings=(--set backup.dir= --set "durability=${DURABILITY:-sync}")

for ((i = 0; i < runs; i++)); do
  # The loop runs in a subshell (it feeds a pipe): its own trap stops a server left running.
  trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null' EXIT
  srv="$work/srv$i"
  sensordbd_init "$srv" "${settings[@]}" || exit 1
  sensordbd_start "$srv" "$srv/out.log" "$srv/err.log" || { cat "$srv/err.log" >&2; exit 1; }
  pid=$SENSORDBD_PID
  sensordbd_expect_ready "${DURABILITY:-sync}" off || exit 1
  port=$CLIENT_PORT
  net=$("$bench" server --server "127.0.0.1:$port" --ca-file "$srv/tls/ca.crt" \
        --token-file "$srv/bootstrap-admin.token" --server-pid "$pid" --json "$@")
  kill -TERM "$pid"
  wait "$pid" || true
  pid=
  embedded=$("$bench" engine --query-only --dir "$srv/data" --key-file "$srv/master.key" --json)
  echo "{\"net\": $net, \"embedded\": $embedded}"
  rm -rf "$srv"
done | tee "$work/runs.jsonl" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
for r in rows: print(json.dumps(r), file=sys.stderr)
med = lambda f: statistics.median(f(r) for r in rows)
print("| figure | median of %d runs |" % len(rows))
print("| --- | --- |")
print("| M points/s over TLS, durable acks | %.2f |" % med(lambda r: r["net"]["points_per_s"] / 1e6))
print("| server CPU-s per million points | %.3f |" % med(lambda r: r["net"]["server_cpu_s_per_mpoints"]))
print("| client CPU-s per million points | %.3f |" % med(lambda r: r["net"]["client_cpu_s_per_mpoints"]))
for q in rows[0]["net"]["query_ms"]:
    n = med(lambda r: r["net"]["query_ms"][q]); e = med(lambda r: r["embedded"]["query_ms"][q])
    print("| %s: protocol / embedded / difference (ms) | %.2f / %.2f / %+.2f |" % (q, n, e, n - e))
'
