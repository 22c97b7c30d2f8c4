#include "block/int_sequence.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <vector>

#include "block/bit_stream.h"
#include "sensordb/coding.h"

namespace sensordb::block {
namespace {

enum class Packing : uint8_t { kFor = 0, kSparse = 1, kRice = 2 };
constexpr int kMaxOrder = 2;
constexpr int kMaxRiceK = 31;

struct Plan {
  int order = 0;
  Packing packing = Packing::kFor;
  int width = 0;       // bits per packed value
  int rice_k = 0;      // sparse and Rice
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

// What planning needs of one order's residuals, gathered for all orders in one branch-free
// pass; the zero runs the sparse packing needs are counted only when it could win.
struct ResidualStats {
  size_t count = 0;
  int64_t lo = 0, hi = 0;
  size_t nonzeros = 0;
  uint64_t max_value = 0;  // largest zigzag(r) - 1 over nonzero residuals

  void Reset() {
    count = nonzeros = 0;
    lo = std::numeric_limits<int64_t>::max();
    hi = std::numeric_limits<int64_t>::min();
    max_value = 0;
  }
  [[gnu::always_inline]] void Add(uint64_t v) {
    const int64_t s = int64_t(v);
    lo = std::min(lo, s);
    hi = std::max(hi, s);
    ++count;
    nonzeros += v != 0;
    max_value = std::max(max_value, ZigZagEncode(s) - (v != 0));  // zero adds 0: no effect
  }
};

Plan PlanFor(const ResidualStats& st) {
  Plan p;
  p.base = uint64_t(st.lo);
  p.width = std::bit_width(uint64_t(st.hi) - uint64_t(st.lo));
  p.bytes = size_t(VarintLength(ZigZagEncode(st.lo))) + 1 + PackedBytes(st.count, p.width);
  return p;
}

// Sparse packing's size, or SIZE_MAX when even its lower bound cannot beat `to_beat` bytes.
Plan PlanSparse(const ResidualStats& st, std::span<const int64_t> x, int order, size_t to_beat) {
  Plan p;
  p.packing = Packing::kSparse;
  p.nonzeros = st.nonzeros;
  p.width = std::bit_width(st.max_value);
  const size_t fixed = size_t(VarintLength(p.nonzeros)) + 2;
  if (fixed + (p.nonzeros * uint64_t(1 + p.width) + 7) / 8 >= to_beat) {
    p.bytes = ~size_t{0};
    return p;
  }
  const uint64_t mean_gap = p.nonzeros ? (st.count - p.nonzeros) / p.nonzeros : 0;
  const int k0 = std::max(0, int(std::bit_width(mean_gap)) - 1);
  const int k_lo = std::max(0, k0 - 1), k_hi = std::min(kMaxRiceK, k0 + 1);
  // Unary part of the Rice-coded gaps: sum over nonzero residuals of (zeros before it) >> k.
  thread_local std::vector<uint64_t> r;
  ComputeResiduals(x, order, &r);
  uint64_t unary[3] = {0, 0, 0}, gap = 0;
  for (uint64_t v : r) {
    if (v == 0) {
      ++gap;
      continue;
    }
    for (int k = k_lo; k <= k_hi; ++k) unary[k - k_lo] += gap >> k;
    gap = 0;
  }
  uint64_t best_bits = ~uint64_t{0};
  for (int k = k_lo; k <= k_hi; ++k) {
    const uint64_t bits = unary[k - k_lo] + p.nonzeros * uint64_t(1 + k + p.width);
    if (bits < best_bits) {
      best_bits = bits;
      p.rice_k = k;
    }
  }
  p.bytes = fixed + size_t((best_bits + 7) / 8);
  return p;
}

// Rice packing of residuals `r`, sized exactly for the three k around bit_width(mean of
// zigzag(r)) - 1 (moved into 0..31): each residual costs (zigzag(r) >> k) + 1 + k bits.
Plan PlanRice(std::span<const uint64_t> r) {
  Plan p;
  p.packing = Packing::kRice;
  // A quotient this long never wins (FOR takes at most 64 bits a value); the cap keeps the sums
  // of 2^16 values from overflowing.
  constexpr uint64_t kCap = uint64_t{1} << 40;
  uint64_t sum = 0;
  for (uint64_t v : r) sum += std::min(ZigZagEncode(int64_t(v)), kCap);
  const int k_center = int(std::bit_width(sum / r.size())) - 1;
  const int k_lo = std::clamp(k_center - 1, 0, kMaxRiceK - 2);
  // Three straight-line sums, no loop over k per value.
  uint64_t u0 = 0, u1 = 0, u2 = 0;
  for (uint64_t v : r) {
    const uint64_t zz = ZigZagEncode(int64_t(v)) >> k_lo;
    u0 += std::min(zz, kCap);
    u1 += std::min(zz >> 1, kCap);
    u2 += std::min(zz >> 2, kCap);
  }
  const uint64_t unary[3] = {u0, u1, u2};
  uint64_t best_bits = ~uint64_t{0};
  for (int i = 0; i < 3; ++i) {
    const uint64_t bits = unary[i] + r.size() * uint64_t(1 + k_lo + i);
    if (bits < best_bits) {
      best_bits = bits;
      p.rice_k = k_lo + i;
    }
  }
  p.bytes = 1 + size_t((best_bits + 7) / 8);
  return p;
}

// Fills stats[o] for difference orders 0..max_order in one pass over x. Locals, not the
// caller's memory, so the compiler keeps the running values in registers.
void GatherStats(std::span<const int64_t> x, int max_order, ResidualStats* stats) {
  ResidualStats s0, s1, s2;
  s0.Reset();
  s1.Reset();
  s2.Reset();
  const size_t n = x.size();
  if (n > 0) s0.Add(uint64_t(x[0]));
  if (n > 1) {
    s0.Add(uint64_t(x[1]));
    s1.Add(uint64_t(x[1]) - uint64_t(x[0]));
  }
  uint64_t prev = n > 1 ? uint64_t(x[1]) : 0;
  uint64_t prev_delta = n > 1 ? uint64_t(x[1]) - uint64_t(x[0]) : 0;
  for (size_t i = 2; i < n; ++i) {
    const uint64_t v = uint64_t(x[i]);
    const uint64_t delta = v - prev;
    s0.Add(v);
    s1.Add(delta);
    s2.Add(delta - prev_delta);
    prev_delta = delta;
    prev = v;
  }
  stats[0] = s0;
  if (max_order >= 1) stats[1] = s1;
  if (max_order >= 2) stats[2] = s2;
}

size_t HeadBytes(std::span<const int64_t> x, int order) {
  size_t bytes = 1;  // mode byte
  if (order >= 1 && !x.empty()) bytes += size_t(VarintLength(ZigZagEncode(x[0])));
  if (order >= 2 && x.size() >= 2) {
    bytes += size_t(VarintLength(ZigZagEncode(int64_t(uint64_t(x[1]) - uint64_t(x[0])))));
  }
  return bytes;
}

void WriteRice(int k, std::span<const uint64_t> r, std::string* out) {
  out->push_back(char(k));
  BitWriter w(out);
  for (uint64_t v : r) {
    const uint64_t zz = ZigZagEncode(int64_t(v));
    const uint64_t q = zz >> k;
    if (q < uint64_t(64 - k)) {  // q zero bits, a one bit, the k low bits: one write
      w.Write((uint64_t{1} << q) | ((zz & LowMask(k)) << 1 << q), int(q) + 1 + k);
    } else {
      w.WriteUnary(q);
      w.Write(zz, k);
    }
  }
  w.Finish();
}

void WritePayload(const Plan& p, std::span<const uint64_t> r, std::string* out) {
  if (p.packing == Packing::kRice) return WriteRice(p.rice_k, r, out);
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

// Reads a frame-of-reference payload into r, without adding the base (the caller folds it
// into its reconstruction pass). *constant is set when every residual equals the base.
Status ReadFor(std::string_view* in, std::span<uint64_t> r, uint64_t* base, bool* constant) {
  uint64_t zz_base;
  if (!GetVarint64(in, &zz_base) || in->empty()) return Truncated("frame of reference");
  const int width = static_cast<unsigned char>((*in)[0]);
  in->remove_prefix(1);
  *base = uint64_t(ZigZagDecode(zz_base));
  *constant = width == 0;
  if (width == 0) return Status::Ok();
  if (width > 64 || !UnpackBits(in, width, r)) return Truncated("bit-packed residuals");
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
  const uint64_t k_mask = LowMask(k), w_mask = LowMask(width);
  for (uint64_t i = 0; i < nonzeros; ++i) {
    // Fast path: unary run, k low bits and the value all within one 57-bit window.
    if (reader.CanPeek()) {
      const uint64_t w = reader.Peek();
      const int tz = w ? std::countr_zero(w) : 64;
      const int need = tz + 1 + k + width;
      if (need <= 57) {
        const uint64_t gap = (uint64_t(tz) << k) | ((w >> (tz + 1)) & k_mask);
        if (gap >= r.size() - pos) return Truncated("zero run");
        pos += size_t(gap);
        r[pos++] = uint64_t(ZigZagDecode(((w >> (tz + 1 + k)) & w_mask) + 1));
        reader.Advance(size_t(need));
        continue;
      }
    }
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

Status ReadRice(std::string_view* in, std::span<uint64_t> r) {
  if (in->empty()) return Truncated("Rice parameter");
  const int k = static_cast<unsigned char>((*in)[0]);
  if (k > kMaxRiceK) return Truncated("Rice parameter");
  in->remove_prefix(1);
  BitReader reader(*in);
  const uint64_t k_mask = LowMask(k);
  const uint64_t max_q = LowMask(64 - k);  // (q << k) must fit in 64 bits
  const size_t m = r.size();
  for (size_t i = 0; i < m;) {
    // Fast path: every code that lies wholly within one 57-bit window, without reloading.
    if (reader.CanPeek()) {
      uint64_t w = reader.Peek();
      int used = 0;
      while (i < m) {
        const int tz = w ? std::countr_zero(w) : 64;
        const int need = tz + 1 + k;
        if (used + need > 57) break;
        r[i++] = uint64_t(ZigZagDecode((uint64_t(tz) << k) | ((w >> (tz + 1)) & k_mask)));
        w >>= need;  // need <= 57
        used += need;
      }
      reader.Advance(size_t(used));
      if (used > 0) continue;
    }
    uint64_t q, low;
    if (!reader.ReadUnary(max_q, &q) || !reader.Read(k, &low)) return Truncated("Rice code");
    r[i++] = uint64_t(ZigZagDecode((q << k) | low));
  }
  in->remove_prefix(reader.BytesConsumed());
  return Status::Ok();
}

}  // namespace

void EncodeIntSequence(std::span<const int64_t> values, int max_order, std::string* out) {
  if (values.empty()) return;
  thread_local std::vector<uint64_t> residuals;
  ResidualStats stats[kMaxOrder + 1];
  const int orders = std::min(max_order, kMaxOrder);
  GatherStats(values, orders, stats);
  Plan best;
  size_t best_bytes = ~size_t{0};
  for (int order = 0; order <= orders; ++order) {
    const size_t head = HeadBytes(values, order);
    if (stats[order].count == 0) {  // every value is a head: no payload
      if (head < best_bytes) {
        best_bytes = head;
        best = Plan{};
        best.order = order;
      }
      continue;
    }
    // Same order of consideration as a full search (FOR, then sparse), so ties resolve alike.
    Plan p = PlanFor(stats[order]);
    if (head + p.bytes < best_bytes) {
      best_bytes = head + p.bytes;
      best = p;
      best.order = order;
    }
    if (head >= best_bytes) continue;
    p = PlanSparse(stats[order], values, order, best_bytes - head);
    if (p.bytes != ~size_t{0} && head + p.bytes < best_bytes) {
      best_bytes = head + p.bytes;
      best = p;
      best.order = order;
    }
  }
  ComputeResiduals(values, best.order, &residuals);
  // Rice codes of the chosen order's residuals, when they could take fewer bytes: they need at
  // least a bit a value, and pay off when residuals are peaked around zero, or a few large ones
  // set the frame's width.
  const size_t head = HeadBytes(values, best.order);
  const ResidualStats& chosen = stats[best.order];
  const int range_width = std::bit_width(uint64_t(chosen.hi) - uint64_t(chosen.lo));
  if (!residuals.empty() && range_width >= 2 &&
      head + 1 + PackedBytes(residuals.size(), 1) < best_bytes) {
    const Plan p = PlanRice(residuals);
    if (head + p.bytes < best_bytes) {
      const int order = best.order;
      best = p;
      best.order = order;
    }
  }
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
  if (order > kMaxOrder || (mode >> 2) > 2) return Truncated("mode byte");
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
  // Residuals, then one pass that adds the frame base and undoes the differences.
  uint64_t base = 0;
  bool constant = false;
  if (heads < n) {
    std::span<uint64_t> r = u.subspan(heads);
    switch (Packing(mode >> 2)) {
      case Packing::kFor: SENSORDB_RETURN_IF_ERROR(ReadFor(in, r, &base, &constant)); break;
      case Packing::kSparse: SENSORDB_RETURN_IF_ERROR(ReadSparse(in, r)); break;
      case Packing::kRice: SENSORDB_RETURN_IF_ERROR(ReadRice(in, r)); break;
    }
  }
  if (order >= 1) u[0] = head[0];
  uint64_t delta = head[1];
  if (order == 2 && n >= 2) u[1] = head[0] + delta;
  uint64_t prev = heads ? u[heads - 1] : 0;
  if (constant) {  // every residual is `base`: closed forms, no dependency chain, vectorisable
    uint64_t* v = u.data() + heads;
    const size_t m = n - heads;
    if (order == 0) {
      std::fill_n(v, m, base);
    } else if (order == 1) {
      for (size_t j = 0; j < m; ++j) v[j] = prev + (j + 1) * base;
    } else if (base == 0) {  // regular sampling: an arithmetic progression
      for (size_t j = 0; j < m; ++j) v[j] = prev + (j + 1) * delta;
    } else {
      for (size_t j = 0; j < m; ++j) {
        v[j] = prev + (j + 1) * delta + (j + 1) * (j + 2) / 2 * base;
      }
    }
    return Status::Ok();
  }
  if (order == 0) {
    for (size_t i = 0; i < n; ++i) u[i] += base;
  } else if (order == 1) {
    for (size_t i = heads; i < n; ++i) u[i] = prev += u[i] + base;
  } else {
    for (size_t i = heads; i < n; ++i) {
      delta += u[i] + base;
      u[i] = prev += delta;
    }
  }
  return Status::Ok();
}

}  // namespace sensordb::block
