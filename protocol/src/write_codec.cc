#include "sensordb/protocol/write_codec.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sensordb::protocol {
namespace {

std::string ColumnName(size_t index, std::string_view device, std::string_view channel) {
  std::string s = "column " + std::to_string(index);
  if (!device.empty() || !channel.empty()) {
    s += " (" + std::string(device) + "/" + std::string(channel) + ")";
  }
  return s;
}

// A column's name for error messages, built only when one is needed (a write carries
// thousands of columns).
class LazyName {
 public:
  LazyName(size_t index, std::string_view device, std::string_view channel)
      : index_(index), device_(device), channel_(channel) {}
  std::string str() const { return ColumnName(index_, device_, channel_); }

 private:
  size_t index_;
  std::string_view device_, channel_;
};

// The vector as a span of T, checked for alignment: the Verifier checks the alignment of a
// vector's length field (4) only, and a peer may misalign 8-byte elements on purpose.
template <typename T>
Result<std::span<const T>> ViewVector(const flatbuffers::Vector<T>* v, const LazyName& what) {
  if (v == nullptr) return std::span<const T>();
  const uint8_t* data = v->Data();
  if (reinterpret_cast<uintptr_t>(data) % alignof(T) != 0) {
    return Err(Status::InvalidArgument("malformed frame: " + what.str() + " vector is misaligned"));
  }
  return std::span<const T>(reinterpret_cast<const T*>(data), v->size());
}

Status CheckValues(const LazyName& name, size_t timestamps, size_t values, std::string_view type,
                   size_t other_values) {
  if (values != timestamps) {
    return Status::InvalidArgument(name.str() + " has " + std::to_string(timestamps) +
                                   " timestamps but " + std::to_string(values) + " " +
                                   std::string(type) + " values");
  }
  if (other_values != 0) {
    return Status::InvalidArgument(name.str() + " is of type " + std::string(type) +
                                   " but carries values of another type");
  }
  return Status::Ok();
}

// A label set's times as a span, checked for alignment like a column's values.
Result<std::span<const int64_t>> LabelTimes(const wire::LabelSet& l, size_t index) {
  const auto* v = l.timestamps();
  if (v == nullptr) return std::span<const int64_t>();
  if (reinterpret_cast<uintptr_t>(v->Data()) % alignof(int64_t) != 0) {
    return Err(Status::InvalidArgument("malformed frame: label set " + std::to_string(index) +
                                       " times are misaligned"));
  }
  return std::span<const int64_t>(reinterpret_cast<const int64_t*>(v->Data()), v->size());
}

}  // namespace

Result<ColumnView> ViewColumn(const wire::SeriesColumn& column, size_t index) {
  ColumnView out;
  SENSORDB_ASSIGN_OR_RETURN(out.device,
                            CheckString(column.device(), "device name", kMaxNameBytes, true));
  SENSORDB_ASSIGN_OR_RETURN(out.channel,
                            CheckString(column.channel(), "channel name", kMaxNameBytes, true));
  out.series_id = column.series_id();
  const LazyName name(index, out.device, out.channel);
  SENSORDB_ASSIGN_OR_RETURN(out.run.timestamps, ViewVector(column.timestamps(), name));
  SENSORDB_ASSIGN_OR_RETURN(out.run.f64, ViewVector(column.f64(), name));
  SENSORDB_ASSIGN_OR_RETURN(out.run.i64, ViewVector(column.i64(), name));
  SENSORDB_ASSIGN_OR_RETURN(out.run.b, ViewVector(column.b(), name));
  const size_t n = out.run.timestamps.size();
  const size_t f = out.run.f64.size(), i = out.run.i64.size(), b = out.run.b.size();
  switch (column.type()) {
    case wire::ValueType::Float64:
      out.run.type = ValueType::kFloat64;
      SENSORDB_RETURN_IF_ERROR(CheckValues(name, n, f, "float64", i + b));
      break;
    case wire::ValueType::Int64:
      out.run.type = ValueType::kInt64;
      SENSORDB_RETURN_IF_ERROR(CheckValues(name, n, i, "int64", f + b));
      break;
    case wire::ValueType::Bool:
      out.run.type = ValueType::kBool;
      SENSORDB_RETURN_IF_ERROR(CheckValues(name, n, b, "bool", f + i));
      for (size_t k = 0; k < b; ++k) {
        if (out.run.b[k] > 1) {
          return Err(Status::InvalidArgument(name.str() + ": bool value " + std::to_string(out.run.b[k]) +
                                             " at position " + std::to_string(k) +
                                             " is not 0 or 1"));
        }
      }
      break;
    default:
      return Err(Status::InvalidArgument(name.str() + " has unknown value type " +
                                         std::to_string(static_cast<unsigned>(column.type())) +
                                         " (float64 1, int64 2, bool 3)"));
  }
  return out;
}

