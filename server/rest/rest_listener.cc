// Threads: the io threads run the acceptor and every connection's reads and writes, each
// connection on its own strand; the workers run RestHandler. A worker writes a response by
// posting the write to the connection's strand and waiting for it (ResponseWriter), so a
// streamed query has at most one chunk in flight and memory stays bounded whatever its size.
#include "rest/rest_listener.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "net/listener_core.h"
#include "net/tls_context.h"
#include "rest/request_head.h"
#include "rest/rest_handler.h"

namespace sensordb::server::rest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kShutdownTimeout = std::chrono::seconds(2);

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

class Connection;

}  // namespace

struct RestListener::Rep {
  Rep(const ServerConfig& c, DB& d, AuthService& a, ServerMetrics* m, unsigned workers)
      : config(c),
        own_metrics(m == nullptr ? std::make_unique<ServerMetrics>() : nullptr),
        metrics(m == nullptr ? *own_metrics : *m),
        handler(d, a, metrics, RestLimits{c.rest.max_body_bytes, c.limits.max_write_points}),
        pool(workers) {}

  const ServerConfig config;
  std::unique_ptr<ServerMetrics> own_metrics;
  ServerMetrics& metrics;
  RestHandler handler;
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;  // serialises Stop()

  std::unique_ptr<ListenerTls> tls;  // the server context, replaced by a reload

  std::mutex mu;
  std::vector<std::weak_ptr<Connection>> connections;    // GUARDED_BY(mu)

  asio::io_context io;
  std::unique_ptr<AcceptLoop> accept;  // its slots outlive it (held by connections)
  asio::thread_pool pool;
  std::vector<std::thread> threads;

  std::shared_ptr<ssl::context> TlsContext() { return tls->Current(); }
  void OnConnection(tcp::socket socket, std::string address, Admission::Slot slot);
};

namespace {

// One HTTPS connection: handshake, then requests one at a time until the client closes, a
// response says Connection: close, a deadline passes or the listener stops.
class Connection : public std::enable_shared_from_this<Connection>, public ResponseWriter {
 public:
  Connection(RestListener::Rep& rep, tcp::socket socket, std::string peer,
             std::shared_ptr<ssl::context> ctx, Admission::Slot slot)
      : rep_(rep),
        ctx_(std::move(ctx)),
        stream_(beast::tcp_stream(std::move(socket)), *ctx_),
        peer_(std::move(peer)),
        slot_(std::move(slot)) {}

  // Lets the listener core close this connection while it has not authenticated: to make
  // room in the pre-auth pool, or when limits.handshake_timeout_ms has passed (the TLS
  // handshake and the first request's header with valid credentials).
  void OnEvicted() {
    slot_.SetEvict([weak = weak_from_this()](PreauthEnd why) {
      if (auto self = weak.lock()) {
        if (why == PreauthEnd::kDeadline) {
          self->rep_.metrics.RecordRestRefusal(RestRefusal::kTimeout);
        }
        asio::post(self->stream_.get_executor(), [self] { self->CloseNow(); });
      }
    });
  }

