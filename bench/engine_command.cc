// sensordb-bench engine: writes a simulated fleet through the embedded API, seals and compacts,
// then times the standard queries. Output keys are documented in docs/BENCHMARKS.md.
#include <fmt/core.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "bench_commands.h"
#include "fleet.h"
#include "sensordb/db.h"

namespace {

using Clock = std::chrono::steady_clock;
using sensordb::bench::Fleet;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Config {
  int devices = 1000;
  int channels = 10;
  int64_t points = 10'000'000;
  std::string durability = "async";
  int batch_devices = 100;
  int64_t batch_points = 60;  // per channel: 10 minutes at 10 s
  int threads = 1;
  std::string dir;
  std::string key_file;
  bool plaintext = false;
  bool keep = false;
  bool json = false;
  int query_runs = 5;
  int query_threads = 2;
  bool query_only = false;
};

// Writes rounds of `batch_points` points per series; thread t owns devices d with d % T == t.
sensordb::Status WriteFleet(sensordb::DB& db, const Config& cfg, int64_t per_series) {
  std::atomic<bool> failed{false};
  sensordb::Status first_error;
  std::mutex error_mu;
  auto worker = [&](int t) {
    Fleet fleet(cfg.devices, cfg.channels);
    sensordb::WriteBatch batch;
    std::vector<int64_t> ts;
    std::vector<double> vals;
    std::vector<std::string> devices, channels;
    for (int d = 0; d < cfg.devices; ++d) devices.push_back(fleet.DeviceName(d));
    for (int c = 0; c < cfg.channels; ++c) channels.push_back(fleet.ChannelName(c));
    for (int64_t first = 0; first < per_series && !failed; first += cfg.batch_points) {
      const int64_t n = std::min(cfg.batch_points, per_series - first);
      int in_batch = 0;
      for (int d = t; d < cfg.devices && !failed; d += cfg.threads) {
        for (int c = 0; c < cfg.channels; ++c) {
          fleet.Points(d, c, first, n, &ts, &vals);
          batch.AddFloat64(devices[d], channels[c], ts, vals);
        }
        if (++in_batch == cfg.batch_devices || d + cfg.threads >= cfg.devices) {
          sensordb::Status s = db.Write("bench", batch);
          batch.Clear();
          in_batch = 0;
          if (!s.ok()) {
            std::lock_guard lock(error_mu);
            if (!failed.exchange(true)) first_error = s;
          }
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < cfg.threads; ++t) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();
  return first_error;
}

struct QueryResult {
  std::string name;
  double ms = 0;
  uint64_t rows = 0;
  uint64_t points = 0;
};

// Median of `runs` timings of `fn`, which returns (rows, points) or an error.
template <typename Fn>
sensordb::Result<QueryResult> TimeQuery(const std::string& name, int runs, Fn fn) {
  std::vector<double> ms;
  QueryResult r{name};
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    uint64_t rows = 0, points = 0;
    sensordb::Status s = fn(&rows, &points);
    if (!s.ok()) return sensordb::Err(s);
    ms.push_back(Seconds(t0, Clock::now()) * 1e3);
    r.rows = rows;
    r.points = points;
  }
  std::sort(ms.begin(), ms.end());
  r.ms = ms[ms.size() / 2];
  return r;
}

sensordb::Result<std::vector<QueryResult>> RunQueries(sensordb::DB& db, const Config& cfg) {
  Fleet fleet(cfg.devices, cfg.channels);
  const std::string dev0 = fleet.DeviceName(0), ch0 = fleet.ChannelName(0);
  std::vector<QueryResult> out;
  auto agg = [&](sensordb::AggregateQuery q) {
    return [&db, q](uint64_t* rows, uint64_t* points) {
      return db.Aggregate("bench", q, [&](const sensordb::AggregateRow& row) {
        ++*rows;
        *points += row.count;
        return true;
      });
    };
  };
  const int64_t hour = 3600 * sensordb::kNanosPerSecond;
  struct Named {
    std::string name;
    std::function<sensordb::Status(uint64_t*, uint64_t*)> fn;
  };
  std::vector<Named> queries = {
      {"hourly_mean_one_channel_all_devices", agg({{"", ch0}, {}, hour, false})},
      {"count_all_points", agg({{}, {}, 0, false})},  // second: checked against the writes
      {"hourly_mean_one_channel_per_device", agg({{"", ch0}, {}, hour, true})},
      {"hourly_mean_one_device_per_channel", agg({{dev0, ""}, {}, hour, true})},
      {"raw_one_series",
       [&](uint64_t* rows, uint64_t* points) {
         return db.QueryRaw("bench", {dev0, ch0}, {}, [&](auto&, const sensordb::PointRun& r) {
           ++*rows;
           *points += r.size();
           return true;
         });
       }},
      {"latest_one_device",
       [&](uint64_t* rows, uint64_t* points) -> sensordb::Status {
         auto l = db.Latest("bench", dev0);
         SENSORDB_RETURN_IF_ERROR(l);
         *rows = *points = l->size();
         return sensordb::Status::Ok();
       }},
  };
  for (auto& q : queries) {
    SENSORDB_ASSIGN_OR_RETURN(QueryResult r, TimeQuery(q.name, cfg.query_runs, q.fn));
    out.push_back(r);
  }
  return out;
}

uint64_t PeakRssBytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return uint64_t(ru.ru_maxrss) * 1024;
}

// The queries alone on an existing database: the embedded side of a comparison with `server`.
int QueryOnly(const Config& cfg) {
  if (cfg.dir.empty() || cfg.key_file.empty()) {
    return fmt::print(stderr, "sensordb-bench: --query-only needs --dir and --key-file\n"), 2;
  }
  sensordb::Options opts;
  opts.create_if_missing = false;
  opts.key.key_file = cfg.key_file;
  opts.query_threads = uint32_t(cfg.query_threads);
  auto db = sensordb::DB::Open(opts, cfg.dir);
  if (!db) return fmt::print(stderr, "sensordb-bench: {}\n", db.error().ToString()), 1;
  auto queries = RunQueries(**db, cfg);
  if (!queries) return fmt::print(stderr, "sensordb-bench: {}\n", queries.error().ToString()), 1;
  if (cfg.json) {
    fmt::print("{{\"query_ms\": {{");
    for (size_t i = 0; i < queries->size(); ++i) {
      fmt::print("{}\"{}\": {:.3f}", i ? ", " : "", (*queries)[i].name, (*queries)[i].ms);
    }
    fmt::print("}}}}\n");
    return 0;
  }
  for (const auto& q : *queries) {
    fmt::print("query            {:<40} {:9.3f} ms  ({} rows, {} points)\n", q.name, q.ms, q.rows,
               q.points);
  }
  return 0;
}

}  // namespace

int RunEngineCommand(int argc, char** argv) {
  Config cfg;
  CLI::App app{"sensordb-bench engine: embedded write and query benchmark"};
  app.add_option("--devices", cfg.devices, "devices in the fleet")->check(CLI::PositiveNumber);
  app.add_option("--channels", cfg.channels, "channels per device")->check(CLI::PositiveNumber);
  app.add_option("--points", cfg.points, "total points to write")->check(CLI::PositiveNumber);
  app.add_option("--durability", cfg.durability, "sync or async")
      ->check(CLI::IsMember({"sync", "async"}));
  app.add_option("--batch-devices", cfg.batch_devices, "devices per write batch")
      ->check(CLI::PositiveNumber);
  app.add_option("--batch-points", cfg.batch_points, "points per channel per batch")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", cfg.threads, "writer threads")->check(CLI::Range(1, 64));
  app.add_option("--dir", cfg.dir, "data directory (default: a fresh temporary one)");
  app.add_flag("--keep", cfg.keep, "keep the data directory (and the key file made for it)");
  app.add_option("--key-file", cfg.key_file,
                 "master key file (default: a new one beside the data directory)");
  app.add_flag("--plaintext", cfg.plaintext,
               "no encryption at rest (test-only cipher, for measuring its cost)");
  app.add_option("--query-runs", cfg.query_runs, "runs per query (median reported)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--query-threads", cfg.query_threads,
                 "threads one aggregate over many series may use (Options::query_threads)")
      ->check(CLI::Range(1, 64));
  app.add_flag("--json", cfg.json, "machine-readable output");
  app.add_flag("--query-only", cfg.query_only,
               "only time the queries on the existing --dir (e.g. written by `server`)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (cfg.query_only) return QueryOnly(cfg);
  const bool temp_dir = cfg.dir.empty();
  if (temp_dir) {
    cfg.dir = (std::filesystem::temp_directory_path() /
               ("sensordb-bench-" + std::to_string(getpid()))).string();
  } else if (std::filesystem::exists(cfg.dir) && !std::filesystem::is_empty(cfg.dir)) {
    fmt::print(stderr, "sensordb-bench: {} is not empty; give a new directory\n", cfg.dir);
    return 1;
  }
  const int64_t series = int64_t(cfg.devices) * cfg.channels;
  const int64_t per_series = std::max<int64_t>(1, cfg.points / series);

  sensordb::Options opts;
  bool made_key = false;
  if (cfg.plaintext) {
    opts.insecure_plaintext_for_testing = true;
  } else {
    if (cfg.key_file.empty()) {
      cfg.key_file = cfg.dir + ".key";  // beside the data, never inside it
      if (auto s = sensordb::CreateKeyFile(cfg.key_file); !s.ok()) {
        return fmt::print(stderr, "sensordb-bench: {}\n", s.ToString()), 1;
      }
      made_key = true;
    }
    opts.key.key_file = cfg.key_file;
  }
  opts.query_threads = uint32_t(cfg.query_threads);
  opts.durability = cfg.durability == "sync" ? sensordb::Durability::kSync
                                             : sensordb::Durability::kAsync;
  auto db = sensordb::DB::Open(opts, cfg.dir);
  if (!db) return fmt::print(stderr, "sensordb-bench: {}\n", db.error().ToString()), 1;
  if (auto p = (*db)->CreateProject("bench"); !p) {
    return fmt::print(stderr, "sensordb-bench: {}\n", p.error().ToString()), 1;
  }

  const auto t0 = Clock::now();
  sensordb::Status s = WriteFleet(**db, cfg, per_series);
  const auto t1 = Clock::now();
  if (s.ok()) s = (*db)->Compact();
  const auto t2 = Clock::now();
  auto stats = s.ok() ? (*db)->Stats() : sensordb::Err(s);
  if (!stats) return fmt::print(stderr, "sensordb-bench: {}\n", stats.error().ToString()), 1;
  auto queries = RunQueries(**db, cfg);
  if (!queries) return fmt::print(stderr, "sensordb-bench: {}\n", queries.error().ToString()), 1;

  const uint64_t written = uint64_t(per_series * series);
  const double write_s = Seconds(t0, t1);
  const uint64_t counted = (*queries)[1].points;
  db->reset();
  if (temp_dir && !cfg.keep) std::filesystem::remove_all(cfg.dir);
  if (made_key && !cfg.keep) std::filesystem::remove(cfg.key_file);
  if (counted != written) {
    fmt::print(stderr, "sensordb-bench: wrote {} points but count_all_points found {}\n", written,
               counted);
    return 1;
  }
  const double pps = double(written) / write_s;
  const double bpp = double(stats->disk_bytes) / double(written);
  if (cfg.json) {
    fmt::print("{{\"devices\": {}, \"channels\": {}, \"points\": {}, \"durability\": \"{}\", "
               "\"threads\": {}, \"batch_points\": {}, \"encrypted\": {}, \"write_s\": {:.3f}, "
               "\"points_per_s\": {:.0f}, \"seal_compact_s\": {:.3f}, \"disk_bytes\": {}, "
               "\"bytes_per_point\": {:.4f}, \"blocks\": {}, \"query_ms\": {{",
               cfg.devices, cfg.channels, written, cfg.durability, cfg.threads,
               int64_t(cfg.batch_devices) * cfg.channels * cfg.batch_points,
               cfg.plaintext ? "false" : "true", write_s, pps,
               Seconds(t1, t2), stats->disk_bytes, bpp, stats->blocks);
    for (size_t i = 0; i < queries->size(); ++i) {
      fmt::print("{}\"{}\": {:.3f}", i ? ", " : "", (*queries)[i].name, (*queries)[i].ms);
    }
    fmt::print("}}, \"peak_rss_bytes\": {}}}\n", PeakRssBytes());
    return 0;
  }
  fmt::print("fleet            {} devices x {} channels, {} points ({} per series)\n",
             cfg.devices, cfg.channels, written, per_series);
  fmt::print("writes           {:.3f} s, {:.2f} M points/s ({}, {} thread(s), {})\n", write_s,
             pps / 1e6, cfg.durability, cfg.threads,
             cfg.plaintext ? "plaintext" : "encrypted");
  fmt::print("seal + compact   {:.3f} s\n", Seconds(t1, t2));
  fmt::print("on disk          {} bytes, {:.3f} bytes/point, {} blocks\n", stats->disk_bytes, bpp,
             stats->blocks);
  for (const auto& q : *queries) {
    fmt::print("query            {:<40} {:9.3f} ms  ({} rows, {} points)\n", q.name, q.ms, q.rows,
               q.points);
  }
  fmt::print("peak RSS         {:.1f} MiB\n", double(PeakRssBytes()) / (1 << 20));
  return 0;
}
