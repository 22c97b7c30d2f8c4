// SummaryCache: block summaries already opened (decrypted and authenticated), by block key, so
// aggregates answered from summaries do not decrypt whole blocks again. Blocks are immutable
// under their key (re-encryption keeps the plaintext), so an entry never goes stale; entries
// of deleted blocks linger harmlessly until evicted. Bounded: a full shard is emptied.
// Thread-safe.
#pragma once

#include <array>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "block/point_column.h"

namespace sensordb::query {

class SummaryCache {
 public:
  explicit SummaryCache(size_t max_entries) : per_shard_(max_entries / kShards + 1) {}

  bool Get(std::string_view key, block::Summary* out) const {
    const Shard& s = ShardOf(key);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(key);  // heterogeneous: no string is built
    if (it == s.map.end()) return false;
    *out = it->second;
    return true;
  }
  void Put(std::string_view key, const block::Summary& summary) {
    Shard& s = ShardOf(key);
    std::lock_guard lock(s.mu);
    if (s.map.size() >= per_shard_) s.map.clear();
    s.map.emplace(std::string(key), summary);
  }
  void Clear() {
    for (Shard& s : shards_) {
      std::lock_guard lock(s.mu);
      s.map.clear();
    }
  }

 private:
  static constexpr size_t kShards = 16;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const { return std::hash<std::string_view>()(k); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, block::Summary, Hash, std::equal_to<>> map;  // GUARDED_BY(mu)
  };
  Shard& ShardOf(std::string_view key) { return shards_[std::hash<std::string_view>()(key) % kShards]; }
  const Shard& ShardOf(std::string_view key) const {
    return shards_[std::hash<std::string_view>()(key) % kShards];
  }

  const size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace sensordb::query
