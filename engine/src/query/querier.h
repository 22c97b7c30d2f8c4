// Querier: answers one query over a project by merging, per series, the head chunk with the
// sealed blocks that overlap the range (docs/write_path.md "Queries and the head"). No global
// lock: each series' head chunk is copied first, then blocks are read from an iterator made
// after the copy, skipping blocks sealed after it (block_seq >= the copied chunk's first seq),
// so every point is seen exactly once. One Querier per call; not thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "block/block.h"
#include "block/point_column.h"
#include "catalog/catalog.h"
#include "crypto/cipher.h"
#include "head/head.h"
#include "query/aggregator.h"
#include "query/block_reader.h"
#include "query/summary_cache.h"
#include "sensordb/query.h"
#include "store/store.h"

namespace sensordb::query {

using catalog::SeriesMeta;

class Querier {
 public:
  // Every reference must outlive the Querier.
  // `max_span_ns` is the project's longest block span, read when blocks are about to be read.
  // `copy_gate`, if given, is held shared from the head copies to the creation of the block
  // iterator: a block written meanwhile (DB::Compact's merges, db_merge.cc) could otherwise hold
  // both points of the copy and older ones, and be skipped as "in the copy".
  Querier(store::Store& store, const crypto::Cipher& cipher, const head::Head& head,
          SummaryCache& summaries, uint32_t project, const std::atomic<int64_t>& max_span_ns,
          std::shared_mutex* copy_gate = nullptr)
      : store_(store),
        cipher_(cipher),
        head_(head),
        summaries_(summaries),
        project_(project),
        max_span_ns_(max_span_ns),
        copy_gate_(copy_gate),
        reader_(store, cipher) {}

  // Salvage: a block that fails to open is reported to `sink` and left out, instead of failing
  // the query. Never used by normal reads.
  void SkipDamagedBlocks(std::function<void(const Status&)> sink) { on_damage_ = std::move(sink); }

  Status Raw(std::span<const SeriesMeta* const> series, const TimeRange& range,
             const RawCallback& callback);
  Status Latest(std::span<const SeriesMeta* const> series, std::vector<LatestPoint>* out);
  // Label queries (LabelPlan): `ranges` gives, per series, the parts of its time to read,
  // ascending and disjoint; points outside them are left out.
  using RangesFn = std::function<void(const SeriesMeta&, std::vector<TimeRange>*)>;
  Status RawPieces(std::span<const SeriesMeta* const> series, const RangesFn& ranges,
                   const RawCallback& callback);
  // As AggregateInto, but `plan` gives, per series, the parts of its time to read and the
  // aggregator each part's points go to.
  struct Piece {
    TimeRange range;
    Aggregator* agg = nullptr;
  };
  using PlanFn = std::function<void(const SeriesMeta&, std::vector<Piece>*)>;
  Status AggregatePieces(std::span<const SeriesMeta* const> series, const PlanFn& plan,
                         const std::function<bool(const SeriesMeta&)>& after_series);
  // Holds at most `max_buckets` buckets at once (0: no bound), else ResourceExhausted.
  Status Aggregate(std::span<const SeriesMeta* const> series, const AggregateQuery& query,
                   size_t max_buckets, const AggregateCallback& callback);
  // Folds the series' points in the query's range into `agg` without emitting anything (so
  // that several Queriers on several threads can each fold a share, then merge).
  // `after_series`, if given, runs after each series; returning false stops. ResourceExhausted
  // once `agg` overflows.
  Status AggregateInto(std::span<const SeriesMeta* const> series, const AggregateQuery& query,
                       Aggregator* agg,
                       const std::function<bool(const SeriesMeta&)>& after_series = {});

 private:
  // A stretch of one series' points: a sealed block or the head chunk.
  struct Source {
    int64_t min_ts = 0;
    int64_t max_ts = 0;
    uint64_t priority = 0;  // block_seq; the head outranks every block
    block::Summary summary;
    bool summary_valid = true;
    std::string key, value;                // a block, as stored ...
    bool opened = false;                   // ... and once opened (lazily: a cached summary
    std::string plain;                     // may be all a query needs), its contents,
    bool data_in_value = false;            // (or, with a passthrough cipher, `value`)
    size_t data_offset = 0;                // whose data (flags + body) starts here
    const head::HeadCopy* head = nullptr;  // or the head.
    bool decoded = false;                  // Points already decoded (an unsorted head chunk,
    block::PointColumn points;             // a group member), kept so Load need not again
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
  // Opens a block or a group member (BlockReader), naming it in any error.
  Status Open(std::string_view key, std::string_view value, block::OpenedBlock* out);
  // Opens a block source if it is not open yet.
  Status OpenSource(Source* src);
  Status Load(Source& src, block::PointColumn* out);
  // Streams the series' points in [range) in time order, merging overlapping sources; sources
  // that `use_summary` accepts are not decoded.
  Status Scan(const SeriesMeta& s, std::vector<Source>& sources, const TimeRange& range,
              const SummaryFn& use_summary, const RunFn& fn, bool* stopped);

  store::Store& store_;
  const crypto::Cipher& cipher_;
  // True when a block was sealed after `head` was copied: its points are in the copy. (Blocks
  // sealed before the copy end before the copied chunk's first record; an empty copy has
  // nothing a later block could repeat.)
  static bool SealedAfterCopy(uint64_t block_seq, const head::HeadCopy& head) {
    return head.min_seq != 0 && block_seq >= head.min_seq;
  }

  const head::Head& head_;
  SummaryCache& summaries_;
  const uint32_t project_;
  const std::atomic<int64_t>& max_span_ns_;
  std::shared_mutex* copy_gate_;
  std::function<void(const Status&)> on_damage_;  // salvage only
  int64_t span_ns_ = 0;      // max_span_ns_, read once the current group's iterator exists
  block::PointColumn merged_, part_;  // Scan's buffers
  block::OpenedBlock opened_;
  BlockReader reader_;
};

}  // namespace sensordb::query
