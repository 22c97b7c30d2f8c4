// ClientOptions: where a sensordb client connects, how it checks the server's certificate, who
// it logs in as, and its timeouts and pipelining window (docs/CLIENT.md). Plain value type.
#pragma once

#include <cstdint>
#include <string>

#include "sensordb/status.h"

namespace sensordb::client {

// Exactly one way to log in: an API token (service accounts), or a user name with its password.
// The client sends the secret once, in Auth, and never logs it.
struct Credentials {
  std::string token;
  std::string user;
  std::string password;

  static Credentials Token(std::string token) { return {std::move(token), {}, {}}; }
  static Credentials Password(std::string user, std::string password) {
    return {{}, std::move(user), std::move(password)};
  }
};

struct ClientOptions {
  std::string host = "localhost";  // a DNS name or an IP address
  uint16_t port = 7070;

  // PEM file of the CA(s) that sign the server's certificate (`sensordbd init` writes
  // tls/ca.crt). Empty: the system's trust store. The certificate is always verified, and its
  // name checked against `server_name` (empty: `host`), unless insecure_skip_verify is set.
  std::string ca_file;
  std::string server_name;
  // TESTS ONLY: accept any certificate for any name. Anyone on the path can then read the
  // credentials and the data. Never set this in a program that talks to a real server.
  bool insecure_skip_verify = false;

  Credentials credentials;
  std::string client_name = "sensordb-client/0.1.0";  // "name/version", for the server's logs

  // Resolve, TCP connect, TLS handshake, Hello and Auth together must finish within this.
  uint32_t connect_timeout_ms = 10'000;
  // Longest wait for the next reply frame of a request (its reply, or a query's next chunk);
  // the request then fails and its late reply is discarded. Also bounds the wait for a free
  // slot in the window. 0: no limit.
  uint32_t request_timeout_ms = 30'000;
  // Requests sent and not yet answered (the pipelining window). A call made while the window
  // is full waits for a slot: that is the back-pressure.
  uint32_t max_in_flight = 8;
  // Largest frame payload accepted from the server; a larger one breaks the connection.
  uint32_t max_frame_bytes = 16 * 1024 * 1024;
};

// Ok, or kInvalidArgument naming the first option that is wrong (no secret is ever quoted).
Status ValidateOptions(const ClientOptions& options);

}  // namespace sensordb::client
