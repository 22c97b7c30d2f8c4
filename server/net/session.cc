#include "net/session.h"

#include <algorithm>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/device_handler.h"
#include "sensordb/protocol/messages.h"

namespace sensordb::server {

namespace {
constexpr auto kShutdownGrace = std::chrono::seconds(2);
// After our close_notify, how long to wait for the peer's before closing the socket anyway.
constexpr auto kCloseNotifyWait = std::chrono::milliseconds(200);
}  // namespace

// The ReplySink a handler writes to on the worker: push_back collects replies sent when the
// request is done; Stream hands a frame to the strand now and waits for room.
class Session::Sink : public ReplySink {
 public:
  explicit Sink(Session& session) : session_(session) {}
  void push_back(protocol::OutFrame frame) override { replies.push_back(std::move(frame)); }
  bool Stream(protocol::OutFrame frame) override {
    if (session_.gone_.load(std::memory_order_acquire)) return false;
    // Replies collected so far go first, keeping the order the handler produced.
    for (protocol::OutFrame& f : replies) Post(std::move(f));
    replies.clear();
    Post(std::move(frame));
    return session_.WaitForRoom();
  }
  std::vector<protocol::OutFrame> replies;

 private:
  void Post(protocol::OutFrame frame) {
    {
      std::lock_guard lock(session_.room_mu_);
      session_.unsent_bytes_ += frame.size();
    }
    asio::post(session_.stream_.get_executor(),
               [self = session_.shared_from_this(), f = std::move(frame)]() mutable {
                 self->Enqueue(std::move(f));
               });
  }
  Session& session_;
};

Session::Session(ClientListener& listener, tcp::socket socket, std::string peer_address,
                 Admission::Slot slot)
    : listener_(listener),
      ssl_(listener.TlsContext()),
      stream_(std::move(socket), *ssl_),
      timer_(stream_.get_executor()),
      peer_(std::move(peer_address)),
      slot_(std::move(slot)),
      // The client port: until the peer has authenticated, frames are small (Hello and Auth
      // need a few hundred bytes), so an unauthenticated peer holds at most this much.
      decoder_(listener.authority_ == nullptr
                   ? std::min(kPreAuthMaxFrameBytes, listener.config_.limits.max_frame_bytes)
                   : listener.config_.limits.max_frame_bytes) {
  // A device's handler is made once its certificate is admitted (OnHandshake).
  if (listener.mqtt_) {
    mqtt::DecodeLimits limits;
    limits.max_packet_bytes = std::min(kMqttMaxPacketBytes, listener.config_.limits.max_frame_bytes);
    mqtt_decoder_ = std::make_unique<mqtt::PacketDecoder>(mqtt::Sender::kClient, limits);
  }
  if (listener.authority_ == nullptr) {
    handler_ = std::make_unique<RequestHandler>(listener.db_, listener.auth_, peer_,
                                                listener.SessionLimitsOf());
  }
}

Session::~Session() {
  if (!device_key_.empty()) listener_.UnregisterDevice(device_key_, this);
}

void Session::Start() {
  // Until Hello and Auth (a device: Hello or CONNECT) succeed, the listener core closes the
  // session at limits.handshake_timeout_ms (listener_core.h); this timer is for idleness.
  SetDeadline(IdleTimeout());
  WaitDeadline();
  stream_.async_handshake(asio::ssl::stream_base::server,
                          [self = shared_from_this()](const boost::system::error_code& ec) {
                            self->OnHandshake(ec);
                          });
}

void Session::RequestStop() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->stop_requested_ = true;
    self->inbox_.clear();
    self->decode_error_.reset();
    if (!self->busy_ && !self->writing_ && self->outbox_.empty()) {
      self->Shutdown();  // idle between requests: nothing in flight
    } else {
      self->SetDeadline(kShutdownGrace);  // the request being served gets this long
    }
  });
}

void Session::End(ConnectionEnd why) {
  if (ended_) return;
  ended_ = true;
  listener_.metrics_->RecordConnectionEnd(why);
}

void Session::OnHandshake(const boost::system::error_code& ec) {
  if (ec) {
    if (!closed_) End(ConnectionEnd::kTlsHandshakeFailed);
    Close();  // e.g. a TLS 1.2 client, plaintext, no or a bad client certificate, the deadline
    return;
  }
  if (listener_.authority_ != nullptr && !AdmitDevice()) {
    End(ConnectionEnd::kDeviceRefused);
    Shutdown();
    return;
  }
  Read();
}

