// sensordbd: `sensordbd init DIR [--port N]` prepares a server directory;
// `sensordbd --config FILE` runs the server — the native protocol listener, the metrics
// listener and the daily backup — until SIGTERM or SIGINT; SIGHUP reloads the TLS certificate
// (docs/SERVER.md).
#include <malloc.h>
#include <openssl/crypto.h>
#include <sys/resource.h>

#include <condition_variable>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/auth_service.h"
#include "config/server_config.h"
#include "net/client_listener.h"
#include "devices/device_registry.h"
#include "net/metrics_listener.h"
#include "rest/rest_listener.h"
#include "sensordb/backup.h"
#include "sensordb/clock.h"
#include "sensordb/db.h"
#include "sensordbd/init.h"

namespace {

using namespace sensordb;
using namespace sensordb::server;

constexpr const char* kUsage =
    "usage: sensordbd init DIR [--port N] [--ephemeral-ports] [--set KEY=VALUE]...\n"
    "                                       write a config, keys, certificates and a token;\n"
    "                                       --ephemeral-ports: every listener on port 0 (the\n"
    "                                       `ready` line names the ports), for tests;\n"
    "                                       --set: a config setting, e.g. durability=async,\n"
    "                                       backup.dir= (no backups), limits.max_connections=4096\n"
    "       sensordbd --config FILE         run the server\n"
    "       sensordbd --config FILE --print-config\n"
    "                                       print the settings in effect (defaults included)\n";

int Fail(const Status& s) {
  std::fprintf(stderr, "sensordbd: %s\n", s.ToString().c_str());
  return 1;
}

int Init(std::string_view dir, const InitOptions& options) {
  auto report = InitServerDir(dir, options);
  if (!report) return Fail(report.error());
  std::printf("sensordbd init: created\n");
  for (const std::string& line : report->made) std::printf("  %s\n", line.c_str());
  std::printf("start the server with: sensordbd --config %s\n", report->config_file.c_str());
  std::printf("the bootstrap token is in %s: use it once to create accounts, then revoke it\n",
              report->token_file.c_str());
  return 0;
}

enum class Level : uint8_t { kError, kWarn, kInfo, kDebug };
Level log_threshold = Level::kInfo;

// Operator messages on stderr, by level. Never a secret or a sample value.
[[gnu::format(printf, 2, 3)]] void Log(Level level, const char* format, ...) {
  if (level > log_threshold) return;
  static constexpr const char* kNames[] = {"error", "warn", "info", "debug"};
  std::fprintf(stderr, "sensordbd: %s: ", kNames[static_cast<int>(level)]);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
}

Level ParseLevel(std::string_view s) {
  if (s == "error") return Level::kError;
  if (s == "warn") return Level::kWarn;
  if (s == "debug") return Level::kDebug;
  return Level::kInfo;
}

// The whole-database scans behind some metrics (DB::Stats, DB::KeyStatus, every project's
// rollouts) run at most once a minute, however often Prometheus scrapes.
class ScanCache {
 public:
  ScanCache(DB& db, DeviceRegistry& registry) : db_(db), registry_(registry) {}
  void Get(std::optional<DBStats>& stats, std::optional<KeyStatusReport>& keys,
           std::vector<RolloutStatus>& rollouts) {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (!taken_ || now - taken_at_ > std::chrono::seconds(60)) {
      auto s = db_.Stats();
      auto k = db_.KeyStatus();
      stats_ = s ? std::optional<DBStats>(*s) : std::nullopt;
      keys_ = k ? std::optional<KeyStatusReport>(std::move(*k)) : std::nullopt;
      rollouts_ = registry_.RolloutStatuses();
      taken_ = true;
      taken_at_ = now;
    }
    stats = stats_;
    keys = keys_;
    rollouts = rollouts_;
  }

 private:
  DB& db_;
  DeviceRegistry& registry_;
  std::vector<RolloutStatus> rollouts_;
  std::mutex mu_;
  bool taken_ = false;
  std::chrono::steady_clock::time_point taken_at_;
  std::optional<DBStats> stats_;
  std::optional<KeyStatusReport> keys_;
};

// Drives the daily backup (docs/BACKUP.md) on its own thread and audits every run.
class BackupThread {
 public:
  BackupThread(BackupScheduler& scheduler, AuthService& auth) : scheduler_(scheduler), auth_(auth) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~BackupThread() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Loop() {
    const Principal server{"sensordbd", PrincipalKind::kServiceAccount, true, {}, 0};
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      const uint64_t runs_before = scheduler_.status().runs;
      const Status s = scheduler_.RunIfDue();
      const BackupScheduleStatus st = scheduler_.status();
      if (st.runs != runs_before) {
        Log(s.ok() ? Level::kInfo : Level::kError, "backup: %s", st.last_message.c_str());
        const Actor actor{server, "local", WallClockNs()};
        const Status audited =
            auth_.Record(actor, AuditAction::kBackup, std::nullopt,
                         s.ok() ? AuditOutcome::kSuccess : AuditOutcome::kFailure, st.last_message);
        if (!audited.ok()) Log(Level::kError, "audit: %s", audited.ToString().c_str());
      }
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(30), [this] { return stop_; });
    }
  }

  BackupScheduler& scheduler_;
  AuthService& auth_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// Every listener may hold its limits.max_connections descriptors, metrics 64, and RocksDB and
