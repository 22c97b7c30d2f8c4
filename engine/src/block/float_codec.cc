// float64 columns, after ALP (Afroozeh, Kuffo, Boncz, SIGMOD 2024). Scheme 0 ("decimal") stores
// each value v as an integer d with v == DecimalValue(d, scale), checked bit for bit at encode
// time; values that fail (NaN, infinities, -0.0, non-decimals, huge) are exceptions stored raw.
// The integers go through the shared integer sequence (delta/FOR/sparse). Scheme 1 (ALP-RD,
// block/float_rd.cc) serves vectors of high-precision doubles; scheme 2 stores raw bits.
//
// Unlike ALP, which decodes with d * 10^f * 10^-e (10^-e is inexact), decoding divides by the
// exact power 10^scale: IEEE division is correctly rounded, so every double that is the nearest
// double to some d / 10^scale (|d| < 2^51) round-trips, and ALP's second factor f is not needed
// for exactness; a negative scale (multiply by 10^-scale) covers its other use, trailing zeros.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <vector>

#include "block/bit_stream.h"
#include "block/column_codec.h"
#include "block/float_rd.h"
#include "block/int_sequence.h"
#include "sensordb/coding.h"

namespace sensordb::block {
namespace {

enum class FloatScheme : uint8_t { kDecimal = 0, kRd = 1, kRaw = 2 };

constexpr int kMaxScale = 22;                        // 10^22 is the largest exact power of ten
constexpr double kMaxDigits = 2251799813685248.0;    // 2^51: bound of the rounding trick
constexpr double kRoundMagic = 6755399441055744.0;   // 2^52 + 2^51
constexpr int kAnyScale = -1000;                     // +0.0 is a decimal at every scale
constexpr int kNotDecimal = 1000;
constexpr size_t kSampleSize = 32;
constexpr int kExceptionCostBits = 64 + 16;

constexpr std::array<double, kMaxScale + 1> kPow10 = [] {
  std::array<double, kMaxScale + 1> p{};
  double x = 1;
  for (double& e : p) {
    e = x;
    x *= 10;
  }
  return p;
}();

inline double DecimalValue(int64_t d, int scale) {
  return scale >= 0 ? double(d) / kPow10[scale] : double(d) * kPow10[-scale];
}

inline double Scaled(double v, int scale) {
  return scale >= 0 ? v * kPow10[scale] : v / kPow10[-scale];
}

// Sets *d so that DecimalValue(*d, scale) has exactly the bits of v; false if there is none.
inline bool ToDigits(double v, int scale, int64_t* d) {
  const double x = Scaled(v, scale);
  if (!(std::fabs(x) < kMaxDigits)) return false;
  *d = static_cast<int64_t>((x + kRoundMagic) - kRoundMagic);
  return std::bit_cast<uint64_t>(DecimalValue(*d, scale)) == std::bit_cast<uint64_t>(v);
}

// Smallest scale at which v is a decimal, kAnyScale for +0.0, kNotDecimal if none.
int MinScale(double v) {
  if (std::bit_cast<uint64_t>(v) == 0) return kAnyScale;
  int64_t d;
  if (ToDigits(v, 0, &d)) {
    int s = 0;
    while (s > -kMaxScale && ToDigits(v, s - 1, &d)) --s;
    return s;
  }
  for (int s = 1; s <= kMaxScale; ++s) {
    if (ToDigits(v, s, &d)) return s;
    if (!(std::fabs(Scaled(v, s)) < kMaxDigits)) break;
  }
  return kNotDecimal;
}

struct ScaleChoice {
  int scale = 0;
  size_t sample_decimals = 0;
  size_t sample_size = 0;
};

// Picks the scale minimising (bits of the digit range) + exceptions over an evenly spaced sample.
ScaleChoice ChooseScale(std::span<const double> values) {
  const size_t step = std::max<size_t>(1, values.size() / kSampleSize);
  std::array<double, kSampleSize + 1> sample{};
  std::array<int, kSampleSize + 1> need{};
  size_t m = 0;
  for (size_t i = 0; i < values.size() && m < sample.size(); i += step, ++m) {
    sample[m] = values[i];
    need[m] = MinScale(values[i]);
  }
  ScaleChoice best{.sample_size = m};
  uint64_t best_cost = ~uint64_t{0};
  // Candidates: the distinct scales the sample needs (usually one or two).
  std::array<int, kSampleSize + 1> candidates{};
  size_t nc = 0;
  for (size_t c = 0; c < m; ++c) {
    const int s = need[c];
    if (s == kAnyScale || s == kNotDecimal) continue;
    if (std::find(candidates.begin(), candidates.begin() + ptrdiff_t(nc), s) ==
        candidates.begin() + ptrdiff_t(nc)) {
      candidates[nc++] = s;
    }
  }
  for (size_t c = 0; c < nc; ++c) {
    const int s = candidates[c];
    size_t ok = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t j = 0; j < m; ++j) {
      if (need[j] > s || !(std::fabs(Scaled(sample[j], s)) < kMaxDigits)) continue;
      ++ok;
      lo = std::min(lo, sample[j]);
      hi = std::max(hi, sample[j]);
    }
    const double range = ok ? std::min(Scaled(hi - lo, s), 0x1p62) : 0.0;
    const uint64_t cost = ok * uint64_t(std::bit_width(uint64_t(range))) +
                          (m - ok) * uint64_t(kExceptionCostBits);
    if (cost < best_cost || (cost == best_cost && s < best.scale)) {
      best_cost = cost;
      best.scale = s;
      best.sample_decimals = ok;
    }
  }
  if (best_cost == ~uint64_t{0}) {  // only zeros and non-decimals in the sample
    best.sample_decimals = size_t(std::count(need.begin(), need.begin() + ptrdiff_t(m), kAnyScale));
  }
  return best;
}

void EncodeDecimal(std::span<const double> values, int scale, std::string* out) {
  const size_t n = values.size();
  thread_local std::vector<int64_t> digits;
  thread_local std::vector<uint64_t> exc_pos;
  digits.resize(n);
  exc_pos.clear();
  size_t first_ok = n;
  int64_t last = 0;
  for (size_t i = 0; i < n; ++i) {
    int64_t d;
    if (ToDigits(values[i], scale, &d)) {
      digits[i] = last = d;
      first_ok = std::min(first_ok, i);
    } else {
      digits[i] = last;  // repeat the previous digits: a zero delta
      exc_pos.push_back(i);
    }
  }
  if (first_ok != n) std::fill_n(digits.begin(), first_ok, digits[first_ok]);
  out->push_back(char(FloatScheme::kDecimal));
  out->push_back(char(int8_t(scale)));
  PutVarint64(out, exc_pos.size());
  EncodeIntSequence(digits, /*max_order=*/2, out);
  PackBits(exc_pos, std::bit_width(n - 1), out);
  for (uint64_t p : exc_pos) AppendLE64(out, std::bit_cast<uint64_t>(values[p]));
}

Status Malformed(const char* what) {
  return Status::Corruption(std::string("float column: truncated or malformed ") + what);
}

Status DecodeDecimal(std::string_view* in, std::span<double> out) {
  const size_t n = out.size();
  if (in->empty()) return Malformed("scale byte");
  const int scale = int8_t((*in)[0]);
  if (scale > kMaxScale || scale < -kMaxScale) return Malformed("scale byte");
  in->remove_prefix(1);
  uint64_t exceptions;
  if (!GetVarint64(in, &exceptions) || exceptions > n) return Malformed("exception count");
  thread_local std::vector<int64_t> digits;
  thread_local std::vector<uint64_t> exc_pos;
  digits.resize(n);
  SENSORDB_RETURN_IF_ERROR(DecodeIntSequence(in, digits));
  if (scale >= 0) {
    const double div = kPow10[scale];
    for (size_t i = 0; i < n; ++i) out[i] = double(digits[i]) / div;
  } else {
    const double mul = kPow10[-scale];
    for (size_t i = 0; i < n; ++i) out[i] = double(digits[i]) * mul;
  }
  exc_pos.resize(exceptions);
  if (!UnpackBits(in, std::bit_width(n - 1), exc_pos) || in->size() / 8 < exceptions) {
    return Malformed("exceptions");
  }
  for (size_t j = 0; j < exceptions; ++j) {
    if (exc_pos[j] >= n) return Malformed("exception position");
    out[exc_pos[j]] = std::bit_cast<double>(LoadLE64(in->data() + 8 * j));
  }
  in->remove_prefix(8 * exceptions);
  return Status::Ok();
}

void EncodeRaw(std::span<const double> values, std::string* out) {
  out->push_back(char(FloatScheme::kRaw));
  for (double v : values) AppendLE64(out, std::bit_cast<uint64_t>(v));
}

Status DecodeRaw(std::string_view* in, std::span<double> out) {
  if (in->size() / 8 < out.size()) return Malformed("raw values");
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = std::bit_cast<double>(LoadLE64(in->data() + 8 * i));
  }
  in->remove_prefix(8 * out.size());
  return Status::Ok();
}

}  // namespace

