// A one-line progress display on stderr (points, lines/s, percent of input bytes), redrawn at
// most ten times a second. Silent unless enabled (the CLI enables it when stderr is a terminal).
// Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sensordb::cli {

class Progress {
 public:
  // `total_bytes` 0 = unknown (no percentage).
  Progress(bool enabled, std::string label, uint64_t total_bytes);
  ~Progress() { Finish(); }

  void Update(uint64_t lines, uint64_t points, uint64_t bytes);
  // Erases the line.
  void Finish();

 private:
  void Draw(uint64_t lines, uint64_t points, uint64_t bytes);

  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  uint64_t total_bytes_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace sensordb::cli
