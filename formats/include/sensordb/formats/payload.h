// What the payload parsers (line_protocol.h, json_payload.h) share: the bounds on one payload
// and the options that say whose points it carries. Plain values, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sensordb/formats/text_values.h"

namespace sensordb::formats {

// The engine's limit on device and channel names (bytes).
inline constexpr size_t kMaxNameBytes = 255;

// Every payload is checked against these before anything is kept; exceeding one is
// kResourceExhausted and the payload is refused whole.
struct PayloadLimits {
  size_t max_payload_bytes = 1024 * 1024;
  size_t max_lines = 10'000;  // line protocol lines (blank and comment lines not counted), or
                              // objects of a JSON array
  size_t max_points = 100'000;
  size_t max_name_bytes = kMaxNameBytes;  // device names and channel names
};

struct PayloadOptions {
  // When not empty, every point of the payload belongs to this device (MQTT: the device of the
  // client certificate). A line protocol line may then omit its `device` tag, and when it has
  // one it must name this device. Required by JSON payloads, which carry no device.
  // The viewed string must outlive the parse call.
  std::string_view device;
  // Points without a timestamp get this one (the caller's receipt time).
  int64_t default_timestamp_ns = 0;
  // Unit of line protocol's integer timestamps; JSON's integer "ts" is always nanoseconds.
  Precision precision = Precision::kNanoseconds;
  PayloadLimits limits;
};

}  // namespace sensordb::formats
