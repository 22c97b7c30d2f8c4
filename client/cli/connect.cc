#include "connect.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace sensordb::cli {
namespace {

constexpr const char* kClientName = "sensordb-cli/0.1.0";

// Echo off on the terminal of standard input while alive.
class EchoOff {
 public:
  EchoOff() {
    if (tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

Result<std::string> Prompt(std::string_view prompt) {
  fmt::print(stderr, "{}: ", prompt);
  std::fflush(stderr);
  std::string line;
  bool got = false;
  {
    EchoOff quiet;
    got = static_cast<bool>(std::getline(std::cin, line));
  }
  fmt::print(stderr, "\n");
  if (!got) return Err(Status::InvalidArgument("no input at the prompt"));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The token in `path`, without surrounding white space. Warns (never fails) when other users
// may read the file: Kubernetes mounts secrets 0644 by default.
Result<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Err(Status::NotFound(
        fmt::format("cannot read the token file '{}': {}", path, std::strerror(errno))));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string token = buffer.str();
  const size_t end = token.find_last_not_of(" \t\r\n");
  token.resize(end == std::string::npos ? 0 : end + 1);
  const size_t begin = token.find_first_not_of(" \t\r\n");
  token.erase(0, begin == std::string::npos ? token.size() : begin);
  std::string whole = buffer.str();
  WipeSecret(whole);
  if (token.empty()) {
    return Err(Status::InvalidArgument(fmt::format("the token file '{}' is empty", path)));
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
    fmt::print(stderr,
               "sensordb: warning: the token file '{}' may be read by other users (mode {:o}); "
               "chmod 600 it\n",
               path, st.st_mode & 0777);
  }
  return token;
}

Result<client::Credentials> CredentialsOf(const GlobalArgs& global) {
  if (!global.user.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(
        std::string password,
        ReadSecret(kPasswordEnv, fmt::format("password of {}", global.user), /*confirm=*/false));
    return client::Credentials::Password(global.user, std::move(password));
  }
  if (!global.token_file.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(std::string token, ReadTokenFile(global.token_file));
    return client::Credentials::Token(std::move(token));
  }
  if (const char* token = std::getenv(kTokenEnv); token && *token) {
    return client::Credentials::Token(token);
  }
  return Err(Status::InvalidArgument(fmt::format(
      "no credentials for --server: give --token-file FILE (or set SENSORDB_TOKEN_FILE), set {}, "
      "or give --user NAME (password from ${} or the terminal)",
      kTokenEnv, kPasswordEnv)));
}

}  // namespace

Result<ServerAddress> ParseServerAddress(std::string_view text) {
  ServerAddress a;
  std::string_view port;
  if (text.starts_with('[')) {  // [IPv6]:port
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Err(Status::InvalidArgument(fmt::format("--server '{}': missing ']'", text)));
    }
    a.host.assign(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') {
        return Err(Status::InvalidArgument(fmt::format("--server '{}': expected HOST:PORT", text)));
      }
      port = rest.substr(1);
    }
  } else if (const size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    if (text.find(':') != colon) {
      return Err(Status::InvalidArgument(
          fmt::format("--server '{}': write an IPv6 address in brackets: [::1]:7070", text)));
    }
    a.host.assign(text.substr(0, colon));
    port = text.substr(colon + 1);
  } else {
    a.host.assign(text);
  }
  if (a.host.empty()) {
    return Err(Status::InvalidArgument(fmt::format("--server '{}': the host is empty", text)));
  }
  if (!port.empty() || text.ends_with(':')) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return Err(Status::InvalidArgument(
          fmt::format("--server '{}': the port must be a number from 1 to 65535", text)));
    }
    a.port = static_cast<uint16_t>(value);
  }
  return a;
}

Result<std::string> ReadSecret(const char* env, std::string_view prompt, bool confirm) {
  if (const char* value = std::getenv(env); value && *value) return std::string(value);
  if (!StdinIsTerminal()) {
    return Err(Status::InvalidArgument(
        fmt::format("{}: set ${} (standard input is not a terminal to ask on)", prompt, env)));
  }
  SENSORDB_ASSIGN_OR_RETURN(std::string secret, Prompt(prompt));
  if (confirm) {
    SENSORDB_ASSIGN_OR_RETURN(std::string again, Prompt(fmt::format("{} (again)", prompt)));
    const bool same = again == secret;
    WipeSecret(again);
    if (!same) {
      WipeSecret(secret);
      return Err(Status::InvalidArgument("the two entries differ; nothing was changed"));
    }
  }
  return secret;
}

void WipeSecret(std::string& secret) {
  // Through a volatile pointer, so the stores are not optimised away.
  volatile char* p = secret.data();
  for (size_t i = 0; i < secret.size(); ++i) p[i] = 0;
  secret.clear();
}

Result<std::unique_ptr<client::Client>> ConnectServer(const GlobalArgs& global) {
  SENSORDB_ASSIGN_OR_RETURN(const ServerAddress address, ParseServerAddress(global.server));
  client::ClientOptions options;
  options.host = address.host;
  options.port = address.port;
  options.ca_file = global.ca_file;
  options.client_name = kClientName;
  options.request_timeout_ms = global.timeout_s * 1000;
  SENSORDB_ASSIGN_OR_RETURN(options.credentials, CredentialsOf(global));
  auto connected = client::Client::Connect(options);
  WipeSecret(options.credentials.token);
  WipeSecret(options.credentials.password);
  return connected;
}

Status ServerOnlyError(std::string_view command) {
  return Status::FailedPrecondition(fmt::format(
      "`sensordb {}` needs --server HOST:PORT (or SENSORDB_SERVER): accounts, tokens and grants "
      "are managed through a running sensordbd",
      command));
}

Result<std::unique_ptr<client::Client>> ConnectForServerCommand(const GlobalArgs& global,
                                                                std::string_view command) {
  if (!global.remote()) return Err(ServerOnlyError(command));
  return ConnectServer(global);
}

}  // namespace sensordb::cli
