// `sensordb-bench codec FILE [--json]`: how well and how fast the column codecs handle a real
// series. Values are split into vectors of kVectorValues; a zstd stage (level 3) runs over
// blocks of kVectorsPerBlock encoded vectors. gorilla_bits_per_value is the size a reference
// Gorilla XOR encoder (Pelkonen et al., VLDB 2015) would need for the same vectors.
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bench_commands.h"
#include "block/column_codec.h"

namespace {

constexpr size_t kVectorValues = 1024;
constexpr size_t kVectorsPerBlock = 4;
constexpr int kZstdLevel = 3;
constexpr double kMinTimedSeconds = 0.2;

struct Series {
  std::vector<int64_t> timestamps;  // empty when the file has none
  std::vector<double> values;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

template <typename T>
bool ParseNumber(std::string_view s, T* v) {
  s = Trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return !s.empty() && ec == std::errc() && end == s.data() + s.size();
}

// Parses one line into `series`; returns an error message, or nothing when the line is fine.
std::optional<std::string> ParseLine(std::string_view line, bool with_ts, Series* series) {
  const size_t comma = line.find(',');
  if ((comma != std::string_view::npos) != with_ts) {
    return with_ts ? "expected `timestamp,value` like the first data line"
                   : "expected a single value like the first data line";
  }
  std::string_view value_text = with_ts ? line.substr(comma + 1) : line;
  if (with_ts) {
    int64_t ts;
    if (!ParseNumber(line.substr(0, comma), &ts)) {
      return "timestamp `" + std::string(Trim(line.substr(0, comma))) + "` is not an integer";
    }
    series->timestamps.push_back(ts);
  }
  double v;
  if (value_text.find(',') != std::string_view::npos) return "more than two fields";
  if (!ParseNumber(value_text, &v)) {
    return "value `" + std::string(Trim(value_text)) + "` is not a number";
  }
  series->values.push_back(v);
  return std::nullopt;
}

std::optional<Series> ReadSeries(const std::string& path) {
  std::ifstream file(path);
  if (!file) {
    std::fprintf(stderr, "error: cannot open %s\n", path.c_str());
    return std::nullopt;
  }
  Series series;
  std::string line;
  int with_ts = -1;  // unknown until the first data line
  for (size_t line_no = 1; std::getline(file, line); ++line_no) {
    const std::string_view text = Trim(line);
    if (text.empty()) continue;
    const bool first = with_ts < 0;
    if (first) with_ts = text.find(',') != std::string_view::npos ? 1 : 0;
    const auto error = ParseLine(text, with_ts == 1, &series);
    if (!error) continue;
    if (first && line_no == 1) {  // a header line
      with_ts = -1;
      continue;
    }
    std::fprintf(stderr, "error: %s:%zu: %s\n", path.c_str(), line_no, error->c_str());
    return std::nullopt;
  }
  if (series.values.empty()) {
    std::fprintf(stderr, "error: %s: no data lines (want `value` or `timestamp,value` lines)\n",
                 path.c_str());
    return std::nullopt;
  }
  return series;
}

// Reference Gorilla XOR size in bits for one vector (first value raw, then control bits).
uint64_t GorillaBits(std::span<const double> v) {
  uint64_t bits = 64;
  uint64_t prev = std::bit_cast<uint64_t>(v[0]);
  int lead = -1, trail = 0;
  for (double d : v.subspan(1)) {
    const uint64_t cur = std::bit_cast<uint64_t>(d);
    const uint64_t x = cur ^ prev;
    prev = cur;
    if (x == 0) {
      bits += 1;
      continue;
    }
    const int l = std::min(std::countl_zero(x), 31), t = std::countr_zero(x);
    if (lead >= 0 && l >= lead && t >= trail) {
      bits += 2 + uint64_t(64 - lead - trail);
    } else {
      lead = l;
      trail = t;
      bits += 2 + 5 + 6 + uint64_t(64 - l - t);
    }
  }
  return bits;
}

struct Encoded {
  std::vector<std::string> vectors;  // one encoding per vector
  size_t Bytes() const {
    size_t n = 0;
    for (const auto& s : vectors) n += s.size();
    return n;
  }
  size_t ZstdBytes() const;
};

size_t Encoded::ZstdBytes() const {
  size_t total = 0;
  std::string block, dst;
  for (size_t i = 0; i < vectors.size(); i += kVectorsPerBlock) {
    block.clear();
    for (size_t j = i; j < std::min(vectors.size(), i + kVectorsPerBlock); ++j) block += vectors[j];
    dst.resize(ZSTD_compressBound(block.size()));
    const size_t n = ZSTD_compress(dst.data(), dst.size(), block.data(), block.size(), kZstdLevel);
    total += ZSTD_isError(n) ? block.size() : std::min(n, block.size());
  }
  return total;
}

template <typename T>
using EncodeFn = void (*)(std::span<const T>, std::string*);
template <typename T>
using DecodeFn = sensordb::Status (*)(std::string_view*, std::span<T>);

struct Timing {
  double encode_mb_per_s = 0;
  double decode_mb_per_s = 0;
  bool exact = true;
};

// Encodes every vector (repeating until kMinTimedSeconds), decodes likewise, checks the bits.
template <typename T>
Timing TimeCodec(const std::vector<T>& data, EncodeFn<T> encode, DecodeFn<T> decode,
                 Encoded* enc) {
  using Clock = std::chrono::steady_clock;
  const size_t vectors = (data.size() + kVectorValues - 1) / kVectorValues;
  auto span_of = [&](size_t i) {
    return std::span<const T>(data).subspan(i * kVectorValues,
                                            std::min(kVectorValues, data.size() - i * kVectorValues));
  };
  Timing t;
  enc->vectors.assign(vectors, std::string());
  size_t rounds = 0;
  const auto t0 = Clock::now();
  for (; rounds < 3 || Clock::now() - t0 < std::chrono::duration<double>(kMinTimedSeconds); ++rounds) {
    for (size_t i = 0; i < vectors; ++i) {
      enc->vectors[i].clear();
      encode(span_of(i), &enc->vectors[i]);
    }
  }
  const double mb = double(data.size()) * 8 / 1e6;
  t.encode_mb_per_s = mb * double(rounds) / std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<T> out(data.size());
  const auto t1 = Clock::now();
  for (rounds = 0; rounds < 3 || Clock::now() - t1 < std::chrono::duration<double>(kMinTimedSeconds); ++rounds) {
    for (size_t i = 0; i < vectors; ++i) {
      std::string_view in = enc->vectors[i];
      const auto n = span_of(i).size();
      t.exact &= decode(&in, std::span<T>(out).subspan(i * kVectorValues, n)).ok() && in.empty();
    }
  }
  t.decode_mb_per_s = mb * double(rounds) / std::chrono::duration<double>(Clock::now() - t1).count();
  t.exact &= std::memcmp(out.data(), data.data(), data.size() * sizeof(T)) == 0;
  return t;
}

}  // namespace

int RunCodecCommand(const std::string& path, bool json) {
  const std::optional<Series> series = ReadSeries(path);
  if (!series) return 1;
  const auto& values = series->values;
  const double n = double(values.size());
  Encoded venc, tenc;
  const Timing vt = TimeCodec<double>(values, sensordb::block::EncodeFloat64,
                                      sensordb::block::DecodeFloat64, &venc);
  const bool has_ts = !series->timestamps.empty();
  Timing tt;
  if (has_ts) {
    tt = TimeCodec<int64_t>(series->timestamps, sensordb::block::EncodeTimestamps,
                            sensordb::block::DecodeTimestamps, &tenc);
  }
  uint64_t gorilla_bits = 0;
  for (size_t i = 0; i < values.size(); i += kVectorValues) {
    gorilla_bits += GorillaBits(std::span(values).subspan(i, std::min(kVectorValues, values.size() - i)));
  }
  if (!vt.exact || !tt.exact) {
    std::fprintf(stderr, "error: %s: round trip was not bit-exact (codec bug)\n", path.c_str());
    return 1;
  }
  const double bpv = 8.0 * double(venc.Bytes()) / n;
  const double bpv_zstd = 8.0 * double(venc.ZstdBytes()) / n;
  const double bpp = double(venc.Bytes() + tenc.Bytes()) / n;
  const double bpp_zstd = double(venc.ZstdBytes() + tenc.ZstdBytes()) / n;
  const double gorilla = double(gorilla_bits) / n;
  if (json) {
    std::printf("{\"file\": \"%s\", \"values\": %zu, \"bits_per_value\": %.3f, "
                "\"bits_per_value_zstd\": %.3f, \"gorilla_bits_per_value\": %.3f, "
                "\"encode_mb_per_s\": %.1f, \"decode_mb_per_s\": %.1f",
                path.c_str(), values.size(), bpv, bpv_zstd, gorilla, vt.encode_mb_per_s,
                vt.decode_mb_per_s);
    if (has_ts) {
      std::printf(", \"bytes_per_point\": %.3f, \"bytes_per_point_zstd\": %.3f, "
                  "\"timestamp_encode_mb_per_s\": %.1f, \"timestamp_decode_mb_per_s\": %.1f",
                  bpp, bpp_zstd, tt.encode_mb_per_s, tt.decode_mb_per_s);
    }
    std::printf("}\n");
    return 0;
  }
  std::printf("%-44s %8s %9s %9s %8s %10s %10s %9s %9s\n", "file", "values", "bits/val",
              "+zstd", "gorilla", "enc MB/s", "dec MB/s", "B/point", "+zstd");
  std::printf("%-44s %8zu %9.2f %9.2f %8.2f %10.0f %10.0f", path.c_str(), values.size(), bpv,
              bpv_zstd, gorilla, vt.encode_mb_per_s, vt.decode_mb_per_s);
  if (has_ts) {
    std::printf(" %9.3f %9.3f\n", bpp, bpp_zstd);
  } else {
    std::printf(" %9s %9s\n", "-", "-");
  }
  return 0;
}
