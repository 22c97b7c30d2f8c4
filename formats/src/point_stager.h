// PointStager: holds a payload's points, grouped by series, until the whole payload has parsed;
// only then AppendTo() copies them into the caller's WriteBatch, so that a bad payload leaves
// the batch untouched. Also catches a series given two types in one payload. Internal to the
// formats library. Not thread-safe.
//
// Cost per point is what matters on the ingest path (REST, MQTT, import): a payload repeats the
// same devices with the same fields in the same order, line after line. So a device is looked
// up once per run of points for it, and each device remembers the order its channels came in:
// the next point is first compared with the channel that followed last time (one short string
// compare), and only on a miss looked up in the device's channel map. Points go to one flat
// array; AppendTo sorts them into series with a counting sort.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sensordb/status.h"
#include "sensordb/types.h"
#include "sensordb/write_batch.h"

namespace sensordb::formats {

class PointStager {
 public:
  // `max_points` bounds points(); `where` says where the point comes from (`line 3`) and is
  // quoted by a later type conflict. Errors carry no location: the caller prefixes its own.
  explicit PointStager(size_t max_points) : max_points_(max_points) {}

  Status Add(std::string_view device, std::string_view channel, int64_t timestamp_ns,
             const Value& value, std::string_view where);
  // The device's labels as of `timestamp_ns` (a line's other tags, sorted by key): a run of a
  // device's lines with the same tags shares one WriteBatch label set, and a new set starts
  // when they change, so that the engine's order (time, then set) is the lines' order at equal
  // times. One comparison with the device's last tags per line.
  void AddLabels(std::string_view device, int64_t timestamp_ns,
                 std::span<const std::pair<std::string, std::string>> tags);
  size_t points() const { return points_.size(); }
  // Appends every series as one column, series in order of first appearance, points in the
  // order they were added.
  void AppendTo(WriteBatch& batch) const;

 private:
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using NameMap = std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>>;

  struct Series {
    uint32_t device;  // index into devices_
    std::string channel;
    ValueType type;
    std::string first_where;
  };
  struct Device {
    std::string name;
    NameMap channels;             // channel -> its position in `order`
    std::vector<uint32_t> order;  // series_ indices in the order the channels first came
    size_t next = 0;              // position in `order` the next point is expected at
    int64_t last_label_set = -1;  // label_sets_ index of this device's last line with tags
  };
  struct LabelSet {
    uint32_t device;
    std::vector<std::pair<std::string, std::string>> tags;
    std::vector<int64_t> timestamps;
  };
  // devices_ index of `device`, added if new.
  size_t DeviceIndex(std::string_view device);
  struct Point {
    uint32_t series;
    int64_t timestamp;
    uint64_t bits;  // the value, as its series' type: a double's bits, an int64, or 0/1
  };

  // Sets *series to the series of (the current device, channel), made if new; refuses a value
  // of another type than the series has.
  Status FindSeries(std::string_view channel, ValueType type, std::string_view where,
                    uint32_t* series);

  const size_t max_points_;
  std::vector<Series> series_;
  std::vector<Device> devices_;
  NameMap device_index_;  // device name -> devices_ index
  size_t device_ = 0;     // devices_ index of the last point's device (when devices_ has one)
  std::vector<Point> points_;
  std::vector<LabelSet> label_sets_;
};

}  // namespace sensordb::formats
