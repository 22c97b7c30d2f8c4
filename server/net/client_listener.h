// ClientListener: a TLS 1.3 listener of the native protocol. Accepts on one address, caps
// connections in total and per peer address, runs one Session per connection on a pool of io
// threads, and stops gracefully. Two roles: the client listener (people and programs, who log
// in with Auth) and the device listener (StartDevices: a client certificate is required and
// DeviceAuthority admits it; docs/DEVICES.md). Boost.Asio and OpenSSL stay inside server/net/:
// errors come out as Status. Borrows the DB, the AuthService, the DeviceAuthority and a shared
// ServerMetrics, which must outlive it. Thread-safe.
#pragma once

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/auth_service.h"
#include "auth/rate_limiter.h"
#include "config/server_config.h"
#include "devices/device_authority.h"
#include "firmware/firmware_store.h"
#include "net/listener_core.h"
#include "net/metrics.h"
#include "net/request_handler.h"
#include "sensordb/db.h"
#include "sensordb/status.h"

namespace sensordb::server {

class Session;
class DeviceRegistry;
struct ListenerIo;  // Asio objects, kept out of this header

class ClientListener {
 public:
  // Loads the certificate and key, binds and starts accepting on `io_threads` threads (0: one
  // per core). The bound port is port() (config.client.port 0 picks an ephemeral one).
  // `metrics`: where to count (the server's one object); null: the listener's own.
  // `registry`: for the device administration requests (enrol, revoke, ...); null: they fail.
  static Result<std::unique_ptr<ClientListener>> Start(const ServerConfig& config, DB& db,
                                                       AuthService& auth,
                                                       ServerMetrics* metrics = nullptr,
                                                       DeviceRegistry* registry = nullptr);
  // The device listener on config.devices.address: the native device stream on devices.port,
  // or with `mqtt` MQTT 3.1.1 on devices.mqtt_port.
  static Result<std::unique_ptr<ClientListener>> StartDevices(const ServerConfig& config, DB& db,
                                                              AuthService& auth,
                                                              DeviceAuthority& authority,
                                                              bool mqtt,
                                                              ServerMetrics* metrics = nullptr);
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
  ServerMetrics& metrics() { return *metrics_; }
  // Live device sessions (device listener).
  size_t DeviceSessions() const;

 private:
  friend class Session;
  ClientListener(const ServerConfig& config, DB& db, AuthService& auth, DeviceAuthority* authority,
                 bool mqtt, ServerMetrics* metrics);
  Status Open(const ListenerConfig& where);
  std::shared_ptr<boost::asio::ssl::context> TlsContext();
  // Device role: a context whose trust store holds the device CAs of every project, rebuilt
  // when their generation changes.
  Result<std::shared_ptr<boost::asio::ssl::context>> MakeDeviceContext();
  SessionLimits SessionLimitsOf() const;
  // An admitted device session: false (refused, counted, audited) when the device already has
  // devices.max_sessions_per_device sessions.
  bool RegisterDevice(const DeviceIdentity& device, const std::shared_ptr<Session>& session);
  void UnregisterDevice(const std::string& key, const Session* session);
  void DeviceRefused(const std::string& peer, const Status& why);
  void OnRevoked(uint32_t project_id, std::string_view device, std::string_view serial);
  void CheckExpiry();  // every second: sessions whose certificate has expired are closed
  void OnConnection(boost::asio::ip::tcp::socket socket, std::string address,
                    Admission::Slot slot);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  const ServerConfig config_;
  DB& db_;
  AuthService& auth_;
  DeviceAuthority* const authority_;  // null for the client listener
  const bool mqtt_;                   // the MQTT device listener
  DeviceRegistry* registry_ = nullptr;  // client listener: for device administration
  std::unique_ptr<ServerMetrics> own_metrics_;
  ServerMetrics* metrics_;
  RateLimiter device_points_;
  RateLimiter firmware_bytes_;                         // per device
  std::unique_ptr<firmware::FirmwareStore> firmware_;
  uint64_t watch_ = 0;
  uint64_t ca_generation_ = 0;  // GUARDED_BY(io_->tls's lock: MakeDeviceContext runs under it)
  std::unique_ptr<ListenerIo> io_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex stop_mu_;  // serialises Stop()

  mutable std::mutex mu_;
  std::vector<std::weak_ptr<Session>> sessions_;  // GUARDED_BY(mu_)
  ListenerCounters final_counters_;               // GUARDED_BY(mu_); after Stop
  struct DeviceSession {
    std::weak_ptr<Session> session;
    const Session* raw = nullptr;
    std::string serial;
    int64_t not_after_ns = 0;
  };
  // "project_id/device" -> its live sessions.
  std::map<std::string, std::vector<DeviceSession>> devices_;  // GUARDED_BY(mu_)
  // At most one audit entry per peer and reason a minute for refused devices.
  std::map<std::string, int64_t> refusal_audited_;  // GUARDED_BY(mu_)
};

}  // namespace sensordb::server
