#!/usr/bin/env bash
# make demo: the embedded engine writes a simulated fleet (1000 devices x 10 channels, 10 M
# points, sync durability), seals and compacts it, runs the standard queries, then the local
# CLI looks at the same data directory.
set -euo pipefail
build=${1:-build}
dir=$(mktemp -d /tmp/sensordb-demo.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cli="$build/client/sensordb"

echo "== sensordb demo: data directory $dir"
echo "== 1. embedded engine: write the fleet, seal, compact, query"
"$build/bench/sensordb-bench" engine --devices 1000 --channels 10 --points 10000000 \
  --durability sync --dir "$dir/db" --keep
if [ -x "$cli" ]; then
  echo
  echo "== 2. the local CLI on the same directory"
  ( set -x
    "$cli" --data-dir "$dir/db" stats
    "$cli" --data-dir "$dir/db" query --project bench --latest --device logger-00000
    "$cli" --data-dir "$dir/db" query --project bench --channel temperature --agg mean,min,max --every 1h
  )
fi
