// BatchBuilder groups imported points by series into columns and fills a WriteBatch with one
// column per series. Series stay known across batches (their buffers are reused), so
// series_count() is the number of distinct series seen. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sensordb/types.h"
#include "sensordb/write_batch.h"

namespace sensordb::cli {

class BatchBuilder {
 public:
  // `key` identifies the series (device and channel); the first Add of a key fixes its type.
  void Add(const std::string& key, std::string_view device, std::string_view channel,
           int64_t timestamp_ns, const Value& value);

  size_t points() const { return points_; }
  size_t series_count() const { return series_.size(); }

  // Replaces the content of `batch` with the pending points.
  void Fill(WriteBatch* batch) const;
  // Forgets the pending points, keeping the series and their buffers.
  void Clear();

 private:
  struct Series {
    std::string device;
    std::string channel;
    ValueType type = ValueType::kFloat64;
    std::vector<int64_t> timestamps;
    std::vector<double> f64;
    std::vector<int64_t> i64;
    std::vector<uint8_t> b;
  };

  std::unordered_map<std::string, size_t> index_;
  std::vector<Series> series_;
  std::vector<size_t> dirty_;  // series with pending points, in first-touched order
  size_t points_ = 0;
};

}  // namespace sensordb::cli
