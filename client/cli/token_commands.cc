// `sensordb token issue|list|revoke` (client mode only; docs/AUTH.md "API tokens"). `issue` is
// the one command that prints a secret: the new token, once, on stdout — or, with --out FILE,
// into a new file of mode 0600 that must not exist yet, and nowhere else.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>

#include "cli_common.h"
#include "connect.h"
#include "output.h"
#include "time_util.h"

namespace sensordb::cli {
namespace {

struct TokenArgs {
  std::string account;
  std::string id;
  std::string expires;
  std::string out;
  bool json = false;
  std::string format;
};

// --expires: a duration from now (30d, 12h) or a time (2027-01-01, now+1w); 0 when empty.
Result<int64_t> ParseExpiry(const std::string& text, int64_t now_ns) {
  if (text.empty()) return 0;
  if (auto d = ParseDuration(text)) return now_ns + *d;
  auto t = ParseTimePoint(text, now_ns);
  if (!t) {
    return Err(Status::InvalidArgument(fmt::format(
        "--expires '{}': give a duration from now (30d, 12h) or a time (2027-01-01)", text)));
  }
  if (*t <= now_ns) {
    return Err(Status::InvalidArgument(fmt::format("--expires '{}' is not in the future", text)));
  }
  return *t;
}

// Creates `path` for writing with mode 0600; fails when it exists (never overwrites a token).
Result<int> CreateSecretFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return Err(Status::IOError(fmt::format("cannot create '{}': {}{}", path, std::strerror(errno),
                                           errno == EEXIST ? " (it is never overwritten)" : "")));
  }
  if (::fchmod(fd, 0600) != 0) {  // whatever the umask left
    const int e = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return Err(Status::IOError(fmt::format("cannot chmod '{}': {}", path, std::strerror(e))));
  }
  return fd;
}

Status WriteSecretFile(int fd, const std::string& path, const std::string& token) {
  std::string line = token + "\n";
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == line.size() && ::fsync(fd) == 0;
  const int e = errno;
  WipeSecret(line);
  if (::close(fd) != 0 || !ok) {
    ::unlink(path.c_str());
    return Status::IOError(fmt::format("cannot write '{}': {}", path, std::strerror(e)));
  }
  return Status::Ok();
}

std::string Expiry(int64_t expires_ns) {
  return expires_ns == 0 ? "never" : FormatRfc3339(expires_ns);
}

Status RunIssue(const GlobalArgs& global, const TokenArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const int64_t expires_ns, ParseExpiry(args.expires, NowNanos()));
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "token issue"));
  int fd = -1;
  if (!args.out.empty()) {  // before the token exists: a file that cannot be made costs nothing
    SENSORDB_ASSIGN_OR_RETURN(fd, CreateSecretFile(args.out));
  }
  auto issued = conn->IssueToken(args.account, expires_ns);
  if (!issued) {
    if (fd >= 0) {
      ::close(fd);
      ::unlink(args.out.c_str());
    }
    return issued.error();
  }
  if (fd >= 0) {
    if (Status s = WriteSecretFile(fd, args.out, issued->token); !s.ok()) {
      const Status revoked = conn->RevokeToken(issued->id);
      return Status(s.code(),
                    fmt::format("{}; the token {} {}", s.message(), issued->id,
                                revoked.ok() ? "was revoked" : "could not be revoked: revoke it"));
    }
    fmt::print("wrote token {} of '{}' to {} (mode 0600; expires {})\n", issued->id,
               issued->account, args.out, Expiry(issued->expires_ns));
  } else if (args.json) {
    fmt::print(
        "{{\"token\": {}, \"id\": {}, \"prefix\": {}, \"account\": {}, \"expires_ns\": {}}}\n",
        JsonString(issued->token), JsonString(issued->id), JsonString(issued->prefix),
        JsonString(issued->account), issued->expires_ns);
  } else {
    fmt::print("{}\n", issued->token);
    fmt::print(stderr,
               "issued token {} of '{}' (expires {}); it is shown only this once: store it now\n",
               issued->id, issued->account, Expiry(issued->expires_ns));
  }
  issued->Wipe();
  return std::fflush(stdout) == 0 ? Status::Ok() : Status::IOError("cannot write the output");
}

Status RunList(const GlobalArgs& global, const TokenArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(const OutputFormat format, ParseOutputFormat(args.format));
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "token list"));
  SENSORDB_ASSIGN_OR_RETURN(const auto tokens, conn->ListTokens(args.account));
  auto out = RowWriter::Make(
      format, stdout, {"id", "prefix", "account", "created", "expires", "last_used", "revoked"});
  for (const client::TokenInfo& t : tokens) {
    const std::string times[] = {FormatRfc3339(t.created_ns), FormatRfc3339(t.expires_ns),
                                 FormatRfc3339(t.last_used_ns), FormatRfc3339(t.revoked_ns)};
    const auto at = [&](int64_t ns, const std::string& text) {
      return ns == 0 ? Cell::Null() : Cell::Text(text);
    };
    const Cell cells[] = {Cell::Text(t.id),           Cell::Text(t.prefix),
                          Cell::Text(t.account),      at(t.created_ns, times[0]),
                          at(t.expires_ns, times[1]), at(t.last_used_ns, times[2]),
                          at(t.revoked_ns, times[3])};
    out->Row(cells);
  }
  return out->Finish();
}

Status RunRevoke(const GlobalArgs& global, const TokenArgs& args) {
  SENSORDB_ASSIGN_OR_RETURN(auto conn, ConnectForServerCommand(global, "token revoke"));
  SENSORDB_RETURN_IF_ERROR(conn->RevokeToken(args.id));
  fmt::print("revoked token {}: it is refused from now on, on open sessions too\n", args.id);
  return Status::Ok();
}

using RunFn = Status (*)(const GlobalArgs&, const TokenArgs&);

CLI::App* Command(CLI::App* parent, const char* name, const char* help, const GlobalArgs& global,
                  Action* action, std::shared_ptr<TokenArgs> args, RunFn run) {
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->callback([&global, action, args, run] {
    *action = [&global, args, run] { return run(global, *args); };
  });
  return cmd;
}

}  // namespace

void AddTokenCommands(CLI::App& app, const GlobalArgs& global, Action* action) {
  auto args = std::make_shared<TokenArgs>();
  CLI::App* token = app.add_subcommand("token",
                                       "Issue, list and revoke API tokens of service accounts "
                                       "(needs --server)");
  token->require_subcommand(1);

  CLI::App* issue = Command(token, "issue", "Issue a token and print it once (or --out FILE)",
                            global, action, args, RunIssue);
  issue->add_option("account", args->account, "Service account")->required();
  issue->add_option("--expires", args->expires,
                    "Expiry: a duration from now (30d, 12h) or a time (default: never)");
  auto* out = issue->add_option("--out,-o", args->out,
                                "Write the token to this new file (mode 0600) instead of stdout");
  issue->add_flag("--json", args->json, "Print one JSON object with the token")->excludes(out);

  CLI::App* list =
      Command(token, "list", "List tokens (never their secrets)", global, action, args, RunList);
  list->add_option("account", args->account, "Only this account's tokens");
  AddFormatOption(list, &args->format);

  CLI::App* revoke =
      Command(token, "revoke", "Revoke a token by its id", global, action, args, RunRevoke);
  revoke->add_option("id", args->id, "Token id (8 characters, as listed)")->required();
}

}  // namespace sensordb::cli