flatbuffers::Offset<wire::SeriesColumn> BuildColumn(flatbuffers::FlatBufferBuilder& fbb,
                                                    std::string_view device,
                                                    std::string_view channel, uint64_t series_id,
                                                    const PointRun& run) {
  // Children first (FlatBuffers builds bottom-up); CreateVector of scalars is a memcpy here.
  auto dev = fbb.CreateString(device.data(), device.size());
  auto chan = fbb.CreateString(channel.data(), channel.size());
  auto ts = fbb.CreateVector(run.timestamps.data(), run.timestamps.size());
  flatbuffers::Offset<flatbuffers::Vector<double>> f64;
  flatbuffers::Offset<flatbuffers::Vector<int64_t>> i64;
  flatbuffers::Offset<flatbuffers::Vector<uint8_t>> b;
  wire::ValueType type = wire::ValueType::Float64;
  switch (run.type) {
    case ValueType::kFloat64:
      f64 = fbb.CreateVector(run.f64.data(), run.f64.size());
      break;
    case ValueType::kInt64:
      type = wire::ValueType::Int64;
      i64 = fbb.CreateVector(run.i64.data(), run.i64.size());
      break;
    case ValueType::kBool:
      type = wire::ValueType::Bool;
      b = fbb.CreateVector(run.b.data(), run.b.size());
      break;
  }
  return wire::CreateSeriesColumn(fbb, dev, chan, type, ts, f64, i64, b, series_id);
}

size_t LabelSetWireBytes(const WriteBatch::LabelSet& l) {
  // Table, vtable, string and vector headers; per pair two offsets, two string headers,
  // terminators and padding.
  size_t bytes = 64 + l.device.size() + 8 * l.timestamps.size();
  for (const auto& [k, v] : l.labels) bytes += 24 + k.size() + v.size();
  return bytes;
}

size_t ColumnWireBytes(ValueType type, size_t points, size_t name_bytes) {
  const size_t value_bytes = type == ValueType::kBool ? 1 : 8;
  // Table, vtable, two string headers and terminators, three vector headers, alignment.
  return 96 + name_bytes + points * (8 + value_bytes);
}

Result<OutFrame> EncodeWrite(uint64_t request_id, std::string_view project, const WriteBatch& batch,
                             Durability durability, uint32_t max_frame_bytes) {
  if (!batch.error().empty()) return Err(Status::InvalidArgument(batch.error()));
  if (batch.empty()) return Err(Status::InvalidArgument("write batch is empty"));
  size_t bytes = 128 + project.size();
  for (const WriteBatch::Column& c : batch.columns()) {
    bytes += ColumnWireBytes(c.type, c.size(), c.device.size() + c.channel.size()) + 4;
  }
  for (const WriteBatch::LabelSet& l : batch.label_sets()) bytes += LabelSetWireBytes(l);
  if (bytes > max_frame_bytes) {
    return Err(Status::ResourceExhausted("a write of " + std::to_string(batch.points()) +
                                         " points needs about " + std::to_string(bytes) +
                                         " bytes, more than the frame limit of " +
                                         std::to_string(max_frame_bytes) + "; split the batch"));
  }
  // Sized up front so the builder never grows (a growth copies the whole buffer).
  flatbuffers::FlatBufferBuilder fbb(bytes);
  std::vector<flatbuffers::Offset<wire::SeriesColumn>> columns;
  columns.reserve(batch.columns().size());
  for (const WriteBatch::Column& c : batch.columns()) {
    PointRun run{c.type, c.timestamps, c.f64, c.i64, c.b};
    columns.push_back(BuildColumn(fbb, c.device, c.channel, 0, run));
  }
  auto vec = fbb.CreateVector(columns);
  std::vector<flatbuffers::Offset<wire::LabelSet>> sets;
  for (const WriteBatch::LabelSet& l : batch.label_sets()) {
    std::vector<flatbuffers::Offset<flatbuffers::String>> keys, values;
    for (const auto& [k, v] : l.labels) {
      keys.push_back(fbb.CreateString(k));
      values.push_back(fbb.CreateString(v));
    }
    auto device = fbb.CreateString(l.device);
    auto ts = fbb.CreateVector(l.timestamps);
    sets.push_back(
        wire::CreateLabelSet(fbb, device, ts, fbb.CreateVector(keys), fbb.CreateVector(values)));
  }
  auto labels = sets.empty() ? 0 : fbb.CreateVector(sets);
  auto proj = fbb.CreateString(project.data(), project.size());
  auto msg = wire::CreateWrite(fbb, proj, vec, ToWire(durability), labels);
  return FinishEnvelope(fbb, request_id, wire::Message::Write, msg.Union());
}

