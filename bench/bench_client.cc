#include "bench_client.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>

namespace sensordb::bench {

Result<std::pair<std::string, uint16_t>> ParseHostPort(std::string_view text,
                                                       std::string_view option) {
  const size_t colon = text.rfind(':');
  int port = 0;
  if (colon != std::string_view::npos) port = std::atoi(std::string(text.substr(colon + 1)).c_str());
  if (colon == std::string_view::npos || colon == 0 || port <= 0 || port > 65535) {
    return Err(Status::InvalidArgument(fmt::format("{} must be HOST:PORT, not '{}'", option, text)));
  }
  return std::pair{std::string(text.substr(0, colon)), uint16_t(port)};
}

Result<std::string> ReadToken(const std::string& token_file) {
  std::string token;
  if (!token_file.empty()) {
    std::ifstream(token_file) >> token;
  } else if (const char* env = std::getenv("SENSORDB_TOKEN")) {
    token = env;
  }
  if (token.empty()) {
    return Err(Status::InvalidArgument(
        token_file.empty() ? "no token: give --token-file FILE or set SENSORDB_TOKEN"
                           : "no token in " + token_file));
  }
  return token;
}

Result<client::ClientOptions> NativeClientOptions(std::string_view server, std::string_view option,
                                                  const std::string& server_name,
                                                  const std::string& ca_file, std::string token) {
  SENSORDB_ASSIGN_OR_RETURN(auto host_port, ParseHostPort(server, option));
  client::ClientOptions o;
  o.host = std::move(host_port.first);
  o.port = host_port.second;
  o.server_name = server_name;
  o.ca_file = ca_file;
  o.client_name = "sensordb-bench/0.1.0";
  o.credentials = client::Credentials::Token(std::move(token));
  return o;
}

}  // namespace sensordb::bench
