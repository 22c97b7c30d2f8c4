// Fleet: a deterministic simulated fleet of dataloggers for benchmarks and tests. Each channel
// is a random walk quantized to a realistic resolution (0.1 degC, 0.01 hPa, 1 mV ...), sampled
// every 10 s. Same seed, same points. Not thread-safe; use one per thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sensordb::bench {

struct ChannelKind {
  const char* name;
  double start;       // typical level
  int decimals;       // resolution 10^-decimals
  double step_sigma;  // random walk step, in resolution units
};

class Fleet {
 public:
  static constexpr int64_t kIntervalNs = 10'000'000'000;
  static constexpr int64_t kStartNs = 1'767'225'600'000'000'000;  // 2026-01-01T00:00:00Z

  Fleet(int devices, int channels, uint64_t seed = 42);

  int devices() const { return devices_; }
  int channels() const { return channels_; }
  std::string DeviceName(int d) const;
  std::string ChannelName(int c) const;
  // Fills `ts` and `values` with points [first, first + n) of series (d, c).
  void Points(int d, int c, int64_t first, int64_t n, std::vector<int64_t>* ts,
              std::vector<double>* values);

 private:
  struct Walk {
    int64_t next_index = 0;  // index of the next point the walk produces
    int64_t level = 0;       // current value in resolution units
    uint64_t rng = 0;
  };
  int devices_, channels_;
  std::vector<Walk> walks_;
};

}  // namespace sensordb::bench
