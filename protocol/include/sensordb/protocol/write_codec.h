// Writes over the native protocol: a sensordb::WriteBatch as a Write message and back, and the
// SeriesColumn table that Write and raw query results share. Encoding copies each column with
// one memcpy-like CreateVector (no per-point work); decoding checks every length, type and
// bound before it copies anything. Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <string_view>

#include "sensordb/protocol/frame.h"
#include "sensordb/protocol/messages.h"
#include "sensordb/query.h"
#include "sensordb/status.h"
#include "sensordb/types.h"
#include "sensordb/write_batch.h"

namespace sensordb::protocol {

// A checked SeriesColumn: names and values are views into the frame, which must outlive it.
struct ColumnView {
  std::string_view device;
  std::string_view channel;
  uint64_t series_id = 0;
  PointRun run;  // type, timestamps and exactly the value span of that type
};

// Checks a column: names present and at most kMaxNameBytes, a known type, the vector of that
// type as long as the timestamps and aligned, the other two absent or empty, bools 0 or 1.
// `index` names the column in error messages.
Result<ColumnView> ViewColumn(const wire::SeriesColumn& column, size_t index);

// Builds the SeriesColumn for `run` (all of it), with the vectors copied wholesale.
flatbuffers::Offset<wire::SeriesColumn> BuildColumn(flatbuffers::FlatBufferBuilder& fbb,
                                                    std::string_view device,
                                                    std::string_view channel, uint64_t series_id,
                                                    const PointRun& run);

// Wire bytes a column of `points` points of `type` takes, names included (an upper bound).
size_t ColumnWireBytes(ValueType type, size_t points, size_t name_bytes);

// Keys one label set of a Write may name (a line holds at most 64 tags).
inline constexpr size_t kMaxLabelsPerSet = 64;
// Bytes a label set takes in a Write frame, rounded up.
size_t LabelSetWireBytes(const WriteBatch::LabelSet& labels);

// What DecodeWrite charges for the labels it decodes, besides their bytes (a std::string and
// a vector per set, two strings per pair).
inline constexpr size_t kLabelSetCost = 96;
inline constexpr size_t kLabelPairCost = 64;

struct WriteLimits {
  uint32_t max_points = kDefaultMaxWritePoints;  // over all columns
  uint32_t max_columns = 1024 * 1024;
  // Memory the decoded labels of one Write may take (kLabelSetCost, kLabelPairCost and their
  // bytes): a few thousand devices' label sets fit many times over.
  size_t max_label_bytes = 16 * 1024 * 1024;
};

// The batch as a Write frame. kInvalidArgument when the batch is empty or has a length mismatch
// (WriteBatch::error()); kResourceExhausted when the frame would be larger than
// `max_frame_bytes` (the server's HelloReply limit): split the batch.
Result<OutFrame> EncodeWrite(uint64_t request_id, std::string_view project, const WriteBatch& batch,
                             Durability durability = Durability::kSync,
                             uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

struct WriteRequest {
  std::string_view project;  // points into the frame
  Durability durability = Durability::kSync;
};

// Fills `batch` (cleared first, keeping its buffers) from a Write. Checks every column
// (ViewColumn) and the limits before copying any point; on error `batch` is left cleared.
Result<WriteRequest> DecodeWrite(const wire::Write& write, const WriteLimits& limits,
                                 WriteBatch& batch);

OutFrame EncodeWriteReply(uint64_t request_id, uint64_t points, Durability ack);
struct WriteAck {
  uint64_t points = 0;
  Durability ack = Durability::kSync;
};
Result<WriteAck> DecodeWriteReply(const wire::WriteReply& reply);

}  // namespace sensordb::protocol
