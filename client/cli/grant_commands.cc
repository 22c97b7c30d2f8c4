// `sensordb grant set|remove|list` (client mode only): roles of accounts in a project
// (docs/AUTH.md "Authorisation").
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "cli_common.h"
#include "connect.h"
#include "output.h"
#include "time_util.h"

namespace sensordb::cli {
namespace {

struct GrantArgs {
  std::string project;
  std::string account;
  std::string role;
  std::string format;
};

Status RunSet(const GlobalArgs& global, const GrantArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const client::Role role, client::ParseRole(args.role));
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "grant set"));
  SENSORDB_RETURN_IF_ERROR(conn->SetGrant(args.project, args.account, role));
  fmt::print("'{}' is {} of project '{}'\n", args.account, client::RoleName(role), args.project);
  return Status::Ok();
}

Status RunRemove(const GlobalArgs& global, const GrantArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "grant remove"));
  SENSORDB_RETURN_IF_ERROR(conn->RemoveGrant(args.project, args.account));
  fmt::print("'{}' has no role in project '{}' any more\n", args.account, args.project);
  return Status::Ok();
}

Status RunList(const GlobalArgs& global, const GrantArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const OutputFormat format, ParseOutputFormat(args.format));
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "grant list"));
  SENSORDB_ASSIGN_OR_RETURN(const auto grants, conn->ListGrants(args.project));
  auto out = RowWriter::Make(format, stdout, {"account", "role", "granted", "granted_by"});
  for (const client::GrantInfo& g : grants) {
    const std::string granted = FormatRfc3339(g.granted_ns);
    const Cell cells[] = {Cell::Text(g.account), Cell::Text(client::RoleName(g.role)),
                          Cell::Text(granted), Cell::Text(g.granted_by)};
    out->Row(cells);
  }
  return out->Finish();
}

using RunFn = Status (*)(const GlobalArgs&, const GrantArgs&);

CLI::App* Command(CLI::App* parent, const char* name, const char* help, const GlobalArgs& global,
                  Action* action, std::shared_ptr<GrantArgs> args, RunFn run) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->add_option("project", args->project, "Project")->required();
  cmd->callback([&global, action, args, run] {
    *action = [&global, args, run] { return run(global, *args); };
  });
  return cmd;
}

}  // namespace

void AddGrantCommands(CLI::App& app, const GlobalArgs& global, Action* action) {
  auto args = std::make_shared<GrantArgs>();
  CLI::App* grant = app.add_subcommand("grant", "Give accounts roles in projects (needs --server)");
  grant->require_subcommand(1);

  CLI::App* set = Command(grant, "set", "Give an account a role in a project (or change it)",
                          global, action, args, RunSet);
  set->add_option("account", args->account, "Account")->required();
  set->add_option("role", args->role, "owner, admin, writer or reader")
      ->required()
      ->check(CLI::IsMember({"owner", "admin", "writer", "reader"}));

  CLI::App* remove = Command(grant, "remove", "Remove an account's role in a project", global,
                             action, args, RunRemove);
  remove->add_option("account", args->account, "Account")->required();

  AddFormatOption(
      Command(grant, "list", "List the roles in a project", global, action, args, RunList),
      &args->format);
}

}  // namespace sensordb::cli
