// sensordb-bench server: the simulated fleet of `engine`, written to a running sensordbd over
// the native protocol with the client library (TLS 1.3, pipelined writes, durable acks), then
// the standard queries timed over the protocol. With --server-pid, the server's CPU time per
// million points (from /proc). bench/server_ingest.sh starts a server and runs it.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>

#include "bench_client.h"
#include "bench_commands.h"
#include "fleet.h"
#include "proc_stats.h"
#include "sensordb/client/client.h"

namespace {

using Clock = std::chrono::steady_clock;
using sensordb::bench::Fleet;
using sensordb::bench::ProcessCpuSeconds;
using sensordb::bench::SelfCpuSeconds;
using sensordb::client::AsyncClient;
using sensordb::client::Client;
using sensordb::client::ClientOptions;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Config {
  std::string server = "127.0.0.1:7070";
  std::string ca_file;
  std::string token_file;
  std::string project = "bench";
  int devices = 1000;
  int channels = 10;
  int64_t points = 10'000'000;
  int batch_devices = 100;
  int64_t batch_points = 10;  // per channel: 100 devices x 10 channels x 10 = 10 000 points
  int connections = 2;
  uint32_t window = 8;
  int query_runs = 5;
  int server_pid = 0;
  bool json = false;
};


sensordb::Result<ClientOptions> Options(const Config& cfg) {
  SENSORDB_ASSIGN_OR_RETURN(std::string token, sensordb::bench::ReadToken(cfg.token_file));
  SENSORDB_ASSIGN_OR_RETURN(
      ClientOptions o, sensordb::bench::NativeClientOptions(cfg.server, "--server", "localhost",
                                                            cfg.ca_file, std::move(token)));
  o.max_in_flight = cfg.window;
  return o;
}

// Connection t writes the devices d with d % connections == t, rounds of batch_points points
// per series, keeping up to `window` writes in flight.
sensordb::Status WriteFleet(const ClientOptions& options, const Config& cfg, int64_t per_series) {
  std::mutex mu;
  sensordb::Status first_error;
  std::atomic<bool> failed{false};
  auto worker = [&](int t) {
    auto fail = [&](const sensordb::Status& s) {
      std::lock_guard lock(mu);
      if (!failed.exchange(true)) first_error = s;
    };
    auto client = AsyncClient::Connect(options);
    if (!client) return fail(client.error());
    Fleet fleet(cfg.devices, cfg.channels);
    std::vector<std::string> devices, channels;
    for (int d = 0; d < cfg.devices; ++d) devices.push_back(fleet.DeviceName(d));
    for (int c = 0; c < cfg.channels; ++c) channels.push_back(fleet.ChannelName(c));
    std::deque<std::future<sensordb::Result<sensordb::client::WriteAck>>> acks;
    auto settle = [&](size_t keep) {
      while (acks.size() > keep) {
        auto ack = acks.front().get();
        acks.pop_front();
        if (!ack) fail(ack.error());
      }
    };
    sensordb::WriteBatch batch;
    std::vector<int64_t> ts;
    std::vector<double> vals;
    for (int64_t first = 0; first < per_series && !failed; first += cfg.batch_points) {
      const int64_t n = std::min(cfg.batch_points, per_series - first);
      int in_batch = 0;
      for (int d = t; d < cfg.devices && !failed; d += cfg.connections) {
        for (int c = 0; c < cfg.channels; ++c) {
          fleet.Points(d, c, first, n, &ts, &vals);
          batch.AddFloat64(devices[d], channels[c], ts, vals);
        }
        if (++in_batch == cfg.batch_devices || d + cfg.connections >= cfg.devices) {
          acks.push_back((*client)->Write(cfg.project, batch));
          batch.Clear();
          in_batch = 0;
          settle(cfg.window);
        }
      }
    }
    settle(0);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < cfg.connections; ++t) threads.emplace_back(worker, t);
  for (auto& th : threads) th.join();
  return first_error;
}

struct QueryResult {
  std::string name;
  double ms = 0;
  uint64_t rows = 0;
  uint64_t points = 0;
};

sensordb::Result<std::vector<QueryResult>> RunQueries(Client& client, const Config& cfg) {
  Fleet fleet(cfg.devices, cfg.channels);
  const std::string dev0 = fleet.DeviceName(0), ch0 = fleet.ChannelName(0);
  const int64_t hour = 3600 * sensordb::kNanosPerSecond;
  using Fn = std::function<sensordb::Status(uint64_t*, uint64_t*)>;
  auto agg = [&](sensordb::AggregateQuery q) -> Fn {
    return [&client, &cfg, q](uint64_t* rows, uint64_t* points) {
      auto r = client.Aggregate(cfg.project, q, [&](const sensordb::AggregateRow& row) {
        ++*rows;
        *points += row.count;
        return true;
      });
      return r ? sensordb::Status::Ok() : r.error();
    };
  };
  const std::vector<std::pair<std::string, Fn>> queries = {
      {"hourly_mean_one_channel_all_devices", agg({{"", ch0}, {}, hour, false})},
      {"count_all_points", agg({{}, {}, 0, false})},  // second: checked against the writes
      {"hourly_mean_one_channel_per_device", agg({{"", ch0}, {}, hour, true})},
      {"hourly_mean_one_device_per_channel", agg({{dev0, ""}, {}, hour, true})},
      {"raw_one_series",
       [&](uint64_t* rows, uint64_t* points) {
         auto r = client.QueryRaw(cfg.project, {dev0, ch0}, {}, 0,
                                  [&](const sensordb::SeriesRef&, const sensordb::PointRun& run) {
                                    ++*rows;
                                    *points += run.size();
                                    return true;
                                  });
         return r ? sensordb::Status::Ok() : r.error();
       }},
      {"latest_one_device",
       [&](uint64_t* rows, uint64_t* points) {
         auto r = client.Latest(cfg.project, dev0, "", [&](const sensordb::LatestPoint&) {
           ++*rows;
           ++*points;
           return true;
         });
         return r ? sensordb::Status::Ok() : r.error();
       }},
  };
  std::vector<QueryResult> out;
  for (const auto& [name, fn] : queries) {
    std::vector<double> ms;
    QueryResult r{name};
    for (int i = 0; i < cfg.query_runs; ++i) {
      uint64_t rows = 0, points = 0;
      const auto t0 = Clock::now();
      SENSORDB_RETURN_IF_ERROR(fn(&rows, &points));
      ms.push_back(Seconds(t0, Clock::now()) * 1e3);
      r.rows = rows;
      r.points = points;
    }
    std::sort(ms.begin(), ms.end());
    r.ms = ms[ms.size() / 2];
    out.push_back(r);
  }
  return out;
}

}  // namespace

