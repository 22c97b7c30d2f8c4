// Parser of one line of InfluxDB line protocol, mapped to the sensordb data model:
//   measurement[,tag=value...] field=value[,field=value...] [timestamp]
// The tag `device` names the device; each field becomes the channel `measurement.field`.
// Other tags are ignored. Field values: float (`1.5`), integer (`3i`, `3u`), boolean
// (`t`, `true`, `F`, ...). String values (`"..."`) are rejected. Not thread-safe (reuses buffers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/status.h"
#include "sensordb/types.h"
#include "time_util.h"

namespace sensordb::cli {

struct LpField {
  std::string channel;  // measurement.field
  Value value;
};

struct LpLine {
  std::string device;
  std::vector<LpField> fields;  // [0, field_count) are valid; the rest keep capacity
  size_t field_count = 0;
  int64_t timestamp_ns = 0;
};

class LineProtocolParser {
 public:
  // Lines without a timestamp get `default_timestamp_ns`.
  LineProtocolParser(Precision precision, int64_t default_timestamp_ns)
      : precision_(precision), default_timestamp_ns_(default_timestamp_ns) {}

  // Blank lines and `#` comments.
  static bool IsSkippable(std::string_view line);

  // Parses one line (without its newline). The error message says what is wrong, without
  // file and line number (the caller knows them).
  Status Parse(std::string_view line, LpLine* out);

 private:
  Status ParseKey(std::string_view* rest, std::string_view stops, std::string* out);
  Status ParseTags(std::string_view* rest, LpLine* out);
  Status ParseFields(std::string_view* rest, LpLine* out);
  Status ParseValue(std::string_view text, std::string_view field, Value* out);
  Status ParseTimestamp(std::string_view text, int64_t* out);

  Precision precision_;
  int64_t default_timestamp_ns_;
  std::string measurement_;
  std::string key_;
  std::string tag_value_;
};

}  // namespace sensordb::cli
