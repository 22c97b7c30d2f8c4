// PointStager: holds a payload's points, grouped by series, until the whole payload has parsed;
// only then AppendTo() copies them into the caller's WriteBatch, so that a bad payload leaves
// the batch untouched. Also catches a series given two types in one payload. Internal to the
// formats library. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
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
  size_t points() const { return points_; }
  // Appends every series as one column, series in order of first appearance.
  void AppendTo(WriteBatch& batch) const;

 private:
  struct Series {
    std::string device;
    std::string channel;
    ValueType type;
    std::string first_where;
    std::vector<int64_t> timestamps;
    std::vector<Value> values;
  };

  const size_t max_points_;
  size_t points_ = 0;
  std::vector<Series> series_;
  std::unordered_map<std::string, size_t> index_;  // device '\0' channel -> series_ index
  std::string key_;
};

}  // namespace sensordb::formats
