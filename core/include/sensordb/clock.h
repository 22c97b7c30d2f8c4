// Clock: where time-driven components read the time (the engine through Options::clock: chunk
// ageing, retention, the series quota's windows, the dates of key versions and backups; the
// backup scheduler), so tests can run simulated days in seconds. Implementations must be
// thread-safe.
#pragma once

#include <cstdint>

namespace sensordb {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, nanoseconds since the Unix epoch.
  virtual int64_t NowUnixNs() const = 0;
  // A reading that never goes back, for intervals (nanoseconds from an arbitrary origin). The
  // system clock reads std::chrono::steady_clock; a simulated clock may keep the default.
  virtual int64_t NowMonotonicNs() const { return NowUnixNs(); }

  // The system clock (std::chrono::system_clock). Lives for the whole process.
  static Clock& System();
};

}  // namespace sensordb
