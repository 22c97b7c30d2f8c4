#include "value_parse.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <string>

namespace sensordb::cli {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

bool ParseInt64(std::string_view text, int64_t* out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && p == text.data() + text.size();
}

bool ParseFloat64(std::string_view text, double* out) {
  bool negative = false;
  std::string_view body = text;
  if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (EqualsIgnoreCase(body, "nan")) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (EqualsIgnoreCase(body, "inf") || EqualsIgnoreCase(body, "infinity")) {
    *out = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
    return true;
  }
  // from_chars takes no leading '+', and must not see "inf"/"nan" spellings we did not accept.
  if (body.empty() ||
      !(std::isdigit(static_cast<unsigned char>(body.front())) || body.front() == '.')) {
    return false;
  }
  double v = 0;
  auto [p, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (ec != std::errc() || p != body.data() + body.size()) return false;
  *out = negative ? -v : v;
  return true;
}

bool ParseBool(std::string_view text, Value* out) {
  for (std::string_view t : {"t", "T", "true", "True", "TRUE"}) {
    if (text == t) return *out = Value::Bool(true), true;
  }
  for (std::string_view f : {"f", "F", "false", "False", "FALSE"}) {
    if (text == f) return *out = Value::Bool(false), true;
  }
  return false;
}

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
