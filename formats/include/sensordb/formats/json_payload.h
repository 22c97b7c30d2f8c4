// JSON payloads of one device (docs/DEVICES.md, MQTT topic `.../json`):
//   {"ts": 1700000000000000000, "temp": 21.5, "door": true}
//   [{"ts": "2024-01-01T00:00:00Z", "temp": 21.5}, {"ts": ..., "temp": 21.7}]
// `ts` is integer nanoseconds or an RFC 3339 string; absent, the options' default timestamp.
// Every other key is a channel of the options' device: a number is stored as float64 (many
// encoders print 21.0 as 21, so integers are not told apart; use line protocol's `3i` for
// int64 channels), `true`/`false` as bool. Strict: strings (but ts), null, nested objects or
// arrays, duplicate keys, empty or over-long names, non-finite numbers, trailing data and
// malformed JSON are errors. Thread-safe for distinct batches.
#pragma once

#include <string_view>

#include "sensordb/formats/payload.h"
#include "sensordb/status.h"
#include "sensordb/write_batch.h"

namespace sensordb::formats {

// Appends the payload's points to `batch` for `options.device` (required): all of them, or on
// any error none. Errors name the object of an array: `object 2: channel 'temp' is null ...`.
Status ParseJsonPayload(std::string_view payload, const PayloadOptions& options, WriteBatch& batch);

}  // namespace sensordb::formats
