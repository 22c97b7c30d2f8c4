#include "sensordbd/init.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "auth/auth_service.h"
#include "auth/secret_string.h"
#include "sensordb/db.h"
#include "sensordb/keys.h"
#include "tls/dev_ca.h"

namespace sensordb::server {
namespace {

namespace fs = std::filesystem;

Status WriteExclusive(const std::string& path, std::string_view text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  ::fchmod(fd, mode);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return Status::IOError("cannot write " + path + ": " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced ? Status::Ok() : Status::IOError("cannot sync " + path);
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<InitReport> InitServerDir(std::string_view dir_arg, const InitOptions& options) {
  std::error_code ec;
  const fs::path dir = fs::absolute(fs::path(dir_arg), ec);
  if (ec) return Err(Status::InvalidArgument("bad directory " + std::string(dir_arg)));
  InitReport report;
  report.config_file = (dir / "sensordbd.toml").string();
  if (fs::exists(report.config_file, ec)) {
    return Err(Status::AlreadyExists(report.config_file +
                                     " exists: init never overwrites a server directory"));
  }

  ServerConfig config;
  config.data_dir = "data";
  config.key_file = "master.key";
  config.client.port = options.port;
  config.tls = {"tls/server.crt", "tls/server.key", "tls/ca.crt"};
  config.metrics.port = options.metrics_port;
  config.backup.dir = "backups";
  if (options.ephemeral_ports) {
    config.client.port = config.metrics.port = config.devices.port = config.devices.mqtt_port =
        config.rest.port = 0;
  }
  // Before anything is made: a bad setting leaves no directory behind. The files init makes
  // are judged on the result, whatever form a setting took.
  const ServerConfig made = config;
  SENSORDB_RETURN_IF_ERROR(ApplySettings(config, options.settings));
  const auto changed = [&](std::string_view what, bool differs) -> Status {
    if (!differs) return Status::Ok();
    return Status::InvalidArgument("--set " + std::string(what) +
                                   ": init makes that file itself; change it in " +
                                   report.config_file + " afterwards (docs/SERVER.md)");
  };
  SENSORDB_RETURN_IF_ERROR(changed("data_dir", config.data_dir != made.data_dir));
  SENSORDB_RETURN_IF_ERROR(changed("key_file", config.key_file != made.key_file));
  SENSORDB_RETURN_IF_ERROR(
      changed("passphrase_file", config.passphrase_file != made.passphrase_file));
  SENSORDB_RETURN_IF_ERROR(changed("passphrase_env", config.passphrase_env != made.passphrase_env));
  SENSORDB_RETURN_IF_ERROR(changed("tls.cert_file, tls.key_file or tls.ca_file",
                                   config.tls.cert_file != made.tls.cert_file ||
                                       config.tls.key_file != made.tls.key_file ||
                                       config.tls.ca_file != made.tls.ca_file));

  fs::create_directories(dir / "tls", ec);
  if (ec) return Err(Status::IOError("cannot create " + (dir / "tls").string() + ": " + ec.message()));
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);

  const std::string key_file = (dir / config.key_file).string();
  SENSORDB_RETURN_IF_ERROR(CreateKeyFile(key_file));
  report.made.push_back("master key (0600): " + key_file);

  const DevCertificateFiles certs{(dir / "tls/ca.crt").string(), (dir / "tls/ca.key").string(),
                                  (dir / "tls/server.crt").string(),
                                  (dir / "tls/server.key").string()};
  SENSORDB_RETURN_IF_ERROR(CreateDevCertificates(certs));
  report.made.push_back("development CA certificate: " + certs.ca_cert);
  report.made.push_back("development CA key (0600): " + certs.ca_key);
  report.made.push_back("server certificate (localhost, 127.0.0.1): " + certs.server_cert);
  report.made.push_back("server key (0600): " + certs.server_key);

  Options db_options;
  db_options.key.key_file = key_file;
  db_options.create_if_missing = true;
  db_options.maintenance_interval_ms = 0;
  const std::string data_dir = (dir / config.data_dir).string();
  auto db = DB::Open(db_options, data_dir);
  SENSORDB_RETURN_IF_ERROR(db);
  report.made.push_back("data directory: " + data_dir);

  auto auth = AuthService::Open((*db)->System(), options.auth);
  SENSORDB_RETURN_IF_ERROR(auth);
  auto token = (*auth)->EnsureBootstrapAdmin(NowNs());
  SENSORDB_RETURN_IF_ERROR(token);
  if (!token->has_value()) {
    return Err(Status::FailedPrecondition("the database in " + data_dir +
                                          " already has a bootstrap account"));
  }
  report.token_file = (dir / "bootstrap-admin.token").string();
  SecretString text;
  text.Reserve(token->value().text.size() + 1);
  text.Append(token->value().text.view());
  text.Append("\n");
  SENSORDB_RETURN_IF_ERROR(WriteExclusive(report.token_file, text.view(), 0600));
  report.made.push_back("bootstrap superuser token (0600, account " +
                        options.auth.bootstrap_account + ", id " + token->value().id +
                        "): " + report.token_file);

  // The account Prometheus scrapes with (metrics.accounts), created by the bootstrap admin.
  const int64_t now = NowNs();
  AuthResult admin = (*auth)->Authenticate(Credentials::Token(token->value().text.view()),
                                           "sensordbd-init", now);
  if (!admin) return Err(admin.error().ToStatus());
  const Actor actor{*admin, "sensordbd-init", now};
  SENSORDB_RETURN_IF_ERROR((*auth)->accounts().CreateServiceAccount(actor, "metrics"));
  auto metrics_token = (*auth)->accounts().IssueToken(actor, "metrics", 0);
  SENSORDB_RETURN_IF_ERROR(metrics_token);
  report.metrics_token_file = (dir / "metrics.token").string();
  SecretString mtext;
  mtext.Reserve(metrics_token->text.size() + 1);
  mtext.Append(metrics_token->text.view());
  mtext.Append("\n");
  SENSORDB_RETURN_IF_ERROR(WriteExclusive(report.metrics_token_file, mtext.view(), 0600));
  report.made.push_back("metrics scrape token (0600, service account metrics): " +
                        report.metrics_token_file);
  if (config.backup.dir.empty()) {
    report.made.push_back("no backups (backup.dir is empty)");
  } else {
    const fs::path backups = dir / config.backup.dir;
    fs::create_directories(backups, ec);
    if (ec) return Err(Status::IOError("cannot create " + backups.string()));
    fs::permissions(backups, fs::perms::owner_all, fs::perm_options::replace, ec);
    report.made.push_back("backup directory (daily, see [backup] in the config): " +
                          backups.string());
  }

  SENSORDB_RETURN_IF_ERROR(WriteExclusive(report.config_file, RenderConfig(config), 0644));
  report.made.push_back("config: " + report.config_file);
  return report;
}

}  // namespace sensordb::server
