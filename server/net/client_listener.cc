// boost::system::error_code and OpenSSL errors are translated to Status here and in session.cc.
#include "net/client_listener.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>

#include "net/session.h"
#include "net/tls_context.h"
#include "sensordb/protocol/firmware_codec.h"

namespace sensordb::server {

std::shared_ptr<asio::ssl::context> ClientListener::TlsContext() { return io_->tls->Current(); }

Result<std::shared_ptr<asio::ssl::context>> ClientListener::MakeDeviceContext() {
  const uint64_t generation = authority_->CaGeneration();
  SENSORDB_ASSIGN_OR_RETURN(auto ctx, MakeServerTlsContext(config_.tls));
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify_depth(native, 2);  // leaf, project CA
  // Sessions (TLS 1.3 tickets) resume only within this context: a new context (a CA change,
  // a reload) makes new ticket keys, so a resumed session was verified against the current
  // trust store. The device's identity is checked again after every handshake (AdmitDevice).
  static constexpr unsigned char kSessionContext[] = "sensordb-device";
  SSL_CTX_set_session_id_context(native, kSessionContext, sizeof(kSessionContext) - 1);
  X509_STORE* store = SSL_CTX_get_cert_store(native);
  for (const std::string& pem : authority_->CaCertificates()) {
    BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
    X509* ca = bio != nullptr ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(bio);
    if (ca == nullptr) return Err(Status::Corruption("a project's device CA certificate is unreadable"));
    X509_STORE_add_cert(store, ca);
    X509_free(ca);
  }
  ca_generation_ = generation;
  return ctx;
}

SessionLimits ClientListener::SessionLimitsOf() const {
  return {config_.limits.max_frame_bytes, config_.limits.max_write_points,
          config_.durability == "async" ? Durability::kAsync : Durability::kSync, registry_,
          firmware_.get()};
}

namespace {
std::string DeviceKey(uint32_t project_id, std::string_view device) {
  return std::to_string(project_id) + "/" + std::string(device);
}
}  // namespace

bool ClientListener::RegisterDevice(const DeviceIdentity& device,
                                    const std::shared_ptr<Session>& session) {
  const std::string key = DeviceKey(device.project_id, device.device);
  {
    std::lock_guard lock(mu_);
    auto& list = devices_[key];
    std::erase_if(list, [](const DeviceSession& d) { return d.session.expired(); });
    if (list.size() < config_.devices.max_sessions_per_device) {
      list.push_back({session, session.get(), device.serial, device.not_after_ns});
      session->device_key_ = key;
      return true;
    }
  }
  DeviceRefused(session->peer_,
                Status::ResourceExhausted("device '" + device.device + "' of project '" +
                                          device.project + "' already has " +
                                          std::to_string(config_.devices.max_sessions_per_device) +
                                          " sessions (devices.max_sessions_per_device)"));
  return false;
}

void ClientListener::UnregisterDevice(const std::string& key, const Session* session) {
  std::lock_guard lock(mu_);
  auto it = devices_.find(key);
  if (it == devices_.end()) return;
  std::erase_if(it->second, [session](const DeviceSession& d) { return d.raw == session; });
  if (it->second.empty()) devices_.erase(it);
}

size_t ClientListener::DeviceSessions() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, list] : devices_) {
    for (const DeviceSession& d : list) n += d.session.expired() ? 0 : 1;
  }
  return n;
}

