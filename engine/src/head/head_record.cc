#include "head/head_record.h"

#include "block/block.h"
#include "block/column_codec.h"
#include "sensordb/coding.h"

namespace sensordb::head {

PointRun ColumnRun(const WriteBatch::Column& c) {
  PointRun r;
  r.type = c.type;
  r.timestamps = c.timestamps;
  r.f64 = c.f64;
  r.i64 = c.i64;
  r.b = c.b;
  return r;
}

void EncodeHeadRecord(std::span<const WriteBatch::Column> columns,
                      std::span<const uint64_t> series_ids, std::string* out) {
  out->push_back(char(kHeadRecordVersion));
  PutVarint64(out, columns.size());
  std::string body;
  for (size_t i = 0; i < columns.size(); ++i) {
    PutVarint64(out, series_ids[i]);
    out->push_back(char(columns[i].type));
    body.clear();
    block::AppendVectors(ColumnRun(columns[i]), block::kMaxVectorValues, &body);
    PutLengthPrefixed(out, body);
  }
}

Status DecodeHeadRecord(std::string_view in, std::vector<HeadRecordEntry>* out) {
  out->clear();
  const Status bad = Status::Corruption("head record is malformed");
  if (in.empty() || uint8_t(in[0]) != kHeadRecordVersion) {
    return Status::Corruption("head record has an unknown version");
  }
  in.remove_prefix(1);
  uint64_t n;
  if (!GetVarint64(&in, &n) || n > in.size()) return bad;
  out->resize(n);
  for (auto& e : *out) {
    std::string_view body;
    if (!GetVarint64(&in, &e.series) || in.empty()) return bad;
    const uint8_t type = uint8_t(in[0]);
    in.remove_prefix(1);
    if (type < 1 || type > 3 || !GetLengthPrefixed(&in, &body)) return bad;
    e.points.type = ValueType(type);
    SENSORDB_RETURN_IF_ERROR(block::DecodeVectors(body, &e.points));
  }
  return in.empty() ? Status::Ok() : bad;
}

}  // namespace sensordb::head
