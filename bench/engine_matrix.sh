#!/usr/bin/env bash
# Runs `sensordb-bench engine` (1000 devices x 10 channels, 10 M points) for each durability,
# thread count and cipher, RUNS times each, and prints one markdown row per configuration with
# the median of each figure. Usage: bench/engine_matrix.sh [BUILD_DIR] [RUNS]
set -euo pipefail
build=${1:-build}
runs=${2:-3}
bin="$build/bench/sensordb-bench"
echo "| durability | threads | cipher | M points/s | bytes/point | hourly mean, 1 channel x 1000 devices (ms) | count all (ms) | peak RSS (MiB) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for durability in async sync; do
  for threads in 1 2; do
    for cipher in encrypted plaintext; do
      flag=""
      [ "$cipher" = plaintext ] && flag="--plaintext"
      for ((i = 0; i < runs; i++)); do
        "$bin" engine --devices 1000 --channels 10 --points 10000000 --durability "$durability" \
          --threads "$threads" --query-runs 11 --json $flag
      done | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
med = lambda f: statistics.median(f(r) for r in rows)
print("| {} | {} | {} | {:.2f} | {:.3f} | {:.1f} | {:.1f} | {:.0f} |".format(
    sys.argv[1], sys.argv[2], sys.argv[3],
    med(lambda r: r["points_per_s"]) / 1e6, med(lambda r: r["bytes_per_point"]),
    med(lambda r: r["query_ms"]["hourly_mean_one_channel_all_devices"]),
    med(lambda r: r["query_ms"]["count_all_points"]),
    med(lambda r: r["peak_rss_bytes"]) / 2**20))' "$durability" "$threads" "$cipher"
    done
  done
done
