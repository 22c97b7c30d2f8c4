// ServerConfig: what sensordbd reads from its TOML file (docs/SERVER.md), and the checks that
// make it refuse to start with a message naming the key or file at fault. Plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/status.h"

namespace sensordb::server {

struct ListenerConfig {
  std::string address = "127.0.0.1";
  uint16_t port = 7070;  // 0: an ephemeral port (tests)
};

struct TlsConfig {
  std::string cert_file;  // PEM chain, server certificate first
  std::string key_file;   // PEM private key, mode 0600
  std::string ca_file;    // the development CA (for clients; informational to the server)
};

struct LimitsConfig {
  uint32_t max_connections = 1024;
  uint32_t max_connections_per_address = 64;
  // Of those, connections not yet authenticated (per listener, and per peer address): idle
  // unauthenticated peers never hold more, so authenticated sessions keep their slots.
  uint32_t max_preauth_connections = 256;
  uint32_t max_preauth_per_address = 16;
  uint32_t max_frame_bytes = 16 * 1024 * 1024;
  uint32_t max_write_points = 1024 * 1024;
  uint32_t handshake_timeout_ms = 10'000;  // TLS handshake plus Hello and Auth
  uint32_t idle_timeout_ms = 300'000;
  // A streamed reply (a large query) waits this long for a client that stops reading, holding
  // a worker thread, before the connection is closed.
  uint32_t send_timeout_ms = 30'000;
  // Per principal (token bucket): requests per second and the burst above it.
  uint32_t requests_per_second = 1000;
  uint32_t request_burst = 2000;
  // Series quotas of the engine (sensordb::SeriesQuota; 0: no bound): a batch that would create
  // series beyond one is refused whole.
  uint32_t max_series_per_project = 1'000'000;
  uint32_t max_series_per_device = 10'000;
  uint32_t max_new_series_per_device_per_minute = 1'000;
  // Bounds on device labels (sensordb::LabelLimits, docs/LABELS.md).
  uint32_t max_label_keys_per_project = 64;
  uint32_t max_label_values_per_key = 100'000;
  uint32_t max_label_keys_per_device = 32;
  uint32_t max_label_changes_per_device = 10'000;
  // Buckets one aggregate query may hold (Options::max_aggregate_buckets; 0: no bound).
  uint32_t max_aggregate_buckets = 1'000'000;
  // Password logins checked at once (AuthOptions::max_concurrent_password_checks).
  uint32_t max_concurrent_password_checks = 2;
};

// The metrics listener: Prometheus text over plain HTTP, so loopback addresses only. Every
// scrape needs `Authorization: Bearer <token>` of a superuser or of an account in `accounts`.
struct MetricsConfig {
  bool enabled = true;
  std::string address = "127.0.0.1";
  uint16_t port = 9470;  // 0: ephemeral (tests)
  std::vector<std::string> accounts = {"metrics"};
};

// The device listeners (docs/DEVICES.md): TLS 1.3 with a client certificate from a project's
// device CA; the native device stream on `port`, MQTT 3.1.1 on `mqtt_port` (0: ephemeral).
struct DevicesConfig {
  bool enabled = true;
  std::string address = "127.0.0.1";  // dataloggers on a network need 0.0.0.0 or an interface
  uint16_t port = 7071;
  bool mqtt = true;
  uint16_t mqtt_port = 8883;
  uint32_t max_sessions_per_device = 2;
  uint32_t points_per_second = 100'000;  // per device (token bucket)
  uint32_t points_burst = 1'000'000;
  uint32_t cert_days = 365;              // lifetime of a certificate issued at enrolment
  // Firmware reads on the device stream, per device (token bucket; burst: one second's worth,
  // at least one 64 KiB read).
  uint32_t firmware_bytes_per_second = 1024 * 1024;
};

// The REST API over HTTPS (docs/REST.md): JSON under /api/v1/ and InfluxDB-compatible writes.
struct RestConfig {
  bool enabled = true;
  std::string address = "127.0.0.1";
  uint16_t port = 8086;  // InfluxDB's; 0: ephemeral
  uint32_t max_body_bytes = 32 * 1024 * 1024;  // also after gzip decompression
  uint32_t header_limit_bytes = 16 * 1024;
  uint32_t timeout_ms = 30'000;  // to receive one request's headers and body
};

// How the engine keeps its head (engine/docs/format/head_record.md, "Checkpoints"): sensordb's
// Options::head_zstd_level, head_checkpoint_bytes (in MiB here; 0: never for size),
// head_idle_checkpoint_s (0: never when idle), head_memory_bytes (in MiB; 0: no bound) and
// short_block_interval_s (0: short blocks are merged and grouped only by `compact`).
struct StorageConfig {
  uint32_t head_zstd_level = 1;
  uint32_t head_checkpoint_mib = 256;
  uint32_t head_idle_checkpoint_s = 10;
  uint32_t head_memory_mib = 256;
  uint32_t short_block_interval_s = 3600;
};

// The daily backup (docs/BACKUP.md); off while `dir` is empty.
struct BackupConfig {
  std::string dir;
  int32_t time_of_day_s = 2 * 3600;  // "HH:MM" UTC in the file
  uint32_t keep_days = 35;
  uint32_t keep_daily = 0;
  uint32_t keep_weekly = 0;
  uint32_t keep_monthly = 0;
  bool verify = true;
};

struct ServerConfig {
  std::string data_dir;
  // The master key: exactly one of a key file, a file holding a passphrase, or the name of an
  // environment variable holding one (docs/SERVER.md "Master key").
  std::string key_file;
  std::string passphrase_file;
  std::string passphrase_env;
  ListenerConfig client;
  TlsConfig tls;
  LimitsConfig limits;
  MetricsConfig metrics;
  DevicesConfig devices;
  RestConfig rest;
  StorageConfig storage;
  BackupConfig backup;
  std::string log_level = "info";  // error, warn, info, debug
  // "sync": a write is acknowledged once it is on disk (fsync); "async": once the OS has it
  // (survives a crash of sensordbd, not of the machine).
  std::string durability = "sync";
  uint32_t io_threads = 0;         // 0: one per core
  uint32_t worker_threads = 0;     // requests; 0: twice the cores, at least 4
};

// Parses `path`. Relative paths in the file are taken relative to the file's directory.
// Errors name the file, the line (for syntax errors) and the key.
Result<ServerConfig> LoadConfig(std::string_view path);

// Applies `settings`, each "KEY=VALUE" with KEY as in the file (dotted: limits.max_connections)
// and VALUE a TOML value (a bare word is taken as a string: durability=async, backup.dir=),
// onto `config`, with the file's checks; on any error `config` is unchanged and the message
// names every bad setting. For `sensordbd init --set`.
Status ApplySettings(ServerConfig& config, const std::vector<std::string>& settings);

// Checks what a start needs: the data directory's parent, the key file, the TLS files exist and
// the key files are not group- or world-readable. The message lists every problem found.
Status CheckStartable(const ServerConfig& config);

// The passphrase the config names (from its file, or its environment variable), or an error
// saying what is missing; empty when the config uses a key file.
Result<std::string> ReadPassphrase(const ServerConfig& config);

// The TOML text of `config` (with comments), as `sensordbd init` writes it.
std::string RenderConfig(const ServerConfig& config);

}  // namespace sensordb::server
