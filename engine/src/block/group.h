// Block groups (engine/docs/format/block_group.md): many short blocks of one project under one
// envelope in the `groups` column family, each member keeping its key in `blocks` with a
// plaintext reference as its value. A member is opened through its group, which is checked to
// hold exactly the series, start and block_seq that the reference's key names. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "block/block.h"
#include "crypto/cipher.h"
#include "sensordb/status.h"
#include "store/keys.h"

namespace sensordb::block {

inline constexpr uint8_t kGroupRefVersion = 2;     // a blocks value naming a group member
inline constexpr uint8_t kGroupFormatVersion = 1;  // a groups value
inline constexpr size_t kGroupKeySize = 12;

// groups column family: project ‖ group_id.
std::string GroupKey(uint32_t project, uint64_t group_id);

// A reference: the value of a grouped block's key in `blocks`. Plaintext, as a block's header.
struct GroupRef {
  int64_t max_ts = 0;  // of the member (retention), checked against its summary when opened
  uint64_t group_id = 0;
  uint32_t slot = 0;
};
std::string EncodeGroupRef(const GroupRef& ref);
// False unless `value` is a well-formed reference.
bool ParseGroupRef(std::string_view value, GroupRef* ref);
// The version byte of a blocks value (kBlockFormatVersion or kGroupRefVersion), 0 if empty.
inline uint8_t StoredVersion(std::string_view value) {
  return value.empty() ? 0 : uint8_t(value[0]);
}

// One member being grouped: its key, its opened block's summary (for its type and extent; not
// stored: computed from the points when the member is opened) and its vectors, uncompressed.
struct GroupMember {
  store::BlockKey key;
  Summary summary;
  std::string body;
};
// Builds the groups value for `key` (GroupKey) holding `members` in order.
Result<std::string> EncodeGroupValue(const crypto::Cipher& cipher, uint32_t project,
                                     std::string_view group_key,
                                     const std::vector<GroupMember>& members,
                                     const BlockOptions& options);
// The plaintext header (version, max_ts: the newest member's, for retention) and the sealed part
// of a groups value; false if malformed.
bool ParseGroupValue(std::string_view value, BlockView* view);
// The same groups value sealed again under the cipher's active key (key rotation).
Status ResealGroup(const crypto::Cipher& cipher, uint32_t project, std::string_view group_key,
                   std::string_view value, std::string* out);

// An opened group: its member table and its decompressed body.
class OpenedGroup {
 public:
  OpenedGroup() = default;
  OpenedGroup(const OpenedGroup&) = delete;  // body_ may view into plain_ or scratch_
  OpenedGroup& operator=(const OpenedGroup&) = delete;
  // Authenticates and decodes `value`, the groups value stored under `group_key`.
  Status Open(const crypto::Cipher& cipher, uint32_t project, std::string_view group_key,
              std::string_view value);
  uint64_t id() const { return id_; }
  size_t members() const { return members_.size(); }
  // The member at `ref.slot`, checked to be the block of `key` (the reference's key) and to end
  // at `ref.max_ts`; `out` gets its summary and its data (flags + body), as OpenBlock gives.
  Status OpenMember(const store::BlockKey& key, const GroupRef& ref, OpenedBlock* out) const;
  // The key of the member at `slot` (< members()), and its points, decoded and checked to be
  // non-empty and sorted (what OpenMember relies on).
  store::BlockKey MemberKey(size_t slot) const;
  Status DecodeMember(size_t slot, PointColumn* out) const;

 private:
  struct Member {
    store::BlockKey key;
    ValueType type = ValueType::kFloat64;
    size_t offset = 0, size = 0;  // in body_
  };
  uint64_t id_ = 0;
  std::vector<Member> members_;
  std::string plain_, scratch_;
  std::string_view body_;
};

}  // namespace sensordb::block
