// WriteBatch: a columnar batch of points for one project, applied atomically by DB::Write.
// Not thread-safe; reuse it after Clear() to keep its buffers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sensordb/types.h"

namespace sensordb {

class WriteBatch {
 public:
  // One series' points: timestamps[i] pairs with the i-th value of the typed column.
  struct Column {
    std::string device;
    std::string channel;
    ValueType type = ValueType::kFloat64;
    std::vector<int64_t> timestamps;
    std::vector<double> f64;    // kFloat64
    std::vector<int64_t> i64;   // kInt64
    std::vector<uint8_t> b;     // kBool, 0 or 1
    size_t size() const { return timestamps.size(); }
  };

  // Each Add copies the spans. A channel that does not exist yet is created with the column's
  // type on the first successful Write. Length mismatches are reported by DB::Write, which then
  // applies nothing.
  void AddFloat64(std::string_view device, std::string_view channel,
                  std::span<const int64_t> timestamps, std::span<const double> values);
  void AddInt64(std::string_view device, std::string_view channel,
                std::span<const int64_t> timestamps, std::span<const int64_t> values);
  void AddBool(std::string_view device, std::string_view channel,
               std::span<const int64_t> timestamps, std::span<const bool> values);
  // Adds one point, appending to the previous column when it names the same series and type.
  void Add(std::string_view device, std::string_view channel, int64_t timestamp, Value value);

  // The device's labels as of each of `timestamps` (docs/LABELS.md): a key whose value at such
  // a time differs gets a change from that time on; keys not named keep theirs; an empty value
  // removes the key. Applied with the batch's points, all or nothing; within a batch, per
  // device in time order (at equal times the later set wins).
  struct LabelSet {
    std::string device;
    std::vector<int64_t> timestamps;
    std::vector<std::pair<std::string, std::string>> labels;
  };
  void SetLabels(std::string_view device, std::span<const int64_t> timestamps,
                 std::span<const std::pair<std::string, std::string>> labels);

  void Clear();
  bool empty() const { return used_ == 0 && labels_used_ == 0; }
  size_t points() const { return points_; }
  std::span<const Column> columns() const { return {columns_.data(), used_}; }
  std::span<const LabelSet> label_sets() const { return {label_sets_.data(), labels_used_}; }
  // First length mismatch seen by an Add, or empty.
  const std::string& error() const { return error_; }

 private:
  Column& NewColumn(std::string_view device, std::string_view channel, ValueType type,
                    std::span<const int64_t> timestamps, size_t values);

  std::vector<Column> columns_;
  size_t used_ = 0;  // columns_[0, used_) are live; the rest keep their capacity for reuse
  size_t points_ = 0;
  std::vector<LabelSet> label_sets_;
  size_t labels_used_ = 0;  // as used_, for label_sets_
  std::string error_;
};

}  // namespace sensordb
