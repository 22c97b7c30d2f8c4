#include "retention/retention.h"

#include "block/block.h"
#include "store/keys.h"

namespace sensordb::retention {

bool Cutoffs::ShouldDrop(std::string_view key, std::string_view value) const {
  store::BlockKey k;
  block::BlockView view;
  if (!store::DecodeBlockKey(key, &k) || !block::ParseBlockValue(value, &view)) return false;
  auto map = map_.load();
  auto it = map->find(k.project);
  return it != map->end() && view.max_ts < it->second;
}

}  // namespace sensordb::retention
