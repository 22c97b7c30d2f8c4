// Client mode of the CLI: connecting to a sensordbd named by --server, with the credentials of
// the global options, and reading secrets. A secret is never taken from the command line (other
// users see it in the process list): tokens come from a file or the environment, passwords from
// the environment or a terminal prompt with echo off. Nothing here prints or logs a secret.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cli_common.h"
#include "sensordb/client/client.h"
#include "sensordb/status.h"

namespace sensordb::cli {

inline constexpr const char* kTokenEnv = "SENSORDB_TOKEN";
inline constexpr const char* kPasswordEnv = "SENSORDB_PASSWORD";
inline constexpr const char* kNewPasswordEnv = "SENSORDB_NEW_PASSWORD";
inline constexpr const char* kOldPasswordEnv = "SENSORDB_OLD_PASSWORD";
inline constexpr uint16_t kDefaultServerPort = 7070;

struct ServerAddress {
  std::string host;
  uint16_t port = kDefaultServerPort;
};

// "HOST:PORT", "HOST" (port 7070), "[::1]:7070".
Result<ServerAddress> ParseServerAddress(std::string_view text);

// Connects and logs in as the global options say: --user NAME (password from
// $SENSORDB_PASSWORD or a prompt), else --token-file FILE, else $SENSORDB_TOKEN. The copies of
// the secret are wiped once the login is done.
Result<std::unique_ptr<client::Client>> ConnectServer(const GlobalArgs& global);

// ConnectServer for the commands that exist in client mode only (`user`, `token`, ...): without
// --server, kFailedPrecondition saying that `sensordb <command>` needs it.
Result<std::unique_ptr<client::Client>> ConnectForServerCommand(const GlobalArgs& global,
                                                                std::string_view command);
Status ServerOnlyError(std::string_view command);

// The secret in environment variable `env` when set and not empty; else, when standard input is
// a terminal, what is typed after `prompt` with echo off (asked twice when `confirm`, and the
// two must match); else kInvalidArgument saying to set `env`.
Result<std::string> ReadSecret(const char* env, std::string_view prompt, bool confirm);

// Overwrites the bytes of `secret`, then empties it.
void WipeSecret(std::string& secret);

}  // namespace sensordb::cli
