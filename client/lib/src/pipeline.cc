// Invariant: a request is in pending_ from the moment it has an id until exactly one path
// completes it (its last reply frame, an Error, a timeout, the connection closing, or a failure
// to encode); that path erases it under mu_ first, so a handler never hears twice. Handlers run
// outside mu_: they call user code, which may start new requests.
#include "pipeline.h"

#include <utility>
#include <vector>

#include "sensordb/protocol/messages.h"

namespace sensordb::client {

namespace {

std::string RequestName(std::string_view what, uint64_t id) {
  return std::string(what) + " (request " + std::to_string(id) + ")";
}

}  // namespace

Pipeline::Pipeline(Transport& transport, std::string where, uint32_t max_in_flight)
    : transport_(transport), where_(std::move(where)), max_in_flight_(max_in_flight) {}

Status Pipeline::status() const {
  std::lock_guard lock(mu_);
  return closed_why_;
}

void Pipeline::Call(const CallOptions& call, const Encoder& encode,
                    std::shared_ptr<ReplyHandler> handler) {
  uint64_t id = 0;
  {
    std::unique_lock lock(mu_);
    Status s = WaitForSlot(lock, call);
    if (!s.ok()) {
      lock.unlock();
      handler->OnError(s);
      return;
    }
    id = next_id_++;
    const auto deadline = Clock::now() + std::chrono::milliseconds(call.timeout_ms);
    pending_.emplace(id, Pending{handler, std::string(call.what), call.timeout_ms, deadline});
  }
  Result<protocol::OutFrame> frame = encode(id);  // on the caller's thread, outside the lock
  if (!frame) {
    if (Forget(id)) handler->OnError(frame.error());
    return;
  }
  transport_.Send(std::move(*frame), call.secret);
}

Status Pipeline::WaitForSlot(std::unique_lock<std::mutex>& lock, const CallOptions& call) {
  const auto give_up = Clock::now() + std::chrono::milliseconds(call.timeout_ms);
  for (;;) {
    if (closed_) return closed_why_;
    if (pending_.size() < max_in_flight_) return Status::Ok();
    if (transport_.OnIoThread()) {
      return Status::FailedPrecondition(
          std::string(call.what) + " called from a client callback while all " +
          std::to_string(max_in_flight_) +
          " request slots are taken: waiting there would deadlock; call from another thread");
    }
    if (call.timeout_ms == 0) {
      slot_freed_.wait(lock);
    } else if (slot_freed_.wait_until(lock, give_up) == std::cv_status::timeout && !closed_ &&
               pending_.size() >= max_in_flight_) {
      return Status::IOError("timed out after " + std::to_string(call.timeout_ms) +
                             " ms waiting for a free request slot for " + std::string(call.what) +
                             ": all " + std::to_string(max_in_flight_) + " requests to " + where_ +
                             " are unanswered");
    }
  }
}

bool Pipeline::Forget(uint64_t id) {
  std::lock_guard lock(mu_);
  if (pending_.erase(id) == 0) return false;
  slot_freed_.notify_one();
  return true;
}

void Pipeline::OnFrame(protocol::Frame frame) {
  const uint64_t id = frame.request_id();
  if (id == 0) {
    // A connection error: the server closes the connection after it. Fail everything now with
    // the server's reason rather than a bare "connection closed" a moment later.
    const auto* error = frame.As<wire::Error>();
    const Status cause =
        error ? protocol::DecodeError(*error)
              : Status::Internal("the server sent " + protocol::MessageName(frame.type()) +
                                 " with request id 0");
    OnClosed(Status(cause.code(),
                    "the server at " + where_ + " closed the connection: " + cause.message()));
    return;
  }
  std::shared_ptr<ReplyHandler> handler;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(id);
    // A late reply to a request that timed out, or the rest of a query whose callback stopped.
    if (it == pending_.end()) return;
    handler = it->second.handler;
    it->second.deadline = Clock::now() + std::chrono::milliseconds(it->second.timeout_ms);
  }
  if (const auto* error = frame.As<wire::Error>()) {
    if (Forget(id)) handler->OnError(protocol::DecodeError(*error));
    return;
  }
  if (handler->OnFrame(frame)) Forget(id);
}

void Pipeline::OnClosed(const Status& why) {
  std::unordered_map<uint64_t, Pending> failed;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    closed_why_ = why.ok() ? Status::Internal("connection closed without a reason") : why;
    failed.swap(pending_);
    slot_freed_.notify_all();
  }
  for (auto& [id, p] : failed) {
    p.handler->OnError(Status(closed_why_.code(), closed_why_.message() + " (" +
                                                      RequestName(p.what, id) + " unanswered)"));
  }
}

void Pipeline::OnTick() {
  std::vector<std::pair<uint64_t, Pending>> expired;
  {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (it->second.timeout_ms != 0 && now >= it->second.deadline) {
        expired.emplace_back(it->first, std::move(it->second));
        it = pending_.erase(it);
      } else {
        ++it;
      }
    }
    if (!expired.empty()) slot_freed_.notify_all();
  }
  for (auto& [id, p] : expired) {
    p.handler->OnError(Status::IOError("timed out after " + std::to_string(p.timeout_ms) +
                                       " ms waiting for the reply to " + RequestName(p.what, id) +
                                       " from " + where_));
  }
}

}  // namespace sensordb::client
