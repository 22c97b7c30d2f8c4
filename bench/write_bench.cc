// Micro-benchmarks of the write path: DB::Write of fleet batches (async durability, so the
// figure is the engine's CPU cost, not the disk's sync latency) and head record encoding.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "fleet.h"
#include "head/head_record.h"
#include "sensordb/db.h"

namespace {

using sensordb::bench::Fleet;

// Fills `batch` with `devices` x `channels` columns of `points` points starting at `first`.
void FillBatch(Fleet& fleet, int devices, int64_t first, int64_t points,
               sensordb::WriteBatch* batch) {
  std::vector<int64_t> ts;
  std::vector<double> v;
  batch->Clear();
  for (int d = 0; d < devices; ++d) {
    for (int c = 0; c < fleet.channels(); ++c) {
      fleet.Points(d, c, first, points, &ts, &v);
      batch->AddFloat64(fleet.DeviceName(d), fleet.ChannelName(c), ts, v);
    }
  }
}

void BM_WriteBatchAsync(benchmark::State& state) {
  const int devices = int(state.range(0));
  const int64_t points = state.range(1);
  const auto dir = std::filesystem::temp_directory_path() / "sensordb-write-bench";
  std::filesystem::remove_all(dir);
  sensordb::Options opts;
  opts.durability = sensordb::Durability::kAsync;
  auto db = sensordb::DB::Open(opts, dir.string());
  if (!db || !(*db)->CreateProject("bench")) {
    state.SkipWithError("cannot open database");
    return;
  }
  Fleet fleet(devices, 10);
  sensordb::WriteBatch batch;
  int64_t first = 0;
  for (auto _ : state) {
    state.PauseTiming();
    FillBatch(fleet, devices, first, points, &batch);
    first += points;
    state.ResumeTiming();
    if (!(*db)->Write("bench", batch).ok()) state.SkipWithError("write failed");
  }
  state.SetItemsProcessed(state.iterations() * int64_t(batch.points()));
  db->reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_WriteBatchAsync)->Args({100, 60})->Args({10, 600})->Unit(benchmark::kMillisecond);

void BM_EncodeHeadRecord(benchmark::State& state) {
  Fleet fleet(100, 10);
  sensordb::WriteBatch batch;
  FillBatch(fleet, 100, 0, state.range(0), &batch);
  std::vector<uint64_t> ids(batch.columns().size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = i + 1;
  std::string out;
  for (auto _ : state) {
    out.clear();
    sensordb::head::EncodeHeadRecord(batch.columns(), ids, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * int64_t(batch.points()));
  state.counters["bytes_per_point"] = double(out.size()) / double(batch.points());
}
BENCHMARK(BM_EncodeHeadRecord)->Arg(60)->Arg(600);

}  // namespace

BENCHMARK_MAIN();
