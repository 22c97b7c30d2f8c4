// Calendar arithmetic uses Howard Hinnant's days_from_civil so that no time zone database is
// needed. The CLI's time_util.cc has the same RFC 3339 reader next to its printers and
// relative times; this one is what the ingest formats accept.
#include "sensordb/formats/text_values.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <utility>

namespace sensordb::formats {
namespace {

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `width` digits at text[*pos].
bool Digits(std::string_view text, size_t* pos, size_t width, int64_t* out) {
  if (*pos + width > text.size()) return false;
  int64_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += width;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, std::string_view chars) {
  if (*pos >= text.size() || chars.find(text[*pos]) == std::string_view::npos) return false;
  ++*pos;
  return true;
}

// Parses ".123456789" at text[*pos] into nanoseconds (absent fraction = 0).
bool Fraction(std::string_view text, size_t* pos, int64_t* nanos) {
  *nanos = 0;
  if (*pos >= text.size() || (text[*pos] != '.' && text[*pos] != ',')) return true;
  ++*pos;
  int digits = 0;
  while (*pos < text.size() && text[*pos] >= '0' && text[*pos] <= '9') {
    if (++digits > 9) return false;
    *nanos = *nanos * 10 + (text[*pos] - '0');
    ++*pos;
  }
  for (int i = digits; i < 9; ++i) *nanos *= 10;
  return digits > 0;
}

// "Z" or "+HH:MM"/"-HH:MM" into an offset in seconds east of UTC.
bool ZoneOffset(std::string_view text, size_t* pos, int64_t* offset_s) {
  *offset_s = 0;
  if (Expect(text, pos, "Zz")) return true;
  if (*pos >= text.size()) return false;
  const int64_t sign = text[*pos] == '-' ? -1 : 1;
  int64_t hh = 0, mm = 0;
  if (!Expect(text, pos, "+-") || !Digits(text, pos, 2, &hh) || !Expect(text, pos, ":") ||
      !Digits(text, pos, 2, &mm) || hh > 23 || mm > 59) {
    return false;
  }
  *offset_s = sign * (hh * 3600 + mm * 60);
  return true;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

Result<int64_t> UnitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "µs") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return kNanosPerSecond;
  if (unit == "m") return 60 * kNanosPerSecond;
  if (unit == "h") return 3600 * kNanosPerSecond;
  if (unit == "d") return (86'400 * kNanosPerSecond);
  if (unit == "w") return 7 * (86'400 * kNanosPerSecond);
  return Err(Status::InvalidArgument(
      fmt::format("unknown duration unit '{}' (use ns, us, ms, s, m, h, d or w)", unit)));
}

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

Result<int64_t> ScaleTimestamp(int64_t value, Precision precision) {
  int64_t factor = 1;
  switch (precision) {
    case Precision::kNanoseconds:
      factor = 1;
      break;
    case Precision::kMicroseconds:
      factor = 1'000;
      break;
    case Precision::kMilliseconds:
      factor = 1'000'000;
      break;
    case Precision::kSeconds:
      factor = kNanosPerSecond;
      break;
    case Precision::kMinutes:
      factor = 60 * kNanosPerSecond;
      break;
    case Precision::kHours:
      factor = 3600 * kNanosPerSecond;
      break;
  }
  int64_t ns = 0;
  if (__builtin_mul_overflow(value, factor, &ns) || ns < kMinTimestamp || ns > kMaxTimestamp) {
    return Err(Status::InvalidArgument(fmt::format(
        "timestamp {} is out of range (about years 1823 to 2116; is the precision right?)",
        value)));
  }
  return ns;
}

void AppendCsvField(std::string_view text, std::string* out) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    *out += text;
    return;
  }
  *out += '"';
  for (char c : text) out->append(c == '"' ? 2 : 1, c);
  *out += '"';
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

Result<int64_t> ParseRfc3339(std::string_view text) {
  size_t pos = 0;
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, frac = 0, offset_s = 0;
  const auto bad = [&] {
    return Err(Status::InvalidArgument(fmt::format(
        "bad time '{}' (expected RFC 3339 like 2024-01-01T00:00:00Z, or integer nanoseconds)",
        text)));
  };
  if (!Digits(text, &pos, 4, &y) || !Expect(text, &pos, "-") || !Digits(text, &pos, 2, &mo) ||
      !Expect(text, &pos, "-") || !Digits(text, &pos, 2, &d)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, static_cast<unsigned>(mo))) return bad();
  if (pos < text.size()) {
    if (!Expect(text, &pos, "Tt ") || !Digits(text, &pos, 2, &h) || !Expect(text, &pos, ":") ||
        !Digits(text, &pos, 2, &mi) || !Expect(text, &pos, ":") || !Digits(text, &pos, 2, &s) ||
        !Fraction(text, &pos, &frac) || !ZoneOffset(text, &pos, &offset_s) || pos != text.size()) {
      return bad();
    }
    if (h > 23 || mi > 59 || s > 60) return bad();  // 60: a leap second, folded into the next
  }
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t seconds = days * 86'400 + h * 3600 + mi * 60 + s - offset_s;
  int64_t ns = 0;
  if (__builtin_mul_overflow(seconds, kNanosPerSecond, &ns) || ns > kMaxTimestamp ||
      ns + frac < kMinTimestamp || ns + frac > kMaxTimestamp) {
    return Err(Status::InvalidArgument(
        fmt::format("time '{}' is out of range (about years 1823 to 2116)", text)));
  }
  return ns + frac;
}

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
  const bool numeral =
      !body.empty() && (std::isdigit(static_cast<unsigned char>(body.front())) || body.front() == '.');
  if (!numeral && EqualsIgnoreCase(body, "nan")) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (!numeral && (EqualsIgnoreCase(body, "inf") || EqualsIgnoreCase(body, "infinity"))) {
    *out = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
    return true;
  }
  // from_chars takes no leading '+', and must not see "inf"/"nan" spellings we did not accept.
  if (!numeral) return false;
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

bool ParsePrecision(std::string_view text, Precision* out) {
  static constexpr std::pair<std::string_view, Precision> kNames[] = {
      {"ns", Precision::kNanoseconds},  {"n", Precision::kNanoseconds},
      {"us", Precision::kMicroseconds}, {"u", Precision::kMicroseconds},
      {"ms", Precision::kMilliseconds}, {"s", Precision::kSeconds},
      {"m", Precision::kMinutes},       {"h", Precision::kHours},
  };
  for (const auto& [name, p] : kNames) {
    if (text == name) return *out = p, true;
  }
  return false;
}

Result<int64_t> ParseDuration(std::string_view text) {
  const auto bad = [text] {
    return Err(Status::InvalidArgument(fmt::format(
        "bad duration '{}' (expected e.g. 30s, 5m, 1h30m, 1d or integer nanoseconds)", text)));
  };
  if (text.empty()) return bad();
  const bool bare_nanos = IsAllDigits(text);
  std::string_view rest = text;
  int64_t total = 0;
  while (!rest.empty()) {
    int64_t n = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (ec != std::errc() || n < 0 || rest[0] == '-') return bad();
    const size_t digits = static_cast<size_t>(p - rest.data());
    size_t unit_end = digits;
    while (unit_end < rest.size() && (rest[unit_end] < '0' || rest[unit_end] > '9')) ++unit_end;
    int64_t factor = 1;
    if (!bare_nanos) {
      SENSORDB_ASSIGN_OR_RETURN(factor, UnitNanos(rest.substr(digits, unit_end - digits)));
    }
    int64_t term = 0;
    if (__builtin_mul_overflow(n, factor, &term) || __builtin_add_overflow(total, term, &total)) {
      return Err(Status::InvalidArgument(fmt::format("duration '{}' is too long", text)));
    }
    rest.remove_prefix(unit_end);
  }
  if (total <= 0) {
    return Err(Status::InvalidArgument(fmt::format("duration '{}' must be positive", text)));
  }
  return total;
}

}  // namespace sensordb::formats
