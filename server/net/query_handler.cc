// RequestHandler::HandleQuery: runs a Query against the DB and cuts its result into QueryChunk
// frames, then a QueryEnd. The frames are collected for the session to send (results are not
// yet streamed with back-pressure while the query runs: docs/SERVER.md).
#include "net/request_handler.h"
#include "sensordb/protocol/query_codec.h"

namespace sensordb::server {

using protocol::OutFrame;

namespace {

PointRun Slice(const PointRun& run, size_t offset, size_t n) {
  PointRun s;
  s.type = run.type;
  s.timestamps = run.timestamps.subspan(offset, n);
  if (!run.f64.empty()) s.f64 = run.f64.subspan(offset, n);
  if (!run.i64.empty()) s.i64 = run.i64.subspan(offset, n);
  if (!run.b.empty()) s.b = run.b.subspan(offset, n);
  return s;
}

}  // namespace

Status RequestHandler::HandleQuery(const protocol::Frame& frame, std::vector<OutFrame>& out) {
  SENSORDB_RETURN_IF_ERROR(Admit());
  auto q = protocol::DecodeQuery(*frame.As<wire::Query>());
  if (!q) return q.error();
  auto project = AuthorizeProject(q->project, Operation::kQuery);
  if (!project) return project.error();

  const uint64_t id = frame.request_id();
  const uint64_t limit = q->limit;
  protocol::QueryChunkBuilder chunk(id, q->kind);
  uint64_t count = 0;
  bool truncated = false;
  const auto flush_if_full = [&] {
    if (chunk.full()) out.push_back(chunk.Finish());
  };
  // Frames already collected for this query are dropped if it fails: an Error then replaces
  // the whole result, which the protocol allows (chunks before an Error are incomplete).
  const size_t first_frame = out.size();

  Status s;
  switch (q->kind) {
    case protocol::QueryKind::kRaw:
      s = db_.QueryRaw(project->name, q->selector, q->range,
                       [&](const SeriesRef& series, const PointRun& run) {
                         size_t take = run.size();
                         if (limit != 0 && count + take > limit) {
                           take = limit - count;
                           truncated = true;
                         }
                         const PointRun part = Slice(run, 0, take);
                         for (size_t off = 0; off < part.size();) {
                           off += chunk.AddRaw(series, part, off);
                           flush_if_full();
                         }
                         count += take;
                         return !truncated;
                       });
      break;
    case protocol::QueryKind::kLatest: {
      auto latest = db_.Latest(project->name, q->selector.device);
      if (!latest) {
        s = latest.error();
        break;
      }
      for (const LatestPoint& p : *latest) {
        if (!q->selector.channel.empty() && p.channel != q->selector.channel) continue;
        chunk.AddLatest(q->selector.device, p);
        ++count;
        flush_if_full();
      }
      break;
    }
    case protocol::QueryKind::kAggregate:
      s = db_.Aggregate(project->name, q->ToAggregateQuery(), [&](const AggregateRow& row) {
        if (limit != 0 && count >= limit) {
          truncated = true;
          return false;
        }
        chunk.AddAggregate(row);
        ++count;
        flush_if_full();
        return true;
      });
      break;
  }
  if (!s.ok()) {
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(first_frame), out.end());
    return s;
  }
  if (!chunk.empty()) out.push_back(chunk.Finish());
  out.push_back(protocol::EncodeQueryEnd(id, count, truncated));
  return Status::Ok();
}

}  // namespace sensordb::server
