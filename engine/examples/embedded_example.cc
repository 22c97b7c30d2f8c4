// The embedded API in one page: open, create a project, write a columnar batch, query it.
// Build against an installed sensordb with find_package(sensordb) and sensordb::engine.
#include <sensordb/db.h>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp/sensordb-example";
  // Everything on disk is encrypted under a master key kept outside the data directory.
  sensordb::Options options;
  options.key.key_file = dir + ".key";
  if (auto s = sensordb::CreateKeyFile(options.key.key_file);
      !s.ok() && s.code() != sensordb::StatusCode::kAlreadyExists) {
    return std::fprintf(stderr, "keygen: %s\n", s.ToString().c_str()), 1;
  }
  auto db = sensordb::DB::Open(options, dir);
  if (!db) return std::fprintf(stderr, "open: %s\n", db.error().ToString().c_str()), 1;

  if (auto p = (*db)->CreateProject("greenhouse"); !p && p.error().code() != sensordb::StatusCode::kAlreadyExists) {
    return std::fprintf(stderr, "%s\n", p.error().ToString().c_str()), 1;
  }

  // One batch: 60 temperature readings of logger-1, 10 s apart. Applied whole or not at all.
  const int64_t t0 = 1'700'000'000LL * sensordb::kNanosPerSecond;
  std::vector<int64_t> ts;
  std::vector<double> temp;
  for (int i = 0; i < 60; ++i) {
    ts.push_back(t0 + i * 10 * sensordb::kNanosPerSecond);
    temp.push_back(21.0 + 0.1 * (i % 7));
  }
  sensordb::WriteBatch batch;
  batch.AddFloat64("logger-1", "temperature", ts, temp);
  if (auto s = (*db)->Write("greenhouse", batch); !s.ok()) {
    return std::fprintf(stderr, "write: %s\n", s.ToString().c_str()), 1;
  }

  // Mean per minute of logger-1's temperature.
  sensordb::AggregateQuery q;
  q.selector = {"logger-1", "temperature"};
  q.bucket_ns = 60 * sensordb::kNanosPerSecond;
  auto s = (*db)->Aggregate("greenhouse", q, [](const sensordb::AggregateRow& row) {
    std::printf("%lld  mean %.2f  (%llu points)\n", (long long)row.bucket_start_ns,
                row.Get(sensordb::Aggregation::kMean), (unsigned long long)row.count);
    return true;
  });
  if (!s.ok()) return std::fprintf(stderr, "query: %s\n", s.ToString().c_str()), 1;

  // The newest value of each channel of the device.
  if (auto latest = (*db)->Latest("greenhouse", "logger-1"); latest) {
    for (const auto& p : *latest) std::printf("latest %s = %.2f\n", p.channel.c_str(), p.value.f64);
  }
  return 0;
}
