#include "point_stager.h"

#include <fmt/format.h>

namespace sensordb::formats {

Status PointStager::Add(std::string_view device, std::string_view channel, int64_t timestamp_ns,
                        const Value& value, std::string_view where) {
  if (points_ == max_points_) {
    return Status::ResourceExhausted(
        fmt::format("the payload has more than {} points (send it in smaller parts)", max_points_));
  }
  key_.assign(device).push_back('\0');
  key_.append(channel);
  auto [it, inserted] = index_.try_emplace(key_, series_.size());
  if (inserted) {
    series_.push_back(
        {std::string(device), std::string(channel), value.type, std::string(where), {}, {}});
  }
  Series& s = series_[it->second];
  if (s.type != value.type) {
    return Status::InvalidArgument(fmt::format(
        "channel '{}' of device '{}' is {} here but {} at {} (a channel keeps one type)", channel,
        device, ValueTypeName(value.type), ValueTypeName(s.type), s.first_where));
  }
  s.timestamps.push_back(timestamp_ns);
  s.values.push_back(value);
  ++points_;
  return Status::Ok();
}

void PointStager::AppendTo(WriteBatch& batch) const {
  for (const Series& s : series_) {
    for (size_t i = 0; i < s.timestamps.size(); ++i) {
      batch.Add(s.device, s.channel, s.timestamps[i], s.values[i]);
    }
  }
}

}  // namespace sensordb::formats