// The device listener: the verified leaf certificate decides who this is.
bool Session::AdmitDevice() {
  X509* leaf = SSL_get0_peer_certificate(stream_.native_handle());
  if (leaf == nullptr) return false;  // the context requires one; defensive
  unsigned char* der = nullptr;
  const int len = i2d_X509(leaf, &der);
  if (len <= 0) return false;
  const std::span<const uint8_t> bytes(der, size_t(len));
  Result<DeviceIdentity> who = listener_.authority_->Admit(bytes, WallClockNs());
  OPENSSL_free(der);
  if (!who) {
    listener_.DeviceRefused(peer_, who.error());
    return false;
  }
  if (!listener_.RegisterDevice(*who, shared_from_this())) return false;
  // The device stays in the pre-auth pool until its Hello (CONNECT) is served (OnHandled).
  // Seen may write (and fsync) the last-seen record: never on an io thread.
  asio::post(listener_.io_->pool, [authority = listener_.authority_, device = *who] {
    authority->Seen(device, WallClockNs());
  });
  if (listener_.mqtt_) {
    mqtt_ = std::make_unique<MqttHandler>(listener_.db_, *who, listener_.SessionLimitsOf(),
                                          listener_.device_points_);
  } else {
    handler_ = std::make_unique<DeviceHandler>(
        listener_.db_, *who, listener_.SessionLimitsOf(), listener_.device_points_,
        DeviceHandler::Firmware{listener_.firmware_.get(), &listener_.firmware_bytes_,
                                listener_.authority_});
  }
  return true;
}

void Session::Kill(ConnectionEnd why) {
  asio::post(stream_.get_executor(), [self = shared_from_this(), why] {
    self->End(why);
    self->Close();
  });
}

void Session::Read() {
  if (closed_ || shutting_down_ || reading_ || stop_requested_ || close_after_write_ ||
      decode_error_ || peer_closed_) {
    return;
  }
  if (inbox_.size() >= kMaxQueuedRequests) return;  // resumed when a request is done
  reading_ = true;
  stream_.async_read_some(asio::buffer(read_buf_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      size_t n) { self->OnRead(ec, n); });
}

void Session::OnRead(const boost::system::error_code& ec, size_t n) {
  reading_ = false;
  if (shutting_down_) {
    shutting_down_ = false;
    Shutdown();
    return;
  }
  if (ec) {
    if (mqtt_ && !inbox_.empty() && !stop_requested_) {
      // A device's publishes already read are applied: QoS 0 has no acknowledgement, so the
      // device counts them delivered (a burst then DISCONNECT lost its tail otherwise).
      peer_closed_ = true;
      Dispatch();  // Close() once the inbox is empty
      return;
    }
    Close();  // the peer closed or reset; requests in flight finish, their replies are dropped
    return;
  }
  if (stop_requested_) return;  // stopping: nothing new is started
  const std::span<const uint8_t> bytes(read_buf_.data(), n);
  if (mqtt_decoder_) {
    const Status fed = mqtt_decoder_->Feed(bytes);
    while (auto packet = mqtt_decoder_->Next()) inbox_.emplace_back(std::move(*packet));
    if (!fed.ok()) {
      // MQTT has no error packet: what came before is served, then the connection closes.
      decode_error_ = protocol::OutFrame::Raw({});
      End(ConnectionEnd::kBadFrame);
      listener_.DeviceRefused(peer_, fed);
    }
  } else {
    const Status fed = decoder_.Feed(bytes);
    while (auto frame = decoder_.Next()) inbox_.emplace_back(std::move(*frame));
    if (!fed.ok()) {
      decode_error_ = protocol::EncodeError(0, fed);
      End(ConnectionEnd::kBadFrame);
    }
  }
  if (authenticated_ && !stop_requested_) SetDeadline(IdleTimeout());
  Dispatch();
  Read();
}

