// AsyncClient::Impl: the connection (Transport), its Pipeline and the session learnt at login,
// with the two ways to make a request — CallOne for a request answered by one frame, Call with a
// ReplyHandler of its own for a stream (queries, the audit log). Shared by async_client.cc and
// admin_calls.cc; internal to client/lib/. Thread-safe as the Pipeline is; `session` is written
// once by Handshake (in async_client.cc), before any other call.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "pipeline.h"
#include "reply_handlers.h"
#include "sensordb/client/async_client.h"
#include "sensordb/protocol/query_codec.h"
#include "transport.h"

namespace sensordb::client {

using protocol::Frame;
using protocol::OutFrame;

// A future that is ready at once (a request refused before it is sent).
template <typename R>
std::future<R> Ready(R value) {
  std::promise<R> p;
  p.set_value(std::move(value));
  return p.get_future();
}

template <typename T>
Status OkIf(const Result<T>& r) {
  return r ? Status::Ok() : r.error();
}

class AsyncClient::Impl {
 public:
  explicit Impl(const ClientOptions& options)
      : request_timeout_ms(options.request_timeout_ms),
        pipeline(transport, options.host + ":" + std::to_string(options.port),
                 options.max_in_flight),
        transport(pipeline) {}
  ~Impl() { transport.Close(); }

  // Hello (version negotiation, limits) then Auth, before `deadline`.
  Status Handshake(const ClientOptions& options, std::chrono::steady_clock::time_point deadline);

  // A request answered by one frame; R is Status or Result<T>.
  template <typename R>
  std::future<R> CallOne(const CallOptions& call, const Encoder& encode,
                         typename SingleReply<R>::Decode decode) {
    auto handler = std::make_shared<SingleReply<R>>(std::move(decode));
    std::future<R> future = handler->future();
    pipeline.Call(call, encode, handler);
    return future;
  }
  CallOptions Options(std::string_view what) const { return {what, request_timeout_ms, false}; }
  // A request with an encoded secret (a password): the frame is wiped once sent.
  CallOptions SecretOptions(std::string_view what) const {
    return {what, request_timeout_ms, true};
  }

  // A request answered by a stream of frames; H has a future() of what the caller waits for.
  template <typename H>
  auto CallStream(const CallOptions& call, const Encoder& encode, std::shared_ptr<H> handler) {
    auto future = handler->future();
    pipeline.Call(call, encode, std::move(handler));
    return future;
  }

  std::future<Result<QueryStats>> CallQuery(const protocol::QueryRequest& query,
                                            std::shared_ptr<QueryHandler> handler) {
    return CallStream(
        Options("Query"),
        [&query](uint64_t id) -> Result<OutFrame> { return protocol::EncodeQuery(id, query); },
        std::move(handler));
  }

  const uint32_t request_timeout_ms;
  SessionInfo session;  // written by Handshake, then read-only
  Pipeline pipeline;    // declared before transport: the transport (closed first) calls it
  Transport transport;
};

}  // namespace sensordb::client
