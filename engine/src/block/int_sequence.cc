#include "block/int_sequence.h"

#include <algorithm>
#include <bit>
#include <vector>

#include "block/bit_stream.h"
#include "util/coding.h"

namespace sensordb::block {
namespace {

enum class Packing : uint8_t { kFor = 0, kSparse = 1 };
constexpr int kMaxOrder = 2;
constexpr int kMaxRiceK = 31;

struct Plan {
  int order = 0;
  Packing packing = Packing::kFor;
  int width = 0;       // bits per packed value
  int rice_k = 0;      // sparse only
  uint64_t base = 0;   // FOR only: minimum residual
  size_t nonzeros = 0; // sparse only
  size_t bytes = 0;    // payload size after the heads
};

// Residuals of difference order `order`, wrapping. Heads (x0, x1 - x0) are not included.
void ComputeResiduals(std::span<const int64_t> x, int order, std::vector<uint64_t>* r) {
  const size_t n = x.size();
  const size_t heads = std::min<size_t>(size_t(order), n);
  r->resize(n - heads);
  for (size_t i = heads; i < n; ++i) {
    uint64_t v = uint64_t(x[i]);
    if (order >= 1) v -= uint64_t(x[i - 1]);
    if (order >= 2) v -= uint64_t(x[i - 1]) - uint64_t(x[i - 2]);
    (*r)[i - heads] = v;
  }
}

Plan PlanFor(std::span<const uint64_t> r) {
  int64_t lo = int64_t(r[0]);
  int64_t hi = lo;
  for (uint64_t v : r) {
    lo = std::min(lo, int64_t(v));
    hi = std::max(hi, int64_t(v));
  }
  Plan p;
  p.base = uint64_t(lo);
  p.width = std::bit_width(uint64_t(hi) - uint64_t(lo));
  p.bytes = size_t(VarintLength(ZigZagEncode(lo))) + 1 + PackedBytes(r.size(), p.width);
  return p;
}

// Sum over nonzero residuals of (gap >> k): the unary part of the Rice-coded gaps.
uint64_t UnaryBits(std::span<const uint64_t> r, int k) {
  uint64_t bits = 0, gap = 0;
  for (uint64_t v : r) {
    if (v == 0) {
      ++gap;
      continue;
    }
    bits += gap >> k;
    gap = 0;
  }
  return bits;
}

Plan PlanSparse(std::span<const uint64_t> r) {
  Plan p;
  p.packing = Packing::kSparse;
  uint64_t max_value = 0;
  for (uint64_t v : r) {
    if (v == 0) continue;
    ++p.nonzeros;
    max_value = std::max(max_value, ZigZagEncode(int64_t(v)) - 1);
  }
  p.width = std::bit_width(max_value);
  const uint64_t mean_gap = p.nonzeros ? (r.size() - p.nonzeros) / p.nonzeros : 0;
  const int k0 = std::max(0, int(std::bit_width(mean_gap)) - 1);
  uint64_t best_bits = ~uint64_t{0};
  for (int k = std::max(0, k0 - 1); k <= std::min(kMaxRiceK, k0 + 1); ++k) {
    const uint64_t bits = UnaryBits(r, k) + p.nonzeros * uint64_t(1 + k + p.width);
    if (bits < best_bits) {
      best_bits = bits;
      p.rice_k = k;
    }
  }
  p.bytes = size_t(VarintLength(p.nonzeros)) + 2 + size_t((best_bits + 7) / 8);
  return p;
}

size_t HeadBytes(std::span<const int64_t> x, int order) {
  size_t bytes = 1;  // mode byte
  if (order >= 1 && !x.empty()) bytes += size_t(VarintLength(ZigZagEncode(x[0])));
  if (order >= 2 && x.size() >= 2) {
    bytes += size_t(VarintLength(ZigZagEncode(int64_t(uint64_t(x[1]) - uint64_t(x[0])))));
  }
  return bytes;
}

void WritePayload(const Plan& p, std::span<const uint64_t> r, std::string* out) {
  if (p.packing == Packing::kFor) {
    PutVarint64(out, ZigZagEncode(int64_t(p.base)));
    out->push_back(char(p.width));
    BitWriter w(out);
    for (uint64_t v : r) w.Write(v - p.base, p.width);
    w.Finish();
    return;
  }
  PutVarint64(out, p.nonzeros);
  out->push_back(char(p.rice_k));
  out->push_back(char(p.width));
  BitWriter w(out);
  uint64_t gap = 0;
  for (uint64_t v : r) {
    if (v == 0) {
      ++gap;
      continue;
    }
    w.WriteUnary(gap >> p.rice_k);
    w.Write(gap, p.rice_k);
    w.Write(ZigZagEncode(int64_t(v)) - 1, p.width);
    gap = 0;
  }
  w.Finish();
}

Status Truncated(const char* what) {
  return Status::Corruption(std::string("integer sequence: truncated or malformed ") + what);
}

Status ReadFor(std::string_view* in, std::span<uint64_t> r) {
  uint64_t zz_base;
  if (!GetVarint64(in, &zz_base) || in->empty()) return Truncated("frame of reference");
  const int width = static_cast<unsigned char>((*in)[0]);
  in->remove_prefix(1);
  if (width > 64 || !UnpackBits(in, width, r)) return Truncated("bit-packed residuals");
  const uint64_t base = uint64_t(ZigZagDecode(zz_base));
  for (uint64_t& v : r) v += base;
  return Status::Ok();
}

Status ReadSparse(std::string_view* in, std::span<uint64_t> r) {
  uint64_t nonzeros;
  if (!GetVarint64(in, &nonzeros) || nonzeros > r.size() || in->size() < 2) {
    return Truncated("sparse header");
  }
  const int k = static_cast<unsigned char>((*in)[0]);
  const int width = static_cast<unsigned char>((*in)[1]);
  if (k > kMaxRiceK || width > 64) return Truncated("sparse parameters");
  in->remove_prefix(2);
  std::fill(r.begin(), r.end(), 0);
  BitReader reader(*in);
  size_t pos = 0;
  for (uint64_t i = 0; i < nonzeros; ++i) {
    uint64_t q, low, value;
    if (!reader.ReadUnary(r.size(), &q) || !reader.Read(k, &low)) return Truncated("zero run");
    const uint64_t gap = (q << k) | low;
    if (gap >= r.size() - pos || !reader.Read(width, &value)) return Truncated("sparse value");
    pos += size_t(gap);
    r[pos++] = uint64_t(ZigZagDecode(value + 1));
  }
  in->remove_prefix(reader.BytesConsumed());
  return Status::Ok();
}

}  // namespace

void EncodeIntSequence(std::span<const int64_t> values, int max_order, std::string* out) {
  if (values.empty()) return;
  thread_local std::vector<uint64_t> residuals;
  Plan best;
  size_t best_bytes = ~size_t{0};
  for (int order = 0; order <= std::min(max_order, kMaxOrder); ++order) {
    ComputeResiduals(values, order, &residuals);
    const size_t head = HeadBytes(values, order);
    Plan plans[2] = {Plan{}, Plan{}};
    if (!residuals.empty()) {
      plans[0] = PlanFor(residuals);
      plans[1] = PlanSparse(residuals);
    }
    for (Plan& p : plans) {
      if (head + p.bytes >= best_bytes) continue;
      best_bytes = head + p.bytes;
      best = p;
      best.order = order;
    }
  }
  ComputeResiduals(values, best.order, &residuals);
  out->push_back(char(best.order | (int(best.packing) << 2)));
  if (best.order >= 1) PutVarint64(out, ZigZagEncode(values[0]));
  if (best.order >= 2 && values.size() >= 2) {
    PutVarint64(out, ZigZagEncode(int64_t(uint64_t(values[1]) - uint64_t(values[0]))));
  }
  if (!residuals.empty()) WritePayload(best, residuals, out);
}

Status DecodeIntSequence(std::string_view* in, std::span<int64_t> out) {
  const size_t n = out.size();
  if (n == 0) return Status::Ok();
  if (in->empty()) return Truncated("mode byte");
  const int mode = static_cast<unsigned char>((*in)[0]);
  const int order = mode & 3;
  if (order > kMaxOrder || (mode >> 2) > 1) return Truncated("mode byte");
  in->remove_prefix(1);
  // int64 and uint64 may alias ([basic.lval]); the arithmetic below wraps.
  std::span<uint64_t> u(reinterpret_cast<uint64_t*>(out.data()), n);
  const size_t heads = std::min<size_t>(size_t(order), n);
  uint64_t head[2] = {0, 0};
  for (size_t i = 0; i < heads; ++i) {
    uint64_t zz;
    if (!GetVarint64(in, &zz)) return Truncated("head value");
    head[i] = uint64_t(ZigZagDecode(zz));
  }
  if (heads < n) {
    std::span<uint64_t> r = u.subspan(heads);
    SENSORDB_RETURN_IF_ERROR((mode >> 2) == 0 ? ReadFor(in, r) : ReadSparse(in, r));
  }
  if (order == 0) return Status::Ok();
  u[0] = head[0];
  uint64_t delta = head[1];
  if (order == 2 && n >= 2) u[1] = head[0] + delta;
  for (size_t i = heads; i < n; ++i) {
    if (order == 2) {
      delta += u[i];
      u[i] = u[i - 1] + delta;
    } else {
      u[i] += u[i - 1];
    }
  }
  return Status::Ok();
}

}  // namespace sensordb::block
