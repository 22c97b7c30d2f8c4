// Integer sequence packing shared by the column codecs (engine/docs/format/columns.md, "Integer
// sequence"): differences of order 0, 1 or 2, then frame-of-reference bit-packing, a sparse
// (Rice-coded zero runs) packing or Rice codes of every residual, whichever is smallest.
// Arithmetic wraps modulo 2^64, so any int64 round-trips. Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb::block {

// Appends the smallest encoding of `values` using difference orders 0..max_order (max 2).
// An empty sequence encodes to nothing.
void EncodeIntSequence(std::span<const int64_t> values, int max_order, std::string* out);

// Decodes out.size() values from the front of *in, consuming exactly their encoding.
Status DecodeIntSequence(std::string_view* in, std::span<int64_t> out);

// Bytes of the LEB128 varint of v.
inline int VarintLength(uint64_t v) {
  int n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

}  // namespace sensordb::block
