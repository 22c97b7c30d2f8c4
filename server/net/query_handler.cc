// RequestHandler::HandleQuery: runs a Query against the DB and streams its result as QueryChunk
// frames while it runs (ReplySink::Stream waits while the client is behind), then a QueryEnd.
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

Status RequestHandler::HandleQuery(const protocol::Frame& frame, ReplySink& out) {
  auto q = protocol::DecodeQuery(*frame.As<wire::Query>());
  SENSORDB_RETURN_IF_ERROR(q);
  auto project = AuthorizeProject(q->project, Operation::kQuery);
  SENSORDB_RETURN_IF_ERROR(project);

  const uint64_t id = frame.request_id();
  const uint64_t limit = q->limit;
  protocol::QueryChunkBuilder chunk(id, q->kind);
  uint64_t count = 0;
  bool truncated = false;
  bool gone = false;  // the connection closed or the client stopped reading: stop the query
  const auto flush_if_full = [&] {
    if (chunk.full() && !out.Stream(chunk.Finish())) gone = true;
    return !gone;
  };

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
                           if (!flush_if_full()) return false;
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
        if (!flush_if_full()) break;
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
        return flush_if_full();
      });
      break;
  }
  outcome_.rows_returned = count;
  // An Error after some chunks tells the client the result is incomplete (protocol/README.md).
  if (!s.ok()) return s;
  if (gone) return Status::Ok();  // nobody to tell
  if (!chunk.empty()) out.push_back(chunk.Finish());
  out.push_back(protocol::EncodeQueryEnd(id, count, truncated));
  return Status::Ok();
}

}  // namespace sensordb::server
