#include "block/float_rd.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <utility>
#include <vector>

#include "block/bit_stream.h"
#include "sensordb/coding.h"

namespace sensordb::block {
namespace {

constexpr int kMaxLeftBits = 16;
constexpr size_t kMaxDictSize = 8;
constexpr size_t kSampleSize = 256;

struct RdParams {
  int left_bits = kMaxLeftBits;
  std::array<uint16_t, kMaxDictSize> dict{};
  size_t dict_size = 1;
};

int CodeBits(size_t dict_size) { return std::bit_width(dict_size - 1); }

// Most frequent left parts of `sorted_tops` (top 16 bits, sorted) cut to `left_bits`.
std::vector<std::pair<uint32_t, uint16_t>> TopLefts(std::span<const uint16_t> sorted_tops,
                                                    int left_bits) {
  std::vector<std::pair<uint32_t, uint16_t>> runs;  // (count, left)
  for (size_t i = 0; i < sorted_tops.size();) {
    const uint16_t left = uint16_t(sorted_tops[i] >> (kMaxLeftBits - left_bits));
    size_t j = i;
    while (j < sorted_tops.size() && (sorted_tops[j] >> (kMaxLeftBits - left_bits)) == left) ++j;
    runs.emplace_back(uint32_t(j - i), left);
    i = j;
  }
  const size_t keep = std::min(runs.size(), kMaxDictSize);
  std::partial_sort(runs.begin(), runs.begin() + std::ptrdiff_t(keep), runs.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first; });
  runs.resize(keep);
  return runs;
}

// Chooses the cut and dictionary minimising the estimated size on an evenly spaced sample.
RdParams ChooseParams(std::span<const double> values) {
  const size_t step = std::max<size_t>(1, values.size() / kSampleSize);
  std::vector<uint16_t> tops;
  for (size_t i = 0; i < values.size(); i += step) {
    tops.push_back(uint16_t(std::bit_cast<uint64_t>(values[i]) >> 48));
  }
  std::sort(tops.begin(), tops.end());
  const uint64_t position_bits = uint64_t(std::bit_width(values.size() - 1));
  RdParams best;
  uint64_t best_cost = ~uint64_t{0};
  for (int left_bits = 1; left_bits <= kMaxLeftBits; ++left_bits) {
    const auto top = TopLefts(tops, left_bits);
    uint64_t covered = 0;
    for (size_t d = 1; d <= top.size(); ++d) {
      covered += top[d - 1].first;
      if (d != top.size() && !std::has_single_bit(d)) continue;
      const uint64_t cost = tops.size() * uint64_t(64 - left_bits + CodeBits(d)) +
                            (tops.size() - covered) * (position_bits + uint64_t(left_bits));
      if (cost >= best_cost) continue;
      best_cost = cost;
      best.left_bits = left_bits;
      best.dict_size = d;
      for (size_t k = 0; k < d; ++k) best.dict[k] = top[k].second;
    }
  }
  return best;
}

Status Malformed(const char* what) {
  return Status::Corruption(std::string("float column (ALP-RD): truncated or malformed ") + what);
}

}  // namespace

void EncodeFloatRd(std::span<const double> values, std::string* out) {
  const RdParams p = ChooseParams(values);
  const int right_bits = 64 - p.left_bits;
  const size_t n = values.size();
  thread_local std::vector<uint64_t> rights, codes, exc_pos, exc_left;
  rights.resize(n);
  codes.resize(n);
  exc_pos.clear();
  exc_left.clear();
  for (size_t i = 0; i < n; ++i) {
    const uint64_t bits = std::bit_cast<uint64_t>(values[i]);
    const uint16_t left = uint16_t(bits >> right_bits);
    rights[i] = bits & LowMask(right_bits);
    size_t code = 0;
    while (code < p.dict_size && p.dict[code] != left) ++code;
    if (code == p.dict_size) {
      exc_pos.push_back(i);
      exc_left.push_back(left);
      code = 0;
    }
    codes[i] = code;
  }
  out->push_back(char(p.left_bits));
  out->push_back(char(p.dict_size));
  for (size_t k = 0; k < p.dict_size; ++k) {
    out->push_back(char(p.dict[k] & 0xff));
    out->push_back(char(p.dict[k] >> 8));
  }
  PutVarint64(out, exc_pos.size());
  PackBits(rights, right_bits, out);
  PackBits(codes, CodeBits(p.dict_size), out);
  PackBits(exc_pos, std::bit_width(n - 1), out);
  PackBits(exc_left, p.left_bits, out);
}

Status DecodeFloatRd(std::string_view* in, std::span<double> out) {
  const size_t n = out.size();
  if (in->size() < 2) return Malformed("header");
  const int left_bits = static_cast<unsigned char>((*in)[0]);
  const size_t dict_size = static_cast<unsigned char>((*in)[1]);
  if (left_bits < 1 || left_bits > kMaxLeftBits || dict_size < 1 || dict_size > kMaxDictSize ||
      in->size() < 2 + 2 * dict_size) {
    return Malformed("header");
  }
  std::array<uint64_t, kMaxDictSize> dict{};
  for (size_t k = 0; k < dict_size; ++k) {
    dict[k] = static_cast<unsigned char>((*in)[2 + 2 * k]) |
              uint64_t(static_cast<unsigned char>((*in)[3 + 2 * k])) << 8;
    if (dict[k] >> left_bits) return Malformed("dictionary entry");
  }
  in->remove_prefix(2 + 2 * dict_size);
  uint64_t exceptions;
  if (!GetVarint64(in, &exceptions) || exceptions > n) return Malformed("exception count");
  const int right_bits = 64 - left_bits;
  thread_local std::vector<uint64_t> rights, codes, exc_pos, exc_left;
  rights.resize(n);
  codes.resize(n);
  exc_pos.resize(exceptions);
  exc_left.resize(exceptions);
  if (!UnpackBits(in, right_bits, rights) || !UnpackBits(in, CodeBits(dict_size), codes) ||
      !UnpackBits(in, std::bit_width(n - 1), exc_pos) || !UnpackBits(in, left_bits, exc_left)) {
    return Malformed("bit-packed section");
  }
  for (size_t i = 0; i < n; ++i) {
    if (codes[i] >= dict_size) return Malformed("dictionary code");
    out[i] = std::bit_cast<double>((dict[codes[i]] << right_bits) | rights[i]);
  }
  for (size_t j = 0; j < exceptions; ++j) {
    if (exc_pos[j] >= n) return Malformed("exception position");
    out[exc_pos[j]] = std::bit_cast<double>((exc_left[j] << right_bits) | rights[exc_pos[j]]);
  }
  return Status::Ok();
}

}  // namespace sensordb::block