void Session::Dispatch() {
  if (busy_ || closed_ || shutting_down_ || close_after_write_ || stop_requested_) return;
  if (inbox_.empty()) {
    if (peer_closed_) {
      Close();  // drained: nobody reads a reply or a decode error
      return;
    }
    if (decode_error_) {  // frames before the bad one were served; now say why and close
      Enqueue(std::move(*decode_error_));
      decode_error_.reset();
      close_after_write_ = true;
      Flush();
    }
    return;
  }
  busy_ = true;
  asio::post(listener_.io_->pool, [self = shared_from_this(), f = std::move(inbox_.front())]() mutable {
    self->Work(std::move(f));
  });
  inbox_.pop_front();
}

void Session::Work(Inbound request) {
  Sink sink(*this);
  RequestHandler::Next next;
  const auto start = Clock::now();
  const auto seconds = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  Handled state;
  try {
    if (auto* frame = std::get_if<protocol::Frame>(&request)) {
      next = handler_->Handle(*frame, sink);
      listener_.metrics_->RecordRequest(static_cast<uint8_t>(frame->type()), handler_->outcome(),
                                        frame->payload().size(), seconds());
      // A device that tries what it may not (another device's series, a query) is audited.
      if (listener_.authority_ != nullptr &&
          handler_->outcome().code == StatusCode::kPermissionDenied) {
        listener_.DeviceRefused(
            peer_, Status::PermissionDenied(protocol::MessageName(frame->type()) +
                                            " refused on the device stream"));
      }
      state.authenticated = handler_->authenticated();
    } else {
      const auto& packet = std::get<mqtt::Packet>(request);
      next = mqtt_->Handle(packet, sink);
      const auto* publish = std::get_if<mqtt::Publish>(&packet);
      listener_.metrics_->RecordMqtt(uint8_t(mqtt::TypeOf(packet)), mqtt_->outcome(),
                                     publish ? publish->payload.size() : 0, seconds());
      if (!mqtt_->refusal().empty()) {
        listener_.DeviceRefused(peer_, Status(mqtt_->outcome().code, mqtt_->refusal()));
      }
      state.authenticated = mqtt_->connected();
      state.keep_alive_ms = mqtt_->keep_alive_ms();
    }
  } catch (const std::exception& e) {  // e.g. bad_alloc: this connection ends, the server lives
    sink.replies.clear();
    if (const auto* frame = std::get_if<protocol::Frame>(&request)) {
      sink.push_back(protocol::EncodeError(
          frame->request_id(), Status::Internal(std::string("request failed: ") + e.what())));
    }
    next = RequestHandler::Next::kClose;
  }
  asio::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(sink.replies), next,
                                      state]() mutable {
    self->OnHandled(std::move(r), next, state);
  });
}

void Session::OnHandled(std::vector<protocol::OutFrame> replies, RequestHandler::Next next,
                        Handled state) {
  busy_ = false;
  if (peer_closed_) replies.clear();  // nobody to read them; a write would fail and Close()
  const bool authenticated = state.authenticated;
  keep_alive_ms_ = state.keep_alive_ms;
  if (authenticated && !authenticated_) {
    authenticated_ = true;
    slot_.Authenticated();
    decoder_.set_max_frame_bytes(listener_.config_.limits.max_frame_bytes);
    if (!stop_requested_) SetDeadline(IdleTimeout());
  }
  {
    std::lock_guard lock(room_mu_);  // counted like streamed frames until written
    for (const protocol::OutFrame& f : replies) unsent_bytes_ += f.size();
  }
  for (protocol::OutFrame& f : replies) Enqueue(std::move(f));
  if (next != RequestHandler::Next::kContinue) {
    if (next == RequestHandler::Next::kClose) End(ConnectionEnd::kProtocolViolation);
    close_after_write_ = true;
    inbox_.clear();
  }
  if (stop_requested_) close_after_write_ = true;
  Flush();
  Dispatch();
  Read();
}

void Session::Enqueue(protocol::OutFrame frame) {
  if (closed_ || shutting_down_) return;
  outbox_.push_back(std::move(frame));
  Flush();
}

