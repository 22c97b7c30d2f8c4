// AsyncClient: the connection sequence (Transport, then Hello and Auth through the Pipeline)
// and one short method per request type: an encoder and a decoder around Impl::CallOne, or a
// QueryHandler for queries. The administration requests (accounts, tokens, grants, audit,
// devices, keys) are in admin_calls.cc.
#include "sensordb/client/async_client.h"

#include <algorithm>
#include <chrono>

#include "async_client_impl.h"
#include "sensordb/protocol/messages.h"
#include "sensordb/protocol/query_codec.h"
#include "sensordb/protocol/write_codec.h"

namespace sensordb::client {

namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds left until `deadline`, at least 1 (0 would mean "no limit").
uint32_t MsLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<uint32_t>(std::max<int64_t>(1, left.count()));
}

}  // namespace

Status AsyncClient::Impl::Handshake(const ClientOptions& options, Clock::time_point deadline) {
  const std::string where = options.host + ":" + std::to_string(options.port);
  std::future<Result<SessionInfo>> hello = CallOne<Result<SessionInfo>>(
      {"Hello", MsLeft(deadline), false},
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeHello(id, {protocol::kMinProtocolVersion,
                                          protocol::kMaxProtocolVersion, options.client_name});
      },
      [](const Frame& f) -> Result<SessionInfo> {
        SENSORDB_ASSIGN_OR_RETURN(const wire::HelloReply* m, Expect<wire::HelloReply>(f, "Hello"));
        SENSORDB_ASSIGN_OR_RETURN(protocol::HelloReplyInfo info, protocol::DecodeHelloReply(*m));
        SessionInfo s;
        s.protocol_version = info.version;
        s.server_name.assign(info.server_name);
        s.max_frame_bytes = info.max_frame_bytes;
        s.max_write_points = info.max_write_points;
        return s;
      });
  Result<SessionInfo> info = hello.get();
  if (!info) {
    return Status(info.error().code(), "Hello to " + where + " failed: " + info.error().message());
  }
  session = std::move(*info);

  const Credentials& c = options.credentials;
  const protocol::AuthRequest auth{c.token, c.user, c.password};
  std::future<Status> login = CallOne<Status>(
      {"Auth", MsLeft(deadline), true},
      [&](uint64_t id) -> Result<OutFrame> { return protocol::EncodeAuth(id, auth); },
      [this](const Frame& f) -> Status {
        SENSORDB_ASSIGN_OR_RETURN(const wire::AuthReply* m, Expect<wire::AuthReply>(f, "Auth"));
        SENSORDB_ASSIGN_OR_RETURN(protocol::AuthReplyInfo reply, protocol::DecodeAuthReply(*m));
        session.principal.assign(reply.principal);
        session.service_account = reply.kind == wire::PrincipalKind::ServiceAccount;
        session.superuser = reply.superuser;
        return Status::Ok();
      });
  const Status s = login.get();
  if (!s.ok()) {
    const std::string who = auth.is_token() ? "with an API token" : "as user '" + c.user + "'";
    return Status(s.code(), "login " + who + " to " + where + " refused: " + s.message());
  }
  return Status::Ok();
}

// ---- AsyncClient --------------------------------------------------------------------------------

Result<std::unique_ptr<AsyncClient>> AsyncClient::Connect(const ClientOptions& options) {
  SENSORDB_RETURN_IF_ERROR(ValidateOptions(options));
  const auto deadline = Clock::now() + std::chrono::milliseconds(options.connect_timeout_ms);
  auto impl = std::make_unique<Impl>(options);
  SENSORDB_RETURN_IF_ERROR(impl->transport.Open(options));
  SENSORDB_RETURN_IF_ERROR(impl->Handshake(options, deadline));
  return std::unique_ptr<AsyncClient>(new AsyncClient(std::move(impl)));
}

AsyncClient::AsyncClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AsyncClient::~AsyncClient() = default;

const SessionInfo& AsyncClient::session() const { return impl_->session; }
Status AsyncClient::status() const { return impl_->pipeline.status(); }
void AsyncClient::Close() { impl_->transport.Close(); }

