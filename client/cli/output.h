// Result output: rows of typed cells written as an aligned table, CSV (RFC 4180) or a JSON array
// of objects, streamed as rows arrive. Floats print in their shortest round-trip form; NaN and
// infinities as NaN, +Inf, -Inf (JSON: the strings "NaN", "+Inf", "-Inf"). Not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/status.h"
#include "sensordb/types.h"

namespace sensordb::cli {

enum class OutputFormat : uint8_t { kTable, kCsv, kJson };

// "table", "csv", "json", or "" for the default: table when stdout is a terminal, else csv.
Result<OutputFormat> ParseOutputFormat(std::string_view text);

// One output value. Text cells borrow their characters until the row is written.
struct Cell {
  enum class Kind : uint8_t { kText, kInt, kUint, kFloat, kBool, kNull };
  Kind kind = Kind::kNull;
  std::string_view text;
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0;
  bool b = false;

  static Cell Text(std::string_view s) { return {Kind::kText, s, 0, 0, 0, false}; }
  static Cell Int(int64_t v) { return {Kind::kInt, {}, v, 0, 0, false}; }
  static Cell Uint(uint64_t v) { return {Kind::kUint, {}, 0, v, 0, false}; }
  static Cell Float(double v) { return {Kind::kFloat, {}, 0, 0, v, false}; }
  static Cell Bool(bool v) { return {Kind::kBool, {}, 0, 0, 0, v}; }
  static Cell Null() { return {}; }
  static Cell FromValue(const Value& v);
};

// Shortest text that parses back to the same double; NaN, +Inf, -Inf for the special values.
std::string FormatDouble(double v);

// `s` as a JSON string literal, quoted and escaped.
void AppendJsonString(std::string_view s, std::string* out);
std::string JsonString(std::string_view s);
// Printable ASCII as is; every other byte as \xNN and the backslash doubled: for text from
// files and servers that may hold anything (firmware fields, names).
std::string PrintableText(std::string_view text);

class RowWriter {
 public:
  // Writes to `out` (borrowed, must outlive the writer) under the given column names.
  static std::unique_ptr<RowWriter> Make(OutputFormat format, std::FILE* out,
                                         std::vector<std::string> columns);
  virtual ~RowWriter() = default;

  // `cells` has one entry per column.
  virtual void Row(std::span<const Cell> cells) = 0;
  // Writes what is buffered and closes the output (e.g. the JSON array); reports write errors.
  virtual Status Finish() = 0;
};

}  // namespace sensordb::cli
