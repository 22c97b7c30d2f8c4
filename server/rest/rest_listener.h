// RestListener: the REST API of sensordbd over HTTPS (docs/REST.md) — Boost.Beast on asio::ssl,
// TLS 1.3 only with the [tls] certificate, HTTP/1.1 keep-alive, one request at a time per
// connection. io threads read and write; every request's work (authentication included) runs
// on a worker pool, never on an io thread. Headers are read first (rest.header_limit_bytes)
// and the request is authenticated and authorised before its body is read
// (rest.max_body_bytes); headers and body must arrive within rest.timeout_ms. Connections are
// capped as the native listener's (limits.max_connections, max_connections_per_address).
// Borrows the DB, the AuthService and the ServerMetrics, which must outlive it. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>

#include "auth/auth_service.h"
#include "config/server_config.h"
#include "net/metrics.h"
#include "sensordb/db.h"
#include "sensordb/status.h"

namespace sensordb::server::rest {

class RestListener {
 public:
  // Loads the certificate, binds config.rest.address:port (0: ephemeral, see port()) and starts
  // serving. `metrics`: the server's counters; null: the listener's own.
  static Result<std::unique_ptr<RestListener>> Start(const ServerConfig& config, DB& db,
                                                     AuthService& auth,
                                                     ServerMetrics* metrics = nullptr);
  ~RestListener();
  RestListener(const RestListener&) = delete;
  RestListener& operator=(const RestListener&) = delete;

  uint16_t port() const { return port_; }
  // Stops accepting, closes connections waiting for a request, lets requests being handled
  // finish and send their responses (a streaming one is bounded by limits.send_timeout_ms),
  // then joins the threads. Idempotent.
  void Stop();
  // Reads tls.cert_file and tls.key_file again (SIGHUP): new connections use them; on any
  // error the old certificate stays and the error says why.
  Status ReloadCertificates();

  struct Rep;  // the Asio objects, in the .cc

 private:
  explicit RestListener(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
  uint16_t port_ = 0;
};

}  // namespace sensordb::server::rest
