// The engine's decoders of stored plaintext: block bodies and data, the column codecs, head
// records, block summaries, catalog records and block groups with their references, fed forged bytes as if they had authenticated
// (a holder of the project key could write them). The first byte picks the decoder and, for
// the column codecs, the value type and count. Each must end in a value or an error; a body
// that decodes must encode and decode again to the same points.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "block/block.h"
#include "block/column_codec.h"
#include "block/group.h"
#include "block/point_column.h"
#include "catalog/catalog_records.h"
#include "crypto/cipher.h"
#include "head/head_record.h"

namespace sensordb {
namespace {

constexpr ValueType kTypes[] = {ValueType::kFloat64, ValueType::kInt64, ValueType::kBool};

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool SamePoints(const block::PointColumn& a, const block::PointColumn& b) {
  if (a.type != b.type || a.ts != b.ts) return false;
  switch (a.type) {
    case ValueType::kFloat64:
      for (size_t i = 0; i < a.size(); ++i) {
        if (!SameBits(a.f64[i], b.f64[i])) return false;
      }
      return true;
    case ValueType::kInt64:
      return a.i64 == b.i64;
    case ValueType::kBool:
      return a.b == b.b;
  }
  return false;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "engine_records_fuzz: %s\n", what);
    std::abort();
  }
}

void Vectors(ValueType type, std::string_view body) {
  block::PointColumn first;
  first.type = type;
  if (!block::DecodeVectors(body, &first).ok()) return;
  std::string again;
  block::AppendVectors(first.Run(), 1024, &again);
  block::PointColumn second;
  second.type = type;
  Check(block::DecodeVectors(again, &second).ok(), "re-encoded vectors do not decode");
  Check(SamePoints(first, second), "re-encoded vectors decode to other points");
}

void Columns(ValueType type, size_t count, std::string_view in) {
  switch (type) {
    case ValueType::kFloat64: {
      std::vector<double> out(count);
      (void)block::DecodeFloat64(&in, out).ok();
      break;
    }
    case ValueType::kInt64: {
      std::vector<int64_t> out(count);
      (void)block::DecodeInt64(&in, out).ok();
      break;
    }
    case ValueType::kBool: {
      std::vector<uint8_t> out(count);
      (void)block::DecodeBool(&in, out).ok();
      break;
    }
  }
  std::vector<int64_t> ts(count);
  (void)block::DecodeTimestamps(&in, ts).ok();
}

}  // namespace
}  // namespace sensordb

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sensordb;
  if (size < 2) return 0;
  const uint8_t selector = data[0];
  const ValueType type = kTypes[(selector >> 4) % 3];
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (selector & 0x0f) {
    case 0:
      Vectors(type, in);
      break;
    case 1: {
      block::PointColumn out;
      out.type = type;
      (void)block::DecodeBlockData(in, &out).ok();
      break;
    }
    case 2: {
      // The count a vector header would carry, bounded like kMaxVectorValues.
      const size_t count = (size_t{data[1]} << 2) % 1025;
      Columns(type, count, in.substr(1));
      break;
    }
    case 3: {
      std::vector<head::HeadRecordEntry> entries;
      (void)head::DecodeHeadRecord(in, &entries).ok();
      break;
    }
    case 4: {
      block::Summary s;
      (void)block::DecodeSummary(in, &s);
      std::string scratch;
      std::string_view body;
      (void)block::DecompressBody(in, &scratch, &body).ok();
      break;
    }
    case 5: {
      catalog::RecordKey key;
      (void)catalog::DecodeRecordKey(in, &key).ok();
      catalog::CountersRecord counters;
      (void)catalog::DecodeCounters(in, &counters).ok();
      catalog::ProjectRecord project;
      (void)catalog::DecodeProject(in, &project).ok();
      catalog::DeviceRecord device;
      (void)catalog::DecodeDevice(in, &device).ok();
      std::vector<catalog::ChannelEntry> channels;
      (void)catalog::DecodeChannels(in, &channels).ok();
      break;
    }
    case 6: {
      // A groups value (its contents in clear, as a passthrough cipher stores them), then each
      // member opened as a reference to it would be.
      static const auto cipher = crypto::NewPlainCipher();
      block::OpenedGroup group;
      if (!group.Open(*cipher, 1, block::GroupKey(1, 7), in).ok()) break;
      for (size_t slot = 0; slot < group.members() && slot < 64; ++slot) {
        block::PointColumn points;
        if (!group.DecodeMember(slot, &points).ok()) continue;
        // The reference a grouping pass would have written for it opens, and gives its points.
        block::OpenedBlock member;
        const store::BlockKey key = group.MemberKey(slot);
        Check(group.OpenMember(key, {points.ts.back(), 7, uint32_t(slot)}, &member).ok(),
              "a member that decodes does not open");
        block::PointColumn again;
        again.type = member.summary.type;
        Check(block::DecodeBlockData(member.data, &again).ok() && SamePoints(points, again),
              "an opened member decodes to other points");
      }
      block::GroupRef ref;
      (void)block::ParseGroupRef(in, &ref);
      break;
    }
    default:
      break;
  }
  return 0;
}
