// boost::system::error_code and OpenSSL errors are translated to Status here and in session.cc.
#include "net/client_listener.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <cstdio>

#include "net/session.h"

namespace sensordb::server {

namespace {

Status NetError(std::string what, const boost::system::error_code& ec) {
  return Status::IOError(std::move(what) + ": " + ec.message());
}

// A TLS 1.3-only server context with the configured certificate chain and key.
Result<std::shared_ptr<asio::ssl::context>> MakeTlsContext(const TlsConfig& tls) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  // TLS 1.3 only: nothing older is negotiated, whatever the client offers.
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return Err(Status::Internal("this OpenSSL cannot restrict the listener to TLS 1.3"));
  }
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(tls.cert_file, ec);
  if (ec) return Err(NetError("cannot load tls.cert_file " + tls.cert_file, ec));
  ctx->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
  if (ec) return Err(NetError("cannot load tls.key_file " + tls.key_file, ec));
  if (SSL_CTX_check_private_key(native) != 1) {
    return Err(Status::InvalidArgument("tls.key_file " + tls.key_file +
                                       " does not match tls.cert_file " + tls.cert_file));
  }
  return ctx;
}

}  // namespace

std::shared_ptr<asio::ssl::context> ClientListener::TlsContext() {
  std::lock_guard lock(io_->ssl_mu);
  return io_->ssl;
}

Status ClientListener::ReloadCertificates() {
  Result<std::shared_ptr<asio::ssl::context>> ctx = Err(Status::Internal("not loaded"));
  try {
    ctx = MakeTlsContext(config_.tls);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("reloading the certificate: ") + e.what());
  }
  if (!ctx) return ctx.error();
  std::lock_guard lock(io_->ssl_mu);
  io_->ssl = std::move(*ctx);
  return Status::Ok();
}

ClientListener::ClientListener(const ServerConfig& config, DB& db, AuthService& auth)
    : config_(config), db_(db), auth_(auth) {}

ClientListener::~ClientListener() { Stop(); }

Result<std::unique_ptr<ClientListener>> ClientListener::Start(const ServerConfig& config, DB& db,
                                                              AuthService& auth) {
  std::unique_ptr<ClientListener> listener(new ClientListener(config, db, auth));
  try {
    SENSORDB_RETURN_IF_ERROR_R(listener->Open());
  } catch (const std::exception& e) {  // Asio and OpenSSL constructors may throw
    return Err(Status::Internal(std::string("starting the client listener: ") + e.what()));
  }
  return listener;
}

Status ClientListener::Open() {
  unsigned cores = std::thread::hardware_concurrency();
  if (cores == 0) cores = 1;
  const unsigned workers =
      config_.worker_threads != 0 ? config_.worker_threads : std::max(4u, 2 * cores);
  io_ = std::make_unique<ListenerIo>(workers);
  auto ssl = MakeTlsContext(config_.tls);
  if (!ssl) return ssl.error();
  io_->ssl = std::move(*ssl);

  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(config_.client.address, ec);
  if (ec) return NetError("client.address '" + config_.client.address + "' is not an IP address", ec);
  const tcp::endpoint endpoint(address, config_.client.port);
  const std::string where = config_.client.address + ":" + std::to_string(config_.client.port);
  io_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) io_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) io_->acceptor.bind(endpoint, ec);
  if (ec) return NetError("cannot listen on " + where, ec);
  io_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return NetError("cannot listen on " + where, ec);
  port_ = io_->acceptor.local_endpoint(ec).port();
  if (ec) return NetError("listener address", ec);

  Accept();
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

void ClientListener::Accept() {
  io_->acceptor.async_accept(
      asio::make_strand(io_->io), [this](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !io_->acceptor.is_open()) return;
        if (!ec) {
          boost::system::error_code ep_ec;
          const tcp::endpoint peer = socket.remote_endpoint(ep_ec);
          const std::string address = ep_ec ? "unknown" : peer.address().to_string();
          // Replies are whole frames written at once: no Nagle delay behind the peer's ACKs.
          socket.set_option(tcp::no_delay(true), ep_ec);
          if (stopping() || !Acquire(address)) {
            boost::system::error_code ignored;
            socket.close(ignored);
          } else {
            auto session = std::make_shared<Session>(*this, std::move(socket), address);
            {
              std::lock_guard lock(mu_);
              std::erase_if(sessions_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
              sessions_.push_back(session);
            }
            session->Start();
          }
        }
        Accept();
      });
}

bool ClientListener::Acquire(const std::string& address) {
  std::lock_guard lock(mu_);
  if (counters_.active >= config_.limits.max_connections) {
    ++counters_.refused_total_cap;
    return false;
  }
  uint32_t& mine = per_address_[address];
  if (mine >= config_.limits.max_connections_per_address) {
    ++counters_.refused_address_cap;
    return false;
  }
  ++mine;
  ++counters_.active;
  ++counters_.accepted;
  return true;
}

void ClientListener::Release(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
  --counters_.active;
}

ListenerCounters ClientListener::Counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void ClientListener::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  if (io_ == nullptr) return;
  stopping_.store(true, std::memory_order_release);
  asio::post(io_->io, [this] {
    boost::system::error_code ignored;
    io_->acceptor.close(ignored);
  });
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
  // Requests in flight finish on the workers (a streaming one stops when its session closes);
  // run() returns once every session has closed (each is bounded by its deadline).
  io_->pool.join();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  io_.reset();
}

}  // namespace sensordb::server
