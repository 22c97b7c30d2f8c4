// Timestamp columns: delta-of-delta is difference order 2 of the shared integer sequence
// (block/int_sequence.h). Regular sampling gives all-zero residuals, packed at width 0; rare
// jitter is cheaper in the sparse packing (Rice-coded runs of zero residuals). Orders 0 and 1
// are tried as well, so unsorted or random timestamps never cost more than plain bit-packing.
#include "block/column_codec.h"
#include "block/int_sequence.h"

namespace sensordb::block {

void EncodeTimestamps(std::span<const int64_t> ts, std::string* out) {
  EncodeIntSequence(ts, /*max_order=*/2, out);
}

Status DecodeTimestamps(std::string_view* in, std::span<int64_t> out) {
  return DecodeIntSequence(in, out);
}

}  // namespace sensordb::block
