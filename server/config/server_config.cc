// toml++ is wrapped here only: its exceptions stop at LoadConfig and ApplySettings.
#include "config/server_config.h"

#include <algorithm>
#include <sys/stat.h>

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <toml++/toml.h>

namespace sensordb::server {
namespace {

namespace fs = std::filesystem;

// Reads typed keys of one table, collecting every problem instead of stopping at the first.
class Reader {
 public:
  Reader(std::string file, std::string& errors) : file_(std::move(file)), errors_(errors) {}

  void String(const toml::table& t, std::string_view prefix, std::string_view key,
              std::string& out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return;
    if (auto v = n->value<std::string>()) {
      out = *v;
    } else {
      Problem(*n, prefix, key, "must be a string");
    }
  }

  template <typename Int>
  void Integer(const toml::table& t, std::string_view prefix, std::string_view key, Int& out,
               int64_t min, int64_t max) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return;
    auto v = n->value<int64_t>();
    if (!v || !n->is_integer()) {
      Problem(*n, prefix, key, "must be an integer");
    } else if (*v < min || *v > max) {
      Problem(*n, prefix, key,
              "is " + std::to_string(*v) + ", must be in [" + std::to_string(min) + ", " +
                  std::to_string(max) + "]");
    } else {
      out = static_cast<Int>(*v);
    }
  }

  void Bool(const toml::table& t, std::string_view prefix, std::string_view key, bool& out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return;
    if (auto v = n->value<bool>(); v && n->is_boolean()) {
      out = *v;
    } else {
      Problem(*n, prefix, key, "must be true or false");
    }
  }

  void Strings(const toml::table& t, std::string_view prefix, std::string_view key,
               std::vector<std::string>& out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return;
    const toml::array* a = n->as_array();
    std::vector<std::string> values;
    bool ok = a != nullptr;
    if (ok) {
      for (const toml::node& e : *a) {
        auto v = e.value<std::string>();
        if (!v || !e.is_string()) {
          ok = false;
          break;
        }
        values.push_back(*v);
      }
    }
    if (ok) {
      out = std::move(values);
    } else {
      Problem(*n, prefix, key, "must be an array of strings");
    }
  }

  // "HH:MM" as seconds after midnight.
  void TimeOfDay(const toml::table& t, std::string_view prefix, std::string_view key,
                 int32_t& out) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return;
    auto v = n->value<std::string>();
    int h = -1, m = -1;
    char extra = 0;
    if (v && std::sscanf(v->c_str(), "%2d:%2d%c", &h, &m, &extra) == 2 && h >= 0 && h < 24 &&
        m >= 0 && m < 60) {
      out = h * 3600 + m * 60;
    } else {
      Problem(*n, prefix, key, "must be a time of day \"HH:MM\" (UTC)");
    }
  }

  void Known(const toml::table& t, std::string_view prefix,
             std::initializer_list<std::string_view> keys) {
    const std::set<std::string_view> known(keys);
    for (const auto& [k, node] : t) {
      if (!known.contains(k.str())) Problem(node, prefix, k.str(), "is not a known key");
    }
  }

  void Problem(const toml::node& n, std::string_view prefix, std::string_view key,
               std::string_view what) {
    errors_ += "\n  " + file_ + ":" + std::to_string(n.source().begin.line) + ": " +
               std::string(prefix) + std::string(key) + " " + std::string(what);
  }

 private:
  std::string file_;
  std::string& errors_;
};

std::string Resolve(const fs::path& base, const std::string& p) {
  if (p.empty()) return p;
  const fs::path path(p);
  return path.is_absolute() ? p : (base / path).lexically_normal().string();
}

void CheckFile(std::string_view what, const std::string& path, bool secret, std::string& out) {
  if (path.empty()) {
    out += "\n  " + std::string(what) + " is not set";
    return;
  }
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) {
    out += "\n  " + std::string(what) + " " + path + " does not exist";
  } else if (!S_ISREG(st.st_mode)) {
    out += "\n  " + std::string(what) + " " + path + " is not a regular file";
  } else if (secret && (st.st_mode & 077) != 0) {
    out += "\n  " + std::string(what) + " " + path +
           " is readable by group or others (chmod 600 it)";
  }
}

