// AuditHandler: ReadAudit's AuditChunk frames, checked with protocol::DecodeAuditChunk and handed
// to the user's callback one entry at a time, then the AuditEnd's counts.
#include <algorithm>
#include <exception>

#include "reply_handlers.h"
#include "sensordb/protocol/admin_codec.h"

namespace sensordb::client {

namespace {

AuditHash CopyHash(std::span<const uint8_t> bytes) {
  AuditHash h{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), h.size()), h.begin());
  return h;
}

}  // namespace

bool AuditHandler::OnFrame(const protocol::Frame& frame) {
  if (const auto* chunk = frame.As<wire::AuditChunk>()) {
    if (completed_) return false;  // draining after a stop
    Status s;
    try {
      s = Deliver(*chunk);
    } catch (const std::exception& e) {  // a callback threw: it must not unwind the io thread
      s = Status::Internal(std::string("an audit callback threw: ") + e.what());
    } catch (...) {
      s = Status::Internal("an audit callback threw a non-standard exception");
    }
    if (!s.ok()) {
      Complete(Err(s));
    } else if (stats_.stopped) {
      Complete(stats_);
    }
    return false;
  }
  if (const auto* end = frame.As<wire::AuditEnd>()) {
    if (!completed_) {
      const protocol::AuditEndInfo info = protocol::DecodeAuditEnd(*end);
      stats_.next_seq = info.next_seq;
      Complete(stats_);
    }
    return true;
  }
  if (!completed_) {
    Complete(Err(Status::Internal("the server answered ReadAudit with " +
                                  protocol::MessageName(frame.type()))));
  }
  return true;
}

void AuditHandler::OnError(const Status& status) {
  if (!completed_) Complete(Err(status));
}

void AuditHandler::Complete(Result<AuditReadStats> result) {
  completed_ = true;
  promise_.set_value(std::move(result));
}

Status AuditHandler::Deliver(const wire::AuditChunk& chunk) {
  auto entries = protocol::DecodeAuditChunk(chunk);
  if (!entries) {
    return Status::Internal("the server sent a bad AuditChunk: " + entries.error().message());
  }
  AuditEntry e;
  for (const protocol::AuditEntryView& v : *entries) {
    e.seq = v.seq;
    e.time_ns = v.time_ns;
    e.principal.assign(v.principal);
    e.address.assign(v.address);
    e.action.assign(v.action);
    e.project_id = v.project_id;
    e.project.assign(v.project);
    e.outcome.assign(v.outcome);
    e.detail.assign(v.detail);
    e.prev_hash = CopyHash(v.prev_hash);
    e.hash = CopyHash(v.hash);
    ++stats_.count;
    if (!on_entry_(e)) {
      stats_.stopped = true;
      break;
    }
  }
  return Status::Ok();
}

}  // namespace sensordb::client
