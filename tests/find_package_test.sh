#!/usr/bin/env bash
# Installs the built tree into a temporary prefix and builds engine/examples against it with
# find_package(sensordb), as an embedder would, then runs the example.
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
mkdir -p "$tmp/app"
cp "$src/engine/examples/embedded_example.cc" "$tmp/app/"
cat > "$tmp/app/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(embedder LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 23)
find_package(sensordb REQUIRED)
add_executable(example embedded_example.cc)
target_link_libraries(example PRIVATE sensordb::engine)
CMAKE
cmake -S "$tmp/app" -B "$tmp/app/build" -G Ninja -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/app/build" >/dev/null
"$tmp/app/build/example" "$tmp/db" | grep -q "latest temperature"
echo "find_package(sensordb) works"
