#!/usr/bin/env bash
# Runs the fuzz targets of a SENSORDB_FUZZ build (`make fuzz`) for SECONDS each, one after the
# other, and prints executions, coverage and the result per target. Each target starts from its
# seed corpus (fuzz/corpus/<target>/, read only) and a working corpus kept in the build
# directory, so that longer runs build on earlier ones. A crash, leak, timeout or sanitizer
# report stops the run: the input is saved under BUILD/fuzz-artifacts/ and the command that
# replays it is printed.
#   tools/fuzz.sh BUILD SECONDS [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: tools/fuzz.sh BUILD SECONDS [TARGET...]}
seconds=${2:?usage: tools/fuzz.sh BUILD SECONDS [TARGET...]}
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for dir in fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
summary=()
status=0
for t in "${targets[@]}"; do
  bin="$build/fuzz/$t"
  [ -x "$bin" ] || { echo "fuzz: no target $bin (build with make fuzz)" >&2; exit 2; }
  work="$build/fuzz-corpus/$t"
  mkdir -p "$work"
  log="$build/fuzz-logs/$t.log"
  echo "fuzz: $t for ${seconds}s"
  rc=0
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" \
    "$work" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  corpus=$(find "$work" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    result=ok
  else
    result="FAILED (exit $rc)"
    status=1
    artifact=$(grep -o "Test unit written to .*" "$log" | tail -1 | sed 's/Test unit written to //')
    grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 >&2 || true
    echo "fuzz: $t failed; log $log; replay: $bin ${artifact:-<input>}" >&2
  fi
  summary+=("$(printf '%-22s %14s %10s %8s %8s  %s' "$t" "${runs:-?}" "${rate:-?}" "${ft:-?}" \
    "$corpus" "$result")")
  [ "$status" -eq 0 ] || break
done
printf '%-22s %14s %10s %8s %8s  %s\n' target executions exec/s features corpus result
printf '%s\n' "${summary[@]}"
exit "$status"
