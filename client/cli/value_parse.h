// Strict text-to-value conversions shared by the import parsers: the whole text must be
// consumed. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "sensordb/types.h"

namespace sensordb::cli {

// Decimal integer with optional sign.
bool ParseInt64(std::string_view text, int64_t* out);

// Decimal or exponent notation with optional sign; also NaN, Inf, +Inf, -Inf, Infinity
// (any case), so that what `query` prints can be imported again.
bool ParseFloat64(std::string_view text, double* out);

// Line protocol booleans: t, T, true, True, TRUE, f, F, false, False, FALSE.
bool ParseBool(std::string_view text, Value* out);

// "float64", "int64" or "bool".
bool ParseValueTypeName(std::string_view text, ValueType* out);

// Parses `text` as a value of `type` (booleans also accept 1 and 0).
bool ParseTyped(std::string_view text, ValueType type, Value* out);

}  // namespace sensordb::cli
