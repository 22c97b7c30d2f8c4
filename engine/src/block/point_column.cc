#include "block/point_column.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sensordb/coding.h"

namespace sensordb::block {

void PointColumn::clear() {
  ts.clear();
  f64.clear();
  i64.clear();
  b.clear();
}

void PointColumn::reserve(size_t n) {
  ts.reserve(n);
  switch (type) {
    case ValueType::kFloat64: f64.reserve(n); break;
    case ValueType::kInt64: i64.reserve(n); break;
    case ValueType::kBool: b.reserve(n); break;
  }
}

void PointColumn::Append(const PointColumn& o, size_t begin, size_t end) {
  ts.insert(ts.end(), o.ts.begin() + begin, o.ts.begin() + end);
  switch (type) {
    case ValueType::kFloat64: f64.insert(f64.end(), o.f64.begin() + begin, o.f64.begin() + end); break;
    case ValueType::kInt64: i64.insert(i64.end(), o.i64.begin() + begin, o.i64.begin() + end); break;
    case ValueType::kBool: b.insert(b.end(), o.b.begin() + begin, o.b.begin() + end); break;
  }
}

void PointColumn::AppendPoint(int64_t t, const PointColumn& o, size_t i) {
  ts.push_back(t);
  switch (type) {
    case ValueType::kFloat64: f64.push_back(o.f64[i]); break;
    case ValueType::kInt64: i64.push_back(o.i64[i]); break;
    case ValueType::kBool: b.push_back(o.b[i]); break;
  }
}

double PointColumn::AsDouble(size_t i) const {
  switch (type) {
    case ValueType::kFloat64: return f64[i];
    case ValueType::kInt64: return double(i64[i]);
    case ValueType::kBool: return b[i];
  }
  return 0;
}

PointRun PointColumn::Run(size_t begin, size_t end) const {
  PointRun r;
  r.type = type;
  r.timestamps = std::span<const int64_t>(ts).subspan(begin, end - begin);
  switch (type) {
    case ValueType::kFloat64: r.f64 = std::span<const double>(f64).subspan(begin, end - begin); break;
    case ValueType::kInt64: r.i64 = std::span<const int64_t>(i64).subspan(begin, end - begin); break;
    case ValueType::kBool: r.b = std::span<const uint8_t>(b).subspan(begin, end - begin); break;
  }
  return r;
}

bool PointColumn::StrictlyIncreasing() const {
  for (size_t i = 1; i < ts.size(); ++i) {
    if (ts[i] <= ts[i - 1]) return false;
  }
  return true;
}

void PointColumn::SortAndDedup() {
  if (StrictlyIncreasing()) return;
  std::vector<uint32_t> order(ts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t c) { return ts[a] < ts[c]; });
  PointColumn out;
  out.type = type;
  out.reserve(order.size());
  for (size_t k = 0; k < order.size(); ++k) {
    // Of a run of equal timestamps the stable sort keeps write order: take the last.
    if (k + 1 < order.size() && ts[order[k + 1]] == ts[order[k]]) continue;
    out.AppendPoint(ts[order[k]], *this, order[k]);
  }
  *this = std::move(out);
}

void Summary::Add(int64_t t, double v) {
  if (count == 0) {
    min_ts = t;
    first = v;
  }
  max_ts = t;
  last = v;
  ++count;
  sum += v;
  if (!std::isnan(v)) {
    if (!has_min_max) {
      min = max = v;
      has_min_max = true;
    } else {
      min = std::min(min, v);
      max = std::max(max, v);
    }
  }
}

Summary Summary::Of(const PointColumn& c) {
  Summary s;
  s.type = c.type;
  for (size_t i = 0; i < c.size(); ++i) s.Add(c.ts[i], c.AsDouble(i));
  return s;
}

void EncodeSummary(const Summary& s, std::string* out) {
  out->push_back(char(s.type));
  out->push_back(char(s.has_min_max ? 1 : 0));
  PutVarint64(out, s.count);
  PutFixed64BE(out, uint64_t(s.min_ts));
  PutFixed64BE(out, uint64_t(s.max_ts));
  for (double d : {s.min, s.max, s.sum, s.first, s.last}) PutDouble(out, d);
}

bool DecodeSummary(std::string_view in, Summary* s) {
  if (in.size() < 2) return false;
  uint8_t type = uint8_t(in[0]);
  if (type < 1 || type > 3) return false;
  s->type = ValueType(type);
  s->has_min_max = in[1] != 0;
  in.remove_prefix(2);
  uint64_t a, b;
  if (!GetVarint64(&in, &s->count) || !GetFixed64BE(&in, &a) || !GetFixed64BE(&in, &b)) {
    return false;
  }
  s->min_ts = int64_t(a);
  s->max_ts = int64_t(b);
  for (double* d : {&s->min, &s->max, &s->sum, &s->first, &s->last}) {
    if (!GetDouble(&in, d)) return false;
  }
  return in.empty();
}

}  // namespace sensordb::block
