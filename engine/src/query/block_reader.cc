#include "query/block_reader.h"

#include "store/keys.h"

namespace sensordb::query {

bool BlockReader::WellFormed(std::string_view value) {
  block::BlockView view;
  block::GroupRef ref;
  return block::ParseBlockValue(value, &view) || block::ParseGroupRef(value, &ref);
}

Result<const block::OpenedGroup*> BlockReader::Group(uint32_t project, uint64_t id) {
  for (const Cached& c : cache_) {
    if (c.group && c.project == project && c.group->id() == id) return c.group.get();
  }
  const std::string key = block::GroupKey(project, id);
  SENSORDB_ASSIGN_OR_RETURN(auto value, store_.Get(store::Cf::kGroups, key));
  if (!value) {
    return Err(Status::Corruption("group " + std::to_string(id) + " of project " +
                                  std::to_string(project) +
                                  " is missing (it is named by a block's reference)"));
  }
  Cached& slot = cache_[next_];
  next_ = (next_ + 1) % cache_.size();
  if (!slot.group) slot.group = std::make_unique<block::OpenedGroup>();
  slot.project = project;
  Status s = slot.group->Open(cipher_, project, key, *value);
  if (!s.ok()) {
    slot.group.reset();
    return Err(Status(s.code(), s.message() + " (group " + std::to_string(id) + " of project " +
                                    std::to_string(project) + ")"));
  }
  return slot.group.get();
}

Status BlockReader::Open(std::string_view key, std::string_view value, block::OpenedBlock* out) {
  store::BlockKey k;
  if (!store::DecodeBlockKey(key, &k)) return Status::Corruption("malformed block key");
  auto named = [&](const Status& s) {
    return Status(s.code(), s.message() + " (block of series " + std::to_string(k.series) +
                                " starting at " + std::to_string(k.min_ts) + ")");
  };
  block::BlockView view;
  if (block::ParseBlockValue(value, &view)) {
    Status s = block::OpenBlock(cipher_, k.project, key, view, out);
    return s.ok() ? s : named(s);
  }
  block::GroupRef ref;
  if (!block::ParseGroupRef(value, &ref)) return named(Status::Corruption("malformed block value"));
  auto group = Group(k.project, ref.group_id);
  if (!group) return named(group.error());
  return (*group)->OpenMember(k, ref, out);  // names the block and the group itself
}

}  // namespace sensordb::query