void ClientListener::DeviceRefused(const std::string& peer, const Status& why) {
  const int64_t now = WallClockNs();
  {
    std::lock_guard lock(mu_);
    if (refusal_audited_.size() > 10'000) refusal_audited_.clear();  // bounded
    int64_t& last = refusal_audited_[peer + " " + why.message()];
    if (last != 0 && now - last < 60'000'000'000LL) return;  // audited within the minute
    last = now;
  }
  const Principal device{"device-listener", PrincipalKind::kServiceAccount, false, {}, 0};
  const Status s = auth_.Record(Actor{device, peer, now}, AuditAction::kAccessDenied, std::nullopt,
                                AuditOutcome::kDenied, "device refused: " + why.message());
  if (!s.ok()) std::fprintf(stderr, "sensordbd: audit: %s\n", s.ToString().c_str());
}

void ClientListener::OnRevoked(uint32_t project_id, std::string_view device,
                               std::string_view serial) {
  std::vector<std::shared_ptr<Session>> doomed;
  {
    std::lock_guard lock(mu_);
    const std::string prefix = std::to_string(project_id) + "/";
    for (auto& [key, list] : devices_) {
      const bool match = device.empty() ? key.starts_with(prefix)
                                        : key == DeviceKey(project_id, device);
      if (!match) continue;
      for (const DeviceSession& d : list) {
        if (!serial.empty() && d.serial != serial) continue;
        if (auto s = d.session.lock()) doomed.push_back(std::move(s));
      }
    }
  }
  for (auto& s : doomed) s->Kill(ConnectionEnd::kDeviceRevoked);
}

void ClientListener::CheckExpiry() {
  std::vector<std::shared_ptr<Session>> doomed;
  {
    const int64_t now = WallClockNs();
    std::lock_guard lock(mu_);
    for (auto& [key, list] : devices_) {
      for (const DeviceSession& d : list) {
        if (d.not_after_ns != 0 && d.not_after_ns < now) {
          if (auto s = d.session.lock()) doomed.push_back(std::move(s));
        }
      }
    }
  }
  for (auto& s : doomed) s->Kill(ConnectionEnd::kDeviceRevoked);
  if (stopping()) return;
  io_->expiry.expires_after(std::chrono::seconds(1));
  io_->expiry.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) CheckExpiry();
  });
}

Status ClientListener::ReloadCertificates() { return io_->tls->Reload(); }

ClientListener::ClientListener(const ServerConfig& config, DB& db, AuthService& auth,
                               DeviceAuthority* authority, bool mqtt, ServerMetrics* metrics)
    : config_(config),
      db_(db),
      auth_(auth),
      authority_(authority),
      mqtt_(mqtt),
      own_metrics_(metrics == nullptr ? std::make_unique<ServerMetrics>() : nullptr),
      metrics_(metrics == nullptr ? own_metrics_.get() : metrics),
      device_points_(RateLimit{double(config.devices.points_per_second),
                               double(config.devices.points_burst), 1'000'000}),
      firmware_bytes_(RateLimit{double(config.devices.firmware_bytes_per_second),
                                std::max(double(config.devices.firmware_bytes_per_second),
                                         double(protocol::kMaxFirmwareReadBytes)),
                                1'000'000}),
      firmware_(std::make_unique<firmware::FirmwareStore>(db)) {}

ClientListener::~ClientListener() { Stop(); }

Result<std::unique_ptr<ClientListener>> ClientListener::Start(const ServerConfig& config, DB& db,
                                                              AuthService& auth,
                                                              ServerMetrics* metrics,
                                                              DeviceRegistry* registry) {
  std::unique_ptr<ClientListener> listener(new ClientListener(config, db, auth, nullptr, false, metrics));
  listener->registry_ = registry;
  try {
    SENSORDB_RETURN_IF_ERROR(listener->Open(config.client));
  } catch (const std::exception& e) {  // Asio and OpenSSL constructors may throw
    return Err(Status::Internal(std::string("starting the client listener: ") + e.what()));
  }
  return listener;
}

Result<std::unique_ptr<ClientListener>> ClientListener::StartDevices(const ServerConfig& config,
                                                                     DB& db, AuthService& auth,
                                                                     DeviceAuthority& authority,
                                                                     bool mqtt,
                                                                     ServerMetrics* metrics) {
  std::unique_ptr<ClientListener> listener(
      new ClientListener(config, db, auth, &authority, mqtt, metrics));
  ClientListener* l = listener.get();
  l->watch_ = authority.WatchRevocations(
      [l](uint32_t project_id, std::string_view device, std::string_view serial) {
        l->OnRevoked(project_id, device, serial);
      });
  try {
    SENSORDB_RETURN_IF_ERROR(listener->Open(ListenerConfig{
        config.devices.address, mqtt ? config.devices.mqtt_port : config.devices.port}));
  } catch (const std::exception& e) {
    return Err(Status::Internal(std::string("starting the device listener: ") + e.what()));
  }
  return listener;
}

