// HttpsConnection: one HTTP/1.1 keep-alive connection over TLS 1.3 to a REST server (Boost.Beast
// on asio::ssl), the server's certificate verified against a CA file and the expected name or IP
// address. One request at a time: Post sends a request and reads the whole response. Every
// network step is bounded by `timeout_ms`. Boost errors are translated to Status here; the
// authorization value is sent, never logged. Not thread-safe: one per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb::bench {

struct HttpsTarget {
  std::string host;  // name or address to connect to
  uint16_t port = 0;
  std::string server_name;  // expected in the certificate; empty: `host`
  std::string ca_file;      // PEM CA that signs the server certificate
  int timeout_ms = 60'000;
};

class HttpsConnection {
 public:
  struct Response {
    unsigned status = 0;
    std::string body;
  };

  // Connects and completes the TLS 1.3 handshake.
  static Result<std::unique_ptr<HttpsConnection>> Connect(const HttpsTarget& target);
  ~HttpsConnection();  // closes the TLS session (close_notify), bounded by a short timeout
  HttpsConnection(const HttpsConnection&) = delete;
  HttpsConnection& operator=(const HttpsConnection&) = delete;

  // POSTs `body` (not copied) to `path` ("/write?db=..."), with `Authorization: <authorization>`
  // and, unless empty, `Content-Encoding: <content_encoding>`. Any HTTP status is a Response;
  // an error is a network or protocol failure, or a server that closed the keep-alive
  // connection after its previous response.
  Result<Response> Post(std::string_view path, std::string_view authorization,
                        std::string_view content_encoding, std::string_view body);

  struct Rep;  // the Asio objects, in the .cc

 private:
  explicit HttpsConnection(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace sensordb::bench
