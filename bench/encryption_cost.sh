#!/usr/bin/env bash
# The cost of encryption at rest: runs `sensordb-bench engine` alternately encrypted and with
# the test-only plaintext cipher, PAIRS times, and prints the median of each figure for both and
# their ratio. Alternating keeps drifts of a shared machine out of the comparison.
# Usage: bench/encryption_cost.sh [BUILD_DIR] [PAIRS] [extra sensordb-bench engine options]
set -euo pipefail
build=${1:-build}
pairs=${2:-7}
shift $(( $# > 2 ? 2 : $# ))
bin="$build/bench/sensordb-bench"
for ((i = 0; i < pairs; i++)); do
  "$bin" engine --json --query-runs 11 "$@"
  "$bin" engine --json --query-runs 11 --plaintext "$@"
done | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
enc = [r for r in rows if r["encrypted"]]
pla = [r for r in rows if not r["encrypted"]]
figs = [("M points/s", lambda r: r["points_per_s"] / 1e6),
        ("bytes/point", lambda r: r["bytes_per_point"]),
        ("hourly mean, 1 channel x all devices (ms)",
         lambda r: r["query_ms"]["hourly_mean_one_channel_all_devices"]),
        ("count all points (ms)", lambda r: r["query_ms"]["count_all_points"]),
        ("hourly mean per channel, 1 device (ms)",
         lambda r: r["query_ms"]["hourly_mean_one_device_per_channel"])]
print("| figure | encrypted | plaintext | encrypted / plaintext |")
print("| --- | --- | --- | --- |")
for name, f in figs:
    e = statistics.median(f(r) for r in enc)
    p = statistics.median(f(r) for r in pla)
    print(f"| {name} | {e:.3f} | {p:.3f} | {e / p:.3f} |")
print(f"\n{len(enc)} encrypted and {len(pla)} plaintext runs, alternating; medians")'
