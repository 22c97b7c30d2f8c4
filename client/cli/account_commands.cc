// `sensordb user create|list|disable|enable|delete|password` and `sensordb service-account
// create` (client mode only; docs/AUTH.md). Passwords never reach the command line: the new one
// comes from $SENSORDB_NEW_PASSWORD or is asked twice on the terminal with echo off.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli_common.h"
#include "connect.h"
#include "output.h"
#include "time_util.h"

namespace sensordb::cli {
namespace {

struct AccountArgs {
  std::string name;
  bool superuser = false;
  bool service = false;
  bool yes = false;
  std::string format;
};

Status CreateService(client::Client& conn, const AccountArgs& args) {
  SENSORDB_RETURN_IF_ERROR(conn.CreateServiceAccount(args.name, args.superuser));
  fmt::print("created service account '{}'{}; give it a token with: sensordb token issue {}\n",
             args.name, args.superuser ? " (superuser)" : "", args.name);
  return Status::Ok();
}

Status RunCreate(const GlobalArgs& global, const AccountArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "user create"));
  if (args.service) return CreateService(*conn, args);
  SENSORDB_ASSIGN_OR_RETURN(
      std::string password,
      ReadSecret(kNewPasswordEnv, fmt::format("password of the new user {}", args.name),
                 /*confirm=*/true));
  const Status created = conn->CreateUser(args.name, password, args.superuser);
  WipeSecret(password);
  SENSORDB_RETURN_IF_ERROR(created);
  fmt::print("created user '{}'{}\n", args.name, args.superuser ? " (superuser)" : "");
  return Status::Ok();
}

Status RunCreateService(const GlobalArgs& global, const AccountArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "service-account create"));
  return CreateService(*conn, args);
}

Status RunList(const GlobalArgs& global, const AccountArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const OutputFormat format, ParseOutputFormat(args.format));
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "user list"));
  SENSORDB_ASSIGN_OR_RETURN(const auto accounts, conn->ListAccounts());
  auto out = RowWriter::Make(format, stdout, {"name", "kind", "superuser", "disabled", "created"});
  for (const client::AccountInfo& a : accounts) {
    const std::string created = FormatRfc3339(a.created_ns);
    const Cell cells[] = {Cell::Text(a.name), Cell::Text(client::AccountKindName(a.kind)),
                          Cell::Bool(a.superuser), Cell::Bool(a.disabled), Cell::Text(created)};
    out->Row(cells);
  }
  return out->Finish();
}

Status SetDisabled(const GlobalArgs& global, const AccountArgs& args, bool disabled) {
  SENSORDB_ASSIGN_OR_RETURN(
      auto conn, ConnectForServerCommand(global, disabled ? "user disable" : "user enable"));
  SENSORDB_RETURN_IF_ERROR(conn->SetAccountDisabled(args.name, disabled));
  if (disabled) {
    fmt::print("disabled account '{}': it cannot log in, and its open sessions are refused\n",
               args.name);
  } else {
    fmt::print("enabled account '{}'\n", args.name);
  }
  return Status::Ok();
}

Status RunDisable(const GlobalArgs& global, const AccountArgs& args) {
  return SetDisabled(global, args, true);
}

Status RunEnable(const GlobalArgs& global, const AccountArgs& args) {
  return SetDisabled(global, args, false);
}

// Asks on the terminal; anything but y/yes declines.
bool Confirm(const std::string& question) {
  fmt::print(stderr, "{} [y/N] ", question);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "YES";
}

Status RunDelete(const GlobalArgs& global, const AccountArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "user delete"));
  if (!args.yes && StdinIsTerminal() &&
      !Confirm(fmt::format("Delete account '{}' with its tokens and grants?", args.name))) {
    return Status::FailedPrecondition("not deleted (answer y to delete, or pass --yes)");
  }
  SENSORDB_RETURN_IF_ERROR(conn->DeleteAccount(args.name));
  fmt::print("deleted account '{}' with its tokens and grants\n", args.name);
  return Status::Ok();
}

