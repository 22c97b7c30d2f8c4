// BlockReader: opens a value of the blocks column family, which is either a block or a
// reference to a member of a block group (engine/docs/format/block_group.md), keeping the last
// few groups it opened: a fleet-wide query reads one member of the same group per series.
// One per query or pass; not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "block/block.h"
#include "block/group.h"
#include "crypto/cipher.h"
#include "store/store.h"

namespace sensordb::query {

class BlockReader {
 public:
  BlockReader(store::Store& store, const crypto::Cipher& cipher) : store_(store), cipher_(cipher) {}

  // True if `value` is a well-formed block or reference (nothing is opened).
  static bool WellFormed(std::string_view value);
  // Opens `value`, stored under `key`: its summary and data, as block::OpenBlock gives them.
  // Errors name the block (series and start) and, for a member, its group.
  Status Open(std::string_view key, std::string_view value, block::OpenedBlock* out);

 private:
  Result<const block::OpenedGroup*> Group(uint32_t project, uint64_t id);

  store::Store& store_;
  const crypto::Cipher& cipher_;
  struct Cached {
    uint32_t project = 0;
    std::unique_ptr<block::OpenedGroup> group;  // not moved: its body may be a view into it
  };
  std::array<Cached, 4> cache_;
  size_t next_ = 0;
};

}  // namespace sensordb::query
