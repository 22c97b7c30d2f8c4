#include "query/aggregator.h"

#include <algorithm>
#include <limits>
#include <string>

namespace sensordb::query {

void BucketState::AddSummary(const block::Summary& s) {
  BucketState o;
  o.count = s.count;
  o.sum = s.sum;
  o.min = s.min;
  o.max = s.max;
  o.has_min_max = s.has_min_max;
  o.first = s.first;
  o.first_ns = s.min_ts;
  o.last = s.last;
  o.last_ns = s.max_ts;
  Merge(o);
}

void BucketState::Merge(const BucketState& o) {
  if (o.count == 0) return;
  if (count == 0 || o.first_ns < first_ns) first_ns = o.first_ns, first = o.first;
  if (count == 0 || o.last_ns >= last_ns) last_ns = o.last_ns, last = o.last;
  count += o.count;
  sum += o.sum;
  if (o.has_min_max) {
    if (!has_min_max) {
      min = o.min, max = o.max, has_min_max = true;
    } else {
      min = o.min < min ? o.min : min;
      max = o.max > max ? o.max : max;
    }
  }
}

BucketState* Aggregator::Bucket(int64_t start) {
  if (max_buckets_ == 0 || buckets_.size() < max_buckets_) return &buckets_[start];
  const auto it = buckets_.find(start);
  if (it != buckets_.end()) return &it->second;
  overflowed_ = true;
  return nullptr;
}

Status Aggregator::OverflowError() const {
  return Status::ResourceExhausted(
      "the aggregate needs more than " + std::to_string(max_buckets_) +
      " buckets at once (Options::max_aggregate_buckets, limits.max_aggregate_buckets of "
      "sensordbd): use a wider bucket, a shorter range or fewer series");
}

void Aggregator::MergeFrom(const Aggregator& other) {
  overflowed_ |= other.overflowed_;
  for (const auto& [start, st] : other.buckets_) {
    BucketState* b = Bucket(start);
    if (b == nullptr) return;
    b->Merge(st);
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

namespace {

// Folds points [i, j) of a sorted column, all in one bucket, into `st`. first/last come from the
// run's ends; the loop only sums and compares, and min/max skip NaN because a comparison with
// NaN is false.
template <typename Get>
void FoldRun(const block::PointColumn& c, size_t i, size_t j, Get get, BucketState* st) {
  double sum = 0;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  for (size_t k = i; k < j; ++k) {
    const double v = get(k);
    sum += v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  block::Summary s;
  s.count = j - i;
  s.min_ts = c.ts[i];
  s.max_ts = c.ts[j - 1];
  s.first = get(i);
  s.last = get(j - 1);
  s.sum = sum;
  s.has_min_max = lo <= hi;  // false only when every value was NaN
  s.min = lo;
  s.max = hi;
  st->AddSummary(s);
}

}  // namespace

void Aggregator::AddRun(const block::PointColumn& c, size_t begin, size_t end) {
  size_t i = begin;
  while (i < end) {
    const int64_t b = BucketOf(c.ts[i]);
    const int64_t stop = BucketEnd(b);
    const size_t j = size_t(std::lower_bound(c.ts.begin() + ptrdiff_t(i), c.ts.begin() + ptrdiff_t(end), stop) -
                            c.ts.begin());
    BucketState* st = Bucket(b);
    if (st == nullptr) return;
    switch (c.type) {
      case ValueType::kFloat64: FoldRun(c, i, j, [&](size_t k) { return c.f64[k]; }, st); break;
      case ValueType::kInt64: FoldRun(c, i, j, [&](size_t k) { return double(c.i64[k]); }, st); break;
      case ValueType::kBool: FoldRun(c, i, j, [&](size_t k) { return double(c.b[k]); }, st); break;
    }
    i = j;
  }
}

bool Aggregator::TryAddSummary(const block::Summary& s) {
  if (s.min_ts < summary_range_.start_ns || s.max_ts >= summary_range_.end_ns) return false;
  const int64_t b = BucketOf(s.min_ts);
  if (s.max_ts >= BucketEnd(b)) return false;
  if (BucketState* st = Bucket(b)) st->AddSummary(s);
  return true;  // taken, or overflowed: either way not to be scanned
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
