// Fallback float64 encoding for vectors that are not decimals, after ALP-RD (Afroozeh, Kuffo,
// Boncz, SIGMOD 2024): each bit pattern is cut into a left part (the top 1..16 bits: sign,
// exponent, leading mantissa), dictionary-coded with at most 8 entries, and a right part stored
// bit-packed. Layout in engine/docs/format/columns.md ("Float scheme 1"). Stateless, thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb::block {

// Appends the ALP-RD payload (no scheme byte) of 1..kMaxVectorValues values.
void EncodeFloatRd(std::span<const double> values, std::string* out);

// Decodes out.size() values from the front of *in, consuming exactly the payload.
Status DecodeFloatRd(std::string_view* in, std::span<double> out);

}  // namespace sensordb::block
