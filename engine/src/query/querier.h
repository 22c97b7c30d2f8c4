// Querier: answers one query over a project by merging, per series, the head chunk with the
// sealed blocks that overlap the range (engine/docs/queries.md). Blocks and the head never
// need a global lock: each series' head chunk is copied first (with the seq it has sealed up
// to), then blocks are read from an iterator made after the copy, skipping blocks newer than
// the copy, so every point is seen exactly once. One Querier per call; not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "block/block.h"
#include "block/point_column.h"
#include "catalog/catalog.h"
#include "crypto/cipher.h"
#include "head/head.h"
#include "query/aggregator.h"
#include "sensordb/query.h"
#include "store/store.h"

namespace sensordb::query {

using catalog::SeriesMeta;

class Querier {
 public:
  // Every reference must outlive the Querier.
  Querier(store::Store& store, const crypto::Cipher& cipher, const head::Head& head,
          uint32_t project)
      : store_(store), cipher_(cipher), head_(head), project_(project) {}

  Status Raw(std::span<const SeriesMeta* const> series, const TimeRange& range,
             const RawCallback& callback);
  Status Latest(std::span<const SeriesMeta* const> series, std::vector<LatestPoint>* out);
  Status Aggregate(std::span<const SeriesMeta* const> series, const AggregateQuery& query,
                   const AggregateCallback& callback);

 private:
  // A stretch of one series' points: a sealed block or the head chunk.
  struct Source {
    int64_t min_ts = 0;
    int64_t max_ts = 0;
    uint64_t priority = 0;  // block_seq; the head outranks every block
    block::Summary summary;
    bool summary_valid = true;
    std::string plain;                     // a block's opened contents ...
    size_t data_offset = 0;                // ... whose data (flags + body) starts here
    const head::HeadCopy* head = nullptr;  // or the head
  };
  // Called with runs of one series in time order; returns false to stop.
  using RunFn = std::function<bool(const block::PointColumn&, size_t begin, size_t end)>;
  // Called with a source whose summary may stand for its points; returns true if it did.
  using SummaryFn = std::function<bool(const Source&)>;

  // Runs `fn` over series in groups, each group's heads copied before its block iterator.
  Status ForEachSeries(std::span<const SeriesMeta* const> series,
                       const std::function<Status(const SeriesMeta&, const head::HeadCopy&,
                                                  store::Store::Iterator&)>& fn);
  Status Gather(const SeriesMeta& s, const head::HeadCopy& head, store::Store::Iterator& it,
                const TimeRange& range, std::vector<Source>* out);
  // Opens a block, naming it in any error.
  Status Open(std::string_view key, const block::BlockView& view, block::OpenedBlock* out);
  Status Load(const Source& src, block::PointColumn* out);
  // Streams the series' points in [range) in time order, merging overlapping sources; sources
  // that `use_summary` accepts are not decoded.
  Status Scan(const SeriesMeta& s, std::vector<Source>& sources, const TimeRange& range,
              const SummaryFn& use_summary, const RunFn& fn, bool* stopped);

  store::Store& store_;
  const crypto::Cipher& cipher_;
  const head::Head& head_;
  const uint32_t project_;
  block::PointColumn scratch_;
  block::OpenedBlock opened_;
};

}  // namespace sensordb::query
