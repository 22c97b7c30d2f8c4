// Aggregator: per-bucket count/sum/min/max/first/last, fed with points or block summaries.
// Not thread-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>

#include "block/point_column.h"
#include "sensordb/query.h"
#include "sensordb/status.h"

namespace sensordb::query {

struct BucketState {
  uint64_t count = 0;
  double sum = 0, min = 0, max = 0, first = 0, last = 0;
  int64_t first_ns = 0, last_ns = 0;
  bool has_min_max = false;

  void Add(int64_t t, double v) {
    if (count == 0 || t < first_ns) first_ns = t, first = v;
    if (count == 0 || t >= last_ns) last_ns = t, last = v;
    ++count;
    sum += v;
    if (!std::isnan(v)) {
      if (!has_min_max) {
        min = max = v;
        has_min_max = true;
      } else {
        min = v < min ? v : min;
        max = v > max ? v : max;
      }
    }
  }
  void AddSummary(const block::Summary& s);
  void Merge(const BucketState& o);
};

class Aggregator {
 public:
  // At most `max_buckets` buckets (0: no bound); past it points are dropped and overflowed().
  Aggregator(const TimeRange& range, int64_t bucket_ns, size_t max_buckets = 0)
      : range_(range), summary_range_(range), bucket_ns_(bucket_ns), max_buckets_(max_buckets) {}

  // Points come only from `part` of the range from now on (a label query's piece): a summary
  // is taken only when it lies inside it.
  void Restrict(const TimeRange& part) {
    summary_range_ = {std::max(part.start_ns, range_.start_ns),
                      std::min(part.end_ns, range_.end_ns)};
  }

  int64_t BucketOf(int64_t t) const;
  // Exclusive end of the bucket starting at `start`.
  int64_t BucketEnd(int64_t start) const;
  // Adds points [begin, end) of a sorted column.
  void AddRun(const block::PointColumn& c, size_t begin, size_t end);
  // Adds a summary when it falls in one bucket and inside the range; false otherwise.
  bool TryAddSummary(const block::Summary& s);
  // Adds another aggregator's buckets (same range and width) to this one.
  void MergeFrom(const Aggregator& other);
  // Emits the buckets in order and clears them. Returns false if the callback stopped.
  bool Emit(const SeriesRef* series, const AggregateCallback& cb);
  // A bucket was needed beyond max_buckets: what was added is incomplete.
  bool overflowed() const { return overflowed_; }
  size_t buckets() const { return buckets_.size(); }
  // ResourceExhausted naming the bound.
  Status OverflowError() const;

 private:
  // The bucket starting at `start`, made if there is room; null (and overflowed) if not.
  BucketState* Bucket(int64_t start);

  TimeRange range_;
  TimeRange summary_range_;
  int64_t bucket_ns_;
  size_t max_buckets_;
  bool overflowed_ = false;
  std::map<int64_t, BucketState> buckets_;
};

}  // namespace sensordb::query
