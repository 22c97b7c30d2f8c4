#include <algorithm>

#include "sensordb/protocol/query_codec.h"
#include "value_type_wire.h"

namespace sensordb::protocol {
namespace {

constexpr size_t kLatestPointBytes = 96;  // table, vtable, scalars, string headers
constexpr size_t kAggregateRowBytes = sizeof(wire::AggregateRow);
constexpr size_t kChunkOverheadBytes = 128;

}  // namespace

QueryChunkBuilder::QueryChunkBuilder(uint64_t request_id, QueryKind kind, size_t target_bytes)
    : request_id_(request_id),
      kind_(kind),
      target_bytes_(std::max<size_t>(target_bytes, 4096)),
      fbb_(target_bytes_ + target_bytes_ / 4) {}

size_t QueryChunkBuilder::AddRaw(const SeriesRef& series, const PointRun& run, size_t offset) {
  const size_t left = run.size() - std::min(offset, run.size());
  const size_t names = series.device.size() + series.channel.size();
  const size_t fixed = ColumnWireBytes(run.type, 0, names);
  const size_t per_point = ColumnWireBytes(run.type, 1, names) - fixed;
  const size_t room = bytes_ + fixed < target_bytes_ ? target_bytes_ - bytes_ - fixed : 0;
  size_t n = std::min(left, room / per_point);
  if (n == 0 && empty() && left > 0) n = 1;                // always progress
  if (n < left) bytes_ = std::max(bytes_, target_bytes_);  // full(): Finish before the rest
  if (n == 0) return 0;
  PointRun part{run.type, run.timestamps.subspan(offset, n), {}, {}, {}};
  switch (run.type) {
    case ValueType::kFloat64:
      part.f64 = run.f64.subspan(offset, n);
      break;
    case ValueType::kInt64:
      part.i64 = run.i64.subspan(offset, n);
      break;
    case ValueType::kBool:
      part.b = run.b.subspan(offset, n);
      break;
  }
  raw_.push_back(BuildColumn(fbb_, series.device, series.channel, series.series_id, part));
  bytes_ += fixed + n * per_point;
  items_ += n;
  return n;
}

void QueryChunkBuilder::AddLatest(std::string_view device, const LatestPoint& point) {
  auto dev = fbb_.CreateString(device.data(), device.size());
  auto chan = fbb_.CreateString(point.channel);
  const Value& v = point.value;
  latest_.push_back(wire::CreateLatestPoint(fbb_, dev, chan, point.timestamp_ns, WireType(v.type),
                                            v.f64, v.i64, v.b));
  bytes_ += kLatestPointBytes + device.size() + point.channel.size();
  ++items_;
}

void QueryChunkBuilder::AddAggregate(const AggregateRow& row) {
  const uint64_t id = row.series ? row.series->series_id : 0;
  if (run_open_ && (run_series_.series_id != id || (row.series == nullptr) != run_device_.empty() ||
                    !std::ranges::equal(run_group_, row.group))) {
    FlushAggregateRun();
  }
  if (!run_open_) {
    run_open_ = true;
    run_group_.assign(row.group.begin(), row.group.end());
    for (const std::string& v : run_group_) bytes_ += 8 + v.size();
    run_series_ = row.series ? *row.series : SeriesRef{};
    run_device_.assign(row.series ? row.series->device : std::string_view());
    run_channel_.assign(row.series ? row.series->channel : std::string_view());
    // The views must not outlive the engine's callback: point them at our copies.
    run_series_.device = run_device_;
    run_series_.channel = run_channel_;
    bytes_ += kChunkOverheadBytes + run_device_.size() + run_channel_.size();
  }
  run_rows_.emplace_back(row.bucket_start_ns, row.count, row.sum, row.min, row.max, row.first,
                         row.first_ns, row.last, row.last_ns);
  bytes_ += kAggregateRowBytes;
  ++items_;
}

void QueryChunkBuilder::FlushAggregateRun() {
  if (!run_open_) return;
  auto dev = fbb_.CreateString(run_device_);
  auto chan = fbb_.CreateString(run_channel_);
  auto rows = fbb_.CreateVectorOfStructs(run_rows_.data(), run_rows_.size());
  const wire::ValueType type = run_device_.empty() && run_channel_.empty()
                                   ? wire::ValueType::Unknown
                                   : WireType(run_series_.type);
  auto group = run_group_.empty() ? 0 : fbb_.CreateVectorOfStrings(run_group_);
  aggregate_.push_back(
      wire::CreateAggregateRun(fbb_, run_series_.series_id, dev, chan, type, rows, group));
  run_rows_.clear();
  run_open_ = false;
}

OutFrame QueryChunkBuilder::Finish() {
  FlushAggregateRun();
  flatbuffers::Offset<wire::QueryChunk> chunk;
  switch (kind_) {
    case QueryKind::kRaw:
      chunk = wire::CreateQueryChunk(fbb_, fbb_.CreateVector(raw_));
      break;
    case QueryKind::kLatest:
      chunk = wire::CreateQueryChunk(fbb_, 0, fbb_.CreateVector(latest_));
      break;
    case QueryKind::kAggregate:
      chunk = wire::CreateQueryChunk(fbb_, 0, 0, fbb_.CreateVector(aggregate_));
      break;
  }
  raw_.clear();
  latest_.clear();
  aggregate_.clear();
  bytes_ = 0;
  items_ = 0;
  return FinishEnvelope(fbb_, request_id_, wire::Message::QueryChunk, chunk.Union());
}

}  // namespace sensordb::protocol
