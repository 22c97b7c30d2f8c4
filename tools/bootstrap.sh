#!/usr/bin/env bash
# Installs the Debian 12 packages that sensordb's build, tests and demo need.
# Idempotent: when every package is already installed it does nothing, not even `apt-get update`.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  librocksdb-dev libsodium-dev libzstd-dev libre2-dev
  libboost1.81-dev libboost-json1.81-dev
  libflatbuffers-dev flatbuffers-compiler
  libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libtomlplusplus-dev libcli11-dev libfmt-dev zlib1g-dev
  mosquitto-clients openssl curl
  python3-influxdb influxdb-client prometheus
  libclang-rt-14-dev binutils
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
