#include "https_connection.h"

#include <fmt/core.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>

namespace sensordb::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

struct HttpsConnection::Rep {
  // `configured`: TLS settings are copied into each SSL object when the stream is made, so
  // the context must be complete before.
  Rep(const HttpsTarget& t, asio::ssl::context configured)
      : target(t), tls(std::move(configured)), stream(io, tls) {}

  // Starts one asynchronous operation with `start(handler)` and runs the io_context until it
  // completes or `timeout` expires (tcp_stream's timer cancels it: beast::error::timeout).
  template <class Start>
  error_code Run(Start&& start, std::chrono::milliseconds timeout) {
    error_code result = asio::error::would_block;
    beast::get_lowest_layer(stream).expires_after(timeout);
    start([&result](error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }
  std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(target.timeout_ms); }

  HttpsTarget target;
  asio::io_context io{1};
  asio::ssl::context tls;
  beast::ssl_stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  bool closed_by_server = false;
};

namespace {

Status NetError(const HttpsTarget& t, std::string_view step, const error_code& ec) {
  return Status::IOError(fmt::format("{} to https://{}:{}: {} ({})", step, t.host, t.port,
                                     ec.message(), ec.category().name()));
}

}  // namespace

HttpsConnection::HttpsConnection(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}

HttpsConnection::~HttpsConnection() {
  if (!rep_->closed_by_server) {
    (void)rep_->Run([&](auto h) { rep_->stream.async_shutdown(h); },
                    std::chrono::milliseconds(500));
  }
}

Result<std::unique_ptr<HttpsConnection>> HttpsConnection::Connect(const HttpsTarget& target) {
  const std::string name = target.server_name.empty() ? target.host : target.server_name;
  asio::ssl::context tls(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_3_VERSION);
  error_code ec;
  tls.load_verify_file(target.ca_file, ec);
  if (ec) {
    return Err(Status::InvalidArgument(
        fmt::format("cannot load the CA file {}: {} (give the PEM CA that signed the server "
                    "certificate, e.g. tls/ca.crt of the server directory)",
                    target.ca_file, ec.message())));
  }
  tls.set_verify_mode(asio::ssl::verify_peer);
  auto rep = std::make_unique<Rep>(target, std::move(tls));
  SSL* ssl = rep->stream.native_handle();
  (void)asio::ip::make_address(name, ec);
  const bool is_ip = !ec;
  const bool named = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1
                           : SSL_set1_host(ssl, name.c_str()) == 1 &&
                                 SSL_set_tlsext_host_name(ssl, name.c_str()) == 1;
  if (!named) return Err(Status::InvalidArgument("bad server name '" + name + "'"));

  tcp::resolver resolver(rep->io);
  const auto endpoints = resolver.resolve(target.host, std::to_string(target.port), ec);
  if (ec) return Err(NetError(target, "resolving", ec));
  ec = rep->Run([&](auto h) { beast::get_lowest_layer(rep->stream).async_connect(endpoints, h); },
                rep->timeout());
  if (ec) return Err(NetError(target, "connecting", ec));
  beast::get_lowest_layer(rep->stream).socket().set_option(tcp::no_delay(true), ec);
  ec = rep->Run([&](auto h) { rep->stream.async_handshake(asio::ssl::stream_base::client, h); },
                rep->timeout());
  if (ec) {
    return Err(NetError(
        target,
        "TLS 1.3 handshake (certificate checked against " + target.ca_file + " for '" + name + "')",
        ec));
  }
  return std::unique_ptr<HttpsConnection>(new HttpsConnection(std::move(rep)));
}

Result<HttpsConnection::Response> HttpsConnection::Post(std::string_view path,
                                                        std::string_view authorization,
                                                        std::string_view content_encoding,
                                                        std::string_view body) {
  Rep& r = *rep_;
  if (r.closed_by_server) {
    return Err(
        Status::IOError("the server closed the keep-alive connection after the previous "
                        "response (Connection: close)"));
  }
  http::request<http::span_body<const char>> req{http::verb::post, path, 11};
  req.set(http::field::host, fmt::format("{}:{}", r.target.host, r.target.port));
  req.set(http::field::user_agent, "sensordb-bench/0.1.0");
  req.set(http::field::authorization, authorization);
  req.set(http::field::content_type, "text/plain; charset=utf-8");
  if (!content_encoding.empty()) req.set(http::field::content_encoding, content_encoding);
  req.body() = boost::span<const char>(body.data(), body.size());
  req.prepare_payload();
  error_code ec = r.Run([&](auto h) { http::async_write(r.stream, req, h); }, r.timeout());
  if (ec) return Err(NetError(r.target, "sending a request", ec));

  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  ec = r.Run([&](auto h) { http::async_read(r.stream, r.buffer, parser, h); }, r.timeout());
  if (ec) return Err(NetError(r.target, "reading the response", ec));
  auto res = parser.release();
  r.closed_by_server = !res.keep_alive();
  return Response{res.result_int(), std::move(res.body())};
}

}  // namespace sensordb::bench
