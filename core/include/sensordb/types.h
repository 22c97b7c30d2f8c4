// The data model: projects, devices, channels (= series), values and timestamps.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace sensordb {

// What a write's acknowledgement guarantees (Options::durability, a write's own choice).
enum class Durability : uint8_t {
  kSync,   // Write returns once the batch is on disk (fsync); concurrent writers share a sync.
  kAsync,  // Write returns once the batch is in the OS; a process crash loses nothing, a power
           // loss may lose the last writes.
};

// Value type of a series, fixed when the series is created.
enum class ValueType : uint8_t { kFloat64 = 1, kInt64 = 2, kBool = 3 };
std::string_view ValueTypeName(ValueType type);  // "float64", "int64", "bool"

// Timestamps are int64 nanoseconds since the Unix epoch. Accepted range: [kMinTimestamp,
// kMaxTimestamp], about 1823-11-12 to 2116-02-20; the rest of int64 is reserved so that range
// ends and deltas never overflow.
inline constexpr int64_t kMinTimestamp = -(int64_t{1} << 62);
inline constexpr int64_t kMaxTimestamp = (int64_t{1} << 62) - 1;

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

struct ProjectOptions {
  // Blocks whose newest point is older than now - retention_days are dropped. 0 keeps forever.
  uint32_t retention_days = 0;
};

struct ProjectInfo {
  uint32_t id = 0;
  std::string name;
  uint32_t retention_days = 0;
};

// Labels of a device (docs/LABELS.md): key -> value pairs that describe it (site, room, model),
// kept with their history: each key's values with the time from which each held. Keys and
// values are names (sensordb/names.h); the keys `device`, `time` and those starting with `_`
// are reserved.
struct LabelEntry {
  int64_t from_ns = 0;
  std::string value;  // empty: the label was removed from from_ns on
};
struct LabelHistory {
  std::string key;
  std::vector<LabelEntry> entries;  // ascending from_ns; consecutive values differ
};
struct DeviceLabels {
  std::string device;
  std::vector<LabelHistory> labels;  // by key
};

struct DeviceInfo {
  std::string name;
  std::string model;             // optional
  std::string firmware_version;  // optional
};

// A channel of a device; each channel is one series.
struct ChannelInfo {
  uint64_t series_id = 0;
  std::string device;
  std::string name;
  std::string unit;  // optional, e.g. "degC"
  ValueType type = ValueType::kFloat64;
};

// One value of any of the three types; `type` says which member is meaningful.
struct Value {
  ValueType type = ValueType::kFloat64;
  double f64 = 0;
  int64_t i64 = 0;
  bool b = false;

  static Value Float64(double v) { return {ValueType::kFloat64, v, 0, false}; }
  static Value Int64(int64_t v) { return {ValueType::kInt64, 0, v, false}; }
  static Value Bool(bool v) { return {ValueType::kBool, 0, 0, v}; }
  double AsDouble() const;
};

}  // namespace sensordb
