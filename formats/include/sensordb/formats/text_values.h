// Strict text-to-value conversions of the text ingest formats (line protocol, JSON payloads):
// the whole text must be consumed. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sensordb/status.h"
#include "sensordb/types.h"

namespace sensordb::formats {

// Unit of integer timestamps in a payload or import file.
enum class Precision : uint8_t {
  kNanoseconds,
  kMicroseconds,
  kMilliseconds,
  kSeconds,
  kMinutes,
  kHours,
};

// Multiplies an integer timestamp in `precision` to nanoseconds; fails on overflow or when the
// result is outside [kMinTimestamp, kMaxTimestamp].
Result<int64_t> ScaleTimestamp(int64_t value, Precision precision);

// `2024-01-01T00:00:00Z`, `2024-01-01T02:00:00.25+02:00`, `2024-01-01 00:00:00Z` or a date
// `2024-01-01` (midnight UTC). Fractions up to nanoseconds.
Result<int64_t> ParseRfc3339(std::string_view text);

// UTC RFC 3339 with the fraction only as long as needed: `2023-11-14T22:13:20.5Z`.
std::string FormatRfc3339(int64_t ns);

// Appends `text` to `out` as one CSV field: as is, or in double quotes with its quotes doubled
// when it holds a comma, a quote or a line break (RFC 4180).
void AppendCsvField(std::string_view text, std::string* out);

// The precisions InfluxDB clients send: "ns" (or "n"), "us" (or "u"), "ms", "s", "m" (minutes),
// "h".
bool ParsePrecision(std::string_view text, Precision* out);

// A positive duration: a bare integer (nanoseconds) or one or more <integer><unit> terms with
// units ns, us, µs, ms, s, m, h, d, w (`1h30m`).
Result<int64_t> ParseDuration(std::string_view text);

// Decimal integer with optional sign.
bool ParseInt64(std::string_view text, int64_t* out);

// Decimal or exponent notation with optional sign; also NaN, Inf, +Inf, -Inf, Infinity
// (any case), so that what `query` prints can be imported again.
bool ParseFloat64(std::string_view text, double* out);

// Line protocol booleans: t, T, true, True, TRUE, f, F, false, False, FALSE.
bool ParseBool(std::string_view text, Value* out);

}  // namespace sensordb::formats
