#include "point_stager.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <memory>

namespace sensordb::formats {

Status PointStager::FindSeries(std::string_view channel, ValueType type, std::string_view where,
                               uint32_t* series) {
  Device& d = devices_[device_];
  // The channel that followed last time, else the map.
  if (d.next < d.order.size() && series_[d.order[d.next]].channel == channel) {
    *series = d.order[d.next++];
  } else if (auto it = d.channels.find(channel); it != d.channels.end()) {
    *series = d.order[it->second];
    d.next = it->second + 1;
  } else {
    *series = static_cast<uint32_t>(series_.size());
    series_.push_back({static_cast<uint32_t>(device_), std::string(channel), type,
                       std::string(where)});
    d.channels.emplace(channel, static_cast<uint32_t>(d.order.size()));
    d.order.push_back(*series);
    d.next = d.order.size();
  }
  if (d.next == d.order.size()) d.next = 0;  // a line's last field: the first comes next
  const Series& s = series_[*series];
  if (s.type != type) {
    return Status::InvalidArgument(fmt::format(
        "channel '{}' of device '{}' is {} here but {} at {} (a channel keeps one type)", channel,
        d.name, ValueTypeName(type), ValueTypeName(s.type), s.first_where));
  }
  return Status::Ok();
}

size_t PointStager::DeviceIndex(std::string_view device) {
  if (!devices_.empty() && devices_[device_].name == device) return device_;
  auto [it, inserted] = device_index_.try_emplace(std::string(device), devices_.size());
  if (inserted) devices_.push_back({std::string(device), {}, {}, 0, -1});
  return it->second;
}

void PointStager::AddLabels(std::string_view device, int64_t timestamp_ns,
                            std::span<const std::pair<std::string, std::string>> tags) {
  const size_t d = DeviceIndex(device);
  int64_t& last = devices_[d].last_label_set;
  if (last < 0 || !std::ranges::equal(label_sets_[size_t(last)].tags, tags)) {
    last = int64_t(label_sets_.size());
    label_sets_.push_back({uint32_t(d), {tags.begin(), tags.end()}, {}});
  }
  label_sets_[size_t(last)].timestamps.push_back(timestamp_ns);
}

Status PointStager::Add(std::string_view device, std::string_view channel, int64_t timestamp_ns,
                        const Value& value, std::string_view where) {
  if (points_.size() == max_points_) {
    return Status::ResourceExhausted(
        fmt::format("the payload has more than {} points (send it in smaller parts)", max_points_));
  }
  device_ = DeviceIndex(device);
  uint32_t series = 0;
  SENSORDB_RETURN_IF_ERROR(FindSeries(channel, value.type, where, &series));
  uint64_t bits = 0;
  switch (value.type) {
    case ValueType::kFloat64: bits = std::bit_cast<uint64_t>(value.f64); break;
    case ValueType::kInt64: bits = static_cast<uint64_t>(value.i64); break;
    case ValueType::kBool: bits = value.b ? 1 : 0; break;
  }
  points_.push_back({series, timestamp_ns, bits});
  return Status::Ok();
}

void PointStager::AppendTo(WriteBatch& batch) const {
  // Counting sort of the points by series, keeping their order within a series.
  std::vector<size_t> start(series_.size() + 1, 0);
  for (const Point& p : points_) ++start[p.series + 1];
  for (size_t i = 1; i < start.size(); ++i) start[i] += start[i - 1];
  std::vector<size_t> fill(start.begin(), start.end() - 1);
  std::vector<int64_t> timestamps(points_.size());
  std::vector<uint64_t> bits(points_.size());
  for (const Point& p : points_) {
    const size_t at = fill[p.series]++;
    timestamps[at] = p.timestamp;
    bits[at] = p.bits;
  }
  std::vector<double> f64;
  std::vector<int64_t> i64;
  std::unique_ptr<bool[]> b;
  for (size_t i = 0; i < series_.size(); ++i) {
    const Series& s = series_[i];
    const size_t from = start[i], n = start[i + 1] - from;
    const std::span<const int64_t> ts(timestamps.data() + from, n);
    const std::string& device = devices_[s.device].name;
    switch (s.type) {
      case ValueType::kFloat64:
        f64.resize(n);
        for (size_t k = 0; k < n; ++k) f64[k] = std::bit_cast<double>(bits[from + k]);
        batch.AddFloat64(device, s.channel, ts, f64);
        break;
      case ValueType::kInt64:
        i64.resize(n);
        for (size_t k = 0; k < n; ++k) i64[k] = static_cast<int64_t>(bits[from + k]);
        batch.AddInt64(device, s.channel, ts, i64);
        break;
      case ValueType::kBool:
        b = std::make_unique<bool[]>(n);
        for (size_t k = 0; k < n; ++k) b[k] = bits[from + k] != 0;
        batch.AddBool(device, s.channel, ts, std::span<const bool>(b.get(), n));
        break;
    }
  }
  for (const LabelSet& set : label_sets_) {
    batch.SetLabels(devices_[set.device].name, set.timestamps, set.tags);
  }
}

}  // namespace sensordb::formats
