// Retention: which blocks have outlived their project's policy. The compaction filters of the
// blocks and groups column families ask ShouldDrop for every block, group reference and block
// group they meet, so expired ones disappear as RocksDB compacts, and EnforceRetention compacts
// the affected projects to make it happen now.
// Thread-safe: cutoffs are replaced as a whole and read through an atomic shared_ptr.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>

namespace sensordb::retention {

class Cutoffs {
 public:
  using Map = std::unordered_map<uint32_t, int64_t>;  // project -> drop blocks ending before
  // Cutoffs of blocks and group references.
  void Set(Map cutoffs) { map_.store(std::make_shared<const Map>(std::move(cutoffs))); }
  // Cutoffs of block groups: set only once the references of the same cutoff are gone (a group
  // dropped before a reference to it would make the reference unreadable).
  void SetGroups(Map cutoffs) { groups_.store(std::make_shared<const Map>(std::move(cutoffs))); }
  // True when the block (key and value of the blocks column family) ended before its cutoff.
  bool ShouldDrop(std::string_view key, std::string_view value) const;

 private:
  std::atomic<std::shared_ptr<const Map>> map_{std::make_shared<const Map>()};
  std::atomic<std::shared_ptr<const Map>> groups_{std::make_shared<const Map>()};
};

}  // namespace sensordb::retention
