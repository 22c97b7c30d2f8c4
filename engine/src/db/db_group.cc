// Block groups (engine/docs/format/block_group.md, "choice 2"): after DB::Compact merged each
// series' consecutive short blocks, the short blocks that remain (short series, series that
// stopped) are put, by project and UTC day of their start, into groups: one sealed value in the
// `groups` column family holds their summaries and their data under one zstd frame, and each
// block's value in `blocks` becomes a plaintext reference to its slot. Keys, block_seq and
// points do not change, so queries, overlap rules and cached summaries stay as they were.
// A grouped block is final: it is never merged or grouped again.
#include <algorithm>
#include <map>

#include "block/block.h"
#include "block/group.h"
#include "db/db_impl.h"
#include "store/keys.h"

namespace sensordb {
namespace {

using store::Cf;

constexpr int64_t kNanosPerDay = int64_t{86400} * 1'000'000'000;
// Bytes of short blocks a pass holds while it fills groups of several days at once.
constexpr size_t kMaxPendingBytes = 16 << 20;

int64_t DayOf(int64_t ts) { return ts >= 0 ? ts / kNanosPerDay : (ts + 1) / kNanosPerDay - 1; }

}  // namespace

struct DBImpl::GroupDraft {
  struct Block {
    std::string key;
    std::string value;
  };
  std::vector<Block> blocks;
  size_t bytes = 0;  // stored bytes of `blocks`
};

Status DBImpl::GroupShortBlocksOf(catalog::ProjectMeta& p, RewrittenRanges* ranges) {
  const int64_t cutoff = RetentionCutoff(p);
  const std::string prefix = store::ProjectPrefix(p.id);
  std::map<int64_t, GroupDraft> by_day;
  size_t pending = 0;
  auto write = [&](std::map<int64_t, GroupDraft>::iterator d) -> Status {
    pending -= d->second.bytes;
    if (d->second.blocks.size() >= 2) SENSORDB_RETURN_IF_ERROR(WriteGroup(p, d->second, ranges));
    by_day.erase(d);
    return Status::Ok();
  };
  auto it = store_->NewIterator(Cf::kBlocks);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    store::BlockKey bk;
    block::BlockView view;
    if (!store::DecodeBlockKey(it->key(), &bk)) {
      return Err(Status::Corruption("grouping short blocks: a malformed block key in project " +
                                    std::to_string(p.id)));
    }
    if (!block::ParseBlockValue(it->value(), &view)) {
      block::GroupRef ref;
      if (block::ParseGroupRef(it->value(), &ref)) continue;  // already grouped
      return Status::Corruption("grouping short blocks: block of series " +
                                std::to_string(bk.series) + " in project " + std::to_string(p.id) +
                                " starting at " + std::to_string(bk.min_ts) + " is malformed");
    }
    if (it->value().size() > options_.group_block_bytes || view.max_ts < cutoff) continue;
    auto d = by_day.try_emplace(DayOf(bk.min_ts)).first;
    d->second.blocks.push_back({std::string(it->key()), std::string(it->value())});
    d->second.bytes += it->value().size();
    pending += it->value().size();
    if (d->second.bytes >= options_.group_target_bytes) {
      SENSORDB_RETURN_IF_ERROR(write(d));
    } else if (pending > kMaxPendingBytes) {
      auto largest = by_day.begin();
      for (auto i = by_day.begin(); i != by_day.end(); ++i) {
        if (i->second.bytes > largest->second.bytes) largest = i;
      }
      SENSORDB_RETURN_IF_ERROR(write(largest));
    }
  }
  SENSORDB_RETURN_IF_ERROR(it->status());
  while (!by_day.empty()) SENSORDB_RETURN_IF_ERROR(write(by_day.begin()));
  return Status::Ok();
}

