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
                      std::span<const uint64_t> series_ids, std::string* out, int zstd_level) {
  thread_local std::string columns_bytes, body;
  columns_bytes.clear();
  PutVarint64(&columns_bytes, columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    PutVarint64(&columns_bytes, series_ids[i]);
    columns_bytes.push_back(char(columns[i].type));
    body.clear();
    block::AppendVectors(ColumnRun(columns[i]), block::kMaxVectorValues, &body);
    PutLengthPrefixed(&columns_bytes, body);
  }
  if (zstd_level > 0 && columns_bytes.size() >= kHeadRecordZstdMinBytes) {
    out->push_back(char(kHeadRecordVersionZstd));
    block::CompressBody(columns_bytes, {true, zstd_level}, out);
  } else {
    out->push_back(char(kHeadRecordVersion));
    out->append(columns_bytes);
  }
}

Status DecodeHeadRecord(std::string_view in, std::vector<HeadRecordEntry>* out) {
  out->clear();
  const Status bad = Status::Corruption("head record is malformed");
  if (in.empty()) return bad;
  const uint8_t version = uint8_t(in[0]);
  in.remove_prefix(1);
  thread_local std::string scratch;
  if (version == kHeadRecordVersionZstd) {
    if (!block::DecompressBody(in, &scratch, &in).ok()) {
      return Status::Corruption("head record fails to decompress");
    }
  } else if (version != kHeadRecordVersion) {
    return Status::Corruption("head record has an unknown version");
  }
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
