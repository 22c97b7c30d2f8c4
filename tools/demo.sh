#!/usr/bin/env bash
# make demo: a fresh sensordbd (`init`: master key, development CA, bootstrap token) on free
# loopback ports; a simulated fleet of 1000 devices x 10 channels (10 M points) streamed through
# the native protocol over TLS 1.3 by the client library (sensordb-bench server, durable acks);
# the CLI in client mode creates a project, imports, queries, manages a token and a grant, reads
# the audit log; a metrics scrape; a clean stop on SIGTERM; then the local CLI on the same data
# directory. Everything stays in a temporary directory, removed at the end.
set -euo pipefail
build=${1:-build}
work=$(mktemp -d /tmp/sensordb-demo.XXXXXX)
pid=
trap '[[ -n $pid ]] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
cli="$build/client/sensordb"
srv="$work/srv"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "1. sensordbd init: config, master key, development CA, bootstrap token ($srv)"
"$build/server/sensordbd" init "$srv" --port "$(free_port)"
sed -i "s/^port = 9470/port = $(free_port)/" "$srv/sensordbd.toml"
sed -i "s/^port = 7071/port = 0/; s/^port = 8086/port = 0/; s/^mqtt_port = 8883/mqtt_port = 0/" "$srv/sensordbd.toml"  # device listeners: ephemeral ports

step "2. start sensordbd"
"$build/server/sensordbd" --config "$srv/sensordbd.toml" >"$work/out.log" 2>"$work/err.log" &
pid=$!
for _ in $(seq 100); do grep -q '^ready' "$work/out.log" 2>/dev/null && break; sleep 0.1; done
grep -q '^ready' "$work/out.log" || { cat "$work/err.log"; exit 1; }
cat "$work/err.log"
port=$(sed -n 's/^ready client_port=\([0-9]*\).*/\1/p' "$work/out.log")
mport=$(sed -n 's/.*metrics_port=\([0-9]*\).*/\1/p' "$work/out.log")

# Client mode: the server, its CA, and a token from a file (never on the command line).
export SENSORDB_SERVER="127.0.0.1:$port" SENSORDB_CA_FILE="$srv/tls/ca.crt"
export SENSORDB_TOKEN_FILE="$srv/bootstrap-admin.token"
sdb() { printf '$ sensordb %s\n' "$*"; "$cli" "$@"; }

step "3. the CLI over TLS: a project, a service account with a writer grant, an import"
sdb project create greenhouse
sdb user create ingest --service
sdb token issue ingest --out "$work/ingest.token"
sdb grant set greenhouse ingest writer
printf 'climate,device=dl-01 air_temp=21.5,humidity=48 1767225600000000000\nclimate,device=dl-01 air_temp=21.7,humidity=47 1767225660000000000\nclimate,device=dl-02 air_temp=19.9,humidity=55 1767225600000000000\n' >"$work/climate.lp"
SENSORDB_TOKEN_FILE="$work/ingest.token" sdb import --project greenhouse "$work/climate.lp"
sdb query --project greenhouse --latest --device dl-01

step "4. stream the fleet through the native protocol with the client library"
show "$build/bench/sensordb-bench" server --server "127.0.0.1:$port" --ca-file "$srv/tls/ca.crt" \
  --token-file "$srv/bootstrap-admin.token" --server-pid "$pid" --points 10000000 --connections 4

step "5. queries over the protocol"
sdb query --project bench --latest --device logger-00000
sdb query --project bench --device logger-00000 --channel temperature --agg mean,min,max \
  --every 1h --format table | head -8
sdb project list

step "6. what the server saw: metrics (bearer token) and the audit log"
curl -s -H "Authorization: Bearer $(cat "$srv/metrics.token")" "http://127.0.0.1:$mport/metrics" |
  grep -E '^sensordb_(ingest_points_total|connections_accepted_total|logins_total|refusals_total\{reason="bad-credentials"\}|backup_runs_total|stored_points) '
sdb audit list --limit 20
sdb audit verify

step "7. SIGTERM: finish requests in flight, close the database"
kill -TERM "$pid"
wait "$pid"
pid=
tail -2 "$work/err.log"

step "8. the local CLI on the same data directory (with the master key)"
local_sdb() { printf '$ sensordb %s\n' "$*"; "$cli" --data-dir "$srv/data" --key-file "$srv/master.key" "$@"; }
unset SENSORDB_SERVER SENSORDB_CA_FILE SENSORDB_TOKEN_FILE
local_sdb stats     # the fleet is still in the head (recent data): 3 bytes/point
local_sdb compact   # seals every chunk into compressed, encrypted blocks
local_sdb stats
local_sdb key status