  void Start() {
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (ec) return self->CloseNow();
                              self->ReadHeader();
                            });
  }

  // On the strand: closes a connection that is waiting for a request (Stop).
  void CloseIfIdle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->working_) self->CloseNow();
    });
  }

  // --- ResponseWriter (on a worker) ------------------------------------------------------------
  bool Send(RestResponse r) override {
    status_ = r.status;
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), 11);
    res->set(http::field::server, "sensordbd");
    if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
    if (r.status == 401) res->set(http::field::www_authenticate, "Bearer");
    if (r.retry_after_s > 0) res->set(http::field::retry_after, std::to_string(r.retry_after_s));
    if (!r.allow.empty()) res->set(http::field::allow, r.allow);
    if (r.influxdb_version) res->set("X-Influxdb-Version", kInfluxDbVersion);
    if (r.close) close_after_ = true;
    res->keep_alive(keep_alive_ && !close_after_);
    res->body() = std::move(r.body);
    res->prepare_payload();
    return OnIo([res](Connection& c, auto done) { http::async_write(c.stream_, *res, done); });
  }
  bool BeginChunked(unsigned status, std::string_view content_type) override {
    status_ = status;
    struct Head {
      http::response<http::empty_body> res;
      std::optional<http::response_serializer<http::empty_body>> sr;
    };
    auto head = std::make_shared<Head>();
    head->res = http::response<http::empty_body>(static_cast<http::status>(status), 11);
    head->res.set(http::field::server, "sensordbd");
    head->res.set(http::field::content_type, content_type);
    head->res.keep_alive(keep_alive_);
    head->res.chunked(true);
    head->sr.emplace(head->res);
    return OnIo([head](Connection& c, auto done) { http::async_write_header(c.stream_, *head->sr, done); });
  }
  // One buffer per chunk, framing included: the TLS stream seals each buffer of a sequence as a
  // record of its own, and three small records per chunk (size line, data, CRLF) cost a record
  // each and, behind Nagle and the client's delayed ACK, up to 40 ms per response.
  bool Chunk(std::string_view data) override {
    if (data.empty()) return true;
    auto framed = std::make_shared<std::string>();
    framed->reserve(data.size() + 20);
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof(size_line), "%zx\r\n", data.size());
    framed->append(size_line, size_t(n)).append(data).append("\r\n");
    return OnIo([framed](Connection& c, auto done) {
      asio::async_write(c.stream_, asio::buffer(*framed), done);
    });
  }
  bool EndChunked() override {
    return OnIo([](Connection& c, auto done) {
      static constexpr std::string_view kLast = "0\r\n\r\n";  // one record, as Chunk
      asio::async_write(c.stream_, asio::buffer(kLast.data(), kLast.size()), done);
    });
  }

 private:
  void Timeout(uint32_t ms) {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(ms));
  }

  void ReadHeader() {
    working_ = false;
    if (rep_.stopping.load(std::memory_order_acquire)) return Shutdown();
    head_.emplace();
    head_->header_limit(rep_.config.rest.header_limit_bytes);
    head_->body_limit(boost::none);  // the body is judged after authentication
    body_.reset();
    close_after_ = false;
    Timeout(rep_.config.rest.timeout_ms);  // for the headers and the body together
    http::async_read_header(stream_, buffer_, *head_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              self->OnHeader(ec);
                            });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
          ec == asio::ssl::error::stream_truncated || ec == asio::error::eof) {
        return CloseNow();
      }
      if (ec == beast::error::timeout) {
        // An idle keep-alive connection ends here too; only a started request is a refusal.
        if (buffer_.size() != 0) rep_.metrics.RecordRestRefusal(RestRefusal::kTimeout);
        return CloseNow();
      }
      const bool big = ec == http::error::header_limit || ec == http::error::buffer_overflow;
      rep_.metrics.RecordRestRefusal(big ? RestRefusal::kTooLarge : RestRefusal::kMalformed);
      keep_alive_ = false;
      return Work([big, msg = ec.message()](Connection& c) {
        RestResponse r = ErrorResponse(big ? 413 : 400,
                                       big ? "the request headers exceed rest.header_limit_bytes"
                                           : "malformed HTTP request: " + msg);
        r.close = true;
        c.Send(std::move(r));
        return false;
      });
    }
    started_ = std::chrono::steady_clock::now();
    keep_alive_ = head_->get().keep_alive();
    Work([](Connection& c) {
      std::optional<uint64_t> length;
      if (auto n = c.head_->content_length()) length = *n;
      const RequestHead head = HeadOf(c.head_->get(), length, c.peer_);
      auto admitted = c.rep_.handler.Admit(head);
      if (!admitted) {
        c.Send(std::move(admitted.error()));
        return false;
      }
      c.slot_.Authenticated();  // credentials verified: out of the pre-auth pool
      // Back on the strand: the body, within the same deadline as the headers.
      auto request = std::make_shared<Admitted>(std::move(*admitted));
      asio::post(c.stream_.get_executor(), [self = c.shared_from_this(), request] {
        self->ReadBody(std::move(request));
      });
      return true;
    });
  }

  void ReadBody(std::shared_ptr<Admitted> request) {
    working_ = false;
    body_.emplace(std::move(*head_));
    body_->body_limit(rep_.config.rest.max_body_bytes);
    http::async_read(stream_, buffer_, *body_,
                     [self = shared_from_this(), request](beast::error_code ec, size_t) {
                       self->OnBody(ec, request);
                     });
  }

  void OnBody(beast::error_code ec, std::shared_ptr<Admitted> request) {
    if (ec) {
      if (ec == beast::error::timeout) {
        // A client that does not finish its body in time (slowloris): cut, no answer.
        rep_.metrics.RecordRestRefusal(RestRefusal::kTimeout);
        return CloseNow();
      }
      if (ec == http::error::body_limit) {
        rep_.metrics.RecordRestRefusal(RestRefusal::kTooLarge);
        return Work([request](Connection& c) {
          RestResponse r =
              ErrorResponse(413,
                            "the body exceeds rest.max_body_bytes (" +
                                std::to_string(c.rep_.config.rest.max_body_bytes) + ")",
                            request->dialect);
          r.close = true;
          c.Send(std::move(r));
          return false;
        });
      }
      return CloseNow();
    }
    Work([request](Connection& c) {
      c.rep_.handler.Handle(*request, std::move(c.body_->get().body()), c);
      return false;
    });
  }

  // Runs `fn` on a worker, then continues with the next request or closes; unless `fn`
  // returns true: it handed the request on (to the body read).
  template <typename Fn>
  void Work(Fn fn) {
    working_ = true;
    asio::post(rep_.pool, [self = shared_from_this(), fn = std::move(fn)]() mutable {
      self->status_ = 0;
      self->failed_ = false;
      bool handed_off = false;
      try {
        handed_off = fn(*self);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "sensordbd: REST request failed: %s\n", e.what());
        if (self->status_ == 0) {
          RestResponse r = ErrorResponse(500, "internal error");
          r.close = true;
          self->Send(std::move(r));
        } else {
          self->failed_ = true;
        }
      }
      if (handed_off) return;  // the body is being read
      if (self->status_ != 0) {
        self->rep_.metrics.RecordRestResponse(self->status_, SecondsSince(self->started_));
      }
      const bool next = !self->failed_ && self->keep_alive_ && !self->close_after_;
      asio::post(self->stream_.get_executor(), [self, next] {
        if (next) {
          self->ReadHeader();
        } else {
          self->Shutdown();
        }
      });
    });
  }

  // Runs `op(connection, done)` on the strand and waits for `done` (on a worker), bounded by
  // the send timeout; false (and the connection closed) on an error or timeout.
  template <typename Op>
  bool OnIo(Op op) {
    if (failed_) return false;
    auto promise = std::make_shared<std::promise<beast::error_code>>();
    auto result = promise->get_future();
    const uint32_t timeout_ms = rep_.config.limits.send_timeout_ms;
    asio::post(stream_.get_executor(), [self = shared_from_this(), op = std::move(op), promise,
                                        timeout_ms]() mutable {
      self->Timeout(timeout_ms);
      op(*self, [promise](beast::error_code ec, size_t = 0) { promise->set_value(ec); });
    });
    const auto wait = std::chrono::milliseconds(timeout_ms) + std::chrono::seconds(2);
    if (result.wait_for(wait) != std::future_status::ready || result.get()) {
      failed_ = true;
      asio::post(stream_.get_executor(), [self = shared_from_this()] { self->CloseNow(); });
      return false;
    }
    return true;
  }

  void Shutdown() {
    Timeout(std::chrono::duration_cast<std::chrono::milliseconds>(kShutdownTimeout).count());
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->CloseNow(); });
  }

  void CloseNow() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).socket().close(ignored);
  }

  RestListener::Rep& rep_;
  std::shared_ptr<ssl::context> ctx_;  // outlives stream_, which borrows it
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> head_;
  std::optional<http::request_parser<http::string_body>> body_;
  const std::string peer_;
  Admission::Slot slot_;  // the connection's place under limits.*; released with it
  // Set on the strand before a worker runs and read by it afterwards (the post orders them).
  bool working_ = false;
  bool keep_alive_ = true;
  std::atomic<bool> close_after_{false};
  std::atomic<bool> failed_{false};
  std::atomic<unsigned> status_{0};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace

