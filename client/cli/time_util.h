// Parsing and printing of the CLI's times and durations: integer nanoseconds, RFC 3339,
// relative times (`now`, `-1h`, `now-30m`) and durations (`5m`, `1h30m`, `250ms`).
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sensordb/formats/text_values.h"
#include "sensordb/status.h"

namespace sensordb::cli {

// Unit of integer timestamps in import files; scaling and RFC 3339 are the ingest formats'.
using formats::FormatRfc3339;
using formats::ParseDuration;
using formats::ParsePrecision;
using formats::ParseRfc3339;
using formats::Precision;
using formats::ScaleTimestamp;



// A point in time for --start/--end: integer nanoseconds (also negative), RFC 3339, `now`, or
// a duration relative to now: `-1h`, `+30m`, `now-1h`, `now+1d`.
Result<int64_t> ParseTimePoint(std::string_view text, int64_t now_ns);

// Current wall-clock time in nanoseconds since the epoch.
int64_t NowNanos();

}  // namespace sensordb::cli
