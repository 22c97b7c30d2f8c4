// sensordb-bench fleet: a simulated fleet of dataloggers against a running sensordbd's device
// listeners. Each device gets its own key and certificate (enrolled over the client port with an
// admin token), then its own mutual-TLS session, native device stream or MQTT 3.1.1; one process
// with a few io threads holds them all. Reports enrolment and connection rates, acknowledged
// points per second, acknowledgement latency, errors by reason and, with --server-pid, the
// server's CPU per million points and memory per session. bench/device_ingest.sh runs it against
// fresh servers; docs/BENCHMARKS.md "Devices" has the figures. With --ota the devices update
// their firmware instead (bench/fleet_ota.sh; docs/BENCHMARKS.md "Firmware rollout").
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <thread>

#include "bench_client.h"
#include "bench_commands.h"
#include "device_fleet.h"
#include "device_identity.h"
#include "fleet.h"
#include "proc_stats.h"
#include "sensordb/client/client.h"

namespace {

using sensordb::bench::DeviceFleet;
using sensordb::bench::DeviceProtocol;
using sensordb::bench::ErrorTally;
using sensordb::bench::FleetPlan;

struct Config {
  std::string server = "127.0.0.1:7070";
  std::string server_name;  // empty: the host of --server
  std::string ca_file;
  std::string token_file;
  std::string project = "fleet";
  std::string protocol = "native";
  uint16_t device_port = 0;
  uint16_t mqtt_port = 0;
  int devices = 1000;
  int enroll_connections = 4;
  int server_pid = 0;
  bool json = false;
  // --ota: the release to roll out (files made by `sensordb firmware ...`; bench/fleet_ota.sh).
  std::string ota_root_file, ota_manifest_file, ota_image_file;
  FleetPlan plan;
};

struct Percentiles {
  double p50 = -1, p99 = -1, max = -1;  // -1: no samples
};

Percentiles Summarize(std::vector<float> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  p.p50 = v[v.size() / 2];
  p.p99 = v[std::min(v.size() - 1, size_t(double(v.size()) * 0.99))];
  p.max = v.back();
  return p;
}

sensordb::Result<sensordb::client::ClientOptions> AdminOptions(const Config& cfg) {
  SENSORDB_ASSIGN_OR_RETURN(std::string token, sensordb::bench::ReadToken(cfg.token_file));
  return sensordb::bench::NativeClientOptions(cfg.server, "--server", cfg.server_name, cfg.ca_file,
                                              std::move(token));
}

// Creates the project unless the token's account already sees it.
sensordb::Status EnsureProject(sensordb::client::Client& admin, const std::string& project) {
  auto projects = admin.ListProjects();
  SENSORDB_RETURN_IF_ERROR(projects);
  for (const auto& p : *projects) {
    if (p.name == project) return sensordb::Status::Ok();
  }
  auto created = admin.CreateProject(project);
  return created ? sensordb::Status::Ok() : created.error();
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", int(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string JsonTally(const ErrorTally& t) {
  std::string out = "{";
  for (const auto& [reason, e] : t.by_reason()) {
    if (out.size() > 1) out += ", ";
    out += JsonString(reason) + ": " + std::to_string(e.count);
  }
  return out + "}";
}

void PrintTally(const char* title, const ErrorTally& t) {
  for (const auto& [reason, e] : t.by_reason()) {
    fmt::print("{:<17}{} x {} (e.g. {})\n", title, e.count, reason, e.example);
  }
}

sensordb::Result<std::vector<uint8_t>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return sensordb::Err(sensordb::Status::NotFound("cannot open " + path));
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

// --ota: the project's root and the release stored (an earlier run's are kept), and one rollout
// offering it to every device at once.
sensordb::Status SetUpRelease(sensordb::client::Client& admin, const Config& cfg,
                              const std::vector<std::string>& devices) {
  SENSORDB_ASSIGN_OR_RETURN(const auto root, ReadFile(cfg.ota_root_file));
  SENSORDB_ASSIGN_OR_RETURN(const auto manifest, ReadFile(cfg.ota_manifest_file));
  SENSORDB_ASSIGN_OR_RETURN(const auto image, ReadFile(cfg.ota_image_file));
  auto stored_root = admin.UploadFirmwareRoot(cfg.project, root);
  if (!stored_root && stored_root.error().message().find("version") == std::string::npos) {
    return stored_root.error();
  }
  auto release = admin.UploadFirmware(cfg.project, manifest, image);
  uint64_t id = 0;
  if (release) {
    id = release->id;
  } else if (release.error().code() == sensordb::StatusCode::kAlreadyExists) {
    SENSORDB_ASSIGN_OR_RETURN(const auto list, admin.ListFirmware(cfg.project));
    for (const auto& r : list.releases) {
      if (r.complete && r.image_length == image.size()) id = r.id;
    }
  } else {
    return release.error();
  }
  // Up to 1024 devices by name, more as every device of the model (one rollout either way).
  const bool by_model = devices.size() > 1024;
  SENSORDB_RETURN_IF_ERROR(
      admin.CreateRollout(cfg.project, id, by_model ? std::vector<std::string>{} : devices,
                          {{100}, 100, 0, by_model ? cfg.plan.ota_model : std::string()}));
  return sensordb::Status::Ok();
}

struct Figures {
  uint64_t nofile = 0;
  sensordb::bench::EnrolmentReport enrol;
  sensordb::bench::SetupReport setup;
  sensordb::bench::RunReport run;
  Percentiles connect, ack;
  double server_cpu_s = -1, client_cpu_s = 0;
  int64_t server_rss_before = -1, server_rss_after = -1;
  int64_t client_rss_before = -1, client_rss_after = -1;
  int64_t server_rss_sessions = -1;  // once the sessions are established, before the run
  int64_t server_rss_peak = -1;      // sampled every 20 ms during the run
};

double PerSession(int64_t before, int64_t after, uint64_t sessions) {
  if (before < 0 || after < 0 || sessions == 0) return -1;
  return double(after - before) / double(sessions);
}

void PrintJson(const Config& cfg, const Figures& f) {
  const FleetPlan& p = cfg.plan;
  const double mpts = double(f.run.points_acked) / 1e6;
  const uint64_t errors =
      f.enrol.failures.total() + f.setup.failures.total() + f.run.errors.total();
  fmt::print(
      "{{\"protocol\": \"{}\", \"qos\": {}, \"devices\": {}, \"channels\": {}, \"rate\": {}, "
      "\"duration_s\": {}, \"batch_points\": {}, \"window\": {}, \"idle\": {}, \"io_threads\": {}, "
      "\"nofile_limit\": {}, \"enrolled\": {}, \"enroll_s\": {:.3f}, \"enroll_per_s\": {:.1f}, "
      "\"sessions\": {}, \"sessions_failed\": {}, \"setup_s\": {:.3f}, \"setup_per_s\": {:.1f}, "
      "\"connect_ms_p50\": {:.3f}, \"connect_ms_p99\": {:.3f}, \"run_s\": {:.3f}, "
      "\"points_acked\": {}, \"requests_acked\": {}, \"requests_unacked\": {}, "
      "\"sessions_lost\": {}, \"points_per_s\": {:.0f}, \"ack_ms_p50\": {:.3f}, "
      "\"ack_ms_p99\": {:.3f}, \"ack_ms_max\": {:.3f}, \"errors\": {}, \"enrol_errors\": {}, "
      "\"setup_errors\": {}, \"run_errors\": {}, \"server_cpu_s\": {:.3f}, "
      "\"server_cpu_s_per_mpoints\": {:.4f}, \"client_cpu_s_per_mpoints\": {:.4f}, "
      "\"server_rss_before_bytes\": {}, \"server_rss_after_bytes\": {}, "
      "\"server_rss_per_session_bytes\": {:.0f}, \"client_rss_per_session_bytes\": {:.0f}, "
      "\"server_rss_sessions_bytes\": {}, \"server_rss_peak_bytes\": {}, \"ota\": {}, "
      "\"ota_verified\": {}, \"ota_not_offered\": {}, "
      "\"ota_failed\": {}, \"ota_unfinished\": {}, \"ota_bytes\": {}, \"ota_rate_limited\": {}, "
      "\"client_cpu_s\": {:.3f}}}\n",
      cfg.protocol, cfg.protocol == "mqtt" ? p.qos : -1, cfg.devices, p.channels, p.rate,
      p.duration_s, p.batch_points * p.channels, p.window, p.idle, p.io_threads, f.nofile,
      f.enrol.enrolled, f.enrol.seconds, double(f.enrol.enrolled) / f.enrol.seconds,
      f.setup.established, f.setup.failed, f.setup.seconds,
      f.setup.seconds > 0 ? double(f.setup.established) / f.setup.seconds : 0.0, f.connect.p50,
      f.connect.p99, f.run.seconds, f.run.points_acked, f.run.requests_acked,
      f.run.requests_unacked, f.run.sessions_lost, double(f.run.points_acked) / f.run.seconds,
      f.ack.p50, f.ack.p99, f.ack.max, errors, JsonTally(f.enrol.failures),
      JsonTally(f.setup.failures), JsonTally(f.run.errors), f.server_cpu_s,
      f.server_cpu_s >= 0 && mpts > 0 ? f.server_cpu_s / mpts : -1.0,
      mpts > 0 ? f.client_cpu_s / mpts : -1.0, f.server_rss_before, f.server_rss_after,
      PerSession(f.server_rss_before, f.server_rss_after, f.setup.established),
      PerSession(f.client_rss_before, f.client_rss_after, f.setup.established),
      f.server_rss_sessions, f.server_rss_peak, p.ota, f.run.ota_verified, f.run.ota_not_offered,
      f.run.ota_failed, f.run.ota_unfinished, f.run.ota_bytes, f.run.ota_rate_limited,
      f.client_cpu_s);
}

void PrintText(const Config& cfg, const Figures& f) {
  const FleetPlan& p = cfg.plan;
  const std::string proto =
      cfg.protocol == "mqtt" ? fmt::format("MQTT 3.1.1 QoS {}", p.qos) : "native device stream";
  fmt::print("fleet            {} devices x {} channels, {}, {} io threads, RLIMIT_NOFILE {}\n",
             cfg.devices, p.channels, proto, p.io_threads, f.nofile);
  fmt::print("enrolment        {} devices in {:.2f} s: {:.0f} devices/s (key, CSR, EnrollDevice)\n",
             f.enrol.enrolled, f.enrol.seconds, double(f.enrol.enrolled) / f.enrol.seconds);
  PrintTally("  refused", f.enrol.failures);
  fmt::print(
      "sessions         {} established, {} failed in {:.2f} s: {:.0f} sessions/s; "
      "connect p50 {:.1f} ms, p99 {:.1f} ms (TCP + TLS 1.3 with client certificate + {})\n",
      f.setup.established, f.setup.failed, f.setup.seconds,
      f.setup.seconds > 0 ? double(f.setup.established) / f.setup.seconds : 0.0, f.connect.p50,
      f.connect.p99, cfg.protocol == "mqtt" ? "CONNECT" : "Hello");
  PrintTally("  failed", f.setup.failures);
  if (p.idle) {
    fmt::print(
        "idle             {:.0f} s, pings every {:.0f} s: {} answered, round trip p50 "
        "{:.2f} ms, p99 {:.2f} ms, max {:.2f} ms; {} sessions lost\n",
        p.duration_s, p.ping_interval_s, f.run.requests_acked, f.ack.p50, f.ack.p99, f.ack.max,
        f.run.sessions_lost);
  } else if (p.ota) {
    fmt::print(
        "firmware         {} devices verified the image, {} offered nothing, {} failed in "
        "{:.2f} s; {} unfinished at the end of the run, {} sessions lost; {:.1f} MiB received "
        "({:.1f} MiB/s); {} requests retried after RateLimited\n",
        f.run.ota_verified, f.run.ota_not_offered, f.run.ota_failed, f.run.seconds,
        f.run.ota_unfinished, f.run.sessions_lost, double(f.run.ota_bytes) / 1048576,
        double(f.run.ota_bytes) / 1048576 / f.run.seconds, f.run.ota_rate_limited);
    if (f.ack.p50 >= 0) {
      fmt::print(
          "update time      p50 {:.0f} ms, p99 {:.0f} ms, max {:.0f} ms per device (offer, "
          "reads, agent's check, report)\n",
          f.ack.p50, f.ack.p99, f.ack.max);
    }
  } else {
    fmt::print(
        "data             {} points acknowledged in {:.2f} s: {:.3f} M points/s ({} "
        "points per request, window {}, rate {})\n",
        f.run.points_acked, f.run.seconds, double(f.run.points_acked) / f.run.seconds / 1e6,
        p.batch_points * p.channels, p.window,
        p.rate > 0 ? fmt::format("{:.0f} points/s per device", p.rate) : "unbounded");
    if (f.ack.p50 >= 0) {
      fmt::print("ack latency      p50 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms over {} requests\n",
                 f.ack.p50, f.ack.p99, f.ack.max, f.run.requests_acked);
    }
    fmt::print("unacknowledged   {} requests, {} sessions lost\n", f.run.requests_unacked,
               f.run.sessions_lost);
  }
  PrintTally("  error", f.run.errors);
  const double mpts = double(f.run.points_acked) / 1e6;
  if (f.server_cpu_s >= 0) {
    fmt::print("server CPU       {:.2f} s{}\n", f.server_cpu_s,
               mpts > 0 ? fmt::format(", {:.3f} CPU-s per million points", f.server_cpu_s / mpts)
                        : std::string());
    fmt::print(
        "server RSS       {:.1f} MiB before the sessions, {:.1f} MiB with them: {:.1f} KiB "
        "per session; {:.1f} MiB once connected, peak during the run {:.1f} MiB\n",
        double(f.server_rss_before) / 1048576, double(f.server_rss_after) / 1048576,
        PerSession(f.server_rss_before, f.server_rss_after, f.setup.established) / 1024,
        double(f.server_rss_sessions) / 1048576, double(f.server_rss_peak) / 1048576);
  }
  fmt::print("client           {:.2f} CPU-s, {:.1f} KiB RSS per session\n", f.client_cpu_s,
             PerSession(f.client_rss_before, f.client_rss_after, f.setup.established) / 1024);
}

}  // namespace

