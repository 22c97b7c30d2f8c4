// The simulated fleet (bench/fleet.h) as InfluxDB line-protocol request bodies, for the REST
// benchmark: one line per device and timestamp with every channel a field,
//   env,device=logger-00007 temperature=21.3,humidity=55.2,...,pm10=12.1 1767225600000000000
// so that the server stores channel `<measurement>.<channel>` (`env.temperature`). The lines of
// a slice of the devices run timestamp-major (every device of the slice at t0, then at t1, ...),
// as a gateway forwards its loggers' readings, and are cut into bodies of `lines_per_body`.
// Values are the fleet's random walks printed in their shortest exact decimal (`21.3`, not
// `21.300000000000001`), timestamps in nanoseconds. Deterministic. Plain functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/status.h"

namespace sensordb::bench {

struct LineProtocolPlan {
  int devices = 1000;
  int channels = 10;
  int64_t points_per_series = 1000;
  int lines_per_body = 5000;
  std::string measurement = "env";
  int slice = 0;  // this slice writes the devices d with d % slices == slice
  int slices = 1;
  // Tags on every line beside the device, as gateways send them (device labels,
  // docs/LABELS.md): `,room=<d % 50>,site=site-<d % 10>`, constant per device.
  bool labels = false;
};

struct LineProtocolBody {
  std::string data;
  uint32_t lines = 0;  // points = lines * channels
};

// The bodies of one slice, in the order they are to be sent.
std::vector<LineProtocolBody> FormatLineProtocolBodies(const LineProtocolPlan& plan);

// `data` compressed as one gzip member (RFC 1952, what `Content-Encoding: gzip` means) at zlib
// `level` 1..9.
Result<std::string> GzipCompress(std::string_view data, int level);

}  // namespace sensordb::bench
