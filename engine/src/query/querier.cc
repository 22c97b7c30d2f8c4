#include "query/querier.h"

#include <algorithm>
#include <limits>

#include "block/block.h"
#include "store/keys.h"

namespace sensordb::query {
namespace {

// Series whose heads are copied before one block iterator is made: bounds the memory a query
// holds for head copies.
constexpr size_t kSeriesPerGroup = 256;
constexpr uint64_t kHeadPriority = std::numeric_limits<uint64_t>::max();

int64_t SaturatingSub(int64_t a, int64_t b) {
  return a < std::numeric_limits<int64_t>::min() + b ? std::numeric_limits<int64_t>::min() : a - b;
}

SeriesRef RefOf(const SeriesMeta& s) { return {s.id, s.device, s.channel, s.type}; }

}  // namespace

Status Querier::ForEachSeries(
    std::span<const SeriesMeta* const> series,
    const std::function<Status(const SeriesMeta&, const head::HeadCopy&, store::Store::Iterator&)>&
        fn) {
  std::vector<head::HeadCopy> copies;
  for (size_t g = 0; g < series.size(); g += kSeriesPerGroup) {
    const size_t n = std::min(kSeriesPerGroup, series.size() - g);
    copies.clear();
    std::shared_lock<std::shared_mutex> no_merge;
    if (copy_gate_ != nullptr) no_merge = std::shared_lock(*copy_gate_);
    for (size_t i = 0; i < n; ++i) copies.push_back(head_.Copy(series[g + i]->id));
    auto it = store_.NewIterator(store::Cf::kBlocks);  // after the copies: see header
    if (no_merge.owns_lock()) no_merge.unlock();
    span_ns_ = max_span_ns_.load();  // raised before any block with a longer span is written
    for (size_t i = 0; i < n; ++i) {
      Status s = fn(*series[g + i], copies[i], *it);
      if (!s.ok()) return s;
    }
    SENSORDB_RETURN_IF_ERROR(it->status());
  }
  return Status::Ok();
}

Status Querier::Gather(const SeriesMeta& s, const head::HeadCopy& head,
                       store::Store::Iterator& it, const TimeRange& range,
                       std::vector<Source>* out) {
  out->clear();
  const std::string prefix = store::SeriesPrefix(project_, s.id);
  it.Seek(store::BlockSeekKey(project_, s.id, SaturatingSub(range.start_ns, span_ns_)));
  for (; it.Valid() && it.key().starts_with(prefix); it.Next()) {
    store::BlockKey key;
    if (!store::DecodeBlockKey(it.key(), &key)) return Status::Corruption("bad block key");
    if (key.min_ts >= range.end_ns) break;
    if (SealedAfterCopy(key.block_seq, head)) continue;  // its points are in the copy
    if (!BlockReader::WellFormed(it.value())) {
      return Status::Corruption("block of series " + std::to_string(s.id) + " is malformed");
    }
    Source src;
    src.key = it.key();
    src.value = it.value();
    src.priority = key.block_seq;
    // The skip below trusts only an authenticated summary (cached after a block was opened),
    // never the plaintext max_ts of the header: a forged one would hide the block.
    if (!summaries_.Get(src.key, &src.summary)) {
      Status opened = OpenSource(&src);
      if (!opened.ok() && on_damage_) {
        on_damage_(opened);
        continue;
      }
      SENSORDB_RETURN_IF_ERROR(opened);
      summaries_.Put(src.key, src.summary);
    }
    if (src.summary.max_ts < range.start_ns) continue;
    src.min_ts = src.summary.min_ts;
    src.max_ts = src.summary.max_ts;
    out->push_back(std::move(src));
  }
  SENSORDB_RETURN_IF_ERROR(it.status());
  if (!head.empty()) {
    Source src;
    src.head = &head;
    src.priority = kHeadPriority;
    if (head.sorted) {
      src.summary = head.summary;
      src.min_ts = head.summary.min_ts;
      src.max_ts = head.summary.max_ts;
    } else {
      // Unsorted chunk: its extent needs a decode (rare: late or duplicate points); the decoded,
      // sorted points are kept so that Load does not decode them again.
      SENSORDB_RETURN_IF_ERROR(head.Decode(&src.points));
      src.decoded = true;
      src.summary = block::Summary::Of(src.points);
      src.min_ts = src.summary.min_ts;
      src.max_ts = src.summary.max_ts;
    }
    if (src.max_ts >= range.start_ns && src.min_ts < range.end_ns) out->push_back(std::move(src));
  }
  std::sort(out->begin(), out->end(),
            [](const Source& a, const Source& b) { return a.min_ts < b.min_ts; });
  return Status::Ok();
}

Status Querier::Open(std::string_view key, std::string_view value, block::OpenedBlock* out) {
  return reader_.Open(key, value, out);
}

Status Querier::OpenSource(Source* src) {
  SENSORDB_RETURN_IF_ERROR(Open(src->key, src->value, &opened_));
  src->summary = opened_.summary;
  if (opened_.decoded) {  // a group member: its points are all Load needs
    src->points = std::move(opened_.points);
    src->decoded = src->opened = true;
    return Status::Ok();
  }
  const char* data = opened_.data.data();
  src->data_in_value = data >= src->value.data() && data < src->value.data() + src->value.size();
  if (src->data_in_value) {  // a passthrough cipher's block: data points into the value we keep
    src->data_offset = size_t(data - src->value.data());
    src->plain.clear();
  } else {
    src->data_offset = size_t(data - opened_.plain.data());
    src->plain = std::move(opened_.plain);
  }
  src->opened = true;
  return Status::Ok();
}

Status Querier::Load(Source& src, block::PointColumn* out) {
  if (!src.decoded && !src.head && !src.opened) SENSORDB_RETURN_IF_ERROR(OpenSource(&src));
  if (src.decoded) {
    // A group member's points were decoded by the type its group names: it must be the
    // series' (`out` has the series' type), as a block's are decoded by the series' type.
    if (src.points.type != out->type) {
      return Status::Corruption("a grouped block of this series holds values of another type");
    }
    *out = src.points;
    return Status::Ok();
  }
  if (src.head) return src.head->Decode(out);
  const std::string& buf = src.data_in_value ? src.value : src.plain;
  out->clear();
  return block::DecodeBlockData(std::string_view(buf).substr(src.data_offset), out);
}

Status Querier::Scan(const SeriesMeta& s, std::vector<Source>& sources, const TimeRange& range,
                     const SummaryFn& use_summary, const RunFn& fn, bool* stopped) {
  // Reused across series and calls: decoding into warm buffers avoids allocating per block.
  block::PointColumn& merged = merged_;
  block::PointColumn& part = part_;
  merged.clear();
  part.clear();
  merged.type = part.type = s.type;
  for (size_t i = 0; i < sources.size();) {
    // A component: sources whose time extents overlap one another transitively.
    size_t j = i + 1;
    int64_t end = sources[i].max_ts;
    while (j < sources.size() && sources[j].min_ts <= end) end = std::max(end, sources[j++].max_ts);
    if (j == i + 1 && use_summary && use_summary(sources[i])) {
      i = j;
      continue;
    }
    if (j == i + 1) {
      SENSORDB_RETURN_IF_ERROR(Load(sources[i], &merged));
    } else {
      // Overlap: concatenate by ascending priority, then a stable sort keeps the last write.
      std::vector<Source*> order;
      for (size_t k = i; k < j; ++k) order.push_back(&sources[k]);
      std::sort(order.begin(), order.end(),
                [](const Source* a, const Source* b) { return a->priority < b->priority; });
      merged.clear();
      for (Source* src : order) {
        SENSORDB_RETURN_IF_ERROR(Load(*src, &part));
        merged.Append(part, 0, part.size());
      }
      merged.SortAndDedup();
    }
    auto lo = std::lower_bound(merged.ts.begin(), merged.ts.end(), range.start_ns);
    auto hi = std::lower_bound(lo, merged.ts.end(), range.end_ns);
    if (lo != hi && !fn(merged, lo - merged.ts.begin(), hi - merged.ts.begin())) {
      *stopped = true;
      return Status::Ok();
    }
    i = j;
  }
  return Status::Ok();
}

Status Querier::Raw(std::span<const SeriesMeta* const> series, const TimeRange& range,
                    const RawCallback& callback) {
  bool stopped = false;
  std::vector<Source> sources;
  return ForEachSeries(series, [&](const SeriesMeta& s, const head::HeadCopy& head,
                                   store::Store::Iterator& it) -> Status {
    if (stopped) return Status::Ok();
    SENSORDB_RETURN_IF_ERROR(Gather(s, head, it, range, &sources));
    const SeriesRef ref = RefOf(s);
    return Scan(s, sources, range, nullptr,
                [&](const block::PointColumn& c, size_t b, size_t e) {
                  return callback(ref, c.Run(b, e));
                },
                &stopped);
  });
}

Status Querier::Aggregate(std::span<const SeriesMeta* const> series, const AggregateQuery& q,
                          size_t max_buckets, const AggregateCallback& callback) {
  if (q.bucket_ns < 0) return Status::InvalidArgument("bucket width must not be negative");
  Aggregator agg(q.range, q.bucket_ns, max_buckets);
  if (!q.per_series) {
    SENSORDB_RETURN_IF_ERROR(AggregateInto(series, q, &agg));
    agg.Emit(nullptr, callback);
    return Status::Ok();
  }
  return AggregateInto(series, q, &agg, [&](const SeriesMeta& s) {
    const SeriesRef ref = RefOf(s);
    return agg.Emit(&ref, callback);
  });
}

Status Querier::AggregateInto(std::span<const SeriesMeta* const> series, const AggregateQuery& q,
                              Aggregator* agg,
                              const std::function<bool(const SeriesMeta&)>& after_series) {
  std::vector<Source> sources;
  bool stopped = false;
  auto summary = [&](const Source& src) {
    return src.summary_valid && agg->TryAddSummary(src.summary);
  };
  auto run = [&](const block::PointColumn& c, size_t b, size_t e) {
    agg->AddRun(c, b, e);
    return !agg->overflowed();
  };
  return ForEachSeries(series, [&](const SeriesMeta& s, const head::HeadCopy& head,
                                   store::Store::Iterator& it) -> Status {
    if (stopped) return Status::Ok();
    SENSORDB_RETURN_IF_ERROR(Gather(s, head, it, q.range, &sources));
    SENSORDB_RETURN_IF_ERROR(Scan(s, sources, q.range, summary, run, &stopped));
    if (agg->overflowed()) return agg->OverflowError();
    if (after_series && !after_series(s)) stopped = true;
    return Status::Ok();
  });
}

Status Querier::RawPieces(std::span<const SeriesMeta* const> series, const RangesFn& ranges,
                          const RawCallback& callback) {
  bool stopped = false;
  std::vector<Source> sources;
  std::vector<TimeRange> parts;
  return ForEachSeries(
      series,
      [&](const SeriesMeta& s, const head::HeadCopy& head, store::Store::Iterator& it) -> Status {
        parts.clear();
        ranges(s, &parts);
        const SeriesRef ref = RefOf(s);
        for (const TimeRange& part : parts) {
          if (stopped) return Status::Ok();
          SENSORDB_RETURN_IF_ERROR(Gather(s, head, it, part, &sources));
          SENSORDB_RETURN_IF_ERROR(Scan(
              s, sources, part, nullptr,
              [&](const block::PointColumn& c, size_t b, size_t e) {
                return callback(ref, c.Run(b, e));
              },
              &stopped));
        }
        return Status::Ok();
      });
}

Status Querier::AggregatePieces(std::span<const SeriesMeta* const> series, const PlanFn& plan,
                                const std::function<bool(const SeriesMeta&)>& after_series) {
  std::vector<Source> sources;
  std::vector<Piece> pieces;
  bool stopped = false;
  return ForEachSeries(
      series,
      [&](const SeriesMeta& s, const head::HeadCopy& head, store::Store::Iterator& it) -> Status {
        if (stopped) return Status::Ok();
        pieces.clear();
        plan(s, &pieces);
        for (const Piece& piece : pieces) {
          Aggregator* agg = piece.agg;
          agg->Restrict(piece.range);
          SENSORDB_RETURN_IF_ERROR(Gather(s, head, it, piece.range, &sources));
          SENSORDB_RETURN_IF_ERROR(Scan(
              s, sources, piece.range,
              [&](const Source& src) {
                return src.summary_valid && agg->TryAddSummary(src.summary);
              },
              [&](const block::PointColumn& c, size_t b, size_t e) {
                agg->AddRun(c, b, e);
                return !agg->overflowed();
              },
              &stopped));
          if (agg->overflowed()) return agg->OverflowError();
        }
        if (after_series && !after_series(s)) stopped = true;
        return Status::Ok();
      });
}

Status Querier::Latest(std::span<const SeriesMeta* const> series, std::vector<LatestPoint>* out) {
  block::PointColumn points;
  return ForEachSeries(series, [&](const SeriesMeta& s, const head::HeadCopy& head,
                                   store::Store::Iterator& it) -> Status {
    bool have = false;
    LatestPoint best;
    uint64_t best_priority = 0;
    points.type = s.type;
    if (!head.empty()) {
      SENSORDB_RETURN_IF_ERROR(head.Decode(&points));
      best = {s.channel, points.ts.back(), points.Run().value(points.size() - 1)};
      best_priority = kHeadPriority;
      have = true;
    }
    // Blocks by descending min_ts; one starting before best - max_span cannot end after best.
    const std::string prefix = store::SeriesPrefix(project_, s.id);
    for (it.SeekForPrev(store::PrefixEnd(prefix)); it.Valid() && it.key().starts_with(prefix);
         it.Prev()) {
      store::BlockKey key;
      if (!store::DecodeBlockKey(it.key(), &key)) return Status::Corruption("bad block key");
      if (have && key.min_ts < SaturatingSub(best.timestamp_ns, span_ns_)) break;
      if (SealedAfterCopy(key.block_seq, head)) continue;
      block::Summary summary;  // authenticated (see Gather), not the header's max_ts
      if (!summaries_.Get(it.key(), &summary)) {
        SENSORDB_RETURN_IF_ERROR(Open(it.key(), it.value(), &opened_));
        summary = opened_.summary;
        summaries_.Put(it.key(), summary);
      }
      const bool newer = summary.max_ts > best.timestamp_ns ||
                         (summary.max_ts == best.timestamp_ns && key.block_seq > best_priority);
      if (have && !newer) continue;
      points.clear();
      SENSORDB_RETURN_IF_ERROR(Open(it.key(), it.value(), &opened_));
      if (opened_.decoded) {
        if (opened_.points.type != s.type) {
          return Status::Corruption("block of series " + std::to_string(s.id) + " starting at " +
                                    std::to_string(key.min_ts) + " holds values of another type");
        }
        std::swap(points, opened_.points);
      } else {
        SENSORDB_RETURN_IF_ERROR(block::DecodeBlockData(opened_.data, &points));
      }
      if (points.empty()) continue;
      best = {s.channel, points.ts.back(), points.Run().value(points.size() - 1)};
      best_priority = key.block_seq;
      have = true;
    }
    if (have) out->push_back(std::move(best));
    return it.status();
  });
}

}  // namespace sensordb::query
