// The ReplyHandlers of the client's requests: SingleReply for every request answered by one
// frame (Hello, Auth, Write, administration, Ping), QueryHandler for a query's stream of
// QueryChunk frames ending in QueryEnd, AuditHandler for ReadAudit's AuditChunk frames ending in
// AuditEnd. Internal to client/lib/. Each handler is driven by the
// Pipeline (io thread); its future may be waited on from any thread.
#pragma once

#include <functional>
#include <future>
#include <string>
#include <string_view>
#include <type_traits>

#include "pipeline.h"
#include "sensordb/client/async_client.h"
#include "sensordb/protocol/frame.h"
#include "sensordb/protocol/query_codec.h"

namespace sensordb::client {

// The message `M` of a reply frame, or kInternal naming what came instead.
template <typename M>
Result<const M*> Expect(const protocol::Frame& frame, std::string_view request) {
  if (const M* m = frame.As<M>()) return m;
  return Err(Status::Internal("the server answered " + std::string(request) + " with " +
                              protocol::MessageName(frame.type())));
}

// R is Status or Result<T>: what the request's future holds.
template <typename R>
class SingleReply final : public ReplyHandler {
 public:
  using Decode = std::function<R(const protocol::Frame&)>;
  explicit SingleReply(Decode decode) : decode_(std::move(decode)) {}

  std::future<R> future() { return promise_.get_future(); }

  bool OnFrame(const protocol::Frame& frame) override {
    promise_.set_value(decode_(frame));
    return true;
  }
  void OnError(const Status& status) override {
    if constexpr (std::is_same_v<R, Status>) {
      promise_.set_value(status);
    } else {
      promise_.set_value(Err(status));
    }
  }

 private:
  Decode decode_;
  std::promise<R> promise_;
};

// Streams one query's chunks into the user's callback (exactly one of the three is set, as the
// kind says). After the callback stops, or a chunk is bad, the future completes and the rest
// of the reply is read and dropped until its QueryEnd or Error ends the request.
class QueryHandler final : public ReplyHandler {
 public:
  static std::shared_ptr<QueryHandler> Raw(RawCallback on_run);
  static std::shared_ptr<QueryHandler> Latest(LatestCallback on_point);
  static std::shared_ptr<QueryHandler> Aggregate(AggregateCallback on_row);

  std::future<Result<QueryStats>> future() { return promise_.get_future(); }
  bool OnFrame(const protocol::Frame& frame) override;
  void OnError(const Status& status) override;

 private:
  explicit QueryHandler(protocol::QueryKind kind) : kind_(kind) {}
  // Hands the chunk's points or rows to the callback; an error for a bad chunk.
  Status Deliver(const wire::QueryChunk& chunk);
  Status DeliverRaw(const wire::QueryChunk& chunk);
  Status DeliverLatest(const wire::QueryChunk& chunk);
  Status DeliverAggregate(const wire::QueryChunk& chunk);
  // Records what the callback returned; false once it asked to stop.
  bool Continue(bool more);
  void Complete(Result<QueryStats> result);

  const protocol::QueryKind kind_;
  RawCallback on_run_;
  LatestCallback on_point_;
  AggregateCallback on_row_;
  std::promise<Result<QueryStats>> promise_;
  QueryStats stats_;
  bool completed_ = false;
};

// Streams ReadAudit's entries into the user's callback, as copies. After the callback stops, or
// a chunk is bad, the future completes and the rest of the reply is read and dropped until its
// AuditEnd or Error ends the request.
class AuditHandler final : public ReplyHandler {
 public:
  explicit AuditHandler(AuditCallback on_entry) : on_entry_(std::move(on_entry)) {}

  std::future<Result<AuditReadStats>> future() { return promise_.get_future(); }
  bool OnFrame(const protocol::Frame& frame) override;
  void OnError(const Status& status) override;

 private:
  Status Deliver(const wire::AuditChunk& chunk);
  void Complete(Result<AuditReadStats> result);

  AuditCallback on_entry_;
  std::promise<Result<AuditReadStats>> promise_;
  AuditReadStats stats_;
  bool completed_ = false;
};

}  // namespace sensordb::client