int RunServerCommand(int argc, char** argv) {
  Config cfg;
  CLI::App app{"sensordb-bench server: ingest and queries over the native protocol"};
  app.add_option("--server", cfg.server, "HOST:PORT of sensordbd");
  app.add_option("--ca-file", cfg.ca_file, "CA that signs the server certificate")->required();
  app.add_option("--token-file", cfg.token_file,
                 "file with a token that may create the project (else $SENSORDB_TOKEN)");
  app.add_option("--project", cfg.project, "project to create and write (must not exist)");
  app.add_option("--devices", cfg.devices, "devices in the fleet")->check(CLI::PositiveNumber);
  app.add_option("--channels", cfg.channels, "channels per device")->check(CLI::PositiveNumber);
  app.add_option("--points", cfg.points, "total points to write")->check(CLI::PositiveNumber);
  app.add_option("--batch-devices", cfg.batch_devices, "devices per write")->check(CLI::PositiveNumber);
  app.add_option("--batch-points", cfg.batch_points, "points per channel per write")
      ->check(CLI::PositiveNumber);
  app.add_option("--connections", cfg.connections, "connections, one writer thread each")
      ->check(CLI::Range(1, 64));
  app.add_option("--window", cfg.window, "writes in flight per connection")->check(CLI::Range(1, 1024));
  app.add_option("--query-runs", cfg.query_runs, "runs per query (median)")->check(CLI::Range(1, 1000));
  app.add_option("--server-pid", cfg.server_pid, "pid of sensordbd, to report its CPU time");
  app.add_flag("--json", cfg.json, "machine-readable output");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto options = Options(cfg);
  if (!options) return fmt::print(stderr, "sensordb-bench: {}\n", options.error().ToString()), 1;
  auto admin = Client::Connect(*options);
  if (!admin) return fmt::print(stderr, "sensordb-bench: {}\n", admin.error().ToString()), 1;
  if (auto p = (*admin)->CreateProject(cfg.project); !p) {
    return fmt::print(stderr, "sensordb-bench: {}\n", p.error().ToString()), 1;
  }
  const int64_t series = int64_t(cfg.devices) * cfg.channels;
  const int64_t per_series = std::max<int64_t>(1, cfg.points / series);
  const uint64_t written = uint64_t(per_series * series);

  const double server_cpu0 = cfg.server_pid ? ProcessCpuSeconds(cfg.server_pid) : -1;
  const double client_cpu0 = SelfCpuSeconds();
  const auto t0 = Clock::now();
  const sensordb::Status s = WriteFleet(*options, cfg, per_series);
  const auto t1 = Clock::now();
  const double server_cpu = cfg.server_pid ? ProcessCpuSeconds(cfg.server_pid) - server_cpu0 : -1;
  const double client_cpu = SelfCpuSeconds() - client_cpu0;
  if (!s.ok()) return fmt::print(stderr, "sensordb-bench: {}\n", s.ToString()), 1;

  auto queries = RunQueries(**admin, cfg);
  if (!queries) return fmt::print(stderr, "sensordb-bench: {}\n", queries.error().ToString()), 1;
  if ((*queries)[1].points != written) {
    fmt::print(stderr, "sensordb-bench: wrote {} points but count_all_points found {}\n", written,
               (*queries)[1].points);
    return 1;
  }
  const double write_s = Seconds(t0, t1);
  const double pps = double(written) / write_s;
  const double mpts = double(written) / 1e6;
  if (cfg.json) {
    fmt::print("{{\"devices\": {}, \"channels\": {}, \"points\": {}, \"batch_points\": {}, "
               "\"connections\": {}, \"window\": {}, \"write_s\": {:.3f}, \"points_per_s\": {:.0f}, "
               "\"server_cpu_s_per_mpoints\": {:.4f}, \"client_cpu_s_per_mpoints\": {:.4f}, "
               "\"query_ms\": {{",
               cfg.devices, cfg.channels, written,
               int64_t(cfg.batch_devices) * cfg.channels * cfg.batch_points, cfg.connections,
               cfg.window, write_s, pps, server_cpu < 0 ? -1.0 : server_cpu / mpts,
               client_cpu / mpts);
    for (size_t i = 0; i < queries->size(); ++i) {
      fmt::print("{}\"{}\": {:.3f}", i ? ", " : "", (*queries)[i].name, (*queries)[i].ms);
    }
    fmt::print("}}}}\n");
    return 0;
  }
  fmt::print("fleet            {} devices x {} channels, {} points ({} per series)\n", cfg.devices,
             cfg.channels, written, per_series);
  fmt::print("writes           {:.3f} s, {:.2f} M points/s over TLS ({} connection(s), {} in "
             "flight each, {} points per write, durable acks)\n",
             write_s, pps / 1e6, cfg.connections, cfg.window,
             int64_t(cfg.batch_devices) * cfg.channels * cfg.batch_points);
  if (server_cpu >= 0) {
    fmt::print("server CPU       {:.2f} s, {:.3f} CPU-s per million points\n", server_cpu,
               server_cpu / mpts);
  }
  fmt::print("client CPU       {:.2f} s, {:.3f} CPU-s per million points\n", client_cpu,
             client_cpu / mpts);
  for (const auto& q : *queries) {
    fmt::print("query            {:<40} {:9.3f} ms  ({} rows, {} points)\n", q.name, q.ms, q.rows,
               q.points);
  }
  return 0;
}
