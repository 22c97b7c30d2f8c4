// sensordb-bench rest: the simulated fleet written as InfluxDB line protocol to a running
// sensordbd's REST listener (docs/REST.md): HTTPS (TLS 1.3, the server certificate verified),
// keep-alive connections each writing a slice of the devices (or, with --split time, taking turns
// on one time-major stream of the whole fleet), one request at a time, every 204
// a durable acknowledgement. The bodies are formatted (and gzipped) before the clock starts, so
// the timed phase costs the tool only TLS and HTTP; formatting is reported apart. With
// --server-pid, the server's CPU time per million points (from /proc); with --native-server,
// the project is created over the native protocol first and the points are counted back after.
// bench/rest_ingest.sh starts a fresh server per run, then compacts and measures bytes/point.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "bench_commands.h"
#include "bench_client.h"
#include "https_connection.h"
#include "line_protocol_bodies.h"
#include "proc_stats.h"
#include "sensordb/client/client.h"

namespace {

using Clock = std::chrono::steady_clock;
using sensordb::bench::HttpsConnection;
using sensordb::bench::HttpsTarget;
using sensordb::bench::LineProtocolBody;

struct Config {
  std::string server = "127.0.0.1:8086";
  std::string server_name;  // empty: the host of --server
  std::string native_server;
  std::string ca_file;
  std::string token_file;
  std::string project = "bench";
  std::string measurement = "env";
  std::string api = "v2";
  int devices = 1000;
  int channels = 10;
  int64_t points = 10'000'000;
  int lines_per_request = 5000;
  int connections = 4;
  std::string split = "devices";
  bool gzip = false;
  int gzip_level = 1;
  int timeout_ms = 60'000;
  int server_pid = 0;
  bool json = false;
  bool labels = false;
};

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += char(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// The project is created (it must not exist) through the native protocol; the same connection
// counts the points back after the run.
sensordb::Result<std::unique_ptr<sensordb::client::Client>> NativeClient(const Config& cfg,
                                                                         const std::string& token) {
  SENSORDB_ASSIGN_OR_RETURN(
      auto o, sensordb::bench::NativeClientOptions(cfg.native_server, "--native-server",
                                                   cfg.server_name, cfg.ca_file, token));
  SENSORDB_ASSIGN_OR_RETURN(auto client, sensordb::client::Client::Connect(o));
  if (auto p = client->CreateProject(cfg.project); !p) return sensordb::Err(p.error());
  return client;
}

struct Tally {
  std::mutex mu;
  std::string first_error;  // GUARDED_BY(mu)
  std::atomic<bool> failed{false};
  void Fail(std::string message) {
    std::lock_guard lock(mu);
    if (!failed.exchange(true)) first_error = std::move(message);
  }
};

struct SendResult {
  uint64_t points_acked = 0;
  uint64_t requests = 0;
  std::vector<float> latency_ms;
};

// Sends `bodies` one at a time on `conn`; stops at the first refusal or error (any connection's).
SendResult Send(HttpsConnection& conn, const std::vector<LineProtocolBody>& bodies,
                const std::string& path, const std::string& authorization, const Config& cfg,
                Tally& tally) {
  SendResult r;
  r.latency_ms.reserve(bodies.size());
  for (const LineProtocolBody& body : bodies) {
    if (tally.failed) break;
    const auto t0 = Clock::now();
    auto res = conn.Post(path, authorization, cfg.gzip ? "gzip" : "", body.data);
    if (!res) return tally.Fail(res.error().ToString()), r;
    if (res->status != 204) {
      if (res->body.size() > 2000) res->body.resize(2000);
      tally.Fail(
          fmt::format("HTTP {} (expected 204) after {} acknowledged request(s) on this "
                      "connection: {}",
                      res->status, r.requests, res->body));
      return r;
    }
    r.latency_ms.push_back(float(Seconds(t0, Clock::now()) * 1e3));
    ++r.requests;
    r.points_acked += uint64_t(body.lines) * uint64_t(cfg.channels);
  }
  return r;
}

// The points of `project` as the server counts them (one aggregate over everything).
sensordb::Result<uint64_t> CountPoints(sensordb::client::Client& client,
                                       const std::string& project) {
  uint64_t points = 0;
  auto r = client.Aggregate(project, {{}, {}, 0, false}, [&](const sensordb::AggregateRow& row) {
    points += row.count;
    return true;
  });
  if (!r) return sensordb::Err(r.error());
  return points;
}

float Percentile(const std::vector<float>& sorted, double q) {
  if (sorted.empty()) return -1;
  return sorted[std::min(sorted.size() - 1, size_t(double(sorted.size()) * q))];
}

// Every body of the run, formatted (and gzipped) in parallel before the clock starts. With
// --split devices each connection writes a slice of the devices (time-major within it: a
// 5000-line body of 1000 devices on 4 connections holds 20 points per series); with --split
// time the whole fleet is one time-major stream whose bodies the connections take in turn (5
// points per series per body), the shape of a gateway or of VictoriaMetrics' own tools.
struct Bodies {
  std::vector<std::vector<LineProtocolBody>> per_connection;
  uint64_t raw_bytes = 0, sent_bytes = 0;
  double format_s = 0, format_cpu_s = 0;
};

sensordb::Result<Bodies> PrepareBodies(const Config& cfg, int64_t per_series, int slices) {
  Bodies b;
  const size_t n = static_cast<size_t>(slices);
  std::vector<uint64_t> raw(n), sent(n);
  b.per_connection.resize(n);
  Tally tally;
  const double cpu0 = sensordb::bench::SelfCpuSeconds();
  const auto t0 = Clock::now();
  auto format = [&](int slice, int of) {
    return sensordb::bench::FormatLineProtocolBodies({cfg.devices, cfg.channels, per_series,
                                                      cfg.lines_per_request, cfg.measurement, slice,
                                                      of, cfg.labels});
  };
  if (cfg.split == "time") {
    auto all = format(0, 1);
    for (size_t i = 0; i < all.size(); ++i) b.per_connection[i % n].push_back(std::move(all[i]));
  }
  std::vector<std::thread> threads;
  for (int s = 0; s < slices; ++s) {
    threads.emplace_back([&, s] {
      auto& mine = b.per_connection[size_t(s)];
      if (cfg.split == "devices") mine = format(s, slices);
      for (auto& body : mine) {
        raw[size_t(s)] += body.data.size();
        if (cfg.gzip) {
          auto z = sensordb::bench::GzipCompress(body.data, cfg.gzip_level);
          if (!z) return tally.Fail(z.error().ToString());
          body.data = std::move(*z);
        }
        sent[size_t(s)] += body.data.size();
      }
    });
  }
  for (auto& t : threads) t.join();
  b.format_s = Seconds(t0, Clock::now());
  b.format_cpu_s = sensordb::bench::SelfCpuSeconds() - cpu0;
  if (tally.failed) return sensordb::Err(sensordb::Status::Internal(tally.first_error));
  for (size_t s = 0; s < n; ++s) {
    b.raw_bytes += raw[s];
    b.sent_bytes += sent[s];
  }
  return b;
}

struct Totals {
  uint64_t points_acked = 0, requests = 0;
  std::vector<float> latency_ms;  // sorted
  double write_s = 0, server_cpu_s = -1, client_cpu_s = 0;
};

// The timed phase: one keep-alive connection and thread per slice, all started together; the
// first failure on any connection stops them all and is the error.
sensordb::Result<Totals> SendAll(const Config& cfg, const HttpsTarget& target, const Bodies& b,
                                 const std::string& path, const std::string& authorization) {
  std::vector<std::unique_ptr<HttpsConnection>> conns;
  for (size_t s = 0; s < b.per_connection.size(); ++s) {
    SENSORDB_ASSIGN_OR_RETURN(auto c, HttpsConnection::Connect(target));
    conns.push_back(std::move(c));
  }
  Tally tally;
  std::vector<SendResult> results(conns.size());
  Totals t;
  const double server_cpu0 =
      cfg.server_pid ? sensordb::bench::ProcessCpuSeconds(cfg.server_pid) : -1;
  const double client_cpu0 = sensordb::bench::SelfCpuSeconds();
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (size_t s = 0; s < conns.size(); ++s) {
    threads.emplace_back([&, s] {
      results[s] = Send(*conns[s], b.per_connection[s], path, authorization, cfg, tally);
    });
  }
  for (auto& th : threads) th.join();
  t.write_s = Seconds(t0, Clock::now());
  if (cfg.server_pid) {
    t.server_cpu_s = sensordb::bench::ProcessCpuSeconds(cfg.server_pid) - server_cpu0;
  }
  t.client_cpu_s = sensordb::bench::SelfCpuSeconds() - client_cpu0;
  if (tally.failed) return sensordb::Err(sensordb::Status::IOError(tally.first_error));
  for (const SendResult& r : results) {
    t.points_acked += r.points_acked;
    t.requests += r.requests;
    t.latency_ms.insert(t.latency_ms.end(), r.latency_ms.begin(), r.latency_ms.end());
  }
  std::sort(t.latency_ms.begin(), t.latency_ms.end());
  return t;
}

void PrintReport(const Config& cfg, int slices, int64_t per_series, uint64_t points,
                 int64_t counted, const Bodies& b, const Totals& t) {
  const double mpts = double(points) / 1e6;
  const double pps = double(points) / t.write_s;
  const double rps = double(t.requests) / t.write_s;
  const double p50 = Percentile(t.latency_ms, 0.50), p99 = Percentile(t.latency_ms, 0.99);
  const double server = t.server_cpu_s < 0 ? -1.0 : t.server_cpu_s / mpts;
  if (cfg.json) {
    fmt::print(
        "{{\"devices\": {}, \"channels\": {}, \"points\": {}, \"points_acked\": {}, "
        "\"points_counted\": {}, \"lines_per_request\": {}, \"connections\": {}, "
        "\"split\": \"{}\", \"api\": \"{}\", \"gzip\": {}, \"requests\": {}, \"body_bytes\": {}, "
        "\"sent_bytes\": {}, \"write_s\": {:.3f}, \"points_per_s\": {:.0f}, "
        "\"requests_per_s\": {:.1f}, \"latency_ms_p50\": {:.2f}, \"latency_ms_p99\": {:.2f}, "
        "\"server_cpu_s_per_mpoints\": {:.4f}, \"client_cpu_s_per_mpoints\": {:.4f}, "
        "\"format_s\": {:.3f}, \"format_cpu_s_per_mpoints\": {:.4f}}}\n",
        cfg.devices, cfg.channels, points, t.points_acked, counted, cfg.lines_per_request, slices,
        cfg.split, cfg.api, cfg.gzip, t.requests, b.raw_bytes, b.sent_bytes, t.write_s, pps, rps,
        p50, p99, server, t.client_cpu_s / mpts, b.format_s, b.format_cpu_s / mpts);
    return;
  }
  fmt::print("fleet            {} devices x {} channels, {} points ({} per series), {} lines\n",
             cfg.devices, cfg.channels, points, per_series, uint64_t(per_series) * cfg.devices);
  fmt::print(
      "bodies           {} requests of up to {} lines, {:.1f} MB of line protocol{}, formatted "
      "in {:.2f} s ({:.3f} CPU-s per million points)\n",
      t.requests, cfg.lines_per_request, double(b.raw_bytes) / 1e6,
      cfg.gzip ? fmt::format(" ({:.1f} MB gzipped)", double(b.sent_bytes) / 1e6) : "", b.format_s,
      b.format_cpu_s / mpts);
  fmt::print(
      "writes           {:.3f} s, {:.2f} M points/s, {:.1f} requests/s over HTTPS ({} "
      "keep-alive connection(s), split by {}, API {}, durable acks)\n",
      t.write_s, pps / 1e6, rps, slices, cfg.split, cfg.api);
  fmt::print("request latency  p50 {:.2f} ms, p99 {:.2f} ms\n", p50, p99);
  if (server >= 0) {
    fmt::print("server CPU       {:.2f} s, {:.3f} CPU-s per million points\n", t.server_cpu_s,
               server);
  }
  fmt::print("client CPU       {:.2f} s, {:.3f} CPU-s per million points (TLS and HTTP only)\n",
             t.client_cpu_s, t.client_cpu_s / mpts);
  if (counted >= 0) fmt::print("counted back     {} points (native protocol)\n", counted);
}

}  // namespace

int RunRestCommand(int argc, char** argv) {
  Config cfg;
  CLI::App app{"sensordb-bench rest: InfluxDB line protocol over HTTPS to sensordbd"};
  app.add_option("--server", cfg.server, "HOST:PORT of sensordbd's REST listener ([rest] port)");
  app.add_option("--server-name", cfg.server_name,
                 "name or IP expected in the server certificate (default: the host of --server)");
  app.add_option("--ca-file", cfg.ca_file, "CA that signs the server certificate")->required();
  app.add_option("--token-file", cfg.token_file,
                 "file with a token that may write the project (else $SENSORDB_TOKEN)");
  app.add_option("--native-server", cfg.native_server,
                 "HOST:PORT of the native client port: create the project there first (it must "
                 "not exist) and count the points back after; without it the project must exist");
  app.add_option("--project", cfg.project, "project to write");
  app.add_option("--measurement", cfg.measurement,
                 "measurement of every line: channels are "
                 "stored as <measurement>.<field>");
  app.add_option("--api", cfg.api,
                 "v1: POST /write?db=P (Authorization: Bearer); v2: POST "
                 "/api/v2/write?bucket=P (Authorization: Token)")
      ->check(CLI::IsMember({"v1", "v2"}));
  app.add_option("--devices", cfg.devices, "devices in the fleet")->check(CLI::PositiveNumber);
  app.add_option("--channels", cfg.channels, "channels per device (fields per line)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--points", cfg.points, "total points to write")->check(CLI::PositiveNumber);
  app.add_option("--lines-per-request", cfg.lines_per_request, "lines per request body")
      ->check(CLI::PositiveNumber);
  app.add_option("--connections", cfg.connections, "keep-alive connections, one thread each")
      ->check(CLI::Range(1, 64));
  app.add_option("--split", cfg.split,
                 "devices: each connection a slice of the devices; time: one time-major stream "
                 "of the whole fleet, its bodies taken by the connections in turn")
      ->check(CLI::IsMember({"devices", "time"}));
  app.add_flag("--gzip", cfg.gzip, "Content-Encoding: gzip (zlib)");
  app.add_flag("--labels", cfg.labels,
               "two more tags per line, constant per device (room, site): device labels");
  app.add_option("--gzip-level", cfg.gzip_level, "zlib level with --gzip")->check(CLI::Range(1, 9));
  app.add_option("--timeout-ms", cfg.timeout_ms, "bound of each connect, send and response")
      ->check(CLI::PositiveNumber);
  app.add_option("--server-pid", cfg.server_pid, "pid of sensordbd, to report its CPU time");
  app.add_flag("--json", cfg.json, "machine-readable output");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto fail = [](const std::string& m) {
    return fmt::print(stderr, "sensordb-bench rest: {}\n", m), 1;
  };
  auto read = sensordb::bench::ReadToken(cfg.token_file);
  if (!read) return fail(read.error().ToString());
  const std::string token = std::move(*read);
  auto rest = sensordb::bench::ParseHostPort(cfg.server, "--server");
  if (!rest) return fail(rest.error().ToString());
  const HttpsTarget target{rest->first, rest->second, cfg.server_name, cfg.ca_file, cfg.timeout_ms};
  std::unique_ptr<sensordb::client::Client> native;
  if (!cfg.native_server.empty()) {
    auto c = NativeClient(cfg, token);
    if (!c) return fail(c.error().ToString());
    native = std::move(*c);
  }
  const std::string path =
      cfg.api == "v1"
          ? "/write?db=" + PercentEncode(cfg.project) + "&precision=ns"
          : "/api/v2/write?bucket=" + PercentEncode(cfg.project) + "&org=bench&precision=ns";
  const std::string authorization = (cfg.api == "v1" ? "Bearer " : "Token ") + token;
  const int slices = cfg.split == "time" ? cfg.connections : std::min(cfg.connections, cfg.devices);
  const int64_t series = int64_t(cfg.devices) * cfg.channels;
  const int64_t per_series = std::max<int64_t>(1, cfg.points / series);
  const uint64_t points = uint64_t(per_series * series);

  auto bodies = PrepareBodies(cfg, per_series, slices);
  if (!bodies) return fail(bodies.error().ToString());
  auto totals = SendAll(cfg, target, *bodies, path, authorization);
  if (!totals) return fail(totals.error().ToString());
  if (totals->points_acked != points) {
    return fail(fmt::format("{} points acknowledged of {}", totals->points_acked, points));
  }
  int64_t counted = -1;
  if (native) {
    auto n = CountPoints(*native, cfg.project);
    if (!n) return fail("counting the points back: " + n.error().ToString());
    counted = int64_t(*n);
    if (uint64_t(counted) != points) {
      return fail(fmt::format("{} points acknowledged but the server counts {}", points, counted));
    }
  }
  PrintReport(cfg, slices, per_series, points, counted, *bodies, *totals);
  return 0;
}
