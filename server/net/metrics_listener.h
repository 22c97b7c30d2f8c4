// MetricsListener: the Prometheus scrape endpoint of sensordbd — plain HTTP/1.1 (Boost.Beast) on
// a loopback address (the config refuses any other), `GET /metrics` only. Every request must
// carry `Authorization: Bearer <token>` of a superuser or of an account listed in
// metrics.accounts; anything else is refused (401/403) before the exposition is rendered, and
// counted. One io thread; one request per connection; each bounded in size (8 KiB of headers,
// no body) and time (5 s). Borrows the AuthService and ServerMetrics. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "auth/auth_service.h"
#include "config/server_config.h"
#include "net/metrics.h"
#include "sensordb/status.h"

namespace sensordb::server {

class MetricsListener {
 public:
  // The exposition text, built at scrape time (called on the listener's thread).
  using RenderFn = std::function<std::string()>;

  static Result<std::unique_ptr<MetricsListener>> Start(const MetricsConfig& config,
                                                        AuthService& auth, ServerMetrics& metrics,
                                                        RenderFn render);
  ~MetricsListener();
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  uint16_t port() const { return port_; }
  void Stop();  // idempotent

  struct Rep;  // the implementation (Asio objects), in the .cc

 private:
  explicit MetricsListener(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
  uint16_t port_ = 0;
};

}  // namespace sensordb::server