std::future<Result<WriteAck>> AsyncClient::Write(std::string_view project, const WriteBatch& batch,
                                                 Durability durability) {
  const SessionInfo& s = impl_->session;
  if (batch.points() > s.max_write_points) {
    return Ready<Result<WriteAck>>(Err(Status::InvalidArgument(
        "batch of " + std::to_string(batch.points()) + " points exceeds the server's limit of " +
        std::to_string(s.max_write_points) +
        " points per Write; split it into smaller batches (each is written atomically)")));
  }
  return impl_->CallOne<Result<WriteAck>>(
      impl_->Options("Write"),
      [&](uint64_t id) -> Result<OutFrame> {
        auto frame = protocol::EncodeWrite(id, project, batch, durability, s.max_frame_bytes);
        if (!frame && frame.error().code() == StatusCode::kResourceExhausted) {
          return Err(Status::InvalidArgument("batch of " + std::to_string(batch.points()) +
                                             " points is too large for one frame (" +
                                             frame.error().message() +
                                             "); split it into smaller batches"));
        }
        return frame;
      },
      [](const Frame& f) -> Result<WriteAck> {
        SENSORDB_ASSIGN_OR_RETURN(const wire::WriteReply* m, Expect<wire::WriteReply>(f, "Write"));
        SENSORDB_ASSIGN_OR_RETURN(protocol::WriteAck ack, protocol::DecodeWriteReply(*m));
        return WriteAck{ack.points, ack.ack};
      });
}

std::future<Result<QueryStats>> AsyncClient::QueryRaw(std::string_view project,
                                                      const Selector& selector,
                                                      const TimeRange& range, uint64_t limit,
                                                      RawCallback on_run) {
  if (!on_run)
    return Ready<Result<QueryStats>>(Err(Status::InvalidArgument("QueryRaw needs a callback")));
  protocol::QueryRequest q;
  q.kind = protocol::QueryKind::kRaw;
  q.project.assign(project);
  q.selector = selector;
  q.range = range;
  q.limit = limit;
  return impl_->CallQuery(q, QueryHandler::Raw(std::move(on_run)));
}

std::future<Result<QueryStats>> AsyncClient::Latest(std::string_view project,
                                                    std::string_view device,
                                                    std::string_view channel,
                                                    LatestCallback on_point) {
  if (!on_point)
    return Ready<Result<QueryStats>>(Err(Status::InvalidArgument("Latest needs a callback")));
  if (device.empty()) {
    return Ready<Result<QueryStats>>(Err(Status::InvalidArgument("Latest needs a device name")));
  }
  protocol::QueryRequest q;
  q.kind = protocol::QueryKind::kLatest;
  q.project.assign(project);
  q.selector = {std::string(device), std::string(channel)};
  return impl_->CallQuery(q, QueryHandler::Latest(std::move(on_point)));
}

std::future<Result<QueryStats>> AsyncClient::Aggregate(std::string_view project,
                                                       const AggregateQuery& query,
                                                       AggregateCallback on_row, uint64_t limit) {
  if (!on_row)
    return Ready<Result<QueryStats>>(Err(Status::InvalidArgument("Aggregate needs a callback")));
  protocol::QueryRequest q;
  q.kind = protocol::QueryKind::kAggregate;
  q.project.assign(project);
  q.selector = query.selector;
  q.range = query.range;
  q.bucket_ns = query.bucket_ns;
  q.per_series = query.per_series;
  q.group_by = query.group_by;
  q.limit = limit;
  return impl_->CallQuery(q, QueryHandler::Aggregate(std::move(on_row)));
}

std::future<Result<ProjectInfo>> AsyncClient::CreateProject(std::string_view name,
                                                            const ProjectOptions& options) {
  return impl_->CallOne<Result<ProjectInfo>>(
      impl_->Options("CreateProject"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeCreateProject(id, {name, options});
      },
      [](const Frame& f) -> Result<ProjectInfo> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::CreateProjectReply>(f, "CreateProject"));
        return protocol::DecodeCreateProjectReply(*m);
      });
}

std::future<Result<std::vector<ProjectInfo>>> AsyncClient::ListProjects() {
  return impl_->CallOne<Result<std::vector<ProjectInfo>>>(
      impl_->Options("ListProjects"),
      [](uint64_t id) -> Result<OutFrame> { return protocol::EncodeListProjects(id); },
      [](const Frame& f) -> Result<std::vector<ProjectInfo>> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::ListProjectsReply>(f, "ListProjects"));
        return protocol::DecodeListProjectsReply(*m);
      });
}

std::future<Status> AsyncClient::DropProject(std::string_view name) {
  return impl_->CallOne<Status>(
      impl_->Options("DropProject"),
      [&](uint64_t id) -> Result<OutFrame> { return protocol::EncodeDropProject(id, name); },
      [](const Frame& f) -> Status {
        return OkIf(Expect<wire::DropProjectReply>(f, "DropProject"));
      });
}

std::future<Status> AsyncClient::Ping() {
  return impl_->CallOne<Status>(
      impl_->Options("Ping"),
      [](uint64_t id) -> Result<OutFrame> { return protocol::EncodePing(id); },
      [](const Frame& f) -> Status { return OkIf(Expect<wire::Pong>(f, "Ping")); });
}

}  // namespace sensordb::client
