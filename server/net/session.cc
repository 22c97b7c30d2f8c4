#include "net/session.h"

#include "sensordb/protocol/messages.h"

namespace sensordb::server {

namespace {
constexpr auto kShutdownGrace = std::chrono::seconds(2);
}  // namespace

Session::Session(ClientListener& listener, tcp::socket socket, std::string peer_address)
    : listener_(listener),
      stream_(std::move(socket), listener.io_->ssl),
      timer_(stream_.get_executor()),
      peer_(std::move(peer_address)),
      decoder_(listener.config_.limits.max_frame_bytes),
      handler_(listener.db_, listener.auth_, peer_,
               {listener.config_.limits.max_frame_bytes, listener.config_.limits.max_write_points}) {}

Session::~Session() { listener_.Release(peer_); }

void Session::Start() {
  // The handshake deadline covers the TLS handshake, Hello and Auth.
  SetDeadline(std::chrono::milliseconds(listener_.config_.limits.handshake_timeout_ms));
  WaitDeadline();
  stream_.async_handshake(asio::ssl::stream_base::server,
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                            self->OnHandshake(ec);
                          });
}

void Session::RequestStop() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->stop_requested_ = true;
    if (self->reading_) {
      self->Close();  // idle between requests: nothing in flight
    } else {
      self->SetDeadline(kShutdownGrace);  // the reply being written gets this long
    }
  });
}

void Session::OnHandshake(const boost::system::error_code& ec) {
  if (ec) {
    Close();  // e.g. a TLS 1.2 client, plaintext, or the deadline passed
    return;
  }
  Read();
}

void Session::Read() {
  if (closed_) return;
  if (stop_requested_) {
    Shutdown();
    return;
  }
  reading_ = true;
  stream_.async_read_some(asio::buffer(read_buf_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      size_t n) { self->OnRead(ec, n); });
}

void Session::OnRead(const boost::system::error_code& ec, size_t n) {
  reading_ = false;
  if (ec) {
    Close();
    return;
  }
  const Status fed = decoder_.Feed(std::span<const uint8_t>(read_buf_.data(), n));
  while (auto frame = decoder_.Next()) {
    if (handler_.Handle(*frame, replies_) == RequestHandler::Next::kClose) {
      close_after_write_ = true;
      break;
    }
  }
  if (handler_.authenticated() && !stop_requested_) {
    SetDeadline(std::chrono::milliseconds(listener_.config_.limits.idle_timeout_ms));
  }
  if (!fed.ok() && !close_after_write_) {
    pending_.push_back(protocol::EncodeError(0, fed));
    close_after_write_ = true;
  }
  for (protocol::OutFrame& f : replies_.frames) pending_.push_back(std::move(f));
  replies_.frames.clear();
  if (pending_.empty()) {
    Read();
  } else {
    Write();
  }
}

void Session::Write() {
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(pending_.size() * 2);
  for (const protocol::OutFrame& f : pending_) {
    buffers.emplace_back(f.header().data(), f.header().size());
    buffers.emplace_back(f.payload().data(), f.payload().size());
  }
  asio::async_write(stream_, buffers,
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      self->OnWritten(ec);
                    });
}

void Session::OnWritten(const boost::system::error_code& ec) {
  pending_.clear();
  if (ec) {
    Close();
  } else if (close_after_write_) {
    Shutdown();
  } else {
    Read();
  }
}

void Session::Shutdown() {
  if (closed_) return;
  SetDeadline(kShutdownGrace);
  stream_.async_shutdown(
      [self = shared_from_this()](const boost::system::error_code&) { self->Close(); });
}

void Session::Close() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  timer_.cancel();
}

void Session::SetDeadline(Clock::duration d) {
  deadline_ = Clock::now() + d;
  // A later deadline is noticed when the pending wait fires; an earlier one re-arms it.
  if (armed_ && deadline_ < timer_.expiry()) WaitDeadline();
}

// One wait at a time: when it fires early (the deadline moved), it waits again.
void Session::WaitDeadline() {
  armed_ = true;
  timer_.expires_at(deadline_);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_) return;
    if (Clock::now() >= self->deadline_) {
      self->Close();
    } else {
      self->WaitDeadline();
    }
  });
}

}  // namespace sensordb::server
