#include "net/tls_context.h"

#include <openssl/ssl.h>

#include <exception>
#include <string>

namespace sensordb::server {

namespace asio = boost::asio;

Result<std::shared_ptr<asio::ssl::context>> MakeServerTlsContext(const TlsConfig& tls) {
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
  if (ec) {
    return Err(Status::IOError("cannot load tls.cert_file " + tls.cert_file + ": " + ec.message()));
  }
  ctx->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
  if (ec) {
    return Err(Status::IOError("cannot load tls.key_file " + tls.key_file + ": " + ec.message()));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return Err(Status::InvalidArgument("tls.key_file " + tls.key_file +
                                       " does not match tls.cert_file " + tls.cert_file));
  }
  return ctx;
}

Result<std::unique_ptr<ListenerTls>> ListenerTls::Open(Make make, std::function<bool()> stale) {
  std::unique_ptr<ListenerTls> tls(new ListenerTls(std::move(make), std::move(stale)));
  SENSORDB_RETURN_IF_ERROR(tls->Reload());
  return tls;
}

ListenerTls::Context ListenerTls::Current() {
  std::lock_guard lock(mu_);
  if (stale_ && stale_()) {
    try {
      if (auto ctx = make_(); ctx) current_ = std::move(*ctx);
    } catch (const std::exception&) {
      // Keep the current context; the next connection tries again.
    }
  }
  return current_;
}

Status ListenerTls::Reload() {
  std::lock_guard lock(mu_);
  Result<Context> ctx = Err(Status::Internal("not loaded"));
  try {
    ctx = make_();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("loading the certificate: ") + e.what());
  }
  SENSORDB_RETURN_IF_ERROR(ctx);
  current_ = std::move(*ctx);
  return Status::Ok();
}

}  // namespace sensordb::server
