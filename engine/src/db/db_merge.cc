// Merging a series' short blocks (engine/docs/format/block_group.md, "choice 1"): consecutive
// blocks of one series whose stored values are small, and whose time extents overlap no other
// block of the series, become one block, written in one atomic batch with the deletion of the
// blocks it replaces. Run by DB::Compact (not at head checkpoints: see DBImpl::CheckpointHead).
#include <limits>

#include "block/block.h"
#include "block/column_codec.h"
#include "block/group.h"
#include "db/db_impl.h"
#include "store/keys.h"

namespace sensordb {
namespace {

using store::Cf;

// Stored bytes of the blocks one merge reads at most (the merged block's points are further
// bounded by Options::chunk_max_points).
constexpr size_t kMaxRunBytes = 256 * 1024;

std::string Describe(const store::BlockKey& bk, int64_t max_ts) {
  return "block of series " + std::to_string(bk.series) + " in project " +
         std::to_string(bk.project) + ", time range [" + std::to_string(bk.min_ts) + ", " +
         std::to_string(max_ts) + "]";
}

}  // namespace

struct DBImpl::ShortBlock {
  std::string key;
  store::BlockKey bk;
  std::string value;
  int64_t max_ts = 0;  // the plaintext header's, checked against the summary once opened
};

void DBImpl::Widen(RewrittenRanges* ranges, uint32_t project, std::string_view first,
                   std::string_view last) {
  auto [it, fresh] = ranges->try_emplace(project, std::string(first), std::string(last));
  if (fresh) return;
  if (first < it->second.first) it->second.first = first;
  if (last > it->second.second) it->second.second = last;
}

Status DBImpl::RewriteShortBlocks(RewrittenRanges* ranges) {
  // Re-encryption re-puts the blocks it read: a block deleted or replaced by a reference here
  // meanwhile would come back. While one runs, this pass does nothing (the next one will).
  std::unique_lock no_reencryption(reencrypt_mu_, std::try_to_lock);
  if (!no_reencryption.owns_lock()) return Status::Ok();
  for (const auto& p : catalog_->Projects()) {
    std::shared_lock lock(p->write_mu);  // a drop waits for us
    if (p->dropped) continue;
    if (options_.merge_block_bytes > 0) SENSORDB_RETURN_IF_ERROR(MergeShortBlocksOf(*p, ranges));
    if (options_.group_block_bytes > 0) SENSORDB_RETURN_IF_ERROR(GroupShortBlocksOf(*p, ranges));
  }
  return Status::Ok();
}

Status DBImpl::RewriteShortBlocksAndCompact() {
  RewrittenRanges ranges;
  SENSORDB_RETURN_IF_ERROR(RewriteShortBlocks(&ranges));
  for (const auto& [project, range] : ranges) {
    SENSORDB_RETURN_IF_ERROR(
        store_->CompactRange(Cf::kBlocks, range.first, store::PrefixEnd(range.second)));
  }
  return Status::Ok();
}

Status DBImpl::MergeShortBlocksOf(catalog::ProjectMeta& p, RewrittenRanges* ranges) {
  const int64_t cutoff = RetentionCutoff(p);
  const std::string prefix = store::ProjectPrefix(p.id);
  auto it = store_->NewIterator(Cf::kBlocks);
  std::vector<ShortBlock> run;
  size_t run_bytes = 0;
  auto end_run = [&]() -> Status {
    if (run.size() >= 2) {
      SENSORDB_ASSIGN_OR_RETURN(bool merged, MergeRun(p, run, ranges));
      (void)merged;
    }
    run.clear();
    run_bytes = 0;
    return Status::Ok();
  };
  uint64_t series = 0;
  bool have_before = false;  // the series has a block before this one
  int64_t before_max = 0;    // the latest end of those
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    store::BlockKey bk;
    block::BlockView view;
    block::GroupRef ref;
    // A grouped block (a reference) is final: it takes part in the overlap rules, never in a run.
    bool mergeable = true;
    if (store::DecodeBlockKey(it->key(), &bk) && block::ParseGroupRef(it->value(), &ref)) {
      view.max_ts = ref.max_ts;
      mergeable = false;
    } else if (!store::DecodeBlockKey(it->key(), &bk) ||
               !block::ParseBlockValue(it->value(), &view)) {
      return Err(Status::Corruption("merging short blocks: a malformed block of project " +
                                    std::to_string(p.id)));
    }
    if (!have_before || bk.series != series) {
      SENSORDB_RETURN_IF_ERROR(end_run());
      series = bk.series;
      have_before = false;
    }
    if (have_before && bk.min_ts <= before_max) {
      // Overlaps an earlier block: which write wins depends on the blocks' order, so neither
      // this block nor the run's blocks it overlaps may move into a merged block.
      while (!run.empty() && run.back().max_ts >= bk.min_ts) {
        run_bytes -= run.back().value.size();
        run.pop_back();
      }
      SENSORDB_RETURN_IF_ERROR(end_run());
    } else if (!mergeable || it->value().size() > options_.merge_block_bytes ||
               view.max_ts < cutoff || run_bytes + it->value().size() > kMaxRunBytes) {
      SENSORDB_RETURN_IF_ERROR(end_run());
      if (mergeable && it->value().size() <= options_.merge_block_bytes && view.max_ts >= cutoff) {
        run.push_back({std::string(it->key()), bk, std::string(it->value()), view.max_ts});
        run_bytes = it->value().size();
      }
    } else {
      run.push_back({std::string(it->key()), bk, std::string(it->value()), view.max_ts});
      run_bytes += it->value().size();
    }
    before_max = have_before ? std::max(before_max, view.max_ts) : view.max_ts;
    have_before = true;
  }
  SENSORDB_RETURN_IF_ERROR(it->status());
  return end_run();
}

