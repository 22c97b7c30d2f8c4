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

// Opens the data directory. Without `create_if_missing`, a missing directory is an error and
// nothing is created. Background maintenance is off: the CLI is a short-lived process.
Result<std::unique_ptr<DB>> OpenDb(const GlobalArgs& global, bool create_if_missing);

bool StdinIsTerminal();
bool StderrIsTerminal();

}  // namespace sensordb::cli
