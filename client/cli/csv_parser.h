// Parser of CSV import files, one line at a time. Two layouts, told apart by the header:
//   long: timestamp,device,channel,value      (one point per row)
//   wide: timestamp,device,<channel>,...      (one point per non-empty cell)
// Timestamps are integers in the unit of --precision or RFC 3339. Fields may be quoted
// ("a,b", "say ""hi"""); a quoted field cannot span lines. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/status.h"
#include "sensordb/types.h"
#include "time_util.h"

namespace sensordb::cli {

// Splits one CSV line into unquoted fields.
Status SplitCsvLine(std::string_view line, std::vector<std::string>* fields);

class CsvParser {
 public:
  // The value type to parse a cell of (device, channel) as.
  using TypeOf = std::function<ValueType(std::string_view device, std::string_view channel)>;
  // Receives each point of a row.
  using Emit = std::function<Status(std::string_view device, std::string_view channel,
                                    int64_t timestamp_ns, const Value& value)>;

  // `type_of` must outlive the parser.
  CsvParser(Precision precision, const TypeOf& type_of)
      : precision_(precision), type_of_(type_of) {}

  // True when the first field of `line` is `timestamp` or `time` (format auto-detection).
  static bool LooksLikeHeader(std::string_view line);

  Status ParseHeader(std::string_view line);
  bool wide() const { return wide_; }
  const std::vector<std::string>& channels() const { return channels_; }

  // Parses a data row (after ParseHeader) and emits its points.
  Status ParseRow(std::string_view line, const Emit& emit);

 private:
  Status ParseTimestamp(std::string_view text, int64_t* out) const;
  Status ParseCell(std::string_view device, std::string_view channel, std::string_view text,
                   Value* out) const;

  Precision precision_;
  const TypeOf& type_of_;
  bool wide_ = false;
  std::vector<std::string> channels_;  // wide layout: the header's channel columns
  std::vector<std::string> fields_;
};

}  // namespace sensordb::cli
