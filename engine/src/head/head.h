// Head: the in-memory open chunks of every series (engine/docs/format/head_record.md says how
// they are made durable). A chunk keeps full vectors encoded by the block codecs and a raw tail
// of fewer than kVectorPoints points, so the head costs about what the blocks will cost plus
// 16 bytes per tail point. Thread-safe: series are spread over shards, each with its own mutex.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "block/point_column.h"
#include "sensordb/clock.h"
#include "sensordb/query.h"
#include "sensordb/status.h"

namespace sensordb::head {

// Points per encoded vector, in the head and in blocks.
inline constexpr size_t kVectorPoints = 256;

// The open chunk and sealing state of one series. Guarded by its shard's mutex.
struct MemSeries {
  uint32_t project = 0;
  uint64_t id = 0;
  ValueType type = ValueType::kFloat64;

  std::string vectors;           // full vectors, block-encoded
  size_t encoded_points = 0;
  block::PointColumn tail;       // the rest, raw
  bool sorted = true;            // every point later than the one before it
  block::Summary summary;        // of the chunk; valid while sorted
  uint64_t min_seq = 0;          // head records contributing to the chunk (0: chunk empty)
  uint64_t max_seq = 0;
  int64_t opened_unix_ns = 0;    // when the chunk's first point was appended (Head's clock)

  uint64_t sealed_seq = 0;       // records up to here are in blocks (replay skips them)

  size_t points() const { return encoded_points + tail.size(); }
  bool empty() const { return min_seq == 0; }
  // Heap bytes of the open chunk (vectors and raw tail, as allocated).
  size_t chunk_bytes() const;
};

// A copy of a series' chunk taken for a query, decoded on demand.
struct HeadCopy {
  bool found = false;
  ValueType type = ValueType::kFloat64;
  std::string vectors;
  block::PointColumn tail;
  bool sorted = true;
  block::Summary summary;
  uint64_t min_seq = 0;  // first head record in the copied chunk; 0 when it was empty
  bool empty() const { return tail.empty() && vectors.empty(); }
  // The chunk's points, sorted and without duplicates.
  Status Decode(block::PointColumn* out) const;
};

// A chunk cut from the head, ready to become a block.
struct CutChunk {
  uint32_t project = 0;
  uint64_t series = 0;
  uint64_t block_seq = 0;  // = the chunk's max_seq
  block::Summary summary;
  std::string body;        // vectors of a sorted, duplicate-free run
};

class Head {
 public:
  // `clock` (which must outlive the head) dates each chunk's first point, for ageing.
  Head(size_t chunk_max_points, const Clock& clock)
      : chunk_max_points_(chunk_max_points), clock_(clock) {}

  // Restores a series' sealing state at open, from the seal records (before any Append).
  void SetState(uint32_t project, uint64_t series, ValueType type, uint64_t sealed_seq);
  // Appends the run to the series' chunk as part of head record `seq`; points of records the
  // series has already sealed are skipped (replay). Cheap (a copy into the raw tail): callers
  // apply batches in seq order and then call EncodeTails outside that order.
  void Append(uint32_t project, uint64_t series, uint64_t seq, const PointRun& run);
  // Encodes full vectors of the series' raw tails. Returns the series whose chunks are full.
  std::vector<uint64_t> EncodeTails(std::span<const uint64_t> series);

  HeadCopy Copy(uint64_t series) const;

  // For each shard: cuts the chunks `due` selects, hands them to `persist` (which writes them
  // durably), and only then empties them, all under the shard's lock, so a reader sees each
  // point either in the head or in a block. `series` limits the work to those ids (empty: all).
  using DueFn = std::function<bool(const MemSeries&)>;
  using PersistFn = std::function<Status(std::vector<CutChunk>&)>;
  Status Seal(const DueFn& due, const PersistFn& persist, const std::vector<uint64_t>& series = {});

  // Lowest head record seq each project still needs (projects with open chunks only).
  std::map<uint32_t, uint64_t> MinOpenSeq() const;
  void DropProject(uint32_t project);
  // Calls fn for every series of the project under its shard's lock (no seal runs meanwhile).
  Status ForEachInProject(uint32_t project, const std::function<Status(const MemSeries&)>& fn);
  uint64_t Points() const;
  // Heap bytes of every open chunk (MemSeries::chunk_bytes; a sealed chunk gives its memory back).
  size_t ChunkBytes() const;
  // The series whose open chunks, taken largest first, hold at least `bytes` (all of them if
  // they hold less).
  std::vector<uint64_t> LargestChunks(size_t bytes) const;
  size_t chunk_max_points() const { return chunk_max_points_; }

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<uint64_t, std::unique_ptr<MemSeries>> series;  // GUARDED_BY(mu)
  };
  Shard& ShardOf(uint64_t series) { return shards_[series % kShards]; }
  const Shard& ShardOf(uint64_t series) const { return shards_[series % kShards]; }
  static CutChunk Cut(const MemSeries& s);
  static void AddToSummary(const PointRun& run, MemSeries* s);

  const size_t chunk_max_points_;
  const Clock& clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace sensordb::head
