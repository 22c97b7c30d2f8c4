// ServerConfig: what sensordbd reads from its TOML file (docs/SERVER.md), and the checks that
// make it refuse to start with a message naming the key or file at fault. Plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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
  uint32_t max_frame_bytes = 16 * 1024 * 1024;
  uint32_t max_write_points = 1024 * 1024;
  uint32_t handshake_timeout_ms = 10'000;  // TLS handshake plus Hello and Auth
  uint32_t idle_timeout_ms = 300'000;
};

struct ServerConfig {
  std::string data_dir;
  std::string key_file;
  ListenerConfig client;
  TlsConfig tls;
  LimitsConfig limits;
  std::string log_level = "info";  // error, warn, info, debug
  uint32_t io_threads = 0;         // 0: one per core
};

// Parses `path`. Relative paths in the file are taken relative to the file's directory.
// Errors name the file, the line (for syntax errors) and the key.
Result<ServerConfig> LoadConfig(std::string_view path);

// Checks what a start needs: the data directory's parent, the key file, the TLS files exist and
// the key files are not group- or world-readable. The message lists every problem found.
Status CheckStartable(const ServerConfig& config);

// The TOML text of `config` (with comments), as `sensordbd init` writes it.
std::string RenderConfig(const ServerConfig& config);

}  // namespace sensordb::server
