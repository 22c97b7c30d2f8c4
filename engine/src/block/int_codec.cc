// int64 columns: the shared integer sequence (block/int_sequence.h) with difference orders 0..2,
// so counters (order 1), gauges (order 0 or 1) and linear ramps (order 2) all pack tightly.
#include "block/column_codec.h"
#include "block/int_sequence.h"

namespace sensordb::block {

void EncodeInt64(std::span<const int64_t> values, std::string* out) {
  EncodeIntSequence(values, /*max_order=*/2, out);
}

Status DecodeInt64(std::string_view* in, std::span<int64_t> out) {
  return DecodeIntSequence(in, out);
}

}  // namespace sensordb::block
