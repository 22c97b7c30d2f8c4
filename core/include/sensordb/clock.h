// Clock: where time-driven components (the backup scheduler) read the time, so tests can run
// simulated days in seconds. Implementations must be thread-safe.
#pragma once

#include <cstdint>

namespace sensordb {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, nanoseconds since the Unix epoch.
  virtual int64_t NowUnixNs() const = 0;

  // The system clock (std::chrono::system_clock). Lives for the whole process.
  static Clock& System();
};

}  // namespace sensordb