int64_t DBImpl::RetentionCutoff(const catalog::ProjectMeta& p) const {
  const uint32_t days = p.retention_days.load();
  if (days == 0) return std::numeric_limits<int64_t>::min();
  return clock_.NowUnixNs() - int64_t(days) * 86400 * kNanosPerSecond;
}

// Opens the run's blocks (a block that does not open fails the merge and changes nothing),
// keeps the longest prefix that fits in chunk_max_points, and writes it as one block.
Result<bool> DBImpl::MergeRun(catalog::ProjectMeta& p, std::vector<ShortBlock>& run,
                              RewrittenRanges* ranges) {
  std::vector<block::OpenedBlock> opened(run.size());
  size_t take = 0;
  uint64_t points = 0;
  const int64_t max_span =
      std::max(p.max_span_ns.load(), int64_t{options_.chunk_max_age_s} * kNanosPerSecond);
  for (; take < run.size(); ++take) {
    block::BlockView view;
    block::ParseBlockValue(run[take].value, &view);  // parsed once already
    Status s = block::OpenBlock(*cipher_, p.id, run[take].key, view, &opened[take]);
    if (!s.ok()) {
      return Err(Status::Corruption("merging short blocks: " +
                                    Describe(run[take].bk, run[take].max_ts) +
                                    " does not open: " + s.message()));
    }
    if (opened[take].summary.max_ts != run[take].max_ts ||
        opened[take].summary.type != opened[0].summary.type) {
      return Err(Status::Corruption("merging short blocks: " +
                                    Describe(run[take].bk, run[take].max_ts) +
                                    " disagrees with its header or its series' type"));
    }
    // Bounded in points, and in time by what the project's queries already seek back for (its
    // longest block, or an aged chunk): a merge never widens every query's seek window.
    if (points + opened[take].summary.count > options_.chunk_max_points ||
        opened[take].summary.max_ts - run[0].bk.min_ts > max_span) {
      break;
    }
    points += opened[take].summary.count;
  }
  if (take < 2) return false;
  block::PointColumn all;
  all.type = opened[0].summary.type;
  uint64_t seq = 0;
  for (size_t i = 0; i < take; ++i) {
    SENSORDB_RETURN_IF_ERROR(block::DecodeBlockData(opened[i].data, &all));
    seq = std::max(seq, run[i].bk.block_seq);
  }
  const block::Summary summary = block::Summary::Of(all);
  std::string body;
  block::AppendVectors(all.Run(), block::kMaxVectorValues, &body);
  const store::BlockKey bk{p.id, run[0].bk.series, summary.min_ts, seq};
  const std::string key = store::EncodeBlockKey(bk);
  // A key is never given to a second value: summaries are cached by key (query/summary_cache.h),
  // and a query may be caching the first block's. When the first block is also the run's latest
  // write, the merged block would take its key, so the run stays as it is.
  if (key == run[0].key) return false;
  const block::BlockOptions bo{options_.block_zstd, options_.block_zstd_level};
  std::shared_lock sealing(seal_gate_);  // from the seal to the write that stores it
  if (keyring_ && !keyring_->Active(p.id)) return false;  // being dropped
  SENSORDB_ASSIGN_OR_RETURN(std::string value,
                            block::EncodeBlockValue(*cipher_, bk, key, summary, body, bo));
  SENSORDB_RETURN_IF_ERROR(catalog_->RaiseMaxSpan(p, summary.max_ts - summary.min_ts));
  auto wb = store_->NewBatch();
  for (size_t i = 0; i < take; ++i) wb.Delete(Cf::kBlocks, run[i].key);
  wb.Put(Cf::kBlocks, key, value);
  // Not synced, as block persistence: the batch is atomic, so a crash leaves the old blocks or
  // the merged one.
  std::unique_lock no_copies(copy_gate_);  // see query::Querier: no query between copy and iterator
  SENSORDB_RETURN_IF_ERROR(store_->Write(wb, /*sync=*/false));
  blocks_merged_.fetch_add(take, std::memory_order_relaxed);
  Widen(ranges, p.id, run[0].key, run[take - 1].key);
  return true;
}

}  // namespace sensordb
