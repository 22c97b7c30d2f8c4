#include "fleet.h"

#include <cmath>
#include <cstdio>

namespace sensordb::bench {
namespace {

constexpr ChannelKind kKinds[] = {
    {"temperature", 21.0, 1, 0.6},  {"humidity", 55.0, 1, 1.0},  {"pressure", 1013.25, 2, 1.2},
    {"battery_v", 3.7, 3, 0.5},      {"soil_moisture", 30.0, 1, 0.4}, {"co2_ppm", 420.0, 0, 1.5},
    {"wind_speed", 4.0, 1, 1.5},     {"water_level", 1.2, 3, 0.8}, {"lux", 800.0, 0, 1.2},
    {"pm10", 12.0, 1, 0.8},
};
constexpr int kKindCount = sizeof(kKinds) / sizeof(kKinds[0]);
constexpr double kPow10[] = {1, 10, 100, 1000, 10000};

uint64_t SplitMix(uint64_t* s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Approximately normal (sum of 4 uniforms), mean 0, standard deviation 1.
double Gaussish(uint64_t* s) {
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += double(SplitMix(s) >> 11) * 0x1.0p-53;
  return (sum - 2.0) * std::sqrt(3.0);
}

}  // namespace

Fleet::Fleet(int devices, int channels, uint64_t seed)
    : devices_(devices), channels_(channels), walks_(size_t(devices) * channels) {
  for (size_t i = 0; i < walks_.size(); ++i) {
    const ChannelKind& k = kKinds[i % channels % kKindCount];
    walks_[i].rng = seed * 0x9e3779b97f4a7c15ULL + i;
    walks_[i].level = std::llround(k.start * kPow10[k.decimals]) +
                      int64_t(SplitMix(&walks_[i].rng) % 50) - 25;
  }
}

std::string Fleet::DeviceName(int d) const {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "logger-%05d", d);
  return buf;
}

std::string Fleet::ChannelName(int c) const {
  std::string n = kKinds[c % kKindCount].name;
  if (c >= kKindCount) n += "_" + std::to_string(c / kKindCount);
  return n;
}

void Fleet::Points(int d, int c, int64_t first, int64_t n, std::vector<int64_t>* ts,
                   std::vector<double>* values) {
  Walk& w = walks_[size_t(d) * channels_ + c];
  const ChannelKind& k = kKinds[c % kKindCount];
  // Walks only go forward: skip to `first` if the caller jumped ahead.
  while (w.next_index < first) {
    w.level += std::llround(Gaussish(&w.rng) * k.step_sigma);
    ++w.next_index;
  }
  ts->clear();
  values->clear();
  for (int64_t i = 0; i < n; ++i, ++w.next_index) {
    ts->push_back(kStartNs + (first + i) * kIntervalNs);
    // Division by a power of ten yields the double nearest the decimal, as a parser would.
    values->push_back(double(w.level) / kPow10[k.decimals]);
    w.level += std::llround(Gaussish(&w.rng) * k.step_sigma);
  }
}

}  // namespace sensordb::bench
