// Importer: reads line protocol or CSV from a file or stdin and writes it to one project in
// atomic batches. A regular file is read twice: first every line is parsed and type-checked, and
// only when the whole file is valid is anything written, so a bad line leaves the database
// unchanged. Standard input cannot be re-read: its batches are written as they fill, and a bad
// line stops the import with the earlier batches applied. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <unordered_map>

#include "batch_builder.h"
#include "csv_parser.h"
#include "sensordb/db.h"
#include "sensordb/formats/line_protocol.h"
#include "time_util.h"

namespace sensordb::cli {

enum class ImportFormat : uint8_t { kAuto, kLineProtocol, kCsv };

struct ImportOptions {
  std::string project;
  std::string path;  // "-" = stdin
  ImportFormat format = ImportFormat::kAuto;
  Precision precision = Precision::kNanoseconds;
  bool has_type = false;  // CSV: parse every value as `type`
  ValueType type = ValueType::kFloat64;
  size_t batch_points = 100'000;
  bool progress = false;
};

struct ImportSummary {
  uint64_t points = 0;
  uint64_t series = 0;
  double seconds = 0;
  bool created_project = false;
};

class Importer {
 public:
  // `db` must outlive the importer.
  Importer(DB& db, ImportOptions options);

  // Errors in the input read `PATH:LINE: what is wrong`.
  Result<ImportSummary> Run();

 private:
  Status LoadChannelTypes();
  Status RunPass(std::FILE* in, bool apply, uint64_t total_bytes);
  Status HandleLine(std::string_view line, bool first_data_line);
  Status AddPoint(std::string_view device, std::string_view channel, int64_t timestamp_ns,
                  const Value& value);
  Status FlushBatch();
  ValueType CsvType(std::string_view device, std::string_view channel);
  void DetectFormat(std::string_view first_line);

  DB& db_;
  ImportOptions options_;
  std::string display_name_;
  int64_t now_ns_;
  std::unordered_map<std::string, ValueType> types_;  // key: device '\0' channel
  std::string key_;
  formats::LineProtocolParser lp_;
  formats::LpLine lp_line_;
  CsvParser::TypeOf csv_type_of_;
  CsvParser csv_;
  BatchBuilder builder_;
  WriteBatch batch_;
  // Labels of the lines of the current batch: runs of a device's lines with the same tags, in
  // line order (as formats::PointStager makes them), and each device's last run.
  struct LabelRun {
    std::string device;
    std::vector<std::pair<std::string, std::string>> tags;
    std::vector<int64_t> times;
  };
  std::vector<LabelRun> label_runs_;
  std::unordered_map<std::string, size_t> last_run_;
  bool apply_ = false;
  uint64_t points_ = 0;
  uint64_t batch_first_line_ = 0;
};

}  // namespace sensordb::cli