Status ClientListener::Open(const ListenerConfig& where_config) {
  unsigned cores = std::thread::hardware_concurrency();
  if (cores == 0) cores = 1;
  const unsigned workers =
      config_.worker_threads != 0 ? config_.worker_threads : std::max(4u, 2 * cores);
  io_ = std::make_unique<ListenerIo>(workers);
  // The context of this listener's role, for the start, every reload and every CA change: a
  // device listener's requires and verifies a client certificate against the project CAs.
  if (authority_ != nullptr) {
    SENSORDB_ASSIGN_OR_RETURN(
        io_->tls, ListenerTls::Open([this] { return MakeDeviceContext(); },
                                    [this] { return authority_->CaGeneration() != ca_generation_; }));
  } else {
    SENSORDB_ASSIGN_OR_RETURN(io_->tls,
                              ListenerTls::Open([this] { return MakeServerTlsContext(config_.tls); }));
  }

  const LimitsConfig& l = config_.limits;
  AdmissionLimits limits{l.max_connections, l.max_connections_per_address,
                         l.max_preauth_connections, l.max_preauth_per_address};
  limits.preauth_timeout = std::chrono::milliseconds(l.handshake_timeout_ms);
  const std::string name = authority_ == nullptr ? "client" : mqtt_ ? "MQTT" : "device";
  SENSORDB_ASSIGN_OR_RETURN(
      io_->accept,
      AcceptLoop::Open(io_->io, name, where_config.address, where_config.port, limits,
                       [this](tcp::socket socket, std::string address, Admission::Slot slot) {
                         OnConnection(std::move(socket), std::move(address), std::move(slot));
                       }));
  port_ = io_->accept->port();
  io_->accept->Start();
  if (authority_ != nullptr) CheckExpiry();
  const unsigned n = config_.io_threads != 0 ? config_.io_threads : cores;
  for (unsigned i = 0; i < n; ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        try {
          io_->io.run();
          return;
        } catch (const std::exception& e) {  // a handler threw: log, keep serving
          std::fprintf(stderr, "sensordbd: error in an io thread: %s\n", e.what());
        }
      }
    });
  }
  return Status::Ok();
}

void ClientListener::OnConnection(tcp::socket socket, std::string address,
                                  Admission::Slot slot) {
  boost::system::error_code ignored;
  // Replies are whole frames written at once: no Nagle delay behind the peer's ACKs.
  socket.set_option(tcp::no_delay(true), ignored);
  if (stopping()) return;  // the socket closes here, the slot is released
  auto session = std::make_shared<Session>(*this, std::move(socket), address, std::move(slot));
  session->slot_.SetEvict([weak = std::weak_ptr<Session>(session)](PreauthEnd why) {
    if (auto s = weak.lock()) {
      s->Kill(why == PreauthEnd::kDeadline ? ConnectionEnd::kHandshakeTimeout
                                           : ConnectionEnd::kPreAuthEvicted);
    }
  });
  {
    std::lock_guard lock(mu_);
    std::erase_if(sessions_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
    sessions_.push_back(session);
  }
  session->Start();
}

ListenerCounters ClientListener::Counters() const {
  std::lock_guard stop_lock(stop_mu_);
  if (io_ != nullptr && io_->accept != nullptr) return io_->accept->Counters();
  std::lock_guard lock(mu_);
  return final_counters_;
}

void ClientListener::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  if (io_ == nullptr) return;
  stopping_.store(true, std::memory_order_release);
  if (io_->accept != nullptr) io_->accept->Close();
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& w : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    sessions_.clear();
  }
  for (auto& s : live) s->RequestStop();
  live.clear();
  if (authority_ != nullptr) {
    authority_->Unwatch(watch_);
    asio::post(io_->io, [this] { io_->expiry.cancel(); });
  }
  // Requests in flight finish on the workers (a streaming one stops when its session closes);
  // run() returns once every session has closed (each is bounded by its deadline).
  io_->pool.join();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  if (io_->accept != nullptr) {
    std::lock_guard lock(mu_);
    final_counters_ = io_->accept->Counters();
  }
  io_.reset();
}

}  // namespace sensordb::server
