// What the sensordb-bench commands that talk to a running sensordbd share: `--server
// HOST:PORT` parsing, the API token (--token-file or $SENSORDB_TOKEN), and the client library's
// options for the native protocol. Plain functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "sensordb/client/client.h"
#include "sensordb/status.h"

namespace sensordb::bench {

// "HOST:PORT" as host and port; an error naming `option` (e.g. "--server") otherwise.
Result<std::pair<std::string, uint16_t>> ParseHostPort(std::string_view text,
                                                       std::string_view option);

// The token in `token_file`, else $SENSORDB_TOKEN; an error saying how to give one.
Result<std::string> ReadToken(const std::string& token_file);

// Options to reach `server` (HOST:PORT, given as `option`) over TLS, verified against `ca_file`
// with `server_name`, logged in with `token`.
Result<client::ClientOptions> NativeClientOptions(std::string_view server, std::string_view option,
                                                  const std::string& server_name,
                                                  const std::string& ca_file, std::string token);

}  // namespace sensordb::bench
