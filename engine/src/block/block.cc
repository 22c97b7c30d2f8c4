#include "block/block.h"

#include <zstd.h>

#include "block/column_codec.h"
#include "sensordb/coding.h"

namespace sensordb::block {
namespace {

constexpr uint8_t kFlagZstd = 1;
// Bodies larger than this are refused when decompressing (a block holds at most a few MB).
constexpr uint64_t kMaxBodyBytes = 256u << 20;

struct ZstdContexts {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};
ZstdContexts& Zstd() {
  thread_local ZstdContexts contexts;
  return contexts;
}

}  // namespace

void AppendVector(const PointRun& run, std::string* out) {
  PutVarint64(out, run.size());
  EncodeTimestamps(run.timestamps, out);
  switch (run.type) {
    case ValueType::kFloat64: EncodeFloat64(run.f64, out); break;
    case ValueType::kInt64: EncodeInt64(run.i64, out); break;
    case ValueType::kBool: EncodeBool(run.b, out); break;
  }
}

void AppendVectors(const PointRun& run, size_t vector_points, std::string* out) {
  for (size_t i = 0; i < run.size(); i += vector_points) {
    const size_t n = std::min(run.size() - i, vector_points);
    PointRun part{run.type, run.timestamps.subspan(i, n), {}, {}, {}};
    switch (run.type) {
      case ValueType::kFloat64: part.f64 = run.f64.subspan(i, n); break;
      case ValueType::kInt64: part.i64 = run.i64.subspan(i, n); break;
      case ValueType::kBool: part.b = run.b.subspan(i, n); break;
    }
    AppendVector(part, out);
  }
}

Status CoalesceVectors(ValueType type, size_t points, std::string* body) {
  std::string_view in = *body;
  uint64_t first = 0;
  if (!GetVarint64(&in, &first)) return Status::Corruption("block vector has a bad point count");
  if (first == points || first == kMaxVectorValues) return Status::Ok();  // as coalesced as it gets
  PointColumn all;
  all.type = type;
  all.reserve(points);
  SENSORDB_RETURN_IF_ERROR(DecodeVectors(*body, &all));
  body->clear();
  AppendVectors(all.Run(), kMaxVectorValues, body);
  return Status::Ok();
}

Status DecodeVectors(std::string_view body, PointColumn* out) {
  while (!body.empty()) {
    uint64_t n;
    if (!GetVarint64(&body, &n) || n == 0 || n > kMaxVectorValues) {
      return Status::Corruption("block vector has a bad point count");
    }
    const size_t at = out->size();
    out->ts.resize(at + n);
    SENSORDB_RETURN_IF_ERROR(DecodeTimestamps(&body, std::span<int64_t>(out->ts).subspan(at)));
    switch (out->type) {
      case ValueType::kFloat64:
        out->f64.resize(at + n);
        SENSORDB_RETURN_IF_ERROR(DecodeFloat64(&body, std::span<double>(out->f64).subspan(at)));
        break;
      case ValueType::kInt64:
        out->i64.resize(at + n);
        SENSORDB_RETURN_IF_ERROR(DecodeInt64(&body, std::span<int64_t>(out->i64).subspan(at)));
        break;
      case ValueType::kBool:
        out->b.resize(at + n);
        SENSORDB_RETURN_IF_ERROR(DecodeBool(&body, std::span<uint8_t>(out->b).subspan(at)));
        break;
    }
  }
  return Status::Ok();
}

void CompressBody(std::string_view body, const BlockOptions& options, std::string* out) {
  if (options.zstd && body.size() > 64) {
    const size_t at = out->size();
    out->push_back(char(kFlagZstd));
    PutVarint64(out, body.size());
    const size_t header = out->size();
    out->resize(header + ZSTD_compressBound(body.size()));
    size_t n = ZSTD_compressCCtx(Zstd().c, out->data() + header, out->size() - header,
                                 body.data(), body.size(), options.zstd_level);
    if (!ZSTD_isError(n) && n < body.size()) {
      out->resize(header + n);
      return;
    }
    out->resize(at);  // incompressible: store raw
  }
  out->push_back(0);
  out->append(body);
}

Status DecompressBody(std::string_view in, std::string* scratch, std::string_view* body) {
  if (in.empty()) return Status::Corruption("empty block body");
  const uint8_t flags = uint8_t(in[0]);
  in.remove_prefix(1);
  if (flags == 0) {
    *body = in;
    return Status::Ok();
  }
  if (flags != kFlagZstd) return Status::Corruption("unknown block body flags");
  uint64_t raw;
  if (!GetVarint64(&in, &raw) || raw > kMaxBodyBytes) {
    return Status::Corruption("block body has a bad length");
  }
  scratch->resize(raw);
  size_t n = ZSTD_decompressDCtx(Zstd().d, scratch->data(), raw, in.data(), in.size());
  if (ZSTD_isError(n) || n != raw) return Status::Corruption("block body fails to decompress");
  *body = *scratch;
  return Status::Ok();
}

namespace {

// The seal's associated data: the block's key and the plaintext header.
std::string BlockAd(std::string_view encoded_key, std::string_view header) {
  std::string ad(encoded_key);
  ad.append(header);
  return ad;
}

}  // namespace

Result<std::string> EncodeBlockValue(const crypto::Cipher& cipher, const store::BlockKey& key,
                                     std::string_view encoded_key, const Summary& summary,
                                     std::string_view body, const BlockOptions& options) {
  std::string plain, summary_bytes, value;
  EncodeSummary(summary, &summary_bytes);
  PutLengthPrefixed(&plain, summary_bytes);
  CompressBody(body, options, &plain);
  value.push_back(char(kBlockFormatVersion));
  PutFixed64BE(&value, OrderedFromSigned(summary.max_ts));
  SENSORDB_RETURN_IF_ERROR(cipher.Seal(key.project, crypto::RecordKind::kBlock,
                                       BlockAd(encoded_key, value), plain, &value));
  return value;
}

bool ParseBlockValue(std::string_view value, BlockView* view) {
  return ParseSealedValue(value, kBlockFormatVersion, view);
}

bool ParseSealedValue(std::string_view value, uint8_t version, BlockView* view) {
  if (value.size() < 9 || uint8_t(value[0]) != version) return false;
  view->header = value.substr(0, 9);
  view->max_ts = SignedFromOrdered(DecodeFixed64BE(value.data() + 1));
  view->sealed = value.substr(9);
  return true;
}

Status OpenBlock(const crypto::Cipher& cipher, uint32_t project, std::string_view encoded_key,
                 const BlockView& view, OpenedBlock* out) {
  std::string_view in = view.sealed;
  out->plain.clear();
  out->decoded = false;
  out->points.clear();
  if (!cipher.IsPassthrough()) {
    SENSORDB_RETURN_IF_ERROR(cipher.Open(project, crypto::RecordKind::kBlock,
                                         BlockAd(encoded_key, view.header), view.sealed,
                                         &out->plain));
    in = out->plain;
  }
  std::string_view summary;
  if (!GetLengthPrefixed(&in, &summary) || !DecodeSummary(summary, &out->summary)) {
    return Status::Corruption("block summary is malformed");
  }
  out->data = in;
  return Status::Ok();
}

Status DecodeBlockData(std::string_view data, PointColumn* out) {
  thread_local std::string scratch;
  std::string_view body;
  SENSORDB_RETURN_IF_ERROR(DecompressBody(data, &scratch, &body));
  return DecodeVectors(body, out);
}

}  // namespace sensordb::block
