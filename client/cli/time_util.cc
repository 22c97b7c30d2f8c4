// Every time the CLI prints is UTC (formats::FormatRfc3339).
#include "time_util.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <limits>

#include "sensordb/types.h"

namespace sensordb::cli {
namespace {

bool IsAllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

Result<int64_t> ParseTimePoint(std::string_view text, int64_t now_ns) {
  if (text == "now") return now_ns;
  std::string_view rel = text;
  if (rel.starts_with("now")) rel.remove_prefix(3);
  const bool digits_only = IsAllDigits(rel.empty() ? rel : rel.substr(1));
  if (!rel.empty() && (rel[0] == '-' || rel[0] == '+') && !(digits_only && rel == text)) {
    SENSORDB_ASSIGN_OR_RETURN(const int64_t d, ParseDuration(rel.substr(1)));
    return rel[0] == '-' ? now_ns - d : now_ns + d;
  }
  int64_t ns = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), ns);
  if (ec == std::errc() && p == text.data() + text.size()) return ns;
  return ParseRfc3339(text);
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sensordb::cli
