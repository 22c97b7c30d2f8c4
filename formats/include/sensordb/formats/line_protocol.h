// InfluxDB line protocol, mapped to the sensordb data model (shared/DESIGN.md):
//   measurement[,tag=value...] field=value[,field=value...] [timestamp]
// The tag `device` names the device (or, when the options name one, must be absent or equal
// to it); each field becomes the channel `measurement.field`. Other tags are the device's labels
// as of the line's time (docs/LABELS.md; WriteBatch::SetLabels). Field
// values: float (`1.5`), integer (`3i`, `3u`), boolean (`t`, `true`, `F`, ...). String values
// (`"..."`) are rejected. The one parser of line protocol: used by the CLI's importer and by
// the server's device listeners. LineProtocolParser is not thread-safe (it reuses buffers);
// ParseLineProtocolPayload is thread-safe for distinct batches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sensordb/formats/payload.h"
#include "sensordb/formats/text_values.h"
#include "sensordb/status.h"
#include "sensordb/types.h"
#include "sensordb/write_batch.h"

namespace sensordb::formats {

struct LpField {
  std::string channel;  // measurement.field
  Value value;
};

// Tags on one line besides `device` (each a label of the device; the engine bounds a device's
// label keys at LabelLimits::max_keys_per_device, 32 by default).
inline constexpr size_t kMaxTagsPerLine = 64;

struct LpLine {
  std::string device;
  // Tags other than `device`, sorted by key: [0, tag_count) are valid.
  std::vector<std::pair<std::string, std::string>> tags;
  size_t tag_count = 0;
  std::vector<LpField> fields;  // [0, field_count) are valid; the rest keep capacity
  size_t field_count = 0;
  int64_t timestamp_ns = 0;
};

struct LineProtocolOptions {
  Precision precision = Precision::kNanoseconds;
  int64_t default_timestamp_ns = 0;  // lines without a timestamp
  std::string device;                // when not empty: the device of every line (see above)
  size_t max_name_bytes = kMaxNameBytes;
};

class LineProtocolParser {
 public:
  // Lines without a timestamp get `default_timestamp_ns`; every line needs a `device` tag.
  LineProtocolParser(Precision precision, int64_t default_timestamp_ns)
      : LineProtocolParser(LineProtocolOptions{precision, default_timestamp_ns, {}}) {}
  explicit LineProtocolParser(LineProtocolOptions options) : options_(std::move(options)) {}

  // Blank lines and `#` comments.
  static bool IsSkippable(std::string_view line);

  // Parses one line (without its newline). The error message says what is wrong, without
  // file and line number (the caller knows them). `out` is unspecified after an error.
  Status Parse(std::string_view line, LpLine* out);

 private:
  // A key or tag value ends at an unescaped ',' or ' ', and also at '=' when `stop_at_equals`.
  Status ParseKey(std::string_view* rest, bool stop_at_equals, std::string* out);
  Status ParseTags(std::string_view* rest, LpLine* out);
  Status ParseFields(std::string_view* rest, LpLine* out);
  Status ParseValue(std::string_view text, std::string_view field, Value* out);
  Status ParseTimestamp(std::string_view text, int64_t* out);

  LineProtocolOptions options_;
  std::string measurement_;
  std::string key_;
  std::string tag_value_;
};

// Parses a whole payload (lines separated by "\n" or "\r\n") and appends its points to
// `batch`: all of them, or, on any error, none. Errors name the first bad line:
// `line 3: field 'temp' has a bad value 'x' (...)`. An empty payload (no data line) is an
// error. Points of one series are appended as one column, in payload order.
Status ParseLineProtocolPayload(std::string_view payload, const PayloadOptions& options,
                                WriteBatch& batch);

}  // namespace sensordb::formats
