// The client's TLS connection. Everything but Send, Open's wait and Close runs on the io thread,
// so the socket, the decoder and `closed` need no lock; only the outbox is shared (out_mu).
#include "transport.h"

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cassert>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

namespace sensordb::client {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct Outgoing {
  protocol::OutFrame frame;
  bool secret = false;
};

// The payload buffer is ours (a DetachedBuffer we own); only its view is const.
void Wipe(std::vector<Outgoing>& frames) {
  for (Outgoing& o : frames) {
    if (!o.secret) continue;
    auto payload = o.frame.payload();
    OPENSSL_cleanse(const_cast<uint8_t*>(payload.data()), payload.size());
  }
  frames.clear();
}

}  // namespace

struct Transport::Io {
  Io(TransportListener& l, const ClientOptions& o)
      : listener(l),
        host(o.host),
        port(o.port),
        ca_file(o.ca_file),
        server_name(o.server_name.empty() ? o.host : o.server_name),
        insecure(o.insecure_skip_verify),
        connect_timeout(o.connect_timeout_ms),
        where(o.host + ":" + std::to_string(o.port)),
        work(asio::make_work_guard(io)),
        ssl(asio::ssl::context::tls_client),
        resolver(io),
        tick(io),
        connect_timer(io),
        decoder(o.max_frame_bytes) {}

  Status SetUpTls();
  void Run();
  void StartConnect();
  void OnConnected(const boost::system::error_code& ec);
  void OnHandshake(const boost::system::error_code& ec);
  void FinishOpen(Status status);
  Status HandshakeError(const boost::system::error_code& ec);
  void Read();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void StartWrite();
  void OnWritten(const boost::system::error_code& ec);
  void StartTick();
  void Fail(const Status& why);

  TransportListener& listener;
  const std::string host;
  const uint16_t port;
  const std::string ca_file;
  const std::string server_name;
  const bool insecure;
  const std::chrono::milliseconds connect_timeout;
  const std::string where;  // "host:port", for messages

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  asio::ssl::context ssl;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> stream;
  tcp::resolver resolver;
  asio::steady_timer tick;
  asio::steady_timer connect_timer;
  std::promise<Status> opened;

  // io thread only
  protocol::FrameDecoder decoder;
  std::array<uint8_t, 64 * 1024> read_buf{};
  std::vector<Outgoing> writing;  // frames of the write in progress
  bool connecting = true;
  bool connect_timed_out = false;
  bool closed = false;

  std::mutex out_mu;
  std::vector<Outgoing> outbox;  // GUARDED_BY(out_mu)
  bool write_scheduled = false;  // GUARDED_BY(out_mu): a StartWrite is posted or running
  bool send_closed = false;      // GUARDED_BY(out_mu)
};

Status Transport::Io::SetUpTls() {
  SSL_CTX* ctx = ssl.native_handle();
  // TLS 1.3 only, as the server: nothing older is offered.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return Status::Internal("this OpenSSL cannot restrict the client to TLS 1.3");
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  boost::system::error_code ec;
  if (insecure) {
    ssl.set_verify_mode(asio::ssl::verify_none);
  } else {
    if (ca_file.empty()) {
      ssl.set_default_verify_paths(ec);
      if (ec) return Status::IOError("cannot load the system's trust store: " + ec.message());
    } else {
      if (!std::filesystem::exists(ca_file, ec)) {
        return Status::NotFound("ca_file " + ca_file + " does not exist");
      }
      ssl.load_verify_file(ca_file, ec);
      if (ec) {
        return Status::InvalidArgument("cannot load ca_file " + ca_file +
                                       " (a PEM CA certificate is expected): " + ec.message());
      }
    }
    ssl.set_verify_mode(asio::ssl::verify_peer);
  }
  stream = std::make_unique<asio::ssl::stream<tcp::socket>>(io, ssl);
  SSL* s = stream->native_handle();
  asio::ip::make_address(server_name, ec);
  const bool is_ip = !ec;
  if (!insecure) {
    // OpenSSL checks the name during the handshake: SAN DNS names, or SAN IP addresses.
    const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), server_name.c_str())
                         : SSL_set1_host(s, server_name.c_str());
    if (ok != 1) return Status::InvalidArgument("server_name '" + server_name + "' is not usable");
  }
  if (!is_ip) SSL_set_tlsext_host_name(s, server_name.c_str());  // SNI takes names only
  return Status::Ok();
}