// Opens every block of the draft (one that does not open fails the pass and changes nothing),
// keeps those of at most group_max_points points, and writes the group and the references in
// one atomic batch.
Status DBImpl::WriteGroup(catalog::ProjectMeta& p, GroupDraft& draft, RewrittenRanges* ranges) {
  std::vector<block::GroupMember> members;
  std::vector<const std::string*> keys;
  block::OpenedBlock opened;
  block::PointColumn points;
  std::string scratch;
  for (const GroupDraft::Block& b : draft.blocks) {
    block::BlockView view;
    block::GroupMember m;
    store::DecodeBlockKey(b.key, &m.key);  // decoded once already
    block::ParseBlockValue(b.value, &view);
    Status s = block::OpenBlock(*cipher_, p.id, b.key, view, &opened);
    if (s.ok() && opened.summary.max_ts != view.max_ts) {
      s = Status::Corruption("its summary disagrees with its header");
    }
    std::string_view body;
    if (s.ok()) s = block::DecompressBody(opened.data, &scratch, &body);
    if (!s.ok()) {
      return Status::Corruption(
          "grouping short blocks: block of series " + std::to_string(m.key.series) +
          " in project " + std::to_string(p.id) + ", time range [" + std::to_string(m.key.min_ts) +
          ", " + std::to_string(view.max_ts) + "] does not open: " + s.message());
    }
    // Small in bytes but not in points (a well-compressed series): its block's fixed cost is
    // already spread thin, and a query of it would pay for opening the whole group.
    if (opened.summary.count > options_.group_max_points) continue;
    // A member is opened by its points (OpenedGroup::OpenMember): a block whose points would not
    // pass that (none, unsorted, another end than its header's) stays as it is, readable.
    points.clear();
    points.type = opened.summary.type;
    if (!block::DecodeVectors(body, &points).ok() || points.empty() ||
        !std::is_sorted(points.ts.begin(), points.ts.end()) || points.ts.back() != view.max_ts) {
      continue;
    }
    m.summary = opened.summary;
    m.body.assign(body);
    members.push_back(std::move(m));
    keys.push_back(&b.key);
  }
  if (members.size() < 2) return Status::Ok();
  const block::BlockOptions bo{options_.block_zstd, options_.block_zstd_level};
  const std::string counter_key = store::MetaKey(store::MetaTag::kGroupCounter);
  SENSORDB_ASSIGN_OR_RETURN(auto counter, store_->Get(Cf::kMeta, counter_key));
  uint64_t id = 1;
  if (counter) {
    std::string_view in = *counter;
    if (!GetFixed64BE(&in, &id) || !in.empty() || id == 0) {
      return Status::Corruption("the block group counter (meta key 'G') is malformed");
    }
  }
  const std::string group_key = block::GroupKey(p.id, id);
  SENSORDB_ASSIGN_OR_RETURN(auto existing, store_->Get(Cf::kGroups, group_key));
  if (existing) {  // never write over a group: a damaged counter must not destroy one
    return Status::Corruption("block group " + std::to_string(id) + " of project " +
                              std::to_string(p.id) +
                              " exists already; the group counter (meta key 'G') is behind");
  }
  std::string next;
  PutFixed64BE(&next, id + 1);
  std::shared_lock sealing(seal_gate_);  // from the seal to the write that stores it
  if (keyring_ && !keyring_->Active(p.id)) return Status::Ok();  // being dropped
  SENSORDB_ASSIGN_OR_RETURN(std::string value,
                            block::EncodeGroupValue(*cipher_, p.id, group_key, members, bo));
  auto wb = store_->NewBatch();
  wb.Put(Cf::kGroups, group_key, value);
  for (size_t i = 0; i < members.size(); ++i) {
    wb.Put(Cf::kBlocks, *keys[i],
           block::EncodeGroupRef({members[i].summary.max_ts, id, uint32_t(i)}));
  }
  wb.Put(Cf::kMeta, counter_key, next);
  // Not synced, as block persistence: the batch is atomic, so a crash leaves the blocks or the
  // group with its references.
  SENSORDB_RETURN_IF_ERROR(store_->Write(wb, /*sync=*/false));
  blocks_grouped_.fetch_add(members.size(), std::memory_order_relaxed);
  Widen(ranges, p.id, *keys.front(), *keys.back());
  return Status::Ok();
}

}  // namespace sensordb