// the logs need files besides: the soft RLIMIT_NOFILE is raised to that (up to the hard limit),
// and a hard limit below it refuses the start, since the caps could never be honoured
// (docs/SERVER.md, "Limits").
constexpr uint64_t kFilesBesideConnections = 1024;

Status RaiseOpenFilesLimit(const ServerConfig& c) {
  const uint64_t listeners = 1 + (c.rest.enabled ? 1 : 0) +
                             (c.devices.enabled ? 1 + (c.devices.mqtt ? 1 : 0) : 0);
  const uint64_t need =
      listeners * c.limits.max_connections + (c.metrics.enabled ? 64 : 0) + kFilesBesideConnections;
  rlimit l{};
  if (getrlimit(RLIMIT_NOFILE, &l) != 0) return Status::Ok();
  if (l.rlim_max != RLIM_INFINITY && l.rlim_max < need) {
    return Status::FailedPrecondition(
        "the open-files hard limit is " + std::to_string(l.rlim_max) + ", below the " +
        std::to_string(need) + " the configured caps need (" + std::to_string(listeners) +
        " listeners x limits.max_connections " + std::to_string(c.limits.max_connections) +
        ", + " + std::to_string(kFilesBesideConnections) +
        " for files): raise it (ulimit -Hn, LimitNOFILE=) or lower limits.max_connections");
  }
  if (l.rlim_cur != RLIM_INFINITY && l.rlim_cur < need) {
    l.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &l) != 0) {
      return Status::FailedPrecondition("cannot raise the open-files limit to " +
                                        std::to_string(need));
    }
  }
  return Status::Ok();
}

// glibc serves an allocation above its mmap threshold (128 KiB at start, then raised by chance:
// to the size of the largest mmapped block freed so far) with a fresh mapping and unmaps it on
// free, so every large request — a 5000-line body, its parsed batch — faulted its pages in anew:
// 0.45–0.47 server CPU-s per million REST points against 0.35–0.38 when an early large free had
// happened to raise the threshold (docs/BENCHMARKS.md, 2026-12-06). A fixed threshold at glibc's
// maximum (32 MiB) and a trim threshold of 128 MiB keep such blocks in the heap for reuse; the
// cost is that up to 128 MiB freed at the top of a heap stays resident (docs/SERVER.md).
void TuneAllocator() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

