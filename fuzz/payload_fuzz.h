// What the line protocol and JSON payload targets share: the options a first byte picks, and
// the whole-or-nothing check (a payload that fails leaves the caller's batch as it was).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sensordb/formats/payload.h"
#include "sensordb/write_batch.h"

namespace sensordb::formats::fuzz {

using Parser = Status (*)(std::string_view, const PayloadOptions&, WriteBatch&);

inline void RunPayload(Parser parse, const char* name, const uint8_t* data, size_t size,
                       bool device_required) {
  if (size == 0) return;
  const uint8_t selector = data[0];
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  PayloadOptions options;
  options.precision = static_cast<Precision>(selector & 3);
  if (device_required || (selector & 4) != 0) options.device = "dev";
  options.default_timestamp_ns = 1'700'000'000'000'000'000;
  options.limits.max_lines = 1000;
  options.limits.max_points = 10'000;
  // A batch that already holds a column: a failed payload must leave exactly that.
  WriteBatch batch;
  const int64_t ts[] = {1};
  const double v[] = {2.5};
  batch.AddFloat64("before", "x", ts, v);
  const Status s = parse(payload, options, batch);
  if (!s.ok() && (batch.points() != 1 || batch.columns().size() != 1)) {
    std::fprintf(stderr, "%s: a failed payload changed the batch (%s)\n", name,
                 s.ToString().c_str());
    std::abort();
  }
}

}  // namespace sensordb::formats::fuzz
