// Micro-benchmark of the ingest formats: one REST-benchmark body (bench/line_protocol_bodies.h:
// 5000 lines, 250 devices x 20 timestamps x 10 fields, as one of four connections sends it)
// parsed into a WriteBatch, the work sensordbd does per /write request before DB::Write.
// items_per_second counts points. Run: formats_bench
#include <benchmark/benchmark.h>

#include "line_protocol_bodies.h"
#include "sensordb/formats/line_protocol.h"
#include "sensordb/write_batch.h"

namespace {

void BM_LineProtocolPayload(benchmark::State& state) {
  sensordb::bench::LineProtocolPlan plan;
  plan.points_per_series = 20;
  plan.slices = 4;
  const auto bodies = sensordb::bench::FormatLineProtocolBodies(plan);
  const std::string& body = bodies.at(0).data;
  const size_t points = size_t(bodies[0].lines) * size_t(plan.channels);
  sensordb::formats::PayloadOptions options;
  options.limits.max_payload_bytes = body.size();
  options.limits.max_points = points;
  options.limits.max_lines = points;
  for (auto _ : state) {
    sensordb::WriteBatch batch;
    const auto s = sensordb::formats::ParseLineProtocolPayload(body, options, batch);
    if (!s.ok() || batch.points() != points) state.SkipWithError("the body did not parse");
    benchmark::DoNotOptimize(batch);
  }
  state.SetItemsProcessed(int64_t(state.iterations() * points));
  state.SetBytesProcessed(int64_t(state.iterations() * body.size()));
}
BENCHMARK(BM_LineProtocolPayload)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