void Session::Flush() {
  if (closed_ || shutting_down_ || writing_) return;
  if (outbox_.empty()) {
    if (close_after_write_ && !busy_) Shutdown();
    return;
  }
  writing_ = true;
  in_flight_.clear();
  while (!outbox_.empty() && in_flight_.size() < 64) {
    in_flight_.push_back(std::move(outbox_.front()));
    outbox_.pop_front();
  }
  // Buffers point into the frames (the header lives inside each OutFrame): take them only once
  // in_flight_ stops growing.
  std::vector<asio::const_buffer> buffers;
  buffers.reserve(in_flight_.size() * 2);
  size_t bytes = 0;
  for (const protocol::OutFrame& f : in_flight_) {
    buffers.emplace_back(f.header().data(), f.header().size());
    buffers.emplace_back(f.payload().data(), f.payload().size());
    bytes += f.size();
  }
  asio::async_write(stream_, buffers,
                    [self = shared_from_this(), bytes](const boost::system::error_code& ec, size_t) {
                      self->OnWritten(ec, bytes);
                    });
}

void Session::OnWritten(const boost::system::error_code& ec, size_t bytes) {
  writing_ = false;
  in_flight_.clear();
  {
    std::lock_guard lock(room_mu_);
    unsent_bytes_ = unsent_bytes_ > bytes ? unsent_bytes_ - bytes : 0;
  }
  room_cv_.notify_all();
  if (ec) {
    Close();
    return;
  }
  if (authenticated_ && !stop_requested_) SetDeadline(IdleTimeout());  // the client is reading
  Flush();
}

bool Session::WaitForRoom() {
  const auto timeout = std::chrono::milliseconds(listener_.config_.limits.send_timeout_ms);
  std::unique_lock lock(room_mu_);
  const bool room = room_cv_.wait_for(lock, timeout, [this] {
    return unsent_bytes_ <= kMaxUnsentBytes || gone_.load(std::memory_order_acquire);
  });
  if (!room) {  // the client has not taken the reply for send_timeout_ms: give up on it
    lock.unlock();
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      self->End(ConnectionEnd::kSlowReader);
      self->Close();
    });
    return false;
  }
  return !gone_.load(std::memory_order_acquire);
}

// Graceful close: TLS close_notify, then the socket. Only when no write is in flight; a
// pending read is cancelled first (a TLS stream takes one read and one write at a time).
void Session::Shutdown() {
  if (closed_ || shutting_down_) return;
  shutting_down_ = true;
  gone_.store(true, std::memory_order_release);
  room_cv_.notify_all();
  SetDeadline(kCloseNotifyWait);
  if (reading_) {
    boost::system::error_code ignored;
    stream_.lowest_layer().cancel(ignored);  // OnRead continues the shutdown
    return;
  }
  stream_.async_shutdown(
      [self = shared_from_this()](const boost::system::error_code&) { self->Close(); });
}

void Session::Close() {
  if (closed_) return;
  closed_ = true;
  gone_.store(true, std::memory_order_release);
  room_cv_.notify_all();
  boost::system::error_code ignored;
  stream_.lowest_layer().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.lowest_layer().close(ignored);
  timer_.cancel();
}

Session::Clock::duration Session::IdleTimeout() const {
  // MQTT: one and a half times the keep-alive the client announced (spec 3.1.2.10).
  if (keep_alive_ms_ != 0) return std::chrono::milliseconds(keep_alive_ms_ * 3 / 2);
  return std::chrono::milliseconds(listener_.config_.limits.idle_timeout_ms);
}

void Session::SetDeadline(Clock::duration d) {
  deadline_ = Clock::now() + d;
  // A later deadline is noticed when the pending wait fires; an earlier one re-arms it.
  if (armed_ && deadline_ < timer_.expiry()) WaitDeadline();
}

// One wait at a time: when it fires early (the deadline moved), it waits again. A request
// being served is not cut by the idle deadline (only by a stop's grace period).
void Session::WaitDeadline() {
  armed_ = true;
  timer_.expires_at(deadline_);
  timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->closed_) return;
    if (Clock::now() < self->deadline_) {
      self->WaitDeadline();
    } else if (self->busy_ && !self->stop_requested_ && self->authenticated_) {
      self->SetDeadline(self->IdleTimeout());
      self->WaitDeadline();
    } else {
      if (!self->stop_requested_) {
        self->End(self->authenticated_ ? ConnectionEnd::kIdleTimeout
                                       : ConnectionEnd::kHandshakeTimeout);
      }
      self->Close();
    }
  });
}

}  // namespace sensordb::server
