#include "query/aggregator.h"

#include <limits>

namespace sensordb::query {

void BucketState::AddSummary(const block::Summary& s) {
  if (s.count == 0) return;
  if (count == 0 || s.min_ts < first_ns) first_ns = s.min_ts, first = s.first;
  if (count == 0 || s.max_ts >= last_ns) last_ns = s.max_ts, last = s.last;
  count += s.count;
  sum += s.sum;
  if (s.has_min_max) {
    if (!has_min_max) {
      min = s.min, max = s.max, has_min_max = true;
    } else {
      min = s.min < min ? s.min : min;
      max = s.max > max ? s.max : max;
    }
  }
}

int64_t Aggregator::BucketOf(int64_t t) const {
  if (bucket_ns_ <= 0) return range_.start_ns;
  int64_t q = t / bucket_ns_;
  if (t % bucket_ns_ != 0 && t < 0) --q;  // floor division
  return q * bucket_ns_;
}

int64_t Aggregator::BucketEnd(int64_t start) const {
  if (bucket_ns_ <= 0 || start > std::numeric_limits<int64_t>::max() - bucket_ns_) {
    return std::numeric_limits<int64_t>::max();
  }
  return start + bucket_ns_;
}

void Aggregator::AddRun(const block::PointColumn& c, size_t begin, size_t end) {
  size_t i = begin;
  while (i < end) {
    const int64_t b = BucketOf(c.ts[i]);
    const int64_t stop = BucketEnd(b);
    BucketState& st = buckets_[b];
    size_t j = i;
    switch (c.type) {
      case ValueType::kFloat64:
        for (; j < end && c.ts[j] < stop; ++j) st.Add(c.ts[j], c.f64[j]);
        break;
      case ValueType::kInt64:
        for (; j < end && c.ts[j] < stop; ++j) st.Add(c.ts[j], double(c.i64[j]));
        break;
      case ValueType::kBool:
        for (; j < end && c.ts[j] < stop; ++j) st.Add(c.ts[j], c.b[j]);
        break;
    }
    i = j == i ? i + 1 : j;  // stop == max with ts == max cannot loop forever
  }
}

bool Aggregator::TryAddSummary(const block::Summary& s) {
  if (s.min_ts < range_.start_ns || s.max_ts >= range_.end_ns) return false;
  const int64_t b = BucketOf(s.min_ts);
  if (s.max_ts >= BucketEnd(b)) return false;
  buckets_[b].AddSummary(s);
  return true;
}

bool Aggregator::Emit(const SeriesRef* series, const AggregateCallback& cb) {
  bool go_on = true;
  for (const auto& [start, st] : buckets_) {
    if (!go_on) break;
    AggregateRow row;
    row.series = series;
    row.bucket_start_ns = start;
    row.count = st.count;
    row.sum = st.sum;
    row.min = st.has_min_max ? st.min : std::numeric_limits<double>::quiet_NaN();
    row.max = st.has_min_max ? st.max : std::numeric_limits<double>::quiet_NaN();
    row.first = st.first;
    row.first_ns = st.first_ns;
    row.last = st.last;
    row.last_ns = st.last_ns;
    go_on = cb(row);
  }
  buckets_.clear();
  return go_on;
}

}  // namespace sensordb::query
