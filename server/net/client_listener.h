// ClientListener: the native protocol's TLS 1.3 listener. Accepts on one address, caps
// connections in total and per peer address, runs one Session per connection on a pool of io
// threads, and stops gracefully. Boost.Asio and OpenSSL stay inside server/net/: errors come
// out as Status. Borrows the DB and the AuthService, which must outlive it. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "auth/auth_service.h"
#include "config/server_config.h"
#include "net/metrics.h"
#include "net/request_handler.h"
#include "sensordb/db.h"
#include "sensordb/status.h"

namespace sensordb::server {

class Session;
struct ListenerIo;  // Asio objects, kept out of this header

struct ListenerCounters {
  uint64_t accepted = 0;
  uint64_t refused_total_cap = 0;
  uint64_t refused_address_cap = 0;
  uint64_t active = 0;
};

class ClientListener {
 public:
  // Loads the certificate and key, binds and starts accepting on `io_threads` threads (0: one
  // per core). The bound port is port() (config.client.port 0 picks an ephemeral one).
  static Result<std::unique_ptr<ClientListener>> Start(const ServerConfig& config, DB& db,
                                                       AuthService& auth);
  ~ClientListener();
  ClientListener(const ClientListener&) = delete;
  ClientListener& operator=(const ClientListener&) = delete;

  uint16_t port() const { return port_; }
  // Stops accepting, lets every session finish the request it is serving and send its
  // replies, closes the connections and joins the io threads. Idempotent.
  void Stop();
  ListenerCounters Counters() const;
  // Reads the certificate chain and key files again (SIGHUP): new connections use them, open
  // ones keep theirs. On any error the old certificate stays and the error says why.
  Status ReloadCertificates();
  ServerMetrics& metrics() { return metrics_; }

 private:
  friend class Session;
  ClientListener(const ServerConfig& config, DB& db, AuthService& auth);
  Status Open();
  std::shared_ptr<boost::asio::ssl::context> TlsContext();
  void Accept();
  // Takes a connection slot for `address`; false when a cap is hit.
  bool Acquire(const std::string& address);
  void Release(const std::string& address);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  const ServerConfig config_;
  DB& db_;
  AuthService& auth_;
  std::unique_ptr<ListenerIo> io_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;  // serialises Stop()

  mutable std::mutex mu_;
  std::map<std::string, uint32_t> per_address_;  // GUARDED_BY(mu_)
  std::vector<std::weak_ptr<Session>> sessions_;  // GUARDED_BY(mu_)
  ListenerCounters counters_;                     // GUARDED_BY(mu_)
  ServerMetrics metrics_;
};

}  // namespace sensordb::server
