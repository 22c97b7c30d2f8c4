// Small value helpers of the public headers types.h and query.h.
#include <cstring>

#include "sensordb/query.h"
#include "sensordb/types.h"

namespace sensordb {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kFloat64: return "float64";
    case ValueType::kInt64: return "int64";
    case ValueType::kBool: return "bool";
  }
  return "unknown";
}

double Value::AsDouble() const {
  switch (type) {
    case ValueType::kFloat64: return f64;
    case ValueType::kInt64: return double(i64);
    case ValueType::kBool: return b ? 1.0 : 0.0;
  }
  return 0;
}

Value PointRun::value(size_t i) const {
  switch (type) {
    case ValueType::kFloat64: return Value::Float64(f64[i]);
    case ValueType::kInt64: return Value::Int64(i64[i]);
    case ValueType::kBool: return Value::Bool(b[i] != 0);
  }
  return {};
}

std::string_view AggregationName(Aggregation a) {
  switch (a) {
    case Aggregation::kCount: return "count";
    case Aggregation::kSum: return "sum";
    case Aggregation::kMean: return "mean";
    case Aggregation::kMin: return "min";
    case Aggregation::kMax: return "max";
    case Aggregation::kFirst: return "first";
    case Aggregation::kLast: return "last";
  }
  return "unknown";
}

bool ParseAggregation(std::string_view name, Aggregation* out) {
  for (Aggregation a : {Aggregation::kCount, Aggregation::kSum, Aggregation::kMean,
                        Aggregation::kMin, Aggregation::kMax, Aggregation::kFirst,
                        Aggregation::kLast}) {
    if (AggregationName(a) == name) {
      *out = a;
      return true;
    }
  }
  if (name == "avg") {
    *out = Aggregation::kMean;
    return true;
  }
  return false;
}

double AggregateRow::Get(Aggregation a) const {
  switch (a) {
    case Aggregation::kCount: return double(count);
    case Aggregation::kSum: return sum;
    case Aggregation::kMean: return count ? sum / double(count) : 0;
    case Aggregation::kMin: return min;
    case Aggregation::kMax: return max;
    case Aggregation::kFirst: return first;
    case Aggregation::kLast: return last;
  }
  return 0;
}

}  // namespace sensordb
