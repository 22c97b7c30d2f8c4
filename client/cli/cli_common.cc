#include "cli_common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>

#include "connect.h"
#include "remote_db.h"

namespace sensordb::cli {
namespace {

// The passphrase is taken only from the environment, never from the command line, where other
// users could read it in the process list.
constexpr const char* kPassphraseEnv = "SENSORDB_PASSPHRASE";

}  // namespace

Result<std::unique_ptr<DB>> OpenDb(const GlobalArgs& global, bool create_if_missing) {
  const Durability durability =
      global.durability == "async" ? Durability::kAsync : Durability::kSync;
  if (global.remote()) {
    SENSORDB_ASSIGN_OR_RETURN(auto client, ConnectServer(global));
    return std::unique_ptr<DB>(std::make_unique<RemoteDB>(std::move(client), durability));
  }
  if (global.data_dir.empty()) {
    return Err(Status::InvalidArgument("--data-dir DIR is required (or set SENSORDB_DATA_DIR)"));
  }
  std::error_code ec;
  if (!create_if_missing && !std::filesystem::exists(global.data_dir, ec)) {
    return Err(Status::NotFound(fmt::format(
        "no database in '{}' (create one with: sensordb --data-dir {} project create NAME)",
        global.data_dir, global.data_dir)));
  }
  SENSORDB_ASSIGN_OR_RETURN(Options options, LocalOptions(global));
  options.create_if_missing = create_if_missing;
  options.durability = durability;
  return DB::Open(options, global.data_dir);
}

Result<Options> LocalOptions(const GlobalArgs& global) {
  Options options;
  options.maintenance_interval_ms = 0;
  if (!global.key_file.empty()) {
    options.key.key_file = global.key_file;
  } else if (const char* passphrase = std::getenv(kPassphraseEnv); passphrase && *passphrase) {
    options.key.passphrase = passphrase;
  } else {
    return Err(Status::InvalidArgument(
        fmt::format("no master key: pass --key-file FILE (or set SENSORDB_KEY_FILE), or set {}",
                    kPassphraseEnv)));
  }
  return options;
}

void AddFormatOption(CLI::App* cmd, std::string* format) {
  cmd->add_option("--format,-f", *format, "table, csv or json (default: table on a terminal)")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  cmd->add_flag_callback(
      "--json", [format] { *format = "json"; }, "Same as --format json");
  cmd->add_flag_callback(
      "--csv", [format] { *format = "csv"; }, "Same as --format csv");
}

bool StdinIsTerminal() { return isatty(STDIN_FILENO) == 1; }
bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

}  // namespace sensordb::cli