void Transport::Io::Run() {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {  // nothing may escape the io thread
      Fail(Status::Internal(std::string("client io thread: ") + e.what()));
    }
  }
}

void Transport::Io::StartConnect() {
  connect_timer.expires_after(connect_timeout);
  connect_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !connecting) return;
    connect_timed_out = true;
    resolver.cancel();
    boost::system::error_code ignored;
    stream->lowest_layer().close(ignored);  // the pending operation completes, aborted
  });
  resolver.async_resolve(
      host, std::to_string(port),
      [this](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
        if (ec) {
          FinishOpen(connect_timed_out
                         ? Status::IOError("timed out after " +
                                           std::to_string(connect_timeout.count()) +
                                           " ms resolving host '" + host + "'")
                         : Status::IOError("cannot resolve host '" + host + "': " + ec.message()));
          return;
        }
        asio::async_connect(
            stream->lowest_layer(), results,
            [this](const boost::system::error_code& e, const tcp::endpoint&) { OnConnected(e); });
      });
}

void Transport::Io::OnConnected(const boost::system::error_code& ec) {
  if (connect_timed_out) {
    FinishOpen(Status::IOError("timed out after " + std::to_string(connect_timeout.count()) +
                               " ms connecting to " + where));
    return;
  }
  if (ec) {
    FinishOpen(Status::IOError("cannot connect to " + where + ": " + ec.message()));
    return;
  }
  boost::system::error_code ignored;
  stream->lowest_layer().set_option(tcp::no_delay(true), ignored);  // small requests, pipelined
  stream->async_handshake(asio::ssl::stream_base::client,
                          [this](const boost::system::error_code& e) { OnHandshake(e); });
}

void Transport::Io::OnHandshake(const boost::system::error_code& ec) {
  if (connect_timed_out) {
    FinishOpen(Status::IOError("timed out after " + std::to_string(connect_timeout.count()) +
                               " ms in the TLS handshake with " + where));
    return;
  }
  if (ec) {
    FinishOpen(HandshakeError(ec));
    return;
  }
  FinishOpen(Status::Ok());
  StartTick();
  Read();
}

Status Transport::Io::HandshakeError(const boost::system::error_code& ec) {
  const long verify = SSL_get_verify_result(stream->native_handle());
  if (verify != X509_V_OK) {
    const std::string trust =
        ca_file.empty() ? "the system's trust store" : "the CA in ca_file " + ca_file;
    return Status::PermissionDenied("TLS verification of the certificate of " + where +
                                    " failed: " + X509_verify_cert_error_string(verify) +
                                    " (checked against " + trust + " and the name '" + server_name +
                                    "'; set ca_file or server_name to match the server)");
  }
  return Status::IOError("TLS 1.3 handshake with " + where + " failed: " + ec.message());
}

void Transport::Io::FinishOpen(Status status) {
  connecting = false;
  connect_timer.cancel();
  if (!status.ok()) {
    closed = true;
    {
      std::lock_guard lock(out_mu);
      send_closed = true;
    }
    boost::system::error_code ignored;
    stream->lowest_layer().close(ignored);
  }
  opened.set_value(std::move(status));
}

void Transport::Io::Read() {
  stream->async_read_some(asio::buffer(read_buf),
                          [this](const boost::system::error_code& ec, size_t n) { OnRead(ec, n); });
}