Result<WriteRequest> DecodeWrite(const wire::Write& write, const WriteLimits& limits,
                                 WriteBatch& batch) {
  batch.Clear();
  WriteRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project,
                            CheckString(write.project(), "project name", kMaxNameBytes, true));
  SENSORDB_ASSIGN_OR_RETURN(out.durability, FromWire(write.durability()));
  const auto* columns = write.columns();
  if (columns == nullptr || columns->size() == 0) {
    return Err(Status::InvalidArgument("write carries no columns"));
  }
  if (columns->size() > limits.max_columns) {
    return Err(Status::ResourceExhausted("write of " + std::to_string(columns->size()) +
                                         " columns exceeds the maximum of " +
                                         std::to_string(limits.max_columns)));
  }
  // First pass: check everything and count, so that nothing is copied from a bad Write (and a
  // Write whose columns share one huge vector cannot make us copy it many times).
  uint64_t points = 0;
  for (size_t i = 0; i < columns->size(); ++i) {
    SENSORDB_ASSIGN_OR_RETURN(ColumnView view, ViewColumn(*columns->Get(i), i));
    points += view.run.size();
    if (points > limits.max_points) {
      return Err(
          Status::ResourceExhausted("write of more than " + std::to_string(limits.max_points) +
                                    " points exceeds the maximum per write; split the batch"));
    }
  }
  // Labels: checked whole before anything is added, bounded like the points.
  const auto* sets = write.labels();
  uint64_t label_times = 0;
  if (sets != nullptr) {
    if (sets->size() > limits.max_columns) {
      return Err(Status::ResourceExhausted("write of " + std::to_string(sets->size()) +
                                           " label sets exceeds the maximum of " +
                                           std::to_string(limits.max_columns)));
    }
    // What the decoded labels will hold in memory, charged as they are checked: a hostile
    // frame can point many offsets at one shared table, so the frame's size bounds nothing.
    size_t cost = 0;
    for (size_t i = 0; i < sets->size(); ++i) {
      const wire::LabelSet& l = *sets->Get(i);
      SENSORDB_ASSIGN_OR_RETURN(std::string_view device,
                                CheckString(l.device(), "device name", kMaxNameBytes, true));
      SENSORDB_ASSIGN_OR_RETURN(const auto ts, LabelTimes(l, i));
      const size_t keys = l.keys() ? l.keys()->size() : 0;
      const size_t values = l.values() ? l.values()->size() : 0;
      if (ts.empty() || keys == 0 || keys != values || keys > kMaxLabelsPerSet) {
        return Err(Status::InvalidArgument(
            "label set " + std::to_string(i) + " needs times and 1 to " +
            std::to_string(kMaxLabelsPerSet) + " keys with as many values"));
      }
      cost += kLabelSetCost + device.size() + 8 * ts.size();
      for (size_t k = 0; k < keys; ++k) {
        SENSORDB_ASSIGN_OR_RETURN(std::string_view key,
                                  CheckString(l.keys()->Get(k), "label key", kMaxNameBytes, true));
        SENSORDB_ASSIGN_OR_RETURN(
            std::string_view value,
            CheckString(l.values()->Get(k), "label value", kMaxNameBytes, false));
        cost += kLabelPairCost + key.size() + value.size();
      }
      label_times += ts.size();
      if (label_times > limits.max_points) {
        return Err(Status::ResourceExhausted("write sets labels at more than " +
                                             std::to_string(limits.max_points) + " times"));
      }
      if (cost > limits.max_label_bytes) {
        return Err(Status::ResourceExhausted("the write's labels would take more than " +
                                             std::to_string(limits.max_label_bytes) +
                                             " bytes; send fewer label sets per write"));
      }
    }
  }
  std::unique_ptr<bool[]> bools;  // WriteBatch takes bools as bool, the wire has bytes
  for (size_t i = 0; i < columns->size(); ++i) {
    const ColumnView view = *ViewColumn(*columns->Get(i), i);
    const PointRun& r = view.run;
    switch (r.type) {
      case ValueType::kFloat64:
        batch.AddFloat64(view.device, view.channel, r.timestamps, r.f64);
        break;
      case ValueType::kInt64:
        batch.AddInt64(view.device, view.channel, r.timestamps, r.i64);
        break;
      case ValueType::kBool:
        bools = std::make_unique_for_overwrite<bool[]>(r.size());
        for (size_t k = 0; k < r.size(); ++k) bools[k] = r.b[k] != 0;
        batch.AddBool(view.device, view.channel, r.timestamps, {bools.get(), r.size()});
        break;
    }
  }
  if (sets != nullptr) {
    std::vector<std::pair<std::string, std::string>> labels;
    for (size_t i = 0; i < sets->size(); ++i) {
      const wire::LabelSet& l = *sets->Get(i);
      labels.clear();
      for (size_t k = 0; k < l.keys()->size(); ++k) {
        labels.emplace_back(l.keys()->Get(k)->string_view(), l.values()->Get(k)->string_view());
      }
      const auto ts = *LabelTimes(l, i);
      batch.SetLabels(l.device()->string_view(), ts, labels);
    }
  }
  return out;
}

OutFrame EncodeWriteReply(uint64_t request_id, uint64_t points, Durability ack) {
  flatbuffers::FlatBufferBuilder fbb(64);
  auto msg = wire::CreateWriteReply(fbb, points, ToWire(ack));
  return FinishEnvelope(fbb, request_id, wire::Message::WriteReply, msg.Union());
}

Result<WriteAck> DecodeWriteReply(const wire::WriteReply& reply) {
  WriteAck out;
  out.points = reply.points();
  SENSORDB_ASSIGN_OR_RETURN(out.ack, FromWire(reply.ack()));
  return out;
}

}  // namespace sensordb::protocol
