// The TLS settings every sensordbd listener shares: TLS 1.3 only (minimum and maximum), no
// renegotiation, no compression, the configured certificate chain and key, checked to match.
// And ListenerTls: the context of one listener for its role, as the listener core hands it to
// new connections and as a certificate reload replaces it.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <mutex>

#include "config/server_config.h"
#include "sensordb/status.h"

namespace sensordb::server {

// A new context per call. Thread-safe.
Result<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const TlsConfig& tls);

// One listener's TLS context, always made by the same `make` — the plain server context, or
// one that requires and verifies device certificates — at start, on Reload() (SIGHUP) and when
// `stale` says the current one is out of date (a project's device CA came or went). So a
// reload can never install another role's context (the device ports once got the plain one
// and let every device through without a certificate). New connections take Current(); open
// ones keep theirs. Thread-safe: `make` and `stale` run under its lock, one at a time.
class ListenerTls {
 public:
  using Context = std::shared_ptr<boost::asio::ssl::context>;
  using Make = std::function<Result<Context>()>;

  // The first context, or why it cannot be made.
  static Result<std::unique_ptr<ListenerTls>> Open(Make make, std::function<bool()> stale = {});

  // The context for a new connection, rebuilt first if stale (kept if the rebuild fails).
  Context Current();
  // Makes a new context from the files as they are now; on any error the current one stays
  // and the error says why.
  Status Reload();

 private:
  ListenerTls(Make make, std::function<bool()> stale)
      : make_(std::move(make)), stale_(std::move(stale)) {}

  const Make make_;
  const std::function<bool()> stale_;
  std::mutex mu_;
  Context current_;  // GUARDED_BY(mu_)
};

}  // namespace sensordb::server