// True for an IPv4 address in 127.0.0.0/8 or the IPv6 loopback.
bool IsLoopback(const std::string& address) {
  in_addr v4{};
  if (::inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, address.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

// Reads `root` onto `c` (keys absent from it keep c's values) and checks the result; every
// problem is appended to `errors`, each naming `file`.
void ReadConfig(const toml::table& root, const std::string& file, ServerConfig& c,
                std::string& errors) {
  Reader r(file, errors);
  r.Known(root, "", {"data_dir", "key_file", "passphrase_file", "passphrase_env", "log_level", "durability",
                     "io_threads", "worker_threads", "client", "tls", "limits", "metrics",
                     "devices", "rest", "storage", "backup"});
  r.String(root, "", "data_dir", c.data_dir);
  r.String(root, "", "key_file", c.key_file);
  r.String(root, "", "passphrase_file", c.passphrase_file);
  r.String(root, "", "passphrase_env", c.passphrase_env);
  r.String(root, "", "log_level", c.log_level);
  r.String(root, "", "durability", c.durability);
  r.Integer(root, "", "io_threads", c.io_threads, 0, 256);
  r.Integer(root, "", "worker_threads", c.worker_threads, 0, 1024);
  if (const toml::table* t = root["metrics"].as_table()) {
    r.Known(*t, "metrics.", {"enabled", "address", "port", "accounts"});
    r.Bool(*t, "metrics.", "enabled", c.metrics.enabled);
    r.String(*t, "metrics.", "address", c.metrics.address);
    r.Integer(*t, "metrics.", "port", c.metrics.port, 0, 65535);
    r.Strings(*t, "metrics.", "accounts", c.metrics.accounts);
  }
  if (const toml::table* t = root["devices"].as_table()) {
    DevicesConfig& d = c.devices;
    r.Known(*t, "devices.",
            {"enabled", "address", "port", "mqtt", "mqtt_port", "max_sessions_per_device",
             "points_per_second", "points_burst", "cert_days", "firmware_bytes_per_second"});
    r.Bool(*t, "devices.", "enabled", d.enabled);
    r.String(*t, "devices.", "address", d.address);
    r.Integer(*t, "devices.", "port", d.port, 0, 65535);
    r.Bool(*t, "devices.", "mqtt", d.mqtt);
    r.Integer(*t, "devices.", "mqtt_port", d.mqtt_port, 0, 65535);
    r.Integer(*t, "devices.", "max_sessions_per_device", d.max_sessions_per_device, 1, 1000);
    r.Integer(*t, "devices.", "points_per_second", d.points_per_second, 1, 1'000'000'000);
    r.Integer(*t, "devices.", "points_burst", d.points_burst, 1, 1'000'000'000);
    r.Integer(*t, "devices.", "cert_days", d.cert_days, 1, 3650);
    r.Integer(*t, "devices.", "firmware_bytes_per_second", d.firmware_bytes_per_second, 64 * 1024,
              1024 * 1024 * 1024);
  }
  if (const toml::table* t = root["rest"].as_table()) {
    RestConfig& w = c.rest;
    r.Known(*t, "rest.", {"enabled", "address", "port", "max_body_bytes", "header_limit_bytes",
                          "timeout_ms"});
    r.Bool(*t, "rest.", "enabled", w.enabled);
    r.String(*t, "rest.", "address", w.address);
    r.Integer(*t, "rest.", "port", w.port, 0, 65535);
    r.Integer(*t, "rest.", "max_body_bytes", w.max_body_bytes, 1024, 1 << 30);
    r.Integer(*t, "rest.", "header_limit_bytes", w.header_limit_bytes, 1024, 1 << 20);
    r.Integer(*t, "rest.", "timeout_ms", w.timeout_ms, 100, 3'600'000);
  }
  if (const toml::table* t = root["storage"].as_table()) {
    StorageConfig& s = c.storage;
    r.Known(*t, "storage.",
            {"head_zstd_level", "head_checkpoint_mib", "head_idle_checkpoint_s", "head_memory_mib",
             "short_block_interval_s"});
    r.Integer(*t, "storage.", "head_zstd_level", s.head_zstd_level, 0, 19);
    r.Integer(*t, "storage.", "head_checkpoint_mib", s.head_checkpoint_mib, 0, 1 << 20);
    r.Integer(*t, "storage.", "head_idle_checkpoint_s", s.head_idle_checkpoint_s, 0, 86'400);
    r.Integer(*t, "storage.", "head_memory_mib", s.head_memory_mib, 0, 1 << 20);
    r.Integer(*t, "storage.", "short_block_interval_s", s.short_block_interval_s, 0, 604'800);
  }
  if (const toml::table* t = root["backup"].as_table()) {
    BackupConfig& b = c.backup;
    r.Known(*t, "backup.", {"dir", "time_of_day", "keep_days", "keep_daily", "keep_weekly",
                            "keep_monthly", "verify"});
    r.String(*t, "backup.", "dir", b.dir);
    r.TimeOfDay(*t, "backup.", "time_of_day", b.time_of_day_s);
    r.Integer(*t, "backup.", "keep_days", b.keep_days, 0, 100'000);
    r.Integer(*t, "backup.", "keep_daily", b.keep_daily, 0, 100'000);
    r.Integer(*t, "backup.", "keep_weekly", b.keep_weekly, 0, 100'000);
    r.Integer(*t, "backup.", "keep_monthly", b.keep_monthly, 0, 100'000);
    r.Bool(*t, "backup.", "verify", b.verify);
    if (!b.dir.empty() && b.keep_days == 0 && b.keep_daily == 0 && b.keep_weekly == 0 &&
        b.keep_monthly == 0) {
      errors += "\n  " + file + ": [backup] keeps nothing: set keep_days or keep_daily/weekly/monthly";
    }
  }
  if (const toml::table* t = root["client"].as_table()) {
    r.Known(*t, "client.", {"address", "port"});
    r.String(*t, "client.", "address", c.client.address);
    r.Integer(*t, "client.", "port", c.client.port, 0, 65535);
  }
  if (const toml::table* t = root["tls"].as_table()) {
    r.Known(*t, "tls.", {"cert_file", "key_file", "ca_file"});
    r.String(*t, "tls.", "cert_file", c.tls.cert_file);
    r.String(*t, "tls.", "key_file", c.tls.key_file);
    r.String(*t, "tls.", "ca_file", c.tls.ca_file);
  }
  if (const toml::table* t = root["limits"].as_table()) {
    LimitsConfig& l = c.limits;
    constexpr int64_t kU32 = std::numeric_limits<uint32_t>::max();
    r.Known(*t, "limits.",
            {"max_connections",
             "max_connections_per_address",
             "max_preauth_connections",
             "max_preauth_per_address",
             "max_frame_bytes",
             "max_write_points",
             "handshake_timeout_ms",
             "idle_timeout_ms",
             "requests_per_second",
             "request_burst",
             "send_timeout_ms",
             "max_series_per_project",
             "max_series_per_device",
             "max_new_series_per_device_per_minute",
             "max_concurrent_password_checks",
             "max_aggregate_buckets",
             "max_label_keys_per_project",
             "max_label_values_per_key",
             "max_label_keys_per_device",
             "max_label_changes_per_device"});
    r.Integer(*t, "limits.", "max_connections", l.max_connections, 1, 1'000'000);
    r.Integer(*t, "limits.", "max_connections_per_address", l.max_connections_per_address, 1,
              1'000'000);
    r.Integer(*t, "limits.", "max_preauth_connections", l.max_preauth_connections, 1, 1'000'000);
    r.Integer(*t, "limits.", "max_preauth_per_address", l.max_preauth_per_address, 1, 1'000'000);
    r.Integer(*t, "limits.", "max_frame_bytes", l.max_frame_bytes, 64 * 1024, 1 << 30);
    r.Integer(*t, "limits.", "max_write_points", l.max_write_points, 1, kU32);
    r.Integer(*t, "limits.", "handshake_timeout_ms", l.handshake_timeout_ms, 100, 3'600'000);
    r.Integer(*t, "limits.", "idle_timeout_ms", l.idle_timeout_ms, 100, 86'400'000);
    r.Integer(*t, "limits.", "send_timeout_ms", l.send_timeout_ms, 100, 3'600'000);
    r.Integer(*t, "limits.", "requests_per_second", l.requests_per_second, 1, 10'000'000);
    r.Integer(*t, "limits.", "request_burst", l.request_burst, 1, 10'000'000);
    r.Integer(*t, "limits.", "max_series_per_project", l.max_series_per_project, 0, kU32);
    r.Integer(*t, "limits.", "max_series_per_device", l.max_series_per_device, 0, kU32);
    r.Integer(*t, "limits.", "max_new_series_per_device_per_minute",
              l.max_new_series_per_device_per_minute, 0, kU32);
    r.Integer(*t, "limits.", "max_concurrent_password_checks", l.max_concurrent_password_checks, 1,
              1024);
    r.Integer(*t, "limits.", "max_aggregate_buckets", l.max_aggregate_buckets, 0, kU32);
    r.Integer(*t, "limits.", "max_label_keys_per_project", l.max_label_keys_per_project, 1, 4096);
    r.Integer(*t, "limits.", "max_label_values_per_key", l.max_label_values_per_key, 1, 10'000'000);
    r.Integer(*t, "limits.", "max_label_keys_per_device", l.max_label_keys_per_device, 1, 4096);
    r.Integer(*t, "limits.", "max_label_changes_per_device", l.max_label_changes_per_device, 1,
              10'000'000);
  }
  if (c.log_level != "error" && c.log_level != "warn" && c.log_level != "info" &&
      c.log_level != "debug") {
    errors += "\n  " + file + ": log_level '" + c.log_level +
              "' must be one of error, warn, info, debug";
  }
  if (c.durability != "sync" && c.durability != "async") {
    errors += "\n  " + file + ": durability '" + c.durability + "' must be sync or async";
  }
  if (c.data_dir.empty()) errors += "\n  " + file + ": data_dir is missing";
  const int key_sources = int(!c.key_file.empty()) + int(!c.passphrase_file.empty()) +
                          int(!c.passphrase_env.empty());
  if (key_sources != 1) {
    errors += "\n  " + file + ": set exactly one of key_file, passphrase_file, passphrase_env (" +
              std::to_string(key_sources) + " set)";
  }
  if (c.metrics.enabled) {
    if (!IsLoopback(c.metrics.address)) {
      errors += "\n  " + file + ": metrics.address '" + c.metrics.address +
                "' must be a loopback address (127.0.0.0/8 or ::1): the metrics listener "
                "speaks plain HTTP";
    }
  }
  if (c.tls.cert_file.empty()) errors += "\n  " + file + ": tls.cert_file is missing";
  if (c.tls.key_file.empty()) errors += "\n  " + file + ": tls.key_file is missing";
}

}  // namespace

Result<ServerConfig> LoadConfig(std::string_view path) {
  const std::string file(path);
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    return Err(Status::NotFound("config file " + file +
                                " does not exist (create one with `sensordbd init DIR`)"));
  }
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    return Err(Status::InvalidArgument(
        "config file " + file + ":" + std::to_string(e.source().begin.line) + ":" +
        std::to_string(e.source().begin.column) + ": " + std::string(e.description())));
  } catch (const std::exception& e) {
    return Err(Status::IOError("cannot read config file " + file + ": " + e.what()));
  }

  ServerConfig c;
  std::string errors;
  ReadConfig(root, file, c, errors);
  if (!errors.empty()) return Err(Status::InvalidArgument("bad config file:" + errors));

  const fs::path base = fs::absolute(fs::path(file), ec).parent_path();
  c.data_dir = Resolve(base, c.data_dir);
  c.key_file = Resolve(base, c.key_file);
  c.passphrase_file = Resolve(base, c.passphrase_file);
  c.backup.dir = Resolve(base, c.backup.dir);
  c.tls.cert_file = Resolve(base, c.tls.cert_file);
  c.tls.key_file = Resolve(base, c.tls.key_file);
  c.tls.ca_file = Resolve(base, c.tls.ca_file);
  return c;
}

Status ApplySettings(ServerConfig& config, const std::vector<std::string>& settings) {
  std::string text;
  for (const std::string& setting : settings) {
    const size_t eq = setting.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("--set '" + setting + "': expected KEY=VALUE, e.g. "
                                     "limits.max_connections=4096 or durability=async");
    }
    const std::string key = setting.substr(0, eq), value = setting.substr(eq + 1);
    // One key = one value: a key of [a-z0-9_.] only and a value without a line break, so that
    // a setting can never smuggle in another key.
    const bool key_ok = std::all_of(key.begin(), key.end(), [](char ch) {
      return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.';
    });
    if (!key_ok || value.find_first_of("\r\n") != std::string::npos) {
      return Status::InvalidArgument("--set '" + setting +
                                     "': a key is [a-z0-9_.] (e.g. limits.max_connections) and "
                                     "a value is one line");
    }
    // A TOML value as written (numbers, true/false, "quoted"); anything else is a string.
    std::string line = key + " = " + value + "\n";
    try {
      (void)toml::parse(line);
    } catch (const toml::parse_error&) {
      std::string quoted = "\"";
      for (char ch : value) {
        if (ch == '"' || ch == '\\') quoted += '\\';
        quoted += ch;
      }
      line = key + " = " + quoted + "\"\n";
    }
    text += line;
  }
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument("--set: " + std::string(e.description()) + " (line " +
                                   std::to_string(e.source().begin.line) + ")");
  }
  ServerConfig c = config;
  std::string errors;
  ReadConfig(root, "--set", c, errors);
  if (!errors.empty()) return Status::InvalidArgument("bad --set:" + errors);
  config = std::move(c);
  return Status::Ok();
}

Status CheckStartable(const ServerConfig& config) {
  std::string out;
  if (!config.key_file.empty()) CheckFile("key_file", config.key_file, /*secret=*/true, out);
  if (!config.passphrase_file.empty()) {
    CheckFile("passphrase_file", config.passphrase_file, /*secret=*/true, out);
  }
  if (!config.passphrase_env.empty() && std::getenv(config.passphrase_env.c_str()) == nullptr) {
    out += "\n  passphrase_env names " + config.passphrase_env + ", which is not set";
  }
  CheckFile("tls.cert_file", config.tls.cert_file, /*secret=*/false, out);
  CheckFile("tls.key_file", config.tls.key_file, /*secret=*/true, out);
  std::error_code ec;
  if (!fs::is_directory(config.data_dir, ec)) {
    out += "\n  data_dir " + config.data_dir +
           " does not exist (sensordbd init creates it; it is never created implicitly)";
  }
  if (!out.empty()) return Status::FailedPrecondition("cannot start:" + out);
  return Status::Ok();
}

Result<std::string> ReadPassphrase(const ServerConfig& config) {
  std::string phrase;
  if (!config.passphrase_file.empty()) {
    std::ifstream in(config.passphrase_file, std::ios::binary);
    if (!in) return Err(Status::IOError("cannot read passphrase_file " + config.passphrase_file));
    std::getline(in, phrase);  // the first line; a trailing newline is not part of it
    if (!phrase.empty() && phrase.back() == '\r') phrase.pop_back();
    if (phrase.empty()) {
      return Err(Status::InvalidArgument("passphrase_file " + config.passphrase_file +
                                         " has an empty first line"));
    }
  } else if (!config.passphrase_env.empty()) {
    const char* v = std::getenv(config.passphrase_env.c_str());
    if (v == nullptr || *v == 0) {
      return Err(Status::InvalidArgument("environment variable " + config.passphrase_env +
                                         " (passphrase_env) is not set or empty"));
    }
    phrase = v;
  }
  return phrase;
}

std::string RenderConfig(const ServerConfig& c) {
  std::ostringstream o;
  const auto q = [](const std::string& s) { return toml::value<std::string>(s); };
  o << "# sensordbd configuration (docs/SERVER.md). Relative paths are relative to this file.\n"
    << "data_dir = " << q(c.data_dir) << "\n"
    << "key_file = " << q(c.key_file) << "   # master key, 32 bytes, mode 0600\n";
  // The other two master-key sources (exactly one of the three is set).
  if (!c.passphrase_file.empty()) o << "passphrase_file = " << q(c.passphrase_file) << "\n";
  if (!c.passphrase_env.empty()) o << "passphrase_env = " << q(c.passphrase_env) << "\n";
  o << "log_level = " << q(c.log_level) << "   # error, warn, info, debug\n"
    << "durability = " << q(c.durability) << "   # sync: acknowledged writes are on disk\n"
    << "io_threads = " << c.io_threads << "   # 0: one per core\n"
    << "worker_threads = " << c.worker_threads
    << "   # requests; 0: twice the cores, at least 4\n\n"
    << "[client]   # the native protocol listener (TLS 1.3 only)\n"
    << "address = " << q(c.client.address) << "\n"
    << "port = " << c.client.port << "\n\n"
    << "[tls]\n"
    << "cert_file = " << q(c.tls.cert_file) << "\n"
    << "key_file = " << q(c.tls.key_file) << "\n"
    << "ca_file = " << q(c.tls.ca_file) << "   # the development CA clients verify against\n\n"
    << "[limits]\n"
    << "max_connections = " << c.limits.max_connections << "\n"
    << "max_connections_per_address = " << c.limits.max_connections_per_address << "\n"
    << "max_preauth_connections = " << c.limits.max_preauth_connections
    << "   # not yet authenticated, per listener\n"
    << "max_preauth_per_address = " << c.limits.max_preauth_per_address << "\n"
    << "max_frame_bytes = " << c.limits.max_frame_bytes << "\n"
    << "max_write_points = " << c.limits.max_write_points << "\n"
    << "handshake_timeout_ms = " << c.limits.handshake_timeout_ms << "\n"
    << "idle_timeout_ms = " << c.limits.idle_timeout_ms << "\n"
    << "send_timeout_ms = " << c.limits.send_timeout_ms
    << "   # a client that stops reading a reply\n"
    << "requests_per_second = " << c.limits.requests_per_second << "   # per account\n"
    << "request_burst = " << c.limits.request_burst << "\n"
    << "max_series_per_project = " << c.limits.max_series_per_project
    << "   # series quotas; 0: no bound\n"
    << "max_series_per_device = " << c.limits.max_series_per_device << "\n"
    << "max_new_series_per_device_per_minute = " << c.limits.max_new_series_per_device_per_minute
    << "\n"
    << "max_concurrent_password_checks = " << c.limits.max_concurrent_password_checks
    << "   # Argon2id, 64 MiB each\n"
    << "max_aggregate_buckets = " << c.limits.max_aggregate_buckets
    << "   # per aggregate query, 128 bytes each; 0: no bound\n"
    << "max_label_keys_per_project = " << c.limits.max_label_keys_per_project
    << "   # device labels (docs/LABELS.md)\n"
    << "max_label_values_per_key = " << c.limits.max_label_values_per_key << "\n"
    << "max_label_keys_per_device = " << c.limits.max_label_keys_per_device << "\n"
    << "max_label_changes_per_device = " << c.limits.max_label_changes_per_device << "\n\n"
    << "[metrics]   # Prometheus text on plain HTTP: loopback only; scrape with a Bearer token\n"
    << "enabled = " << (c.metrics.enabled ? "true" : "false") << "\n"
    << "address = " << q(c.metrics.address) << "\n"
    << "port = " << c.metrics.port << "\n"
    << "accounts = [";
  for (size_t i = 0; i < c.metrics.accounts.size(); ++i) {
    o << (i ? ", " : "") << q(c.metrics.accounts[i]);
  }
  char tod[16];
  std::snprintf(tod, sizeof tod, "%02d:%02d", c.backup.time_of_day_s / 3600,
                c.backup.time_of_day_s / 60 % 60);
  o << "]   # accounts (besides superusers) whose tokens may scrape\n\n"
    << "[devices]   # dataloggers: TLS 1.3 with their own certificates (docs/DEVICES.md)\n"
    << "enabled = " << (c.devices.enabled ? "true" : "false") << "\n"
    << "address = " << q(c.devices.address) << "   # 0.0.0.0 for devices on the network\n"
    << "port = " << c.devices.port << "   # native device stream\n"
    << "mqtt = " << (c.devices.mqtt ? "true" : "false") << "   # MQTT 3.1.1 over TLS\n"
    << "mqtt_port = " << c.devices.mqtt_port << "\n"
    << "max_sessions_per_device = " << c.devices.max_sessions_per_device << "\n"
    << "points_per_second = " << c.devices.points_per_second << "   # per device\n"
    << "points_burst = " << c.devices.points_burst << "\n"
    << "cert_days = " << c.devices.cert_days << "   # lifetime of enrolled certificates\n"
    << "firmware_bytes_per_second = " << c.devices.firmware_bytes_per_second
    << "   # firmware reads, per device\n\n"
    << "[rest]   # HTTPS: JSON API under /api/v1/ and InfluxDB writes (docs/REST.md)\n"
    << "enabled = " << (c.rest.enabled ? "true" : "false") << "\n"
    << "address = " << q(c.rest.address) << "\n"
    << "port = " << c.rest.port << "\n"
    << "max_body_bytes = " << c.rest.max_body_bytes << "\n"
    << "header_limit_bytes = " << c.rest.header_limit_bytes << "\n"
    << "timeout_ms = " << c.rest.timeout_ms << "\n\n"
    << "[storage]   # the head: write-ahead records until checkpoints seal them into blocks\n"
    << "head_zstd_level = " << c.storage.head_zstd_level << "   # 0: head records uncompressed\n"
    << "head_checkpoint_mib = " << c.storage.head_checkpoint_mib
    << "   # checkpoint after this much head; 0: never for size\n"
    << "head_idle_checkpoint_s = " << c.storage.head_idle_checkpoint_s
    << "   # checkpoint when writes pause this long; 0: never\n"
    << "head_memory_mib = " << c.storage.head_memory_mib
    << "   # seal the largest open chunks past this much memory; 0: no bound\n"
    << "short_block_interval_s = " << c.storage.short_block_interval_s
    << "   # merge and group short blocks after idle checkpoints and this often; 0: on compact\n\n"
    << "[backup]   # daily backup; remove dir to turn it off\n"
    << "dir = " << q(c.backup.dir) << "\n"
    << "time_of_day = " << q(tod) << "   # UTC\n"
    << "keep_days = " << c.backup.keep_days << "   # every backup of the last N days\n"
    << "keep_daily = " << c.backup.keep_daily
    << "   # and the last of each of N days, weeks, months\n"
    << "keep_weekly = " << c.backup.keep_weekly << "\n"
    << "keep_monthly = " << c.backup.keep_monthly << "\n"
    << "verify = " << (c.backup.verify ? "true" : "false") << "\n";
  return o.str();
}

}  // namespace sensordb::server
