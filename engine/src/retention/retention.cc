#include "retention/retention.h"

#include "block/block.h"
#include "block/group.h"
#include "store/keys.h"

namespace sensordb::retention {

bool Cutoffs::ShouldDrop(std::string_view key, std::string_view value) const {
  // Blocks, group references (both keyed by block key) and groups (keyed by project ‖ id) all
  // carry their newest timestamp in plaintext; a group's is its newest member's, so it goes
  // with the last of them.
  uint32_t project = 0;
  int64_t max_ts = 0;
  bool group = false;
  block::BlockView view;
  block::GroupRef ref;
  if (key.size() == store::kBlockKeySize) {
    if (block::ParseBlockValue(value, &view)) {
      max_ts = view.max_ts;
    } else if (block::ParseGroupRef(value, &ref)) {
      max_ts = ref.max_ts;
    } else {
      return false;
    }
  } else if (key.size() == block::kGroupKeySize && block::ParseGroupValue(value, &view)) {
    max_ts = view.max_ts;
    group = true;
  } else {
    return false;
  }
  project = DecodeFixed32BE(key.data());
  auto map = group ? groups_.load() : map_.load();
  auto it = map->find(project);
  return it != map->end() && max_ts < it->second;
}

}  // namespace sensordb::retention
