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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

for ((i = 0; i < runs; i++)); do
  # The loop runs in a subshell (it feeds a pipe): its own trap stops a server left running.
  trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null' EXIT
  srv="$work/srv$i"
  "$sensordbd" init "$srv" --port "$(free_port)" >/dev/null
  sed -i "s/^port = 9470/port = $(free_port)/; s/^dir = \"backups\"/dir = \"\"/" "$srv/sensordbd.toml"
  sed -i "s/^port = 7071/port = 0/; s/^port = 8086/port = 0/; s/^mqtt_port = 8883/mqtt_port = 0/" "$srv/sensordbd.toml"  # device listeners: ephemeral ports
  [[ -n ${DURABILITY:-} ]] && sed -i "s/^durability = \"sync\"/durability = \"$DURABILITY\"/" "$srv/sensordbd.toml"
  "$sensordbd" --config "$srv/sensordbd.toml" >"$srv/out.log" 2>"$srv/err.log" &
  pid=$!
  for _ in $(seq 100); do grep -q '^ready' "$srv/out.log" 2>/dev/null && break; sleep 0.1; done
  port=$(sed -n 's/^ready client_port=\([0-9]*\).*/\1/p' "$srv/out.log")
  [[ -n $port ]] || { cat "$srv/err.log" >&2; exit 1; }
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