void EncodeFloat64(std::span<const double> values, std::string* out) {
  const size_t n = values.size();
  if (n == 0) return;
  const size_t start = out->size();
  const ScaleChoice choice = ChooseScale(values);
  if (choice.sample_decimals > 0) {
    EncodeDecimal(values, choice.scale, out);
    // ALP-RD never goes below 48 bits a value: skip it when the decimal scheme is smaller.
    if (out->size() - start <= 6 * n) return;
  }
  thread_local std::string rd;
  rd.clear();
  rd.push_back(char(FloatScheme::kRd));
  EncodeFloatRd(values, &rd);
  const size_t current = out->size() - start;
  if (current != 0 && current <= rd.size() && current <= 8 * n + 1) return;
  out->resize(start);
  if (rd.size() <= 8 * n + 1) {
    out->append(rd);
  } else {
    EncodeRaw(values, out);
  }
}

Status DecodeFloat64(std::string_view* in, std::span<double> out) {
  if (out.empty()) return Status::Ok();
  if (in->empty()) return Malformed("scheme byte");
  const int scheme = static_cast<unsigned char>((*in)[0]);
  in->remove_prefix(1);
  switch (FloatScheme(scheme)) {
    case FloatScheme::kDecimal: return DecodeDecimal(in, out);
    case FloatScheme::kRd: return DecodeFloatRd(in, out);
    case FloatScheme::kRaw: return DecodeRaw(in, out);
  }
  return Malformed("scheme byte");
}

}  // namespace sensordb::block
