#include "value_parse.h"

#include <charconv>
#include <limits>
#include <string>

namespace sensordb::cli {
bool ParseValueTypeName(std::string_view text, ValueType* out) {
  for (ValueType t : {ValueType::kFloat64, ValueType::kInt64, ValueType::kBool}) {
    if (ValueTypeName(t) == text) return *out = t, true;
  }
  return false;
}

bool ParseTyped(std::string_view text, ValueType type, Value* out) {
  switch (type) {
    case ValueType::kFloat64: {
      double v = 0;
      if (!ParseFloat64(text, &v)) return false;
      *out = Value::Float64(v);
      return true;
    }
    case ValueType::kInt64: {
      int64_t v = 0;
      if (!ParseInt64(text, &v)) return false;
      *out = Value::Int64(v);
      return true;
    }
    case ValueType::kBool:
      if (text == "1" || text == "0") return *out = Value::Bool(text == "1"), true;
      return ParseBool(text, out);
  }
  return false;
}

}  // namespace sensordb::cli
