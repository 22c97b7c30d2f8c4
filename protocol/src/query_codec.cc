#include "sensordb/protocol/query_codec.h"

#include <string>
#include <vector>

#include "value_type_wire.h"

namespace sensordb::protocol {
namespace {

wire::QueryKind ToWire(QueryKind kind) {
  switch (kind) {
    case QueryKind::kRaw:
      return wire::QueryKind::Raw;
    case QueryKind::kLatest:
      return wire::QueryKind::Latest;
    case QueryKind::kAggregate:
      return wire::QueryKind::Aggregate;
  }
  return wire::QueryKind::Raw;
}

flatbuffers::Offset<wire::LabelCondition> BuildCondition(flatbuffers::FlatBufferBuilder& fbb,
                                                         const LabelFilter& f) {
  std::vector<flatbuffers::Offset<wire::LabelCondition>> operands;
  for (const LabelFilter& o : f.operands) operands.push_back(BuildCondition(fbb, o));
  auto key = fbb.CreateString(f.key);
  auto value = fbb.CreateString(f.value);
  auto ops = operands.empty() ? 0 : fbb.CreateVector(operands);
  return wire::CreateLabelCondition(fbb, static_cast<uint8_t>(f.op), key, value, ops);
}

Status DecodeCondition(const wire::LabelCondition& c, size_t depth, size_t* nodes,
                       LabelFilter* out) {
  if (depth > kMaxWireLabelDepth || ++*nodes > kMaxWireLabelNodes) {
    return Status::InvalidArgument("label conditions past " + std::to_string(kMaxWireLabelNodes) +
                                   " nodes or " + std::to_string(kMaxWireLabelDepth) + " levels");
  }
  if (c.op() > static_cast<uint8_t>(LabelFilter::Op::kOr)) {
    return Status::InvalidArgument("unknown label condition " + std::to_string(c.op()));
  }
  out->op = static_cast<LabelFilter::Op>(c.op());
  SENSORDB_ASSIGN_OR_RETURN(std::string_view key, CheckString(c.key(), "label key", 1024, false));
  SENSORDB_ASSIGN_OR_RETURN(std::string_view value,
                            CheckString(c.value(), "label value", 1024, false));
  out->key.assign(key);
  out->value.assign(value);
  if (const auto* ops = c.operands()) {
    // Checked before anything is allocated: a hostile frame may point many offsets at one table.
    if (*nodes + ops->size() > kMaxWireLabelNodes) {
      return Status::InvalidArgument("label conditions past " + std::to_string(kMaxWireLabelNodes) +
                                     " nodes");
    }
    out->operands.resize(ops->size());
    for (size_t i = 0; i < ops->size(); ++i) {
      SENSORDB_RETURN_IF_ERROR(DecodeCondition(*ops->Get(i), depth + 1, nodes, &out->operands[i]));
    }
  }
  return Status::Ok();
}

}  // namespace

OutFrame EncodeQuery(uint64_t request_id, const QueryRequest& q) {
  flatbuffers::FlatBufferBuilder fbb(256);
  auto project = fbb.CreateString(q.project);
  auto device = fbb.CreateString(q.selector.device);
  auto channel = fbb.CreateString(q.selector.channel);
  std::vector<flatbuffers::Offset<wire::LabelCondition>> conditions;
  for (const LabelFilter& f : q.selector.labels) conditions.push_back(BuildCondition(fbb, f));
  auto labels = conditions.empty() ? 0 : fbb.CreateVector(conditions);
  auto group_by = q.group_by.empty() ? 0 : fbb.CreateVectorOfStrings(q.group_by);
  const wire::TimeRange range(q.range.start_ns, q.range.end_ns);
  auto msg = wire::CreateQuery(fbb, ToWire(q.kind), project, device, channel, &range, q.bucket_ns,
                               q.per_series, q.limit, labels, group_by);
  return FinishEnvelope(fbb, request_id, wire::Message::Query, msg.Union());
}

Result<QueryRequest> DecodeQuery(const wire::Query& query) {
  QueryRequest out;
  switch (query.kind()) {
    case wire::QueryKind::Raw:
      out.kind = QueryKind::kRaw;
      break;
    case wire::QueryKind::Latest:
      out.kind = QueryKind::kLatest;
      break;
    case wire::QueryKind::Aggregate:
      out.kind = QueryKind::kAggregate;
      break;
    default:
      return Err(Status::InvalidArgument("unknown query kind " +
                                         std::to_string(static_cast<unsigned>(query.kind())) +
                                         " (raw 0, latest 1, aggregate 2)"));
  }
  SENSORDB_ASSIGN_OR_RETURN(std::string_view project,
                            CheckString(query.project(), "project name", kMaxNameBytes, true));
  SENSORDB_ASSIGN_OR_RETURN(
      std::string_view device,
      CheckString(query.device(), "device name", kMaxNameBytes, out.kind == QueryKind::kLatest));
  SENSORDB_ASSIGN_OR_RETURN(std::string_view channel,
                            CheckString(query.channel(), "channel name", kMaxNameBytes, false));
  out.project.assign(project);
  out.selector.device.assign(device);
  out.selector.channel.assign(channel);
  if (const wire::TimeRange* range = query.range()) {
    out.range = {range->start_ns(), range->end_ns()};
    if (out.range.start_ns > out.range.end_ns) {
      return Err(Status::InvalidArgument("query range starts at " +
                                         std::to_string(out.range.start_ns) + " after its end " +
                                         std::to_string(out.range.end_ns)));
    }
  }
  out.bucket_ns = query.bucket_ns();
  if (out.bucket_ns < 0) {
    return Err(
        Status::InvalidArgument("bucket_ns " + std::to_string(out.bucket_ns) + " is negative"));
  }
  out.per_series = query.per_series();
  out.limit = query.limit();
  if (const auto* labels = query.labels()) {
    if (out.kind == QueryKind::kLatest && labels->size() > 0) {
      return Err(Status::InvalidArgument("a latest query takes no label conditions"));
    }
    if (labels->size() > kMaxWireLabelNodes) {
      return Err(Status::InvalidArgument("label conditions past " +
                                         std::to_string(kMaxWireLabelNodes) + " nodes"));
    }
    size_t nodes = 0;
    out.selector.labels.resize(labels->size());
    for (size_t i = 0; i < labels->size(); ++i) {
      SENSORDB_RETURN_IF_ERROR(
          DecodeCondition(*labels->Get(i), 0, &nodes, &out.selector.labels[i]));
    }
  }
  if (const auto* keys = query.group_by()) {
    if (out.kind != QueryKind::kAggregate && keys->size() > 0) {
      return Err(Status::InvalidArgument("only an aggregate query groups by labels"));
    }
    if (keys->size() > 64)
      return Err(Status::InvalidArgument("more than 64 label keys to group by"));
    for (size_t i = 0; i < keys->size(); ++i) {
      SENSORDB_ASSIGN_OR_RETURN(std::string_view key,
                                CheckString(keys->Get(i), "label key", kMaxNameBytes, true));
      out.group_by.emplace_back(key);
    }
  }
  return out;
}

Result<LatestView> ViewLatest(const wire::LatestPoint& point, size_t index) {
  const std::string what = "latest point " + std::to_string(index);
  LatestView out;
  SENSORDB_ASSIGN_OR_RETURN(out.device,
                            CheckString(point.device(), "device name", kMaxNameBytes, true));
  SENSORDB_ASSIGN_OR_RETURN(std::string_view channel,
                            CheckString(point.channel(), "channel name", kMaxNameBytes, true));
  out.point.channel.assign(channel);
  out.point.timestamp_ns = point.timestamp_ns();
  SENSORDB_ASSIGN_OR_RETURN(ValueType type, EngineType(point.type(), what));
  switch (type) {
    case ValueType::kFloat64:
      out.point.value = Value::Float64(point.f64());
      break;
    case ValueType::kInt64:
      out.point.value = Value::Int64(point.i64());
      break;
    case ValueType::kBool:
      out.point.value = Value::Bool(point.b());
      break;
  }
  return out;
}

Result<AggregateRunView> ViewAggregateRun(const wire::AggregateRun& run, size_t index) {
  const std::string what = "aggregate run " + std::to_string(index);
  AggregateRunView out;
  out.series_id = run.series_id();
  SENSORDB_ASSIGN_OR_RETURN(out.device,
                            CheckString(run.device(), "device name", kMaxNameBytes, false));
  SENSORDB_ASSIGN_OR_RETURN(out.channel,
                            CheckString(run.channel(), "channel name", kMaxNameBytes, false));
  if (!out.device.empty() || !out.channel.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(out.type, EngineType(run.type(), what));
  }
  if (const auto* rows = run.rows()) {
    // As for value vectors, the Verifier does not check the 8-byte alignment of the rows.
    if (reinterpret_cast<uintptr_t>(rows->Data()) % alignof(wire::AggregateRow) != 0) {
      return Err(Status::InvalidArgument("malformed frame: " + what + " rows are misaligned"));
    }
    out.rows = {reinterpret_cast<const wire::AggregateRow*>(rows->Data()), rows->size()};
  }
  if (const auto* group = run.group()) {
    for (size_t i = 0; i < group->size(); ++i) {
      SENSORDB_ASSIGN_OR_RETURN(std::string_view v,
                                CheckString(group->Get(i), "label value", kMaxNameBytes, false));
      out.group.emplace_back(v);
    }
  }
  return out;
}

AggregateRow ToAggregateRow(const wire::AggregateRow& r) {
  AggregateRow out;
  out.bucket_start_ns = r.bucket_start_ns();
  out.count = r.count();
  out.sum = r.sum();
  out.min = r.min();
  out.max = r.max();
  out.first = r.first();
  out.first_ns = r.first_ns();
  out.last = r.last();
  out.last_ns = r.last_ns();
  return out;
}

OutFrame EncodeQueryEnd(uint64_t request_id, uint64_t count, bool truncated) {
  flatbuffers::FlatBufferBuilder fbb(64);
  auto msg = wire::CreateQueryEnd(fbb, count, truncated);
  return FinishEnvelope(fbb, request_id, wire::Message::QueryEnd, msg.Union());
}

}  // namespace sensordb::protocol
