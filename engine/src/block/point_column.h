// PointColumn: points of one series in memory, columnar, with the value column of its type.
// The common currency of head chunks, block decoding and queries. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sensordb/query.h"
#include "sensordb/types.h"

namespace sensordb::block {

struct PointColumn {
  ValueType type = ValueType::kFloat64;
  std::vector<int64_t> ts;
  std::vector<double> f64;
  std::vector<int64_t> i64;
  std::vector<uint8_t> b;

  size_t size() const { return ts.size(); }
  bool empty() const { return ts.empty(); }
  void clear();
  void reserve(size_t n);
  // Appends points [begin, end) of `other` (same type).
  void Append(const PointColumn& other, size_t begin, size_t end);
  void AppendPoint(int64_t t, const PointColumn& other, size_t i);
  double AsDouble(size_t i) const;
  // Points [begin, end) as a query result run.
  PointRun Run(size_t begin, size_t end) const;
  PointRun Run() const { return Run(0, size()); }
  // True when timestamps strictly increase (sorted, no duplicates).
  bool StrictlyIncreasing() const;
  // Sorts by timestamp; of equal timestamps keeps the one that came last (stable order).
  void SortAndDedup();
};

// count/min/max/sum/first/last of a sorted, duplicate-free run. min and max skip NaN; sum (and
// so mean) propagates it; count includes it.
struct Summary {
  ValueType type = ValueType::kFloat64;
  uint64_t count = 0;
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  double min = 0;
  double max = 0;
  double sum = 0;
  double first = 0;
  double last = 0;
  bool has_min_max = false;  // false when every value was NaN

  // Adds a point later than every point added before.
  void Add(int64_t t, double v);
  static Summary Of(const PointColumn& c);
};

void EncodeSummary(const Summary& s, std::string* out);
bool DecodeSummary(std::string_view in, Summary* s);

}  // namespace sensordb::block