int RunFleetCommand(int argc, char** argv) {
  Config cfg;
  FleetPlan& plan = cfg.plan;
  CLI::App app{"sensordb-bench fleet: simulated dataloggers on the device listeners"};
  // A later option overrides an earlier one: scripts append their own to a standard set.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--server", cfg.server, "HOST:PORT of sensordbd's client port (enrolment)");
  app.add_option("--server-name", cfg.server_name,
                 "name or IP checked in the server certificate (default: the host of --server)");
  app.add_option("--ca-file", cfg.ca_file, "CA that signs the server certificate")->required();
  app.add_option("--token-file", cfg.token_file,
                 "file with an admin's token: creates the project if missing, enrols the devices "
                 "(else $SENSORDB_TOKEN)");
  app.add_option("--project", cfg.project, "project of the devices (created if missing)");
  app.add_option("--protocol", cfg.protocol, "native or mqtt")
      ->check(CLI::IsMember({"native", "mqtt"}));
  app.add_option("--device-port", cfg.device_port, "port of the native device stream");
  app.add_option("--mqtt-port", cfg.mqtt_port, "port of the MQTT listener");
  app.add_option("--devices", cfg.devices, "simulated devices, one session each")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--channels", plan.channels, "channels per device")->check(CLI::Range(1, 1000));
  app.add_option("--rate", plan.rate,
                 "points per second per device (0: as fast as the window allows)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--duration", plan.duration_s, "seconds of data (or of idling)")
      ->check(CLI::Range(0.1, 86400.0));
  app.add_option("--batch-points", plan.batch_points,
                 "samples per channel in one Write, lines in one PUBLISH (the send interval is "
                 "batch-points x channels / rate)")
      ->check(CLI::Range(1, 100'000));
  app.add_option("--window", plan.window, "requests in flight per device")
      ->check(CLI::Range(1, 1024));
  app.add_flag("--idle", plan.idle, "hold the sessions without data: Ping / PINGREQ only");
  app.add_option("--ping-interval", plan.ping_interval_s,
                 "seconds between pings of an idle session")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--qos", plan.qos, "MQTT QoS of the PUBLISHes: 0 or 1")->check(CLI::Range(0, 1));
  app.add_option("--keep-alive", plan.keep_alive_s, "MQTT keep-alive announced in CONNECT, s")
      ->check(CLI::Range(0, 65535));
  app.add_option("--io-threads", plan.io_threads, "io threads holding the sessions")
      ->check(CLI::Range(1, 64));
  app.add_option("--connect-concurrency", plan.connect_concurrency,
                 "handshakes in progress at once")
      ->check(CLI::Range(1, 100'000));
  app.add_option("--enroll-connections", cfg.enroll_connections, "client connections enrolling")
      ->check(CLI::Range(1, 64));
  app.add_option("--connect-timeout-ms", plan.connect_timeout_ms, "bound on one session's setup");
  app.add_option("--request-timeout-ms", plan.request_timeout_ms, "bound on one acknowledgement");
  app.add_option("--server-pid", cfg.server_pid, "pid of sensordbd: its CPU time and RSS");
  app.add_flag("--json", cfg.json, "machine-readable output (docs/BENCHMARKS.md)");
  app.add_flag("--ota", plan.ota,
               "firmware instead of data: every device downloads and verifies the release "
               "(--ota-root, --ota-manifest, --ota-image) and reports; bench/fleet_ota.sh");
  app.add_option("--ota-root", cfg.ota_root_file, "the project's signed trust root");
  app.add_option("--ota-manifest", cfg.ota_manifest_file, "the release's signed manifest");
  app.add_option("--ota-image", cfg.ota_image_file, "the release's image");
  app.add_option("--ota-model", plan.ota_model, "hardware model the devices report");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  const bool mqtt = cfg.protocol == "mqtt";
  if (plan.ota && (mqtt || plan.idle)) {
    return fmt::print(stderr,
                      "sensordb-bench fleet: --ota runs on the native device stream, "
                      "without --idle\n"),
           2;
  }
  if (plan.ota) {
    for (const auto* file : {&cfg.ota_root_file, &cfg.ota_manifest_file, &cfg.ota_image_file}) {
      if (file->empty() || !std::ifstream(*file)) {
        return fmt::print(stderr,
                          "sensordb-bench fleet: --ota needs readable --ota-root, "
                          "--ota-manifest and --ota-image ('{}')\n",
                          *file),
               2;
      }
    }
  }
  plan.protocol = mqtt ? DeviceProtocol::kMqtt : DeviceProtocol::kNative;
  plan.port = mqtt ? cfg.mqtt_port : cfg.device_port;
  if (plan.port == 0) {
    return fmt::print(stderr,
                      "sensordb-bench fleet: give {} (sensordbd prints it in its ready "
                      "line)\n",
                      mqtt ? "--mqtt-port" : "--device-port"),
           2;
  }
  plan.ca_file = cfg.ca_file;
  plan.project = cfg.project;

  Figures f;
  f.nofile = sensordb::bench::RaiseFileLimit();
  const uint64_t needed = uint64_t(cfg.devices) + 64;
  if (f.nofile < needed) {
    return fmt::print(stderr,
                      "sensordb-bench fleet: {} sessions need about {} file descriptors "
                      "but RLIMIT_NOFILE allows {} (already raised to the hard limit); "
                      "raise the hard limit (ulimit -Hn) or run fewer devices\n",
                      cfg.devices, needed, f.nofile),
           1;
  }
  auto options = AdminOptions(cfg);
  if (!options)
    return fmt::print(stderr, "sensordb-bench fleet: {}\n", options.error().ToString()), 1;
  plan.host = options->host;
  plan.server_name = cfg.server_name;
  {
    auto admin = sensordb::client::Client::Connect(*options);
    if (!admin)
      return fmt::print(stderr, "sensordb-bench fleet: {}\n", admin.error().ToString()), 1;
    if (const auto s = EnsureProject(**admin, cfg.project); !s.ok()) {
      return fmt::print(stderr, "sensordb-bench fleet: project {}: {}\n", cfg.project,
                        s.ToString()),
             1;
    }
  }
  sensordb::bench::Fleet names_of(cfg.devices, 1);
  std::vector<std::string> names;
  for (int d = 0; d < cfg.devices; ++d) names.push_back(names_of.DeviceName(d));
  auto enrol =
      sensordb::bench::EnrollFleet(*options, cfg.project, names, cfg.enroll_connections, 8);
  if (!enrol)
    return fmt::print(stderr, "sensordb-bench fleet: enrolment: {}\n", enrol.error().ToString()), 1;
  f.enrol = std::move(*enrol);
  if (f.enrol.enrolled == 0) {
    PrintTally("enrolment", f.enrol.failures);
    return fmt::print(stderr, "sensordb-bench fleet: no device could be enrolled\n"), 1;
  }
  if (plan.ota) {
    auto root = ReadFile(cfg.ota_root_file);
    if (!root) return fmt::print(stderr, "sensordb-bench fleet: {}\n", root.error().ToString()), 2;
    plan.ota_root = std::move(*root);
    auto admin = sensordb::client::Client::Connect(*options);
    const sensordb::Status set =
        admin ? SetUpRelease(**admin, cfg, names) : sensordb::Status(admin.error());
    if (!set.ok()) {
      return fmt::print(stderr, "sensordb-bench fleet: firmware: {}\n", set.ToString()), 1;
    }
  }

  f.server_rss_before = cfg.server_pid ? sensordb::bench::ProcessRssBytes(cfg.server_pid) : -1;
  f.client_rss_before = sensordb::bench::SelfRssBytes();
  auto fleet = DeviceFleet::Create(plan, f.enrol.devices);
  if (!fleet) return fmt::print(stderr, "sensordb-bench fleet: {}\n", fleet.error().ToString()), 1;
  f.setup = (*fleet)->Connect();
  f.connect = Summarize(f.setup.connect_ms);
  f.server_rss_sessions = cfg.server_pid ? sensordb::bench::ProcessRssBytes(cfg.server_pid) : -1;

  const double server_cpu0 =
      cfg.server_pid ? sensordb::bench::ProcessCpuSeconds(cfg.server_pid) : -1;
  const double client_cpu0 = sensordb::bench::SelfCpuSeconds();
  std::atomic<bool> running{true};
  std::jthread sampler([&] {  // the server's peak memory while the run goes on (a lower bound)
    while (cfg.server_pid != 0 && running.load()) {
      f.server_rss_peak =
          std::max(f.server_rss_peak, sensordb::bench::ProcessRssBytes(cfg.server_pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  f.run = (*fleet)->Run();
  running = false;
  sampler.join();
  f.server_cpu_s =
      cfg.server_pid ? sensordb::bench::ProcessCpuSeconds(cfg.server_pid) - server_cpu0 : -1;
  f.client_cpu_s = sensordb::bench::SelfCpuSeconds() - client_cpu0;
  // The sessions are still open: what they cost is in both processes now.
  f.server_rss_after = cfg.server_pid ? sensordb::bench::ProcessRssBytes(cfg.server_pid) : -1;
  f.client_rss_after = sensordb::bench::SelfRssBytes();
  (*fleet)->Close();
  f.ack = Summarize(f.run.ack_ms);

  if (cfg.json) {
    PrintJson(cfg, f);
  } else {
    PrintText(cfg, f);
  }
  if (f.setup.established == 0) return 1;
  if (plan.ota) return f.run.ota_verified == f.setup.established ? 0 : 1;
  if (!plan.idle && f.run.points_acked == 0) return 1;
  return 0;
}