// Changing one's own password needs the current one: $SENSORDB_OLD_PASSWORD, else the login
// password when logged in as that user with $SENSORDB_PASSWORD, else a prompt. A superuser
// resetting another user's password gives no old one.
Status RunPassword(const GlobalArgs& global, const AccountArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "user password"));
  std::string old_password;
  if (conn->session().principal == args.name) {
    const char* login = std::getenv(kPasswordEnv);
    const char* env = std::getenv(kOldPasswordEnv) == nullptr && global.user == args.name &&
                              login != nullptr && *login != '\0'
                          ? kPasswordEnv
                          : kOldPasswordEnv;
    SENSORDB_ASSIGN_OR_RETURN(
        old_password,
        ReadSecret(env, fmt::format("current password of {}", args.name), /*confirm=*/false));
  }
  auto new_password = ReadSecret(kNewPasswordEnv, fmt::format("new password of {}", args.name),
                                 /*confirm=*/true);
  if (!new_password) {
    WipeSecret(old_password);
    return new_password.error();
  }
  const Status changed = conn->ChangePassword(args.name, old_password, *new_password);
  WipeSecret(old_password);
  WipeSecret(*new_password);
  SENSORDB_RETURN_IF_ERROR(changed);
  fmt::print("changed the password of '{}'\n", args.name);
  return Status::Ok();
}

using RunFn = Status (*)(const GlobalArgs&, const AccountArgs&);

CLI::App* Command(CLI::App* parent, const char* name, const char* help, const GlobalArgs& global,
                  Action* action, std::shared_ptr<AccountArgs> args, RunFn run) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->callback([&global, action, args, run] {
    *action = [&global, args, run] { return run(global, *args); };
  });
  return cmd;
}

void AddName(CLI::App* cmd, AccountArgs& args) {
  cmd->add_option("name", args.name, "Account name: [a-z0-9._-], 1-64 characters")->required();
}

}  // namespace

void AddAccountCommands(CLI::App& app, const GlobalArgs& global, Action* action) {
  auto args = std::make_shared<AccountArgs>();
  CLI::App* user = app.add_subcommand("user", "Manage accounts on a server (needs --server)");
  user->require_subcommand(1);

  CLI::App* create =
      Command(user, "create", "Create a user (password from $SENSORDB_NEW_PASSWORD or asked twice)",
              global, action, args, RunCreate);
  AddName(create, *args);
  create->add_flag("--superuser", args->superuser, "Server-wide administrator");
  create->add_flag("--service", args->service,
                   "A service account instead (no password; it logs in with tokens)");

  AddFormatOption(Command(user, "list", "List accounts", global, action, args, RunList),
                  &args->format);
  AddName(Command(user, "disable", "Refuse the account's logins and open sessions", global, action,
                  args, RunDisable),
          *args);
  AddName(
      Command(user, "enable", "Allow a disabled account again", global, action, args, RunEnable),
      *args);
  CLI::App* del = Command(user, "delete", "Delete an account with its tokens and grants", global,
                          action, args, RunDelete);
  AddName(del, *args);
  del->add_flag("--yes,-y", args->yes, "Do not ask for confirmation");
  AddName(Command(user, "password",
                  "Change a password (new one from $SENSORDB_NEW_PASSWORD or asked twice)", global,
                  action, args, RunPassword),
          *args);

  CLI::App* service = app.add_subcommand(
      "service-account", "Create service accounts, which log in with API tokens (needs --server)");
  service->require_subcommand(1);
  CLI::App* screate = Command(service, "create", "Create a service account", global, action, args,
                              RunCreateService);
  AddName(screate, *args);
  screate->add_flag("--superuser", args->superuser, "Server-wide administrator");
}

}  // namespace sensordb::cli
