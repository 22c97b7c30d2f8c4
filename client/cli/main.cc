// sensordb: the local command-line tool. Works on a data directory without a server, like
// sqlite3. Exit codes: 0 success, 1 the command failed, 2 the command line is wrong.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli_common.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

void Describe(CLI::App& app, sensordb::cli::GlobalArgs& global) {
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
}

int Run(int argc, char** argv) {
  CLI::App app("sensordb: query and manage a sensordb data directory", "sensordb");
  sensordb::cli::GlobalArgs global;
  sensordb::cli::Action action;
  Describe(app, global);
  sensordb::cli::AddProjectCommands(app, global, &action);
  sensordb::cli::AddDeviceCommands(app, global, &action);
  sensordb::cli::AddImportCommand(app, global, &action);
  sensordb::cli::AddQueryCommand(app, global, &action);
  sensordb::cli::AddMaintenanceCommands(app, global, &action);
  sensordb::cli::AddKeyCommands(app, global, &action);
  sensordb::cli::AddBackupCommands(app, global, &action);
  sensordb::cli::AddAuditCommands(app, global, &action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "sensordb: {}\nRun 'sensordb --help' for usage.\n", e.what());
    return kExitUsage;
  }
  if (global.data_dir.empty() && !app.got_subcommand("keygen")) {
    fmt::print(stderr, "sensordb: --data-dir DIR is required (or set SENSORDB_DATA_DIR)\n");
    return kExitUsage;
  }
  if (!action) {
    fmt::print(stderr, "sensordb: no command given\nRun 'sensordb --help' for usage.\n");
    return kExitUsage;
  }
  const sensordb::Status s = action();
  if (!s.ok()) {
    std::fflush(stdout);
    fmt::print(stderr, "sensordb: {}\n", s.message());
    return kExitFailure;
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
