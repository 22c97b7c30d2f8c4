// Micro-benchmarks of the column codecs on synthetic sensor-like vectors of 1024 values.
// bytes_per_second counts raw 8-byte values (1 byte for bools); bits_per_value is the encoded
// size. Run: sensordb-codec-bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "block/column_codec.h"

namespace {

constexpr size_t kVector = 1024;

std::vector<double> QuantizedWalk(double p_move, double quantum) {
  std::mt19937_64 rng(42);
  std::bernoulli_distribution move(p_move), up(0.5);
  std::vector<double> v;
  int64_t steps = 215;
  for (size_t i = 0; i < kVector; ++i) {
    if (move(rng)) steps += up(rng) ? 1 : -1;
    v.push_back(double(steps) / (1 / quantum));
  }
  return v;
}

std::vector<double> GaussianWalk2dp() {
  std::mt19937_64 rng(43);
  std::normal_distribution<double> step(0, 0.05);
  std::vector<double> v;
  double x = 20;
  for (size_t i = 0; i < kVector; ++i) v.push_back(std::round((x += step(rng)) * 100) / 100);
  return v;
}

std::vector<double> HighPrecision() {
  std::mt19937_64 rng(44);
  std::normal_distribution<double> noise(0, 1e-3);
  std::vector<double> v;
  for (size_t i = 0; i < kVector; ++i) v.push_back(100 + std::sin(double(i) * 1e-2) + noise(rng));
  return v;
}

std::vector<int64_t> JitteredTimestamps() {
  std::mt19937_64 rng(45);
  std::vector<int64_t> ts;
  for (size_t i = 0; i < kVector; ++i) {
    ts.push_back(1700000000000000000 + int64_t(i) * 10000000000 +
                 (rng() % 50 == 0 ? int64_t(rng() % 1000000) : 0));
  }
  return ts;
}

std::vector<int64_t> Counter() {
  std::mt19937_64 rng(46);
  std::vector<int64_t> v;
  for (int64_t c = 1000000; v.size() < kVector; c += int64_t(rng() % 100)) v.push_back(c);
  return v;
}

std::vector<uint8_t> Flags() {
  std::mt19937_64 rng(47);
  std::vector<uint8_t> v;
  uint8_t cur = 0;
  for (size_t i = 0; i < kVector; ++i) v.push_back(cur ^= uint8_t(rng() % 40 == 0));
  return v;
}

template <typename T, typename Encode>
void EncodeBench(benchmark::State& state, const std::vector<T>& data, Encode encode) {
  std::string out;
  for (auto _ : state) {
    out.clear();
    encode(std::span<const T>(data), &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size() * sizeof(T)));
  state.counters["bits_per_value"] = 8.0 * double(out.size()) / double(data.size());
}

template <typename T, typename Encode, typename Decode>
void DecodeBench(benchmark::State& state, const std::vector<T>& data, Encode encode,
                 Decode decode) {
  std::string enc;
  encode(std::span<const T>(data), &enc);
  std::vector<T> out(data.size());
  for (auto _ : state) {
    std::string_view in = enc;
    if (!decode(&in, std::span<T>(out)).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(data.size() * sizeof(T)));
  state.counters["bits_per_value"] = 8.0 * double(enc.size()) / double(data.size());
}

using sensordb::block::DecodeBool;
using sensordb::block::DecodeFloat64;
using sensordb::block::DecodeInt64;
using sensordb::block::DecodeTimestamps;
using sensordb::block::EncodeBool;
using sensordb::block::EncodeFloat64;
using sensordb::block::EncodeInt64;
using sensordb::block::EncodeTimestamps;

#define SENSORDB_CODEC_BENCH(name, type, data_fn, enc, dec)                          \
  void BM_Encode##name(benchmark::State& s) { EncodeBench<type>(s, data_fn, enc); }   \
  void BM_Decode##name(benchmark::State& s) { DecodeBench<type>(s, data_fn, enc, dec); } \
  BENCHMARK(BM_Encode##name);                                                         \
  BENCHMARK(BM_Decode##name)

SENSORDB_CODEC_BENCH(FloatWalkTenths, double, QuantizedWalk(0.5, 0.1), EncodeFloat64, DecodeFloat64);
SENSORDB_CODEC_BENCH(FloatWalkMostlyFlat, double, QuantizedWalk(0.1, 0.1), EncodeFloat64,
                     DecodeFloat64);
SENSORDB_CODEC_BENCH(FloatGaussianWalk2dp, double, GaussianWalk2dp(), EncodeFloat64, DecodeFloat64);
SENSORDB_CODEC_BENCH(FloatHighPrecision, double, HighPrecision(), EncodeFloat64, DecodeFloat64);
SENSORDB_CODEC_BENCH(TimestampsJittered, int64_t, JitteredTimestamps(), EncodeTimestamps,
                     DecodeTimestamps);
SENSORDB_CODEC_BENCH(Int64Counter, int64_t, Counter(), EncodeInt64, DecodeInt64);
SENSORDB_CODEC_BENCH(BoolFlags, uint8_t, Flags(), EncodeBool, DecodeBool);

}  // namespace

BENCHMARK_MAIN();
