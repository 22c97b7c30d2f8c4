#!/usr/bin/env bash
# make demo: the embedded engine writes a simulated fleet (1000 devices x 10 channels, 10 M
# points, sync durability, encrypted at rest), seals and compacts it, runs the standard queries,
# then the local CLI looks at the same data directory.
set -euo pipefail
build=${1:-build}
work=$(mktemp -d /tmp/sensordb-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
cli="$build/client/sensordb"
key="$work/master.key"   # outside the data directory, as a master key must be

echo "== sensordb demo in $work"
"$cli" keygen "$key"
echo
echo "== 1. embedded engine: write the fleet, seal, compact, query"
"$build/bench/sensordb-bench" engine --devices 1000 --channels 10 --points 10000000 \
  --durability sync --dir "$work/db" --key-file "$key"
echo
echo "== 2. the local CLI on the same directory"
sdb() { echo "\$ sensordb $*"; "$cli" --data-dir "$work/db" --key-file "$key" "$@"; echo; }
sdb stats
sdb key status
sdb query --project bench --latest --device logger-00000
sdb query --project bench --device logger-00000 --channel temperature --agg mean,min,max \
  --every 1h --format table
