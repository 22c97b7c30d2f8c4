// Calendar arithmetic uses Howard Hinnant's days_from_civil / civil_from_days so that no time
// zone database is needed: every time the CLI prints is UTC.
#include "time_util.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <limits>

#include "sensordb/types.h"

namespace sensordb::cli {
namespace {

constexpr int64_t kNanosPerDay = 86'400 * kNanosPerSecond;

struct Civil {
  int64_t year;
  unsigned month, day;
};

Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

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

std::string FormatRfc3339(int64_t ns) {
  int64_t days = ns / kNanosPerDay;
  int64_t rem = ns % kNanosPerDay;
  if (rem < 0) {
    rem += kNanosPerDay;
    --days;
  }
  const Civil c = CivilFromDays(days);
  const int64_t secs = rem / kNanosPerSecond;
  int64_t frac = rem % kNanosPerSecond;
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", c.year, c.month, c.day,
                                secs / 3600, secs / 60 % 60, secs % 60);
  if (frac != 0) {
    int width = 9;
    while (frac % 10 == 0) {
      frac /= 10;
      --width;
    }
    out += fmt::format(".{:0{}}", frac, width);
  }
  out += 'Z';
  return out;
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sensordb::cli
