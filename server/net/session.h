// Session: one client connection. The TLS handshake, reads and writes run on the session's
// strand on the io threads; every request runs on the listener's worker pool, one at a time per
// connection and in the order received, so replies keep the request order while other
// connections use the other workers (docs/SERVER.md "Threads"). A pipelining client may have
// up to kMaxQueuedRequests requests waiting; beyond that the session stops reading (back-
// pressure on the client's TCP window). A streaming reply waits while more than
// kMaxUnsentBytes are queued for the client. Lives in shared_ptrs held by its pending
// operations. Internal to server/net/ (with client_listener.cc the only includer of Asio).
#pragma once

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <variant>

#include "mqtt/packet_decoder.h"
#include "net/client_listener.h"
#include "net/metrics.h"
#include "net/mqtt_handler.h"
#include "net/request_handler.h"
#include "net/tls_context.h"
#include "sensordb/protocol/frame.h"

namespace sensordb::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct ListenerIo {
  explicit ListenerIo(unsigned workers) : expiry(io), pool(workers) {}
  asio::io_context io;
  std::unique_ptr<ListenerTls> tls;  // the listener's role's context, replaced by a reload
  std::unique_ptr<AcceptLoop> accept;
  asio::steady_timer expiry;  // device listener: closes sessions whose certificate expired
  asio::thread_pool pool;  // runs the requests (engine work, Argon2id) off the io threads
};

inline constexpr size_t kMaxQueuedRequests = 16;
// The largest frame the client port reads before the peer has authenticated: with the queue
// above, an unauthenticated connection holds at most 16 x 64 KiB of frames (docs/SERVER.md).
inline constexpr uint32_t kPreAuthMaxFrameBytes = 64 * 1024;
inline constexpr size_t kMaxUnsentBytes = 8 * 1024 * 1024;

class Session : public std::enable_shared_from_this<Session> {
  friend class ClientListener;
 public:
  Session(ClientListener& listener, tcp::socket socket, std::string peer_address,
          Admission::Slot slot);
  ~Session();

  void Start();
  // From any thread: requests not yet started are dropped (never acknowledged), the one being
  // served finishes and its replies are sent (within a grace period), then the session closes.
  void RequestStop();
  // From any thread: closes now (a revoked or expired device certificate).
  void Kill(ConnectionEnd why);

 private:
  using Clock = std::chrono::steady_clock;
  class Sink;
  // A request as read: a native-protocol frame, or an MQTT packet (the MQTT device listener).
  using Inbound = std::variant<protocol::Frame, mqtt::Packet>;
  // What the worker learnt about the connection's state, for the strand.
  struct Handled {
    bool authenticated = false;
    uint32_t keep_alive_ms = 0;  // MQTT: the client's keep-alive; 0: none
  };


  // On the strand.
  void OnHandshake(const boost::system::error_code& ec);
  bool AdmitDevice();
  void Read();
  void OnRead(const boost::system::error_code& ec, size_t n);
  void Dispatch();
  void OnHandled(std::vector<protocol::OutFrame> replies, RequestHandler::Next next,
                 Handled state);
  void Enqueue(protocol::OutFrame frame);
  void Flush();
  void OnWritten(const boost::system::error_code& ec, size_t bytes);
  void Shutdown();
  void Close();
  void SetDeadline(Clock::duration d);
  void WaitDeadline();
  Clock::duration IdleTimeout() const;
  void End(ConnectionEnd why);  // counts the first reason the connection ends for

  // On a worker.
  void Work(Inbound request);
  // Waits until the client has taken enough of the queued bytes; false when the connection is
  // gone or the client took nothing for limits.send_timeout_ms.
  bool WaitForRoom();

  ClientListener& listener_;
  std::shared_ptr<asio::ssl::context> ssl_;  // the certificate this connection started with
  asio::ssl::stream<tcp::socket> stream_;
  asio::steady_timer timer_;
  Clock::time_point deadline_;
  const std::string peer_;
  Admission::Slot slot_;  // leaves the pre-auth pool when the peer authenticates
  std::string device_key_;  // device listener: set once admitted (ClientListener::RegisterDevice)
  protocol::FrameDecoder decoder_;
  std::unique_ptr<mqtt::PacketDecoder> mqtt_decoder_;  // the MQTT listener's, instead
  std::unique_ptr<FrameHandler> handler_;  // used by one worker at a time (busy_)
  std::unique_ptr<MqttHandler> mqtt_;      // the MQTT listener's, instead
  // One TLS record's plaintext at most (16 KiB): a read never returns more, and an idle
  // session should not hold more.
  std::array<uint8_t, 16 * 1024> read_buf_{};

  // Strand state.
  std::deque<Inbound> inbox_;
  uint32_t keep_alive_ms_ = 0;  // MQTT
  std::optional<protocol::OutFrame> decode_error_;  // sent once the inbox is served
  std::deque<protocol::OutFrame> outbox_;
  std::vector<protocol::OutFrame> in_flight_;  // being written
  bool busy_ = false;                           // a request runs on a worker
  bool authenticated_ = false;
  bool reading_ = false;
  bool writing_ = false;
  bool close_after_write_ = false;
  // MQTT: the device closed its side with packets still in the inbox; they are served (a QoS 0
  // publish read is acknowledged as far as the device knows), replies dropped, then Close().
  bool peer_closed_ = false;
  bool stop_requested_ = false;
  bool shutting_down_ = false;  // close_notify under way
  bool closed_ = false;
  bool armed_ = false;  // a deadline wait is pending
  bool ended_ = false;  // a reason was counted

  // Shared between the strand and the worker streaming a reply.
  std::mutex room_mu_;
  std::condition_variable room_cv_;
  size_t unsent_bytes_ = 0;  // GUARDED_BY(room_mu_)
  std::atomic<bool> gone_{false};
};

}  // namespace sensordb::server
