#!/usr/bin/env bash
# The kill -9 loop of tests/kill9_test.sh with many cycles, for a manual run: the same script
# (one loop, so CI and this run test the same thing), CYCLES times instead of 3. Prints each
# cycle and the totals: cycles, acknowledged points checked, missing, wrong. On a failure the work
# directory (server, logs, the log of acknowledged batches) is kept and named.
# Usage: bench/kill9_loop.sh [BUILD_DIR] [CYCLES]   (defaults: build, 100)
# KILL9_SEED=N repeats the random kill delays of an earlier run.
set -uo pipefail
build=${1:-build}
cycles=${2:-100}
here=$(cd "$(dirname "$0")" && pwd)
KILL9_CYCLES=$cycles KILL9_KEEP=1 exec bash "$here/../tests/kill9_test.sh" \
  "$build/server/sensordbd" "$build/client/sensordb" "$build/bench/sensordb-bench"
