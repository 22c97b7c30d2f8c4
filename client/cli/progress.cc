#include "progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <utility>

namespace sensordb::cli {

Progress::Progress(bool enabled, std::string label, uint64_t total_bytes)
    : enabled_(enabled),
      label_(std::move(label)),
      total_bytes_(total_bytes),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::Update(uint64_t lines, uint64_t points, uint64_t bytes) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  Draw(lines, points, bytes);
}

void Progress::Draw(uint64_t lines, uint64_t points, uint64_t bytes) {
  const double seconds = std::chrono::duration<double>(last_draw_ - start_).count();
  const double lines_per_s = seconds > 0 ? double(lines) / seconds : 0;
  std::string bar;
  if (total_bytes_ > 0) {
    const double fraction = std::min(1.0, double(bytes) / double(total_bytes_));
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    bar = fmt::format("[{}{}] {:5.1f}% ", std::string(filled, '#'),
                      std::string(kWidth - filled, '.'), fraction * 100);
  }
  fmt::print(stderr, "\r{} {}{} points, {:.0f} lines/s\x1b[K", label_, bar, points, lines_per_s);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::Finish() {
  if (!drawn_) return;
  fmt::print(stderr, "\r\x1b[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace sensordb::cli
