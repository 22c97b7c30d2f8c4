#!/bin/bash
# An ignored Status or Result<T> does not compile (with the project's -Werror), and the same
# code that uses its value does: the check is the compiler's, so it is tested with the compiler.
# Usage: nodiscard_test.sh CXX CORE_INCLUDE_DIR
set -euo pipefail
cxx=$1
inc=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

compile() {  # compile FILE: syntax check only, as the project builds (C++23, warnings as errors)
  "$cxx" -std=c++23 -fsyntax-only -Wall -Werror -I "$inc" "$1" 2> "$dir/err"
}

cat > "$dir/prelude.h" <<'CPP'
#include "sensordb/status.h"
inline sensordb::Result<int> Get() { return 1; }
inline sensordb::Status Do() { return sensordb::Status::Ok(); }
CPP

printf '#include "prelude.h"\nint main() { auto r = Get(); Do().IgnoreError(); Get().IgnoreError(); return r ? *r : 1; }\n' \
  > "$dir/good.cc"
compile "$dir/good.cc" || { cat "$dir/err"; echo "FAIL: correct code did not compile"; exit 1; }

for body in 'Get();' 'Do();'; do
  printf '#include "prelude.h"\nint main() { %s return 0; }\n' "$body" > "$dir/bad.cc"
  if compile "$dir/bad.cc"; then
    echo "FAIL: '$body' ignores a result and still compiles"
    exit 1
  fi
  grep -q "unused-result" "$dir/err" || { cat "$dir/err"; echo "FAIL: '$body': other error"; exit 1; }
done
echo "PASS: ignored Status and Result<T> are compile errors"
