// Head records: one per written batch, the durable form of the head (format in
// engine/docs/format/head_record.md). Stateless functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "block/point_column.h"
#include "sensordb/status.h"
#include "sensordb/write_batch.h"

namespace sensordb::head {

inline constexpr uint8_t kHeadRecordVersion = 1;      // the columns as they are
inline constexpr uint8_t kHeadRecordVersionZstd = 2;  // the same bytes through zstd
// Smaller records stay version 1: zstd's fixed cost per call buys little against the record's
// own envelope and key (docs/BENCHMARKS.md).
inline constexpr size_t kHeadRecordZstdMinBytes = 4096;

// A batch column as a query-style run (a view into the column).
PointRun ColumnRun(const WriteBatch::Column& c);

// Encodes the batch's columns, column i belonging to series_ids[i]; with zstd_level > 0 and at
// least kHeadRecordZstdMinBytes of columns as a version 2 record, the columns compressed at that
// level (stored raw if they do not shrink).
void EncodeHeadRecord(std::span<const WriteBatch::Column> columns,
                      std::span<const uint64_t> series_ids, std::string* out, int zstd_level = 0);

struct HeadRecordEntry {
  uint64_t series = 0;
  block::PointColumn points;
};
Status DecodeHeadRecord(std::string_view payload, std::vector<HeadRecordEntry>* out);

}  // namespace sensordb::head
