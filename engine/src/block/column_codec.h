// Column codecs of the block format (engine/docs/format/block.md): one function pair per column
// kind. Encoders append a self-delimiting encoding of `n` values to `out`; the count itself is
// stored by the caller (the vector header). Decoders consume exactly that encoding from `*in`
// and write `n` values, or return Corruption on malformed/truncated input (never read past
// `in`, never crash). All round trips are bit-exact: NaN payloads, -0.0, infinities, subnormals,
// any int64 including INT64_MIN/MAX. Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb::block {

// At most this many values per call (one vector of a block).
inline constexpr size_t kMaxVectorValues = 1 << 16;

// Timestamps: delta-of-delta, bit-packed; a run of equal deltas costs nothing per point.
void EncodeTimestamps(std::span<const int64_t> ts, std::string* out);
Status DecodeTimestamps(std::string_view* in, std::span<int64_t> out);

// float64: decimal-aware (ALP-style) with an exact fallback for values that are not decimals.
void EncodeFloat64(std::span<const double> values, std::string* out);
Status DecodeFloat64(std::string_view* in, std::span<double> out);

// int64: delta + zigzag + bit-packing.
void EncodeInt64(std::span<const int64_t> values, std::string* out);
Status DecodeInt64(std::string_view* in, std::span<int64_t> out);

// bool (bytes 0/1): run lengths.
void EncodeBool(std::span<const uint8_t> values, std::string* out);
Status DecodeBool(std::string_view* in, std::span<uint8_t> out);

}  // namespace sensordb::block
