#include "sensordb/write_batch.h"

#include <string>

namespace sensordb {

WriteBatch::Column& WriteBatch::NewColumn(std::string_view device, std::string_view channel,
                                          ValueType type, std::span<const int64_t> timestamps,
                                          size_t values) {
  if (values != timestamps.size() && error_.empty()) {
    error_ = "column " + std::string(device) + "/" + std::string(channel) + " has " +
             std::to_string(timestamps.size()) + " timestamps but " + std::to_string(values) +
             " values";
  }
  if (used_ == columns_.size()) columns_.emplace_back();
  Column& c = columns_[used_++];
  c.device.assign(device);
  c.channel.assign(channel);
  c.type = type;
  c.timestamps.assign(timestamps.begin(), timestamps.end());
  c.f64.clear();
  c.i64.clear();
  c.b.clear();
  points_ += timestamps.size();
  return c;
}

void WriteBatch::AddFloat64(std::string_view device, std::string_view channel,
                            std::span<const int64_t> timestamps, std::span<const double> values) {
  NewColumn(device, channel, ValueType::kFloat64, timestamps, values.size())
      .f64.assign(values.begin(), values.end());
}

void WriteBatch::AddInt64(std::string_view device, std::string_view channel,
                          std::span<const int64_t> timestamps, std::span<const int64_t> values) {
  NewColumn(device, channel, ValueType::kInt64, timestamps, values.size())
      .i64.assign(values.begin(), values.end());
}

void WriteBatch::AddBool(std::string_view device, std::string_view channel,
                         std::span<const int64_t> timestamps, std::span<const bool> values) {
  Column& c = NewColumn(device, channel, ValueType::kBool, timestamps, values.size());
  c.b.reserve(values.size());
  for (bool v : values) c.b.push_back(v ? 1 : 0);
}

void WriteBatch::Add(std::string_view device, std::string_view channel, int64_t timestamp,
                     Value value) {
  Column* c = used_ ? &columns_[used_ - 1] : nullptr;
  if (!c || c->type != value.type || c->device != device || c->channel != channel) {
    c = &NewColumn(device, channel, value.type, {}, 0);
  }
  c->timestamps.push_back(timestamp);
  switch (value.type) {
    case ValueType::kFloat64: c->f64.push_back(value.f64); break;
    case ValueType::kInt64: c->i64.push_back(value.i64); break;
    case ValueType::kBool: c->b.push_back(value.b ? 1 : 0); break;
  }
  ++points_;
}

void WriteBatch::SetLabels(std::string_view device, std::span<const int64_t> timestamps,
                           std::span<const std::pair<std::string, std::string>> labels) {
  if (labels_used_ == label_sets_.size()) label_sets_.emplace_back();
  LabelSet& set = label_sets_[labels_used_++];
  set.device.assign(device);
  set.timestamps.assign(timestamps.begin(), timestamps.end());
  set.labels.assign(labels.begin(), labels.end());
}

void WriteBatch::Clear() {
  used_ = 0;
  labels_used_ = 0;
  points_ = 0;
  error_.clear();
}

}  // namespace sensordb
