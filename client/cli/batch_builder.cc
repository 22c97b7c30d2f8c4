#include "batch_builder.h"

#include <memory>
#include <span>

namespace sensordb::cli {

void BatchBuilder::Add(const std::string& key, std::string_view device, std::string_view channel,
                       int64_t timestamp_ns, const Value& value) {
  auto [it, inserted] = index_.try_emplace(key, series_.size());
  if (inserted) {
    Series& fresh = series_.emplace_back();
    fresh.device = device;
    fresh.channel = channel;
    fresh.type = value.type;
  }
  Series& s = series_[it->second];
  if (s.timestamps.empty()) dirty_.push_back(it->second);
  s.timestamps.push_back(timestamp_ns);
  switch (s.type) {
    case ValueType::kFloat64:
      s.f64.push_back(value.f64);
      break;
    case ValueType::kInt64:
      s.i64.push_back(value.i64);
      break;
    case ValueType::kBool:
      s.b.push_back(value.b ? 1 : 0);
      break;
  }
  ++points_;
}

void BatchBuilder::Fill(WriteBatch* batch) const {
  batch->Clear();
  for (size_t i : dirty_) {
    const Series& s = series_[i];
    switch (s.type) {
      case ValueType::kFloat64:
        batch->AddFloat64(s.device, s.channel, s.timestamps, s.f64);
        break;
      case ValueType::kInt64:
        batch->AddInt64(s.device, s.channel, s.timestamps, s.i64);
        break;
      case ValueType::kBool: {
        auto values = std::make_unique<bool[]>(s.b.size());
        for (size_t j = 0; j < s.b.size(); ++j) values[j] = s.b[j] != 0;
        batch->AddBool(s.device, s.channel, s.timestamps,
                       std::span<const bool>(values.get(), s.b.size()));
        break;
      }
    }
  }
}

void BatchBuilder::Clear() {
  for (size_t i : dirty_) {
    Series& s = series_[i];
    s.timestamps.clear();
    s.f64.clear();
    s.i64.clear();
    s.b.clear();
  }
  dirty_.clear();
  points_ = 0;
}

}  // namespace sensordb::cli
