// Queries over the native protocol: the Query request, the QueryChunk frames that stream its
// result (built by QueryChunkBuilder on the server, read by the View* functions on the client)
// and the closing QueryEnd. Functions are thread-safe; a QueryChunkBuilder is not.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/protocol/frame.h"
#include "sensordb/protocol/write_codec.h"
#include "sensordb/query.h"
#include "sensordb/status.h"

namespace sensordb::protocol {

enum class QueryKind : uint8_t { kRaw, kLatest, kAggregate };

struct QueryRequest {
  QueryKind kind = QueryKind::kRaw;
  std::string project;
  Selector selector;        // kLatest: selector.device is required
  TimeRange range;          // kRaw, kAggregate
  int64_t bucket_ns = 0;    // kAggregate
  bool per_series = false;  // kAggregate
  uint64_t limit = 0;       // most points (kRaw) or rows (kAggregate); 0 = no limit
  std::vector<std::string> group_by;  // kAggregate: label keys (docs/LABELS.md)

  AggregateQuery ToAggregateQuery() const {
    return {selector, range, bucket_ns, per_series, group_by};
  }
};

// Label conditions on the wire: at most kMaxWireLabelNodes nodes (leaves and AND/OR) nested at
// most kMaxWireLabelDepth deep, keys and values at most 1 KiB; at most 64 group keys. The
// engine bounds them further (query/label_plan.h).
inline constexpr size_t kMaxWireLabelNodes = 256;
inline constexpr size_t kMaxWireLabelDepth = 10;  // the frame verifier allows 16 table levels

OutFrame EncodeQuery(uint64_t request_id, const QueryRequest& query);
// Checks names, the kind, range start <= end, bucket_ns >= 0, and a device for kLatest.
Result<QueryRequest> DecodeQuery(const wire::Query& query);

// Default target size of one QueryChunk's payload: large enough to amortise the per-frame cost,
// small enough for a client to show progress and for the server to interleave other replies.
inline constexpr size_t kDefaultChunkBytes = 256 * 1024;

// Collects one query's results into QueryChunk frames of about `target_bytes` each. Add rows
// until full(), then send Finish()'s frame; Finish() the remainder before the QueryEnd. One
// builder serves one query (one kind); reuse keeps its buffers.
class QueryChunkBuilder {
 public:
  // target_bytes must be well below the client's max_frame_bytes (the frame may exceed the
  // target by one latest point or aggregate row).
  QueryChunkBuilder(uint64_t request_id, QueryKind kind, size_t target_bytes = kDefaultChunkBytes);

  // Adds points [offset, offset + n) of `run`, n as many as the chunk still holds (at least one
  // when the chunk is empty). Returns n; call again with offset + n after a Finish().
  size_t AddRaw(const SeriesRef& series, const PointRun& run, size_t offset);
  void AddLatest(std::string_view device, const LatestPoint& point);
  // Rows of one series must be added together (as the engine delivers them); row.series null
  // means the merged selection.
  void AddAggregate(const AggregateRow& row);

  bool empty() const { return items_ == 0; }
  bool full() const { return bytes_ >= target_bytes_; }
  size_t items() const { return items_; }  // points or rows in the current chunk

  // The chunk as a frame; the builder is then empty.
  OutFrame Finish();

 private:
  void FlushAggregateRun();

  const uint64_t request_id_;
  const QueryKind kind_;
  const size_t target_bytes_;
  flatbuffers::FlatBufferBuilder fbb_;
  std::vector<flatbuffers::Offset<wire::SeriesColumn>> raw_;
  std::vector<flatbuffers::Offset<wire::LatestPoint>> latest_;
  std::vector<flatbuffers::Offset<wire::AggregateRun>> aggregate_;
  // The aggregate run being collected: its series and rows.
  bool run_open_ = false;
  SeriesRef run_series_;
  std::string run_device_, run_channel_;
  std::vector<std::string> run_group_;
  std::vector<wire::AggregateRow> run_rows_;
  size_t bytes_ = 0;
  size_t items_ = 0;
};

// ---- Reading chunks (client side)
// ----------------------------------------------------------------

// Raw runs are SeriesColumns: ViewColumn (write_codec.h) checks and views them.

struct LatestView {
  std::string_view device;
  LatestPoint point;
};
Result<LatestView> ViewLatest(const wire::LatestPoint& point, size_t index);

struct AggregateRunView {
  uint64_t series_id = 0;
  std::string_view device;  // empty for the merged selection
  std::string_view channel;
  ValueType type = ValueType::kFloat64;
  std::span<const wire::AggregateRow> rows;
  std::vector<std::string> group;  // the values of the query's group_by keys
};
Result<AggregateRunView> ViewAggregateRun(const wire::AggregateRun& run, size_t index);
// The engine's row for a wire row (series left null).
AggregateRow ToAggregateRow(const wire::AggregateRow& row);

OutFrame EncodeQueryEnd(uint64_t request_id, uint64_t count, bool truncated);

}  // namespace sensordb::protocol
