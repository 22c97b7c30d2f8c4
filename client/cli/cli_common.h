// What every CLI command shares: the global options, opening the database, terminal checks,
// and the registration hook through which each command adds itself to the CLI11 parser.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sensordb/db.h"
#include "sensordb/status.h"

namespace CLI {
class App;
}

namespace sensordb::cli {

struct GlobalArgs {
  std::string data_dir;
  std::string durability = "sync";
  std::string key_file;  // master key file; else the passphrase in $SENSORDB_PASSPHRASE

  // Client mode (docs/CLI.md "Client mode"): HOST:PORT of a sensordbd instead of a data
  // directory. Credentials: --user (password from $SENSORDB_PASSWORD or a prompt), else a token
  // from --token-file, else from $SENSORDB_TOKEN. Never a secret itself.
  std::string server;
  std::string ca_file;       // PEM CA of the server's certificate; empty: the system store
  std::string token_file;    // a file holding an API token
  std::string user;          // log in as this user
  uint32_t timeout_s = 600;  // longest wait for the server's next reply frame (0: none)

  bool remote() const { return !server.empty(); }
};

// The work of the parsed command, run after parsing succeeded. Its Status message is printed as
// `sensordb: <message>` and the process exits with 1.
using Action = std::function<Status()>;

// Each command family registers its subcommands; the one the user named sets `*action` from
// its parse callback. Usage errors found there are thrown as CLI::ValidationError (exit 2).
// `global` and `action` must outlive the parse and the action.
void AddProjectCommands(CLI::App& app, const GlobalArgs& global, Action* action);
void AddDeviceCommands(CLI::App& app, const GlobalArgs& global, Action* action);
void AddImportCommand(CLI::App& app, const GlobalArgs& global, Action* action);
void AddQueryCommand(CLI::App& app, const GlobalArgs& global, Action* action);
void AddMaintenanceCommands(CLI::App& app, const GlobalArgs& global, Action* action);
void AddKeyCommands(CLI::App& app, const GlobalArgs& global, Action* action);
void AddBackupCommands(CLI::App& app, const GlobalArgs& global, Action* action);
void AddAuditCommands(CLI::App& app, const GlobalArgs& global, Action* action);
// Client mode only: accounts (`user`, `service-account`), API tokens, grants.
void AddAccountCommands(CLI::App& app, const GlobalArgs& global, Action* action);
void AddTokenCommands(CLI::App& app, const GlobalArgs& global, Action* action);
void AddGrantCommands(CLI::App& app, const GlobalArgs& global, Action* action);
// Offline, no data directory or server: release keys, trust roots, manifests (docs/OTA.md).
void AddFirmwareCommands(CLI::App& app, const GlobalArgs& global, Action* action);
// The store's side, under `firmware` and `firmware trust` (firmware_store_commands.cc).
void AddFirmwareStoreCommands(CLI::App* fw, CLI::App* trust, const GlobalArgs& global,
                              Action* action);

// `--format,-f table|csv|json` with the shorthands `--json` and `--csv`, into `*format`
// (borrowed; empty: ParseOutputFormat's default).
void AddFormatOption(CLI::App* cmd, std::string* format);

// Opens the data directory. Without `create_if_missing`, a missing directory is an error and
// nothing is created. Background maintenance is off: the CLI is a short-lived process.
// With --server: connects and logs in, and returns a RemoteDB (remote_db.h) instead.
Result<std::unique_ptr<DB>> OpenDb(const GlobalArgs& global, bool create_if_missing);
// The engine options of the local data directory: the master key from --key-file or
// $SENSORDB_PASSPHRASE, maintenance off.
Result<Options> LocalOptions(const GlobalArgs& global);

bool StdinIsTerminal();
bool StderrIsTerminal();

}  // namespace sensordb::cli
