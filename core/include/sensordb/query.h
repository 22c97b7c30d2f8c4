// Query requests and results. Results stream through callbacks; nothing materialises a whole
// result. A callback returns false to stop the query early (the query then returns OK).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sensordb/types.h"

namespace sensordb {

// Half-open time range [start_ns, end_ns).
struct TimeRange {
  int64_t start_ns = std::numeric_limits<int64_t>::min();
  int64_t end_ns = std::numeric_limits<int64_t>::max();
};

// Which series of a project: an empty field matches every name.
//   {device, channel}: one series; {device, ""}: all channels of a device;
//   {"", channel}: one channel across all devices; {"", ""}: the whole project.
// A condition on devices' labels (docs/LABELS.md), evaluated at each point's time with the
// values the device had then; a label the device does not have then is the empty string. The key
// `device` stands for the device's name. Regular expressions are RE2's (linear time), matched
// anywhere in the value, as InfluxDB's =~ does (`/th/` matches "north"; anchor with ^ and $).
struct LabelFilter {
  enum class Op : uint8_t { kEq, kNe, kMatch, kNoMatch, kAnd, kOr };
  Op op = Op::kEq;
  std::string key;                    // kEq .. kNoMatch
  std::string value;                  // kEq, kNe: the value; kMatch, kNoMatch: the pattern
  std::vector<LabelFilter> operands;  // kAnd, kOr: two or more
};

struct Selector {
  Selector() = default;
  Selector(std::string device_name, std::string channel_name,
           std::vector<LabelFilter> label_filters = {})
      : device(std::move(device_name)),
        channel(std::move(channel_name)),
        labels(std::move(label_filters)) {}

  std::string device;
  std::string channel;
  // Only the points whose device's labels match at their time. Empty: no condition.
  std::vector<LabelFilter> labels;  // all must hold
};

struct SeriesRef {
  uint64_t series_id = 0;
  std::string_view device;
  std::string_view channel;
  ValueType type = ValueType::kFloat64;
};

// A run of points of one series in ascending time order. Exactly one of the value spans is
// filled, as `type` says; it has the same length as `timestamps`.
struct PointRun {
  ValueType type = ValueType::kFloat64;
  std::span<const int64_t> timestamps;
  std::span<const double> f64;
  std::span<const int64_t> i64;
  std::span<const uint8_t> b;
  size_t size() const { return timestamps.size(); }
  Value value(size_t i) const;
};

// Raw points: for each selected series (ordered by device, then channel), one or more runs in
// ascending time; a series' runs all arrive before the next series'.
using RawCallback = std::function<bool(const SeriesRef&, const PointRun&)>;

struct LatestPoint {
  std::string channel;
  int64_t timestamp_ns = 0;
  Value value;
};

enum class Aggregation : uint8_t { kCount, kSum, kMean, kMin, kMax, kFirst, kLast };
std::string_view AggregationName(Aggregation a);  // "count", "sum", ...
bool ParseAggregation(std::string_view name, Aggregation* out);

struct AggregateQuery {
  AggregateQuery() = default;
  AggregateQuery(Selector query_selector, TimeRange query_range, int64_t bucket = 0,
                 bool by_series = false, std::vector<std::string> group_keys = {})
      : selector(std::move(query_selector)),
        range(query_range),
        bucket_ns(bucket),
        per_series(by_series),
        group_by(std::move(group_keys)) {}

  Selector selector;
  TimeRange range;
  // Bucket width; buckets start at multiples of bucket_ns since the epoch. 0 = one bucket for
  // the whole range.
  int64_t bucket_ns = 0;
  // true: one result row per series and bucket; false: all selected series merged per bucket.
  bool per_series = false;
  // Label keys to group by (docs/LABELS.md): each point counts in the group of the values its
  // device's labels had at its time (empty when absent). Rows then come per group (and per
  // series when per_series), groups in ascending order of their values.
  std::vector<std::string> group_by;
};

// Everything one bucket knows; values are computed in double (int64 sums past 2^53 round).
// Bool series count true as 1 and false as 0.
struct AggregateRow {
  const SeriesRef* series = nullptr;  // null when per_series is false
  std::span<const std::string> group;  // values of AggregateQuery::group_by, in its order
  int64_t bucket_start_ns = 0;
  uint64_t count = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  double first = 0;
  int64_t first_ns = 0;
  double last = 0;
  int64_t last_ns = 0;
  double Get(Aggregation a) const;
};

// Rows in ascending bucket order (per series, series ordered as for raw queries); empty
// buckets are skipped.
using AggregateCallback = std::function<bool(const AggregateRow&)>;

}  // namespace sensordb