int Run(std::string_view config_file) {
  TuneAllocator();
  auto config = LoadConfig(config_file);
  if (!config) return Fail(config.error());
  log_threshold = ParseLevel(config->log_level);
  if (Status s = CheckStartable(*config); !s.ok()) return Fail(s);
  if (Status s = RaiseOpenFilesLimit(*config); !s.ok()) return Fail(s);
  const auto started = std::chrono::steady_clock::now();

  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Options options;
  options.create_if_missing = false;
  options.durability = config->durability == "async" ? Durability::kAsync : Durability::kSync;
  options.key.key_file = config->key_file;
  options.max_aggregate_buckets = config->limits.max_aggregate_buckets;
  options.head_zstd_level = int(config->storage.head_zstd_level);
  options.head_checkpoint_bytes = size_t{config->storage.head_checkpoint_mib} << 20;
  options.head_idle_checkpoint_s = config->storage.head_idle_checkpoint_s;
  options.head_memory_bytes = size_t{config->storage.head_memory_mib} << 20;
  options.short_block_interval_s = config->storage.short_block_interval_s;
  options.series_quota = {config->limits.max_series_per_project,
                          config->limits.max_series_per_device,
                          config->limits.max_new_series_per_device_per_minute};
  options.label_limits = {
      config->limits.max_label_keys_per_project, config->limits.max_label_values_per_key,
      config->limits.max_label_keys_per_device, config->limits.max_label_changes_per_device};
  {
    auto phrase = ReadPassphrase(*config);
    if (!phrase) return Fail(phrase.error());
    options.key.passphrase = std::move(*phrase);
  }
  auto db = DB::Open(options, config->data_dir);
  const bool passphrase = !options.key.passphrase.empty();
  // The engine keeps its own copy in locked memory; ours goes now.
  OPENSSL_cleanse(options.key.passphrase.data(), options.key.passphrase.size());
  options.key.passphrase.clear();
  if (!db) return Fail(db.error());
  AuthOptions auth_options;
  auth_options.request_rate.requests_per_s = config->limits.requests_per_second;
  auth_options.request_rate.burst = config->limits.request_burst;
  auth_options.max_concurrent_password_checks = config->limits.max_concurrent_password_checks;
  auto auth = AuthService::Open((*db)->System(), auth_options);
  if (!auth) return Fail(auth.error());
  auto registry = DeviceRegistry::Open(**db, **auth, {config->devices.cert_days});
  if (!registry) return Fail(registry.error());
  ServerMetrics metrics;
  auto listener = ClientListener::Start(*config, **db, **auth, &metrics, registry->get());
  if (!listener) return Fail(listener.error());
  Log(Level::kInfo, "serving the native protocol (TLS 1.3) on %s:%u",
      config->client.address.c_str(), unsigned((*listener)->port()));
  std::unique_ptr<ClientListener> devices, mqtt;
  if (config->devices.enabled) {
    auto d = ClientListener::StartDevices(*config, **db, **auth, **registry, false, &metrics);
    if (!d) return Fail(d.error());
    devices = std::move(*d);
    Log(Level::kInfo, "serving devices (TLS 1.3, client certificates) on %s:%u",
        config->devices.address.c_str(), unsigned(devices->port()));
    if (config->devices.mqtt) {
      auto m = ClientListener::StartDevices(*config, **db, **auth, **registry, true, &metrics);
      if (!m) return Fail(m.error());
      mqtt = std::move(*m);
      Log(Level::kInfo, "serving MQTT 3.1.1 to devices (TLS 1.3, client certificates) on %s:%u",
          config->devices.address.c_str(), unsigned(mqtt->port()));
    }
  }

  std::unique_ptr<rest::RestListener> rest_listener;
  if (config->rest.enabled) {
    auto r = rest::RestListener::Start(*config, **db, **auth, &metrics);
    if (!r) return Fail(r.error());
    rest_listener = std::move(*r);
    Log(Level::kInfo, "serving the REST API and InfluxDB writes (HTTPS, TLS 1.3) on %s:%u",
        config->rest.address.c_str(), unsigned(rest_listener->port()));
  }

  std::unique_ptr<BackupScheduler> scheduler;
  std::unique_ptr<BackupThread> backups;
  if (!config->backup.dir.empty()) {
    BackupScheduleOptions b;
    b.backup_dir = config->backup.dir;
    b.time_of_day_s = config->backup.time_of_day_s;
    b.retention = {config->backup.keep_days, config->backup.keep_daily, config->backup.keep_weekly,
                   config->backup.keep_monthly};
    // Verifying decrypts a restored copy, which needs the master key: with a key file the
    // scheduler reads it; a passphrase is not kept around for it (checksums are still checked
    // by `sensordb backup verify`, run by an operator with the passphrase).
    b.verify = config->backup.verify && !passphrase;
    b.key.key_file = config->key_file;
    if (config->backup.verify && passphrase) {
      Log(Level::kWarn, "backup: with a passphrase the daily backup is not verified by the server");
    }
    auto created = BackupScheduler::Create(**db, Clock::System(), std::move(b));
    if (!created) return Fail(created.error());
    scheduler = std::move(*created);
    backups = std::make_unique<BackupThread>(*scheduler, **auth);
    Log(Level::kInfo, "daily backup to %s at %02d:%02d UTC", config->backup.dir.c_str(),
        config->backup.time_of_day_s / 3600, config->backup.time_of_day_s / 60 % 60);
  } else {
    Log(Level::kWarn, "no [backup] dir configured: no scheduled backups");
  }

  ScanCache scans(**db, **registry);
  std::unique_ptr<MetricsListener> metrics_listener;
  if (config->metrics.enabled) {
    ClientListener& client = **listener;
    AuthService& a = **auth;
    BackupScheduler* sched = scheduler.get();
    ClientListener* devices_ptr = devices.get();
    ClientListener* mqtt_ptr = mqtt.get();
    auto m = MetricsListener::Start(
        config->metrics, a, metrics,
        [&client, &a, sched, &scans, started, devices_ptr, mqtt_ptr] {
          ListenerCounters lc = client.Counters();
          for (ClientListener* l : {devices_ptr, mqtt_ptr}) {
            if (l == nullptr) continue;
            const ListenerCounters d = l->Counters();
            lc.accepted += d.accepted;
            lc.active += d.active;
            lc.refused_total_cap += d.refused_total_cap;
            lc.refused_address_cap += d.refused_address_cap;
            lc.refused_preauth_cap += d.refused_preauth_cap;
            lc.refused_preauth_address_cap += d.refused_preauth_address_cap;
            lc.evicted_preauth += d.evicted_preauth;
            lc.accept_backoffs += d.accept_backoffs;
            lc.preauth_active += d.preauth_active;
          }
          const AuthCounters ac = a.Counters();
          std::optional<DBStats> stats;
          std::optional<KeyStatusReport> keys;
          std::vector<RolloutStatus> rollouts;
          scans.Get(stats, keys, rollouts);
          ServerMetrics::Sources src;
          src.listener = &lc;
          src.auth = &ac;
          if (sched != nullptr) src.backup = sched->status();
          src.keys = keys ? &*keys : nullptr;
          src.db = stats ? &*stats : nullptr;
          src.rollouts = &rollouts;
          src.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                             .count();
          return client.metrics().Render(src);  // the server's one ServerMetrics
        });
    if (!m) return Fail(m.error());
    metrics_listener = std::move(*m);
    Log(Level::kInfo, "metrics (Prometheus, bearer token) on http://%s:%u/metrics",
        config->metrics.address.c_str(), unsigned(metrics_listener->port()));
  }
  // For tests and scripts that start on ephemeral ports: one parseable line.
  std::printf(
      "ready client_port=%u metrics_port=%u device_port=%u mqtt_port=%u rest_port=%u "
      "durability=%s backups=%s\n",
      unsigned((*listener)->port()), metrics_listener ? unsigned(metrics_listener->port()) : 0u,
      devices ? unsigned(devices->port()) : 0u, mqtt ? unsigned(mqtt->port()) : 0u,
      rest_listener ? unsigned(rest_listener->port()) : 0u, config->durability.c_str(),
      config->backup.dir.empty() ? "off" : "on");
  std::fflush(stdout);

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      Status s = (*listener)->ReloadCertificates();
      for (ClientListener* l : {devices.get(), mqtt.get()}) {
        if (s.ok() && l != nullptr) s = l->ReloadCertificates();
      }
      if (s.ok() && rest_listener) s = rest_listener->ReloadCertificates();
      if (s.ok()) {
        Log(Level::kInfo, "SIGHUP: reloaded %s; new connections use it",
            config->tls.cert_file.c_str());
      } else {
        Log(Level::kError, "SIGHUP: kept the old certificate: %s", s.ToString().c_str());
      }
      continue;
    }
    Log(Level::kInfo, "%s: stopping (finishing requests in flight)",
        sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  if (metrics_listener) metrics_listener->Stop();
  if (rest_listener) rest_listener->Stop();
  backups.reset();  // waits for a backup in progress
  for (ClientListener* l : {devices.get(), mqtt.get(), listener->get()}) {
    if (l != nullptr) l->Stop();
  }
  devices.reset();
  mqtt.reset();
  rest_listener.reset();
  listener->reset();
  registry->reset();
  scheduler.reset();
  auth->reset();
  db->reset();  // closes the database
  Log(Level::kInfo, "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view cmd = argc > 1 ? argv[1] : "";
  if (cmd == "init" && argc >= 3) {
    InitOptions options;
    bool ok = true;
    for (int i = 3; i < argc && ok; ++i) {
      const std::string_view arg = argv[i];
      if (arg == "--ephemeral-ports") {
        options.ephemeral_ports = true;
      } else if (arg == "--set" && i + 1 < argc) {
        options.settings.emplace_back(argv[++i]);
      } else if (arg == "--port" && i + 1 < argc) {
        const long port = std::strtol(argv[++i], nullptr, 10);
        if (port < 1 || port > 65535) {
          std::fprintf(stderr, "sensordbd: --port must be in [1, 65535]\n");
          return 2;
        }
        options.port = static_cast<uint16_t>(port);
      } else {
        ok = false;
      }
    }
    if (ok) return Init(argv[2], options);
  }
  if (cmd == "--config" && argc == 3) return Run(argv[2]);
  if (cmd == "--config" && argc == 4 && std::string_view(argv[3]) == "--print-config") {
    auto config = LoadConfig(argv[2]);
    if (!config) return Fail(config.error());
    std::fputs(RenderConfig(*config).c_str(), stdout);
    return 0;
  }
  std::fputs(argc == 1 ? "sensordbd: no configuration given (--config FILE); create one with "
                         "`sensordbd init DIR`\n"
                       : "sensordbd: bad arguments\n",
             stderr);
  std::fputs(kUsage, stderr);
  return 2;
}
