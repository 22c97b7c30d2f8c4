#include "net/metrics_listener.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <thread>

#include "net/listener_core.h"
#include "net/request_handler.h"

namespace sensordb::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr uint32_t kHeaderLimit = 8 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(5);
constexpr uint32_t kMaxConnections = 64;  // open scrapes, 16 per address

}  // namespace

struct MetricsListener::Rep {
  Rep(const MetricsConfig& c, AuthService& a, ServerMetrics& m, RenderFn r)
      : config(c), auth(a), metrics(m), render(std::move(r)) {}

  const MetricsConfig config;
  AuthService& auth;
  ServerMetrics& metrics;
  const RenderFn render;
  asio::io_context io;
  std::unique_ptr<AcceptLoop> accept;
  std::thread thread;
  std::mutex stop_mu;
  bool stopped = false;
};

namespace {

// One connection: read one request, answer it, close.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(MetricsListener::Rep& rep, tcp::socket socket, std::string peer, Admission::Slot slot)
      : rep_(rep), stream_(std::move(socket)), peer_(std::move(peer)), slot_(std::move(slot)) {
    parser_.header_limit(kHeaderLimit);
    parser_.body_limit(0);  // a scrape has no body
  }

  // Until its token is verified the listener core closes the exchange at kRequestTimeout (or
  // for room in the pool); then the answer gets as long again to be written.
  void Start() {
    slot_.SetEvict([weak = weak_from_this()](PreauthEnd) {
      if (auto self = weak.lock()) {
        asio::post(self->stream_.get_executor(), [self] { self->stream_.close(); });
      }
    });
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code e, size_t) { self->OnRead(e); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) {
      // A malformed or oversized request: nothing is rendered; a short 400 when possible. A
      // peer that closed, or one the listener core closed (its deadline, or room in the pool),
      // gets nothing and is not counted twice.
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != asio::error::operation_aborted && ec != asio::error::bad_descriptor) {
        rep_.metrics.RecordMetricsRefusal();
        Reply(http::status::bad_request, "bad request: " + ec.message() + "\n");
      }
      return;
    }
    const auto& req = parser_.get();
    // Authentication comes first: no route, method or path is revealed without it.
    const std::string_view header = req[http::field::authorization];
    constexpr std::string_view kBearer = "Bearer ";
    if (header.size() <= kBearer.size() || !header.starts_with(kBearer)) {
      rep_.metrics.RecordMetricsRefusal();
      Reply(http::status::unauthorized, "an API token is required: Authorization: Bearer <token>\n");
      return;
    }
    AuthResult who = rep_.auth.Authenticate(Credentials::Token(header.substr(kBearer.size())),
                                            peer_, WallClockNs());
    if (!who) {
      rep_.metrics.RecordMetricsRefusal();
      Reply(http::status::unauthorized, who.error().message + "\n");
      return;
    }
    slot_.Authenticated();
    stream_.expires_after(kRequestTimeout);
    const auto& allowed = rep_.config.accounts;
    if (!who->superuser && std::find(allowed.begin(), allowed.end(), who->name) == allowed.end()) {
      rep_.metrics.RecordMetricsRefusal();
      Reply(http::status::forbidden,
            "account " + who->name + " may not read metrics (metrics.accounts)\n");
      return;
    }
    if (req.method() != http::verb::get) {
      Reply(http::status::method_not_allowed, "only GET\n");
      return;
    }
    if (req.target() != "/metrics") {
      Reply(http::status::not_found, "the only path is /metrics\n");
      return;
    }
    Reply(http::status::ok, rep_.render(), "text/plain; version=0.0.4; charset=utf-8");
  }

  void Reply(http::status status, std::string body,
             std::string_view type = "text/plain; charset=utf-8") {
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::server, "sensordbd");
    res->set(http::field::content_type, type);
    if (status == http::status::unauthorized) res->set(http::field::www_authenticate, "Bearer");
    res->keep_alive(false);
    res->body() = std::move(body);
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code, size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  MetricsListener::Rep& rep_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{kHeaderLimit};
  http::request_parser<http::empty_body> parser_;
  std::string peer_;
  Admission::Slot slot_;  // one scrape per connection
};

}  // namespace

MetricsListener::MetricsListener(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}

MetricsListener::~MetricsListener() { Stop(); }

Result<std::unique_ptr<MetricsListener>> MetricsListener::Start(const MetricsConfig& config,
                                                                AuthService& auth,
                                                                ServerMetrics& metrics,
                                                                RenderFn render) {
  auto rep = std::make_unique<Rep>(config, auth, metrics, std::move(render));
  // A scrape is one short request: a few connections suffice, and none may hold more.
  Rep* r = rep.get();
  AdmissionLimits limits{kMaxConnections, kMaxConnections / 4, kMaxConnections,
                         kMaxConnections / 4};
  limits.preauth_timeout = kRequestTimeout;
  SENSORDB_ASSIGN_OR_RETURN(
      rep->accept,
      AcceptLoop::Open(rep->io, "metrics", config.address, config.port, limits,
                       [r](tcp::socket socket, std::string address, Admission::Slot slot) {
                         std::make_shared<Exchange>(*r, std::move(socket), std::move(address),
                                                    std::move(slot))
                             ->Start();
                       }));
  rep->accept->SetOnRefused([r] { r->metrics.RecordMetricsRefusal(); });
  const uint16_t port = rep->accept->port();
  rep->accept->Start();
  rep->thread = std::thread([r] {
    for (;;) {
      try {
        r->io.run();
        return;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "sensordbd: error in the metrics thread: %s\n", e.what());
      }
    }
  });
  std::unique_ptr<MetricsListener> listener(new MetricsListener(std::move(rep)));
  listener->port_ = port;
  return listener;
}

void MetricsListener::Stop() {
  std::lock_guard lock(rep_->stop_mu);
  if (rep_->stopped) return;
  rep_->stopped = true;
  if (rep_->accept != nullptr) rep_->accept->Close();
  rep_->io.stop();  // open exchanges are dropped: a scrape is retried by Prometheus
  if (rep_->thread.joinable()) rep_->thread.join();
}

}  // namespace sensordb::server
