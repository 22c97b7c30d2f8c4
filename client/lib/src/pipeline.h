// Pipeline: the request/response core of the client. Gives each request an id and a slot in
// the window of max_in_flight requests, sends it, and routes every reply frame to the request's
// ReplyHandler by id; fails requests on a timeout, an Error frame or a lost connection. Knows no
// message type: a new request type needs only an encoder and a handler (async_client.cc).
// Internal to client/lib/.
//
// Thread-safe: Call from any thread; the TransportListener methods run on the io thread, and so
// does every handler callback (except OnError for a request that could not be sent, which runs
// on the caller's thread before Call returns).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sensordb/protocol/frame.h"
#include "sensordb/status.h"
#include "transport.h"

namespace sensordb::client {

// Completes one request from the frames the server sends for its id.
class ReplyHandler {
 public:
  virtual ~ReplyHandler() = default;
  // A frame for this request other than Error. Returns true when it completes the request;
  // the handler has then fulfilled its promise (or does so from what it has).
  virtual bool OnFrame(const protocol::Frame& frame) = 0;
  // The request failed: an Error frame, a timeout, the connection closed, or it could not be
  // encoded or sent. Called at most once, and never after OnFrame returned true.
  virtual void OnError(const Status& status) = 0;
};

// Builds the request's frame for the id the pipeline chose (runs on the caller's thread).
using Encoder = std::function<Result<protocol::OutFrame>(uint64_t request_id)>;

struct CallOptions {
  std::string_view what;    // "Write", "Query": names the request in error messages
  uint32_t timeout_ms = 0;  // longest wait for the next reply frame; 0: none
  bool secret = false;      // the frame holds a credential: wipe it once sent
};

class Pipeline final : public TransportListener {
 public:
  // `transport` must outlive the Pipeline.
  Pipeline(Transport& transport, std::string where, uint32_t max_in_flight);

  // Waits for a slot (bounded by call.timeout_ms), encodes, registers `handler` and sends.
  // Every outcome reaches the handler; nothing is returned.
  void Call(const CallOptions& call, const Encoder& encode, std::shared_ptr<ReplyHandler> handler);
  // Ok while connected, else why the connection closed.
  Status status() const;

  void OnFrame(protocol::Frame frame) override;
  void OnClosed(const Status& why) override;
  void OnTick() override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    std::shared_ptr<ReplyHandler> handler;
    std::string what;
    uint32_t timeout_ms = 0;
    Clock::time_point deadline;
  };

  Status WaitForSlot(std::unique_lock<std::mutex>& lock, const CallOptions& call);
  // Removes `id`; false when it was already gone (completed by another path).
  bool Forget(uint64_t id);

  Transport& transport_;
  const std::string where_;  // "host:port"
  const uint32_t max_in_flight_;

  mutable std::mutex mu_;
  std::condition_variable slot_freed_;
  uint64_t next_id_ = 1;                           // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, Pending> pending_;  // GUARDED_BY(mu_)
  bool closed_ = false;                            // GUARDED_BY(mu_)
  Status closed_why_;                              // GUARDED_BY(mu_)
};

}  // namespace sensordb::client
