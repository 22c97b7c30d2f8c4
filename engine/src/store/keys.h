// RocksDB key layouts of every column family (engine/docs/format/keys.md). Keys hold only
// numeric ids, sequence numbers and timestamps, all big-endian so that byte order is numeric
// order; names and values live in (sealed) values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sensordb/coding.h"

namespace sensordb::store {

// meta column family: one-byte tag, then ids.
enum class MetaTag : char {
  kCounters = 'N',      // 'N' -> next project id, next object id
  kProject = 'P',       // 'P' project -> project record
  kDevice = 'D',        // 'D' project device_id -> device record
  kSeries = 'S',        // 'S' project device_id record_id (21 bytes) -> channels record
  kHeadFloor = 'Q',     // 'Q' -> the next head sequence number at the last head truncation
  kSecret = 'K',        // 'K' project record_id -> project secret (name and value, sealed)
  kLabels = 'L',        // 'L' project device_id record_id (21 bytes) -> label changes record
  kGroupCounter = 'G',  // 'G' -> u64be: the next block group id (never reused)
};

inline std::string MetaKey(MetaTag tag) { return std::string(1, char(tag)); }
inline std::string MetaKey(MetaTag tag, uint32_t project) {
  std::string k(1, char(tag));
  PutFixed32BE(&k, project);
  return k;
}
inline std::string MetaKey(MetaTag tag, uint32_t project, uint64_t id) {
  std::string k = MetaKey(tag, project);
  PutFixed64BE(&k, id);
  return k;
}

// head column family: project ‖ seq.
inline constexpr size_t kHeadKeySize = 12;
inline std::string HeadKey(uint32_t project, uint64_t seq) {
  std::string k;
  k.reserve(kHeadKeySize);
  PutFixed32BE(&k, project);
  PutFixed64BE(&k, seq);
  return k;
}

// head column family, seal records: project ‖ seq ‖ 0x01 ‖ 8 random bytes, where seq is the
// highest block_seq the record reports, so head truncation deletes it together with the records
// it covers.
inline constexpr size_t kSealRecordKeySize = kHeadKeySize + 9;
inline std::string SealRecordKey(uint32_t project, uint64_t seq, uint64_t nonce) {
  std::string k = HeadKey(project, seq);
  k.push_back('\x01');
  PutFixed64BE(&k, nonce);
  return k;
}

// blocks column family: project ‖ series ‖ ordered(min_ts) ‖ block_seq.
inline constexpr size_t kBlockKeySize = 28;
struct BlockKey {
  uint32_t project = 0;
  uint64_t series = 0;
  int64_t min_ts = 0;
  uint64_t block_seq = 0;
};
inline std::string EncodeBlockKey(const BlockKey& b) {
  std::string k;
  k.reserve(kBlockKeySize);
  PutFixed32BE(&k, b.project);
  PutFixed64BE(&k, b.series);
  PutFixed64BE(&k, OrderedFromSigned(b.min_ts));
  PutFixed64BE(&k, b.block_seq);
  return k;
}
inline bool DecodeBlockKey(std::string_view k, BlockKey* b) {
  if (k.size() != kBlockKeySize) return false;
  b->project = DecodeFixed32BE(k.data());
  b->series = DecodeFixed64BE(k.data() + 4);
  b->min_ts = SignedFromOrdered(DecodeFixed64BE(k.data() + 12));
  b->block_seq = DecodeFixed64BE(k.data() + 20);
  return true;
}
// First key of a series' blocks that can hold points at or after min_ts.
inline std::string BlockSeekKey(uint32_t project, uint64_t series, int64_t min_ts) {
  return EncodeBlockKey({project, series, min_ts, 0});
}
// Exclusive end of a project's (or, with a series, one series') key range in any column family
// keyed by project first.
inline std::string ProjectPrefix(uint32_t project) {
  std::string k;
  PutFixed32BE(&k, project);
  return k;
}
inline std::string SeriesPrefix(uint32_t project, uint64_t series) {
  std::string k = ProjectPrefix(project);
  PutFixed64BE(&k, series);
  return k;
}
// The smallest key greater than every key starting with `prefix` (prefix is never all 0xff).
inline std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = char(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

}  // namespace sensordb::store
