#!/usr/bin/env bash
# A program that only talks to a server builds from the client library's headers and links
# sensordb::client, sensordb::protocol and sensordb::core with OpenSSL, and nothing of the
# storage engine: no libsensordb (the engine), RocksDB, libsodium or zstd (docs/ARCHITECTURE.md).
#   tests/client_link_test.sh OUT_DIR CLIENT_LIB PROTOCOL_LIB CORE_LIB
# The headers come from client/lib/include and core/include only.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: client_link_test.sh OUT_DIR CLIENT_LIB PROTOCOL_LIB CORE_LIB}
client=${2:?} protocol=${3:?} core=${4:?}
mkdir -p "$out"
bin="$out/client-only-example"
g++ -std=c++23 -O0 -o "$bin" client/examples/client_example.cc \
  -Iclient/lib/include -Icore/include \
  "$client" "$protocol" "$core" -lboost_system -lssl -lcrypto -pthread
needed=$(readelf -d "$bin" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p')
echo "client-only program needs: $(echo $needed)"
if echo "$needed" | grep -E 'rocksdb|sodium|zstd|libsensordb' >/dev/null; then
  echo "FAIL: a client-only program needs a storage library" >&2
  exit 1
fi
echo "ok"