void RestListener::Rep::OnConnection(tcp::socket socket, std::string address,
                                     Admission::Slot slot) {
  if (stopping.load(std::memory_order_acquire)) return;
  // Responses are written whole or in 64 KiB chunks: no Nagle delay behind the client's ACKs.
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto c = std::make_shared<Connection>(*this, std::move(socket), std::move(address), TlsContext(),
                                        std::move(slot));
  c->OnEvicted();
  {
    std::lock_guard lock(mu);
    std::erase_if(connections, [](const auto& w) { return w.expired(); });
    connections.push_back(c);
  }
  c->Start();
}

RestListener::RestListener(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}

RestListener::~RestListener() { Stop(); }

Result<std::unique_ptr<RestListener>> RestListener::Start(const ServerConfig& config, DB& db,
                                                          AuthService& auth,
                                                          ServerMetrics* metrics) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const unsigned workers =
      config.worker_threads != 0 ? config.worker_threads : std::max(4u, 2 * cores);
  const unsigned io_threads = config.io_threads != 0 ? config.io_threads : cores;
  const std::string where = config.rest.address + ":" + std::to_string(config.rest.port);
  std::unique_ptr<Rep> rep;
  uint16_t port = 0;
  try {
    rep = std::make_unique<Rep>(config, db, auth, metrics, workers);
    const TlsConfig files = config.tls;
    auto tls = ListenerTls::Open([files] { return MakeServerTlsContext(files); });
    SENSORDB_RETURN_IF_ERROR(tls);
    rep->tls = std::move(*tls);
    const LimitsConfig& l = config.limits;
    Rep* r = rep.get();
    AdmissionLimits limits{l.max_connections, l.max_connections_per_address,
                           l.max_preauth_connections, l.max_preauth_per_address};
    limits.preauth_timeout = std::chrono::milliseconds(l.handshake_timeout_ms);
    auto accept = AcceptLoop::Open(
        rep->io, "REST", config.rest.address, config.rest.port, limits,
        [r](tcp::socket socket, std::string address, Admission::Slot slot) {
          r->OnConnection(std::move(socket), std::move(address), std::move(slot));
        });
    SENSORDB_RETURN_IF_ERROR(accept);
    rep->accept = std::move(*accept);
    rep->accept->SetOnRefused([r] { r->metrics.RecordRestRefusal(RestRefusal::kConnectionCap); });
    port = rep->accept->port();
    rep->accept->Start();
    for (unsigned i = 0; i < io_threads; ++i) {
      rep->threads.emplace_back([r] {
        for (;;) {
          try {
            r->io.run();
            return;
          } catch (const std::exception& e) {
            std::fprintf(stderr, "sensordbd: error in a REST io thread: %s\n", e.what());
          }
        }
      });
    }
  } catch (const std::exception& e) {  // Asio and OpenSSL constructors may throw
    return Err(Status::Internal(std::string("starting the REST listener: ") + e.what()));
  }
  std::unique_ptr<RestListener> listener(new RestListener(std::move(rep)));
  listener->port_ = port;
  return listener;
}

void RestListener::Stop() {
  std::lock_guard lock(rep_->stop_mu);
  if (rep_->stopping.exchange(true)) return;
  if (rep_->accept != nullptr) rep_->accept->Close();
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard l(rep_->mu);
    for (auto& w : rep_->connections) {
      if (auto c = w.lock()) open.push_back(std::move(c));
    }
    rep_->connections.clear();
  }
  for (auto& c : open) c->CloseIfIdle();
  open.clear();
  // Requests being handled finish on the workers (their writes need the io threads).
  rep_->pool.join();
  // TLS shutdowns in progress get a moment, then everything left is dropped.
  const auto deadline = std::chrono::steady_clock::now() + kShutdownTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (rep_->accept == nullptr || rep_->accept->Counters().active == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  rep_->io.stop();
  for (auto& t : rep_->threads) {
    if (t.joinable()) t.join();
  }
}

Status RestListener::ReloadCertificates() { return rep_->tls->Reload(); }

}  // namespace sensordb::server::rest