void Transport::Io::OnRead(const boost::system::error_code& ec, size_t n) {
  if (closed) return;
  if (ec) {
    const bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
                     ec == asio::error::connection_reset;
    Fail(eof ? Status::IOError("the server at " + where + " closed the connection")
             : Status::IOError("connection to " + where + " lost: " + ec.message()));
    return;
  }
  const Status fed = decoder.Feed(std::span<const uint8_t>(read_buf.data(), n));
  while (auto frame = decoder.Next()) {
    listener.OnFrame(std::move(*frame));
    if (closed) return;
  }
  if (!fed.ok()) {
    Fail(Status::IOError("the server at " + where + " sent a bad frame: " + fed.message()));
    return;
  }
  Read();
}

void Transport::Io::StartWrite() {
  {
    std::lock_guard lock(out_mu);
    if (send_closed) return;
    if (outbox.empty()) {
      write_scheduled = false;
      return;
    }
    writing.swap(outbox);  // writing is empty: the previous write completed
  }
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(writing.size() * 2);
  for (const Outgoing& o : writing) {
    buffers.emplace_back(o.frame.header().data(), o.frame.header().size());
    buffers.emplace_back(o.frame.payload().data(), o.frame.payload().size());
  }
  asio::async_write(*stream, buffers,
                    [this](const boost::system::error_code& ec, size_t) { OnWritten(ec); });
}

void Transport::Io::OnWritten(const boost::system::error_code& ec) {
  Wipe(writing);
  if (closed) return;
  if (ec) {
    Fail(Status::IOError("cannot send to " + where + ": " + ec.message()));
    return;
  }
  StartWrite();
}

void Transport::Io::StartTick() {
  tick.expires_after(kTickInterval);
  tick.async_wait([this](const boost::system::error_code& ec) {
    if (ec || closed) return;
    listener.OnTick();
    StartTick();
  });
}

void Transport::Io::Fail(const Status& why) {
  if (closed) return;
  closed = true;
  {
    std::lock_guard lock(out_mu);
    send_closed = true;
    Wipe(outbox);
  }
  boost::system::error_code ignored;
  stream->lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
  stream->lowest_layer().close(ignored);
  tick.cancel();
  connect_timer.cancel();
  listener.OnClosed(why);
}

// ---- Transport ----------------------------------------------------------------------------------

Transport::Transport(TransportListener& listener) : listener_(listener) {}

Transport::~Transport() { Close(); }

Status Transport::Open(const ClientOptions& options) {
  assert(!io_ && "Transport::Open is called once");
  try {
    io_ = std::make_unique<Io>(listener_, options);
    SENSORDB_RETURN_IF_ERROR(io_->SetUpTls());
    std::future<Status> opened = io_->opened.get_future();
    thread_ = std::thread([io = io_.get()] { io->Run(); });
    io_thread_id_ = thread_.get_id();
    asio::post(io_->io, [io = io_.get()] { io->StartConnect(); });
    // The connect timer bounds the attempt; this wait only guards against a hang in a bug.
    const auto bound =
        std::chrono::milliseconds(options.connect_timeout_ms) + std::chrono::seconds(5);
    if (opened.wait_for(bound) != std::future_status::ready) {
      return Status::Internal("connecting to " + io_->where + " did not finish in time");
    }
    return opened.get();
  } catch (const std::exception& e) {  // Asio and OpenSSL constructors may throw
    return Status::Internal(std::string("setting up the client connection: ") + e.what());
  }
}

void Transport::Send(protocol::OutFrame frame, bool secret) {
  Io& io = *io_;
  {
    std::lock_guard lock(io.out_mu);
    if (io.send_closed) return;
    io.outbox.push_back({std::move(frame), secret});
    if (io.write_scheduled) return;
    io.write_scheduled = true;
  }
  asio::post(io.io, [p = &io] { p->StartWrite(); });
}

void Transport::Close() {
  std::lock_guard lock(close_mu_);
  if (!thread_.joinable()) return;
  assert(!OnIoThread() && "an AsyncClient must not be closed from its own callbacks");
  asio::post(io_->io, [io = io_.get()] {
    io->Fail(Status::FailedPrecondition("the client was closed before the reply arrived"));
  });
  io_->work.reset();
  thread_.join();
}

}  // namespace sensordb::client
