// Strict text-to-value conversions shared by the import parsers: the whole text must be
// consumed. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "sensordb/formats/text_values.h"
#include "sensordb/types.h"

namespace sensordb::cli {

// Integers, floats (also NaN and Inf, so that what `query` prints imports again) and line
// protocol booleans, as the ingest formats read them.
using formats::ParseBool;
using formats::ParseFloat64;
using formats::ParseInt64;

// "float64", "int64" or "bool".
bool ParseValueTypeName(std::string_view text, ValueType* out);

// Parses `text` as a value of `type` (booleans also accept 1 and 0).
bool ParseTyped(std::string_view text, ValueType type, Value* out);

}  // namespace sensordb::cli
