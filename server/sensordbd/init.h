// `sensordbd init DIR`: everything a first run needs, in DIR — the config file, a master key,
// a development CA with a server certificate for localhost, the data directory and the
// bootstrap superuser's token, and a `metrics` service account with its token for scrapes. Refuses to touch a DIR that already holds a config.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth_options.h"
#include "config/server_config.h"
#include "sensordb/status.h"

namespace sensordb::server {

struct InitOptions {
  uint16_t port = 7070;
  uint16_t metrics_port = 9470;
  // Every listener (client, metrics, devices, MQTT, REST) on port 0: the kernel picks free
  // ports and the `ready` line says which. For tests and benchmarks that run side by side.
  bool ephemeral_ports = false;
  // "KEY=VALUE" settings of the config (ApplySettings), applied before anything is made; the
  // files init makes (data_dir, key_file, passphrase_*, tls.*) cannot be set this way.
  std::vector<std::string> settings;
  AuthOptions auth;  // tests lower the password costs
};

struct InitReport {
  std::string config_file;
  std::string token_file;
  std::string metrics_token_file;
  std::vector<std::string> made;  // "what: path" lines, for the operator; never a secret
};

Result<InitReport> InitServerDir(std::string_view dir, const InitOptions& options = {});

}  // namespace sensordb::server
