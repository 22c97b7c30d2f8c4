// Bool columns: the first value, then the lengths of alternating runs as varints.
#include <algorithm>
#include <string>

#include "block/column_codec.h"
#include "sensordb/coding.h"

namespace sensordb::block {

void EncodeBool(std::span<const uint8_t> values, std::string* out) {
  if (values.empty()) return;
  // Any nonzero byte is true; the column stores 0/1.
  bool current = values[0] != 0;
  out->push_back(char(current));
  uint64_t run = 0;
  for (uint8_t v : values) {
    if ((v != 0) == current) {
      ++run;
      continue;
    }
    PutVarint64(out, run);
    current = !current;
    run = 1;
  }
  PutVarint64(out, run);
}

Status DecodeBool(std::string_view* in, std::span<uint8_t> out) {
  if (out.empty()) return Status::Ok();
  if (in->empty() || static_cast<unsigned char>((*in)[0]) > 1) {
    return Status::Corruption("bool column: missing or invalid first value byte");
  }
  uint8_t current = uint8_t((*in)[0]);
  in->remove_prefix(1);
  size_t pos = 0;
  while (pos < out.size()) {
    uint64_t run;
    if (!GetVarint64(in, &run) || run == 0 || run > out.size() - pos) {
      return Status::Corruption("bool column: truncated or invalid run length at value " +
                                std::to_string(pos));
    }
    std::fill_n(out.begin() + std::ptrdiff_t(pos), run, current);
    pos += size_t(run);
    current ^= 1;
  }
  return Status::Ok();
}

}  // namespace sensordb::block
