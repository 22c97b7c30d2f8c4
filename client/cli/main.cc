// sensordb: the command-line tool. Works on a data directory without a server, like sqlite3,
// or with --server on a running sensordbd through the client library (docs/CLI.md "Client
// mode"). Exit codes: 0 success, 1 the command failed, 2 the command line is wrong.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "cli_common.h"
#include "connect.h"
#include "remote_db.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
// The server's disk is full or a rate bound was reached: nothing was stored, the same command
// succeeds later (sysexits.h EX_TEMPFAIL, which scripts and cron know as "try again later").
constexpr int kExitTempFail = 75;

// Commands that need the data directory itself, and those that exist only with a server.
constexpr std::string_view kLocalOnly[] = {"stats", "backup", "key rotate-master", "key reencrypt"};
constexpr std::string_view kServerOnly[] = {"user", "service-account", "token", "grant"};

// Options that would carry a secret on the command line: recognised only to be refused.
struct SecretTraps {
  std::string token;
  std::string password;
};

void Describe(CLI::App& app, sensordb::cli::GlobalArgs& global, SecretTraps& traps) {
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  app.add_option("--data-dir,-D", global.data_dir, "Data directory (every command but keygen)")
      ->envname("SENSORDB_DATA_DIR");
  app.add_option("--key-file,-k", global.key_file,
                 "Master key file (mode 0600); without it the passphrase in $SENSORDB_PASSPHRASE")
      ->envname("SENSORDB_KEY_FILE");
  app.add_option("--durability", global.durability,
                 "sync: writes are on disk when a command returns; async: in the OS")
      ->check(CLI::IsMember({"sync", "async"}));

  app.add_option("--server,-s", global.server,
                 "Client mode: HOST:PORT of a sensordbd instead of a data directory")
      ->envname("SENSORDB_SERVER");
  app.add_option("--ca-file", global.ca_file,
                 "PEM CA that signed the server's certificate (default: the system's)")
      ->envname("SENSORDB_CA_FILE");
  app.add_option("--token-file", global.token_file,
                 "File holding an API token (else the token in $SENSORDB_TOKEN)")
      ->envname("SENSORDB_TOKEN_FILE");
  app.add_option("--user", global.user,
                 "Log in as this user; the password from $SENSORDB_PASSWORD or the terminal")
      ->envname("SENSORDB_USER");
  app.add_option("--timeout", global.timeout_s,
                 "Seconds to wait for each reply of the server (0: no limit)")
      ->envname("SENSORDB_TIMEOUT")
      ->check(CLI::Range(0u, 86'400u));
  // Hidden: a secret given on the command line is refused, never used.
  app.add_option("--token", traps.token)->group("");
  app.add_option("--password", traps.password)->group("");
}

// "key rotate-master": the names of the parsed command and its subcommands.
std::string CommandPath(const CLI::App& app) {
  std::string path;
  const CLI::App* at = &app;
  while (!at->get_subcommands().empty()) {
    at = at->get_subcommands().front();
    if (!path.empty()) path += ' ';
    path += at->get_name();
  }
  return path;
}

bool Matches(std::string_view path, std::string_view command) {
  return path == command ||
         (path.starts_with(command) && path.size() > command.size() && path[command.size()] == ' ');
}

// Anything shaped like an API token (sdb_<id>_<secret>) in a parse error keeps only its id.
std::string RedactTokens(std::string text) {
  for (size_t at = text.find("sdb_"); at != std::string::npos; at = text.find("sdb_", at + 4)) {
    const size_t sep = text.find('_', at + 4);
    if (sep == std::string::npos) break;
    size_t end = sep + 1;
    while (end < text.size() && text[end] != ' ' && text[end] != '\n' && text[end] != ',') ++end;
    text.replace(sep + 1, end - sep - 1, "<redacted>");
  }
  return text;
}

// The checks of the command line that depend on the mode; 0 when the command may run.
int CheckMode(const CLI::App& app, const sensordb::cli::GlobalArgs& global,
              const SecretTraps& traps) {
  if (!traps.token.empty() || !traps.password.empty() || app.count("--token") > 0 ||
      app.count("--password") > 0) {
    fmt::print(stderr,
               "sensordb: a secret is never accepted on the command line, where other users see "
               "it; use --token-file FILE or $SENSORDB_TOKEN, or --user NAME with "
               "$SENSORDB_PASSWORD (or the prompt)\n");
    return kExitUsage;
  }
  const std::string path = CommandPath(app);
  if (global.remote()) {
    if (!global.data_dir.empty()) {
      fmt::print(stderr,
                 "sensordb: --data-dir and --server exclude each other (check SENSORDB_DATA_DIR "
                 "and SENSORDB_SERVER)\n");
      return kExitUsage;
    }
    for (std::string_view local : kLocalOnly) {
      if (Matches(path, local)) {
        fmt::print(stderr, "sensordb: {}\n", sensordb::cli::LocalOnlyError(path).message());
        return kExitFailure;
      }
    }
    return 0;
  }
  for (std::string_view remote : kServerOnly) {
    if (Matches(path, remote)) {
      fmt::print(stderr, "sensordb: {}\n", sensordb::cli::ServerOnlyError(path).message());
      return kExitFailure;
    }
  }
  // Local files only: no data directory needed.
  if (path == "device keygen" || Matches(path, "firmware")) return 0;
  if (global.data_dir.empty() && path != "keygen") {
    fmt::print(stderr,
               "sensordb: --data-dir DIR is required (or set SENSORDB_DATA_DIR), or --server "
               "HOST:PORT for a server\n");
    return kExitUsage;
  }
  return 0;
}

int Run(int argc, char** argv) {
  CLI::App app("sensordb: query and manage a sensordb data directory or server", "sensordb");
  sensordb::cli::GlobalArgs global;
  sensordb::cli::Action action;
  SecretTraps traps;
  Describe(app, global, traps);
  sensordb::cli::AddProjectCommands(app, global, &action);
  sensordb::cli::AddDeviceCommands(app, global, &action);
  sensordb::cli::AddImportCommand(app, global, &action);
  sensordb::cli::AddQueryCommand(app, global, &action);
  sensordb::cli::AddMaintenanceCommands(app, global, &action);
  sensordb::cli::AddKeyCommands(app, global, &action);
  sensordb::cli::AddBackupCommands(app, global, &action);
  sensordb::cli::AddAuditCommands(app, global, &action);
  sensordb::cli::AddAccountCommands(app, global, &action);
  sensordb::cli::AddTokenCommands(app, global, &action);
  sensordb::cli::AddGrantCommands(app, global, &action);
  sensordb::cli::AddFirmwareCommands(app, global, &action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "sensordb: {}\nRun 'sensordb --help' for usage.\n", RedactTokens(e.what()));
    return kExitUsage;
  }
  if (const int refused = CheckMode(app, global, traps); refused != 0) return refused;
  if (!action) {
    fmt::print(stderr, "sensordb: no command given\nRun 'sensordb --help' for usage.\n");
    return kExitUsage;
  }
  const sensordb::Status s = action();
  if (!s.ok()) {
    std::fflush(stdout);
    // Conditions the same command survives later: named, and exit 75 (EX_TEMPFAIL).
    const bool later = s.code() == sensordb::StatusCode::kNoSpace ||
                       s.code() == sensordb::StatusCode::kRateLimited;
    fmt::print(stderr, "sensordb: {}{}\n",
               later ? std::string(sensordb::StatusCodeName(s.code())) + ": " : "", s.message());
    return later ? kExitTempFail : kExitFailure;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sensordb: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "sensordb: internal error\n");
  }
  return kExitFailure;
}
