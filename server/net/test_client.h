// A small blocking TLS client of the native protocol for the server tests: verifies the server
// certificate against the development CA, sends frames, reads verified frames. Every read is
// bounded by a socket timeout. Not thread-safe.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <openssl/ssl.h>
#include <optional>
#include <string>
#include <vector>

#include "sensordb/protocol/frame.h"

namespace sensordb::server::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class TestClient {
 public:
  // max_tls: TLS1_3_VERSION, or TLS1_2_VERSION to play an old client. `cert_file` and
  // `key_file`: a client certificate (a device) presented in the handshake.
  TestClient(const std::string& ca_file, int max_tls = TLS1_3_VERSION,
             const std::string& cert_file = {}, const std::string& key_file = {})
      : ssl_(MakeContext(cert_file, key_file)), stream_(io_, ssl_) {
    // On the SSL object: it was made from the context before this line.
    SSL_set_max_proto_version(stream_.native_handle(), max_tls);
    boost::system::error_code ec;
    ssl_.load_verify_file(ca_file, ec);
    load_error_ = ec;
    stream_.set_verify_mode(asio::ssl::verify_peer);
    stream_.set_verify_callback(asio::ssl::host_name_verification("localhost"));
  }

  // TCP connect and TLS handshake; the error, if any.
  boost::system::error_code Connect(uint16_t port) {
    if (load_error_) return load_error_;
    boost::system::error_code ec;
    stream_.lowest_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    if (ec) return ec;
    timeval tv{5, 0};  // bounds every blocking read and write
    const int fd = stream_.lowest_layer().native_handle();
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    SSL_set_tlsext_host_name(stream_.native_handle(), "localhost");
    stream_.handshake(asio::ssl::stream_base::client, ec);
    return ec;
  }

  bool SendBytes(const std::vector<uint8_t>& bytes) {
    boost::system::error_code ec;
    asio::write(stream_, asio::buffer(bytes), ec);
    return !ec;
  }
  bool Send(const protocol::OutFrame& frame) { return SendBytes(frame.ToBytes()); }

  // The next frame, or nullopt when the connection closed, timed out or sent a bad frame.
  std::optional<protocol::Frame> Receive() {
    for (int reads = 0; reads < 100'000; ++reads) {
      if (auto f = decoder_.Next()) return f;
      if (!decoder_.status().ok()) return std::nullopt;
      boost::system::error_code ec;
      const size_t n = stream_.read_some(asio::buffer(buf_), ec);
      if (ec) return std::nullopt;
      if (!decoder_.Feed(std::span<const uint8_t>(buf_.data(), n)).ok()) return std::nullopt;
    }
    return std::nullopt;
  }

  // True when the server closed the connection (nothing more arrives).
  bool Closed() { return !Receive().has_value(); }

 private:
  static asio::ssl::context MakeContext(const std::string& cert_file, const std::string& key_file) {
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    boost::system::error_code ec;
    if (!cert_file.empty()) ctx.use_certificate_chain_file(cert_file, ec);
    if (!key_file.empty()) ctx.use_private_key_file(key_file, asio::ssl::context::pem, ec);
    return ctx;
  }

  asio::io_context io_;
  asio::ssl::context ssl_;
  asio::ssl::stream<tcp::socket> stream_;
  boost::system::error_code load_error_;
  protocol::FrameDecoder decoder_{protocol::kDefaultMaxFrameBytes};
  std::array<uint8_t, 64 * 1024> buf_{};
};

}  // namespace sensordb::server::testing
