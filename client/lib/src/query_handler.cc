// QueryHandler: a query's QueryChunk frames, checked with the protocol's View* functions and
// handed to the user's callback as engine types (SeriesRef, PointRun, LatestPoint,
// AggregateRow) that point into the frame: valid during the callback only.
#include <exception>

#include "reply_handlers.h"
#include "sensordb/protocol/write_codec.h"

namespace sensordb::client {

namespace {

Status BadChunk(const Status& s) {
  return Status::Internal("the server sent a bad QueryChunk: " + s.message());
}

}  // namespace

std::shared_ptr<QueryHandler> QueryHandler::Raw(RawCallback on_run) {
  std::shared_ptr<QueryHandler> h(new QueryHandler(protocol::QueryKind::kRaw));
  h->on_run_ = std::move(on_run);
  return h;
}

std::shared_ptr<QueryHandler> QueryHandler::Latest(LatestCallback on_point) {
  std::shared_ptr<QueryHandler> h(new QueryHandler(protocol::QueryKind::kLatest));
  h->on_point_ = std::move(on_point);
  return h;
}

std::shared_ptr<QueryHandler> QueryHandler::Aggregate(AggregateCallback on_row) {
  std::shared_ptr<QueryHandler> h(new QueryHandler(protocol::QueryKind::kAggregate));
  h->on_row_ = std::move(on_row);
  return h;
}

bool QueryHandler::OnFrame(const protocol::Frame& frame) {
  if (const auto* chunk = frame.As<wire::QueryChunk>()) {
    if (completed_) return false;  // draining after a stop
    Status s;
    try {
      s = Deliver(*chunk);
    } catch (const std::exception& e) {  // a callback threw: it must not unwind the io thread
      s = Status::Internal(std::string("a query callback threw: ") + e.what());
    } catch (...) {
      s = Status::Internal("a query callback threw a non-standard exception");
    }
    if (!s.ok()) {
      Complete(Err(s));
    } else if (stats_.stopped) {
      Complete(stats_);
    }
    return false;
  }
  if (const auto* end = frame.As<wire::QueryEnd>()) {
    if (!completed_) {
      stats_.count = end->count();
      stats_.truncated = end->truncated();
      Complete(stats_);
    }
    return true;
  }
  if (!completed_) {
    Complete(Err(Status::Internal("the server answered a Query with " +
                                  protocol::MessageName(frame.type()))));
  }
  return true;
}

void QueryHandler::OnError(const Status& status) {
  if (!completed_) Complete(Err(status));
}

void QueryHandler::Complete(Result<QueryStats> result) {
  completed_ = true;
  promise_.set_value(std::move(result));
}

bool QueryHandler::Continue(bool more) {
  if (!more) stats_.stopped = true;
  return more;
}

Status QueryHandler::Deliver(const wire::QueryChunk& chunk) {
  switch (kind_) {
    case protocol::QueryKind::kRaw:
      return DeliverRaw(chunk);
    case protocol::QueryKind::kLatest:
      return DeliverLatest(chunk);
    case protocol::QueryKind::kAggregate:
      return DeliverAggregate(chunk);
  }
  return Status::Internal("unknown query kind");
}

Status QueryHandler::DeliverRaw(const wire::QueryChunk& chunk) {
  const auto* runs = chunk.raw();
  if (runs == nullptr) return Status::Ok();
  for (size_t i = 0; i < runs->size(); ++i) {
    auto column = protocol::ViewColumn(*runs->Get(i), i);
    if (!column) return BadChunk(column.error());
    const SeriesRef series{column->series_id, column->device, column->channel, column->run.type};
    stats_.count += column->run.size();
    if (!Continue(on_run_(series, column->run))) break;
  }
  return Status::Ok();
}

Status QueryHandler::DeliverLatest(const wire::QueryChunk& chunk) {
  const auto* points = chunk.latest();
  if (points == nullptr) return Status::Ok();
  for (size_t i = 0; i < points->size(); ++i) {
    auto point = protocol::ViewLatest(*points->Get(i), i);
    if (!point) return BadChunk(point.error());
    ++stats_.count;
    if (!Continue(on_point_(point->point))) break;
  }
  return Status::Ok();
}

Status QueryHandler::DeliverAggregate(const wire::QueryChunk& chunk) {
  const auto* runs = chunk.aggregate();
  if (runs == nullptr) return Status::Ok();
  for (size_t i = 0; i < runs->size(); ++i) {
    auto run = protocol::ViewAggregateRun(*runs->Get(i), i);
    if (!run) return BadChunk(run.error());
    const SeriesRef series{run->series_id, run->device, run->channel, run->type};
    const bool merged = run->device.empty() && run->channel.empty();
    for (const wire::AggregateRow& wire_row : run->rows) {
      AggregateRow row = protocol::ToAggregateRow(wire_row);
      row.series = merged ? nullptr : &series;
      row.group = run->group;
      ++stats_.count;
      if (!Continue(on_row_(row))) return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace sensordb::client
