#include "db/db_impl.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <set>

#include "backup/destination.h"
#include "backup/destinations_file.h"
#include "block/block.h"
#include "crypto/secret_key.h"
#include "head/head_log.h"
#include "query/block_reader.h"
#include "query/querier.h"
#include "sensordb/coding.h"
#include "store/keys.h"

namespace sensordb {
namespace {

using store::Cf;

// Below this many series per thread an aggregate runs on the calling thread alone.
constexpr size_t kSeriesPerThread = 128;
// A per-series aggregate on several threads: the rows a thread may hold before it waits for the
// caller to take them (about 90 bytes each: 6 MiB per thread).
constexpr size_t kRowsPerLane = 64 * 1024;

}  // namespace

Result<std::unique_ptr<DB>> DB::Open(const Options& options, std::string_view dir) {
  auto db = std::make_unique<DBImpl>(options, std::string(dir));
  SENSORDB_RETURN_IF_ERROR(db->Init());
  return std::unique_ptr<DB>(std::move(db));
}

DBImpl::DBImpl(const Options& options, std::string dir)
    : options_(options),
      clock_(options.clock != nullptr ? *options.clock : Clock::System()),
      dir_(std::move(dir)),
      summaries_(options.summary_cache_entries) {}

Status DBImpl::Init() {
  if (options_.chunk_max_points == 0 || options_.chunk_max_points > (1u << 20)) {
    return Status::InvalidArgument("chunk_max_points must be between 1 and 1048576");
  }
  std::error_code ec;
  if (!std::filesystem::exists(dir_, ec)) {
    if (!options_.create_if_missing) return Status::NotFound("no database in " + dir_);
    std::filesystem::create_directories(dir_, ec);
    if (ec) return Status::IOError("cannot create " + dir_ + ": " + ec.message());
  }
  SENSORDB_RETURN_IF_ERROR(OpenKeys());
  store::StoreOptions so;
  so.create_if_missing = options_.create_if_missing;
  so.write_buffer_bytes = options_.write_buffer_bytes;
  so.block_cache_bytes = options_.block_cache_bytes;
  so.faults = faults_;
  so.drop_block = [this](std::string_view k, std::string_view v) {
    return cutoffs_.ShouldDrop(k, v);
  };
  if (damage_) {  // salvage: read-only; a WAL refused whole is reported, then read leniently
    so.read_only = true;
    so.log_dir = salvage_log_dir_;
    auto strict = store::Store::Open(so, dir_);
    if (!strict) {
      damage_(strict.error());
      so.skip_damaged_wal = true;
    }
    if (strict) store_ = std::move(*strict);
  }
  if (!store_) {
    SENSORDB_ASSIGN_OR_RETURN(store_, store::Store::Open(so, dir_));
  }
  // Read-only until everything is validated (docs/write_path.md, "Fail closed"): an open that
  // fails has truncated, deleted, sealed and destroyed nothing.
  std::vector<uint32_t> unreadable;
  auto has_key = [this](uint32_t pid) { return !keyring_ || keyring_->Active(pid).has_value(); };
  if (damage_) {  // salvage: every SST file checked on its own; the damaged ones left out
    std::set<uint64_t> damaged;
    SENSORDB_RETURN_IF_ERROR(store_->VerifyFiles([&](const Status& s, uint64_t file) {
      damage_(Status(s.code(), s.message() + "; left out of the salvage (what it held, points "
                                             "and deletions, is not seen)"));
      damaged.insert(file);
    }));
    store_->SkipFiles(std::move(damaged));
  }
  SENSORDB_ASSIGN_OR_RETURN(
      catalog_, catalog::Catalog::Load(*store_, *cipher_, has_key, &unreadable, damage_));
  catalog_->set_quota(options_.series_quota);
  catalog_->set_label_limits(options_.label_limits);
  catalog_->set_clock(clock_);
  if (damage_) {
    for (uint32_t pid : unreadable) {
      damage_(Status::Corruption("project id " + std::to_string(pid) +
                                 " has catalog records but no data key: its data cannot be read"));
    }
    unreadable.clear();
  }
  SENSORDB_RETURN_IF_ERROR(CheckUnreadableProjects(unreadable));
  if (!damage_) SENSORDB_RETURN_IF_ERROR(CheckSystemKey());
  secrets_ = std::make_unique<catalog::ProjectSecrets>(*store_, *cipher_);
  files_ = std::make_unique<catalog::ProjectFiles>(*store_, *cipher_);
  system_ = std::make_unique<system::SystemStoreImpl>(*store_, *cipher_, dir_);
  head_ = std::make_unique<head::Head>(options_.chunk_max_points, clock_);
  if (keyring_) {
    key_manager_ =
        std::make_unique<KeyManager>(*store_, *cipher_, *keyring_, *catalog_, *secrets_, *files_);
  }
  head_log_ = std::make_unique<head::HeadLog>(*store_, *cipher_);
  SENSORDB_RETURN_IF_ERROR(ReplayHead());
  if (damage_) return Status::Ok();  // salvage changes nothing, ever
  // Validated: from here on the open may change things.
  opened_ = true;
  for (uint32_t pid : unreadable) SENSORDB_RETURN_IF_ERROR(DeleteProjectData(pid));
  if (keyring_ && !keyring_->Active(system::kSystemProject)) {  // a new database's system key
    SENSORDB_RETURN_IF_ERROR(
        keyring_->AddVersion(system::kSystemProject, clock_.NowUnixNs() / kNanosPerSecond));
  }
  const size_t max_points = head_->chunk_max_points();
  SENSORDB_RETURN_IF_ERROR(
      SealChunks([max_points](const head::MemSeries& s) { return s.points() >= max_points; }));
  // Best effort: a backup disk may be offline; the next backup to it purges as well.
  PurgeBackupKeyrings().IgnoreError();
  if (options_.maintenance_interval_ms > 0) {
    maintenance_ = std::thread([this] { MaintenanceLoop(); });
  }
  return Status::Ok();
}

Status DBImpl::OpenKeys() {
  const bool has_keyring = crypto::Keyring::Exists(dir_);
  // CURRENT may be the damaged part: any RocksDB file means the database exists, and a
  // keyring is then never made anew.
  bool has_data = std::filesystem::exists(dir_ + "/CURRENT");
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    has_data = has_data || e.path().filename().string().starts_with("MANIFEST-");
  }
  if (options_.insecure_plaintext_for_testing) {
    if (has_keyring) {
      return Status::InvalidArgument("database " + dir_ +
                                     " is encrypted: open it with its master key");
    }
    cipher_ = crypto::NewPlainCipher();
    return Status::Ok();
  }
  if (has_data && !has_keyring) {
    return Status::FailedPrecondition("database " + dir_ + " has no keyring (" +
                                      crypto::kKeyringFile +
                                      "): it was created unencrypted for testing, or the "
                                      "keyring was removed");
  }
  if (options_.key.key_file.empty() && options_.key.passphrase.empty()) {
    return Status::InvalidArgument(
        "no master key: set Options::key.key_file (see sensordb::CreateKeyFile) or "
        "Options::key.passphrase");
  }
  auto keyring =
      crypto::Keyring::Open(dir_, options_.key, options_.create_if_missing && !has_data);
  crypto::WipeString(options_.key.passphrase);
  SENSORDB_RETURN_IF_ERROR(keyring);
  keyring_ = std::move(*keyring);
  cipher_ = crypto::NewEnvelopeCipher(*keyring_);
  return Status::Ok();
}

Status DBImpl::CheckUnreadableProjects(const std::vector<uint32_t>& unreadable) const {
  // A project with catalog records but no data key is the leftover of a drop interrupted after
  // its keys were destroyed only when the keyring's authenticated drop record says so. Anything
  // else is a keyring that lost keys (damaged, or an older copy put back): refuse, so that the
  // right keyring can still be restored. Keys of projects the catalog lacks are kept likewise
  // (the project's creation was interrupted, or the catalog is damaged).
  for (uint32_t pid : unreadable) {
    if (keyring_ && keyring_->WasDropped(pid)) continue;
    return Status::Corruption(
        "project id " + std::to_string(pid) + " has catalog records but " + dir_ + "/" +
        crypto::kKeyringFile + " holds no data key for it and records no drop of it: the "
        "keyring is damaged or an older copy; put back the keyring this database last used "
        "(nothing was changed)");
  }
  return Status::Ok();
}

Status DBImpl::CheckSystemKey() const {
  if (!keyring_ || keyring_->Active(system::kSystemProject)) return Status::Ok();
  // A new database gets its system key after the open is validated; one whose system records
  // exist but whose key is gone must not get a new key in its place.
  auto it = store_->NewIterator(Cf::kMeta);
  it->Seek(system::kSystemRecordPrefix);
  if (it->Valid() && it->key().starts_with(system::kSystemRecordPrefix)) {
    return Status::Corruption(dir_ + "/" + crypto::kKeyringFile +
                              " holds no system data key, but the database has system records "
                              "(accounts, grants, audit log): the keyring is damaged or an "
                              "older copy; put back the keyring this database last used");
  }
  return it->status();
}

Status DBImpl::DeleteProjectData(uint32_t pid) {
  auto wb = store_->NewBatch();
  const std::string prefix = store::ProjectPrefix(pid);
  for (auto tag : {store::MetaTag::kProject, store::MetaTag::kDevice, store::MetaTag::kSeries,
                   store::MetaTag::kLabels, store::MetaTag::kSecret}) {
    const std::string k = store::MetaKey(tag, pid);
    wb.DeleteRange(Cf::kMeta, k, store::PrefixEnd(k));
  }
  wb.DeleteRange(Cf::kHead, prefix, store::PrefixEnd(prefix));
  wb.DeleteRange(Cf::kBlocks, prefix, store::PrefixEnd(prefix));
  wb.DeleteRange(Cf::kGroups, prefix, store::PrefixEnd(prefix));
  wb.DeleteRange(Cf::kFiles, prefix, store::PrefixEnd(prefix));
  return store_->Write(wb, /*sync=*/true);
}

DBImpl::~DBImpl() {
  {
    std::lock_guard lock(maintenance_mu_);
    stopping_ = true;
  }
  maintenance_cv_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  // Only an open that validated everything may truncate (a failed replay must leave the head
  // records of the projects it did not reach).
  if (opened_) TruncateHead().IgnoreError();
}

Status DBImpl::ReplayHead() {
  auto floor = head_log_->LoadFloor();
  if (!floor) {
    if (!damage_) return floor.error();
    damage_(floor.error());  // salvage goes on from 1
    floor = 1;
  }
  head::HeadLog::ReplayHandler h;
  h.known = [this](uint32_t pid) { return catalog_->FindProject(pid) != nullptr; };
  h.seal = [this](uint32_t pid, std::span<const head::SealEntry> entries) {
    auto project = catalog_->FindProject(pid);
    for (const auto& e : entries) {
      if (const auto* meta = catalog_->FindSeries(*project, e.series)) {
        head_->SetState(pid, e.series, meta->type, e.sealed);
      }
    }
    return Status::Ok();
  };
  h.record = [this](uint32_t pid, uint64_t seq, std::span<const head::HeadRecordEntry> entries) {
    auto project = catalog_->FindProject(pid);
    for (const auto& e : entries) {
      const catalog::SeriesMeta* meta = catalog_->FindSeries(*project, e.series);
      if (!meta || meta->type != e.points.type) {
        return Status::Corruption("it names series " + std::to_string(e.series) +
                                  " that the catalog lacks");
      }
    }
    for (const auto& e : entries) {
      head_->Append(pid, e.series, seq, e.points.Run());
      const uint64_t id = e.series;
      head_->EncodeTails({&id, 1});  // full chunks are sealed after the open, all at once
    }
    return Status::Ok();
  };
  h.damage = damage_;
  SENSORDB_ASSIGN_OR_RETURN(const uint64_t max_seq, head_log_->Replay(h));
  sequencer_ = std::make_unique<Sequencer>(std::max(*floor, max_seq + 1));
  return Status::Ok();
}

Status DBImpl::ValidateBatch(const WriteBatch& batch) const {
  if (batch.empty()) return Status::InvalidArgument("batch is empty");
  if (!batch.error().empty()) return Status::InvalidArgument(batch.error());
  if (batch.points() > options_.max_batch_points) {
    return Status::ResourceExhausted("batch has " + std::to_string(batch.points()) +
                                     " points; the limit is " +
                                     std::to_string(options_.max_batch_points));
  }
  if (batch.columns().size() > options_.max_batch_series) {
    return Status::ResourceExhausted("batch has " + std::to_string(batch.columns().size()) +
                                     " columns; the limit is " +
                                     std::to_string(options_.max_batch_series));
  }
  for (const auto& c : batch.columns()) {
    const size_t values = c.type == ValueType::kFloat64 ? c.f64.size()
                          : c.type == ValueType::kInt64 ? c.i64.size()
                                                        : c.b.size();
    if (c.timestamps.empty()) {
      return Status::InvalidArgument("column " + c.device + "/" + c.channel + " has no points");
    }
    if (values != c.timestamps.size()) {
      return Status::InvalidArgument("column " + c.device + "/" + c.channel + " has " +
                                     std::to_string(c.timestamps.size()) + " timestamps but " +
                                     std::to_string(values) + " values");
    }
    for (int64_t t : c.timestamps) {
      if (t < kMinTimestamp || t > kMaxTimestamp) {
        return Status::InvalidArgument(
            "timestamp " + std::to_string(t) + " of " + c.device + "/" + c.channel +
            " is outside the supported range [-2^62, 2^62) ns (years 1823 to 2116)");
      }
    }
  }
  size_t label_times = 0;
  for (const auto& set : batch.label_sets()) {
    if (set.timestamps.empty() || set.labels.empty()) {
      return Status::InvalidArgument("labels of device '" + set.device +
                                     "' name no time or no label");
    }
    label_times += set.timestamps.size();
    for (int64_t t : set.timestamps) {
      if (t < kMinTimestamp || t > kMaxTimestamp) {
        return Status::InvalidArgument("label time " + std::to_string(t) + " of device '" +
                                       set.device + "' is outside the supported range");
      }
    }
  }
  if (label_times > options_.max_batch_points) {
    return Status::ResourceExhausted("batch sets labels at " + std::to_string(label_times) +
                                     " times; the limit is " +
                                     std::to_string(options_.max_batch_points));
  }
  return Status::Ok();
}

Status DBImpl::Write(std::string_view project_name, const WriteBatch& batch) {
  return WriteInto(project_name, std::nullopt, batch);
}

Status DBImpl::Write(std::string_view project_name, uint32_t project_id,
                     const WriteBatch& batch) {
  return WriteInto(project_name, project_id, batch);
}

Status DBImpl::WriteInto(std::string_view project_name, std::optional<uint32_t> project_id,
                         const WriteBatch& batch) {
  SENSORDB_RETURN_IF_ERROR(ValidateBatch(batch));
  SENSORDB_ASSIGN_OR_RETURN(auto project, catalog_->FindProject(project_name));
  std::shared_lock write_lock(project->write_mu);
  if (project->dropped || (project_id && project->id != *project_id)) {
    return Status::NotFound("project '" + std::string(project_name) + "' does not exist" +
                            (project->dropped ? "" : " any more (it was dropped and re-created)"));
  }
  const auto columns = batch.columns();
  if (columns.empty()) return WriteLabelsOnly(*project, batch);
  auto wb = store_->NewBatch();
  std::vector<catalog::SeriesMeta*> series;
  std::shared_lock sealing(seal_gate_);  // from the first seal to the write that stores it
  SENSORDB_RETURN_IF_ERROR(catalog_->ResolveForWrite(*project, columns, &series));
  // Label changes (rare: most batches repeat the labels a device has) are planned once without
  // the records lock, to see whether there are any, and again under it.
  std::vector<catalog::Catalog::LabelChange> label_changes;
  SENSORDB_RETURN_IF_ERROR(
      catalog_->PlanLabels(*project, batch.label_sets(), columns, &label_changes));
  // Only a batch that brings new devices, channels or label changes waits for another such
  // batch (rare: the first writes of a device), so that their records are stored once.
  std::unique_lock<std::mutex> records;
  if (catalog::Catalog::AnyFresh(series) || !label_changes.empty()) {
    records = std::unique_lock(project->records_mu);
    SENSORDB_RETURN_IF_ERROR(catalog_->AddFreshRecords(*project, series, &wb));
    SENSORDB_RETURN_IF_ERROR(
        catalog_->PlanLabels(*project, batch.label_sets(), columns, &label_changes));
    SENSORDB_RETURN_IF_ERROR(catalog_->AddLabelRecords(*project, label_changes, &wb));
  }
  std::vector<uint64_t> ids(series.size());
  for (size_t i = 0; i < series.size(); ++i) ids[i] = series[i]->id;

  thread_local std::string payload;
  payload.clear();
  head::EncodeHeadRecord(columns, ids, &payload, options_.head_zstd_level);
  const uint64_t seq = sequencer_->Assign();
  Sequencer::Turn turn(*sequencer_, seq);  // Done(seq) on every path, or later writers wait forever
  Status st = head_log_->AddRecord(project->id, seq, payload, &wb);
  if (st.ok()) st = store_->Write(wb, options_.durability == Durability::kSync);
  if (records.owns_lock()) {
    if (st.ok()) {
      catalog_->MarkDurable(*project, series);
      catalog_->ApplyLabels(*project, label_changes);
    }
    records.unlock();
  }
  sealing.unlock();
  turn.Wait();
  if (st.ok()) {
    for (size_t i = 0; i < columns.size(); ++i) {
      head_->Append(project->id, ids[i], seq, head::ColumnRun(columns[i]));
    }
  }
  turn.Done();
  SENSORDB_RETURN_IF_ERROR(st);
  head_bytes_since_checkpoint_.fetch_add(payload.size(), std::memory_order_relaxed);
  // Encoding the head's vectors needs no order: concurrent writers do it in parallel.
  const std::vector<uint64_t> full = head_->EncodeTails(ids);
  if (!full.empty()) {
    // The batch is committed and visible: a failed seal is not this write's failure (the chunk
    // stays in the head, durable in its records, and the maintenance thread seals it later).
    const size_t max_points = head_->chunk_max_points();
    SealChunks([max_points](const head::MemSeries& s) { return s.points() >= max_points; }, full,
               /*one_vector=*/false)
        .IgnoreError();
  }
  return Status::Ok();
}

Status DBImpl::SealChunks(const head::Head::DueFn& due, const std::vector<uint64_t>& only,
                          bool one_vector) {
  // Only chunks whose every record is fully applied: a writer between its first and last
  // column of a series must not see the chunk cut under it (its later columns would then be
  // taken for sealed and dropped). It seals the chunk itself once it is done.
  const uint64_t applied = sequencer_->applied();
  return head_->Seal(
      [&](const head::MemSeries& m) { return m.max_seq <= applied && due(m); },
      [this, one_vector](std::vector<head::CutChunk>& chunks) {
        return PersistBlocks(chunks, one_vector);
      },
      only);
}

Status DBImpl::PersistBlocks(std::vector<head::CutChunk>& chunks, bool one_vector) {
  std::shared_lock sealing(seal_gate_);
  auto wb = store_->NewBatch();
  const block::BlockOptions bo{options_.block_zstd, options_.block_zstd_level};
  // Per project: raise the max block span first (queries must seek far enough back before
  // any such block is visible), then one seal record listing what each series has sealed.
  std::map<uint32_t, std::vector<head::CutChunk*>> by_project;
  for (auto& c : chunks) by_project[c.project].push_back(&c);
  thread_local std::mt19937_64 nonces(std::random_device{}());
  for (const auto& [pid, list] : by_project) {
    auto project = catalog_->FindProject(pid);
    if (!project) continue;  // dropped meanwhile
    int64_t span = 0;
    uint64_t max_seq = 0;
    std::vector<head::SealEntry> sealed;
    sealed.reserve(list.size());
    for (head::CutChunk* c : list) {
      span = std::max(span, c->summary.max_ts - c->summary.min_ts);
      max_seq = std::max(max_seq, c->block_seq);
      sealed.push_back({c->series, c->block_seq});
      if (one_vector) {
        // The head's own encoding cannot fail to decode; if it ever did, the block keeps the
        // head's vectors rather than sealing nothing.
        block::CoalesceVectors(c->summary.type, c->summary.count, &c->body).IgnoreError();
      }
      const store::BlockKey bk{c->project, c->series, c->summary.min_ts, c->block_seq};
      const std::string key = store::EncodeBlockKey(bk);
      SENSORDB_ASSIGN_OR_RETURN(std::string value,
                                block::EncodeBlockValue(*cipher_, bk, key, c->summary, c->body, bo));
      wb.Put(Cf::kBlocks, key, value);
    }
    if (keyring_ && !keyring_->Active(pid)) continue;  // being dropped: its keys are gone
    SENSORDB_RETURN_IF_ERROR(catalog_->RaiseMaxSpan(*project, span));
    SENSORDB_RETURN_IF_ERROR(head_log_->AddSealRecord(pid, max_seq, nonces(), sealed, &wb));
  }
  // No sync needed: the head records these blocks replace are deleted only by a later write,
  // and RocksDB recovers a prefix of its log, so a lost block means its records survive too.
  return store_->Write(wb, /*sync=*/false);
}

Status DBImpl::TruncateHead() {
  std::vector<uint32_t> projects;
  for (const auto& p : catalog_->Projects()) projects.push_back(p->id);
  // `applied` first: MinOpenSeq is no snapshot, and the log caps what it keeps at applied + 1.
  const uint64_t applied = sequencer_->applied();
  return head_log_->Truncate(projects, applied, head_->MinOpenSeq());
}

Status DBImpl::CheckpointHead() {
  const uint64_t bytes = head_bytes_since_checkpoint_.exchange(0, std::memory_order_relaxed);
  // Seal all, truncate, flush the memtables (so the write-ahead log holding the records goes).
  if (Status s = Flush(); !s.ok()) {
    head_bytes_since_checkpoint_.fetch_add(bytes, std::memory_order_relaxed);  // still due
    return s;
  }
  // The deleted records that reached the head's SST files before the truncation go now; the
  // head family is small once truncated, so this is cheap.
  SENSORDB_RETURN_IF_ERROR(store_->CompactFamily(Cf::kHead));
  head_checkpoints_.fetch_add(1, std::memory_order_relaxed);
  // Short blocks are not merged here: the blocks a merge replaces stay on disk until RocksDB
  // compacts them, which made a running server's data directory larger after a checkpoint
  // (measured: 1.39 -> 1.52 bytes/point 15 s after ingest), not smaller. DB::Compact merges.
  return Status::Ok();
}

void DBImpl::MaintenanceLoop() {
  // Rounds come at maintenance_interval_ms of real time; what is old and what is due is read
  // from Options::clock, so a simulated clock ages chunks and runs retention without sleeping.
  const auto interval = std::chrono::milliseconds(options_.maintenance_interval_ms);
  const int64_t max_age_ns = int64_t{options_.chunk_max_age_s} * kNanosPerSecond;
  const int64_t idle_ns = int64_t{options_.head_idle_checkpoint_s} * kNanosPerSecond;
  int64_t next_retention_ns = clock_.NowUnixNs();
  // Idleness: the sequence of the last applied write and when it last moved. What was written
  // since the last checkpoint is head_bytes_since_checkpoint_; a head replayed at open counts no
  // bytes (the next writes' checkpoint or its chunks' age seals it).
  uint64_t last_applied = sequencer_->applied();
  int64_t last_write_ns = next_retention_ns;
  // After a failed checkpoint (a full disk, say) the next waits: sealing every chunk again each
  // round would only burn CPU.
  constexpr int64_t kCheckpointRetryNs = 30 * kNanosPerSecond;
  int64_t next_checkpoint_ns = 0;
  const int64_t pass_ns = int64_t{options_.short_block_interval_s} * kNanosPerSecond;
  int64_t next_pass_ns = next_retention_ns + pass_ns;
  // A pass reads every block: after an idle checkpoint at most once per ten minutes (a fleet
  // that writes in bursts checkpoints after each), besides the interval's.
  const int64_t idle_pass_gap_ns = std::min(pass_ns, int64_t{600} * kNanosPerSecond);
  int64_t last_pass_ns = std::numeric_limits<int64_t>::min();
  std::unique_lock lock(maintenance_mu_);
  while (!maintenance_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
    lock.unlock();
    const int64_t now_ns = clock_.NowUnixNs();
    const uint64_t applied = sequencer_->applied();
    if (applied != last_applied) {
      last_applied = applied;
      last_write_ns = now_ns;
    }
    const uint64_t head_bytes = head_bytes_since_checkpoint_.load(std::memory_order_relaxed);
    const bool idle = idle_ns > 0 && head_bytes > 0 && now_ns - last_write_ns >= idle_ns &&
                      head_bytes >= options_.head_idle_checkpoint_min_bytes;
    const bool large =
        options_.head_checkpoint_bytes > 0 && head_bytes >= options_.head_checkpoint_bytes;
    // Failures here are retried on the next round; writes report their own errors.
    bool idle_checkpoint = false;
    if ((idle || large) && now_ns >= next_checkpoint_ns) {
      if (CheckpointHead().ok()) {
        idle_checkpoint = idle;
      } else {
        next_checkpoint_ns = now_ns + kCheckpointRetryNs;
      }
    }
    // Ingest paused and its chunks are sealed: merge and group what they left short, so the
    // directory converges to its compact size without an operator's `compact`.
    const bool idle_pass =
        idle_checkpoint && (last_pass_ns == std::numeric_limits<int64_t>::min() ||
                            now_ns - last_pass_ns >= idle_pass_gap_ns);
    if (pass_ns > 0 && (idle_pass || now_ns >= next_pass_ns)) {
      if (!RewriteShortBlocksAndCompact().ok()) {
        short_block_pass_errors_.fetch_add(1, std::memory_order_relaxed);
      }
      last_pass_ns = now_ns;
      next_pass_ns = now_ns + pass_ns;
    }
    SealChunks([&](const head::MemSeries& s) { return now_ns - s.opened_unix_ns >= max_age_ns; })
        .IgnoreError();
    if (const size_t bound = options_.head_memory_bytes; bound > 0) {
      if (const size_t used = head_->ChunkBytes(); used > bound) {
        const auto largest = head_->LargestChunks(used - bound / 4 * 3);
        // A chunk a writer is still applying is left for the next round (SealChunks), so the
        // count is of rounds that did free memory.
        if (!largest.empty() &&
            SealChunks([](const head::MemSeries&) { return true; }, largest).ok() &&
            head_->ChunkBytes() < used) {
          head_memory_seals_.fetch_add(1, std::memory_order_relaxed);
        }
      }
    }
    TruncateHead().IgnoreError();
    if (options_.retention_interval_s > 0 && now_ns >= next_retention_ns) {
      EnforceRetention(now_ns).IgnoreError();
      next_retention_ns = now_ns + int64_t{options_.retention_interval_s} * kNanosPerSecond;
    }
    lock.lock();
  }
}

// --- Catalog -------------------------------------------------------------------------------

Result<ProjectInfo> DBImpl::CreateProject(std::string_view name, const ProjectOptions& o) {
  std::shared_lock no_backup_copying(key_creation_mu_);
  return catalog_->CreateProject(name, o, [this](uint32_t pid) -> Status {
    if (!keyring_) return Status::Ok();
    auto v = keyring_->AddVersion(pid, clock_.NowUnixNs() / kNanosPerSecond);
    return v ? Status::Ok() : v.error();
  });
}

Result<std::vector<ProjectInfo>> DBImpl::ListProjects() { return catalog_->ListProjects(); }

Result<ProjectInfo> DBImpl::GetProject(std::string_view name) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(name));
  return p->Info();
}

Status DBImpl::DropProject(std::string_view name) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(name));
  std::unique_lock lock(p->write_mu);
  if (p->dropped) return Status::NotFound("project '" + std::string(name) + "' does not exist");
  // Crypto-shredding first: once the keys are gone the data is unreadable, wherever copies of
  // it are (and if destroying them fails, nothing has changed). Deleting the data is then
  // housekeeping, finished at the next open if interrupted. Without its key no seal can write
  // a block of the project any more; its head chunks go next.
  if (keyring_) {
    // Listed first, so that the purge of backup keyrings (now, or retried at the next open)
    // knows the project was dropped here, not merely absent.
    SENSORDB_RETURN_IF_ERROR(backup::RecordDroppedProject(dir_, p->id));
    SENSORDB_RETURN_IF_ERROR(keyring_->DestroyProject(p->id));
  }
  head_->DropProject(p->id);
  const Status backups = PurgeBackupKeyrings();
  p->dropped = true;
  catalog_->ForgetProject(*p);
  summaries_.Clear();
  Status s = DeleteProjectData(p->id);
  if (!s.ok()) {
    return Status(s.code(), "project '" + std::string(name) +
                                "' is dropped and unreadable, but deleting its data failed (the "
                                "next open retries): " + s.message());
  }
  if (!backups.ok()) {
    return Status(backups.code(), "project '" + std::string(name) + "' is dropped, but " +
                                      backups.message());
  }
  return Status::Ok();
}

Status DBImpl::SetRetention(std::string_view project, uint32_t retention_days) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock sealing(seal_gate_);
  return catalog_->SetRetention(*p, retention_days);
}

Status DBImpl::RegisterDevice(std::string_view project, const DeviceInfo& device) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock sealing(seal_gate_);
  return catalog_->RegisterDevice(*p, device);
}

Result<std::vector<DeviceInfo>> DBImpl::ListDevices(std::string_view project) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  return catalog_->ListDevices(*p);
}

Result<ChannelInfo> DBImpl::RegisterChannel(std::string_view project, std::string_view device,
                                            std::string_view channel, ValueType type,
                                            std::string_view unit) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock sealing(seal_gate_);
  return catalog_->RegisterChannel(*p, device, channel, type, unit);
}

Result<std::vector<ChannelInfo>> DBImpl::ListChannels(std::string_view project,
                                                      std::string_view device) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  return catalog_->ListChannels(*p, device);
}

// --- Project secrets -----------------------------------------------------------------------

Status DBImpl::PutProjectSecret(std::string_view project, std::string_view name,
                                std::string_view value) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock lock(p->write_mu);  // a drop waits for us, and we see it
  if (p->dropped) return Status::NotFound("project '" + std::string(project) + "' does not exist");
  std::shared_lock sealing(seal_gate_);
  return secrets_->Put(p->id, name, value);
}

Result<std::optional<std::string>> DBImpl::GetProjectSecret(std::string_view project,
                                                            std::string_view name) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock lock(p->write_mu);
  if (p->dropped) {
    return Err(Status::NotFound("project '" + std::string(project) + "' does not exist"));
  }
  return secrets_->Get(p->id, name);
}

Status DBImpl::DeleteProjectSecret(std::string_view project, std::string_view name) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock lock(p->write_mu);
  if (p->dropped) return Status::NotFound("project '" + std::string(project) + "' does not exist");
  return secrets_->Delete(p->id, name);
}

// --- Queries -------------------------------------------------------------------------------

namespace {

Status CheckSelection(const Selector& sel, size_t matched) {
  if (matched > 0 || (sel.device.empty() && sel.channel.empty())) return Status::Ok();
  if (!sel.device.empty() && !sel.channel.empty()) {
    return Status::NotFound("channel " + sel.device + "/" + sel.channel + " does not exist");
  }
  if (!sel.device.empty()) return Status::NotFound("device '" + sel.device + "' does not exist");
  return Status::NotFound("no device has a channel '" + sel.channel + "'");
}

Status CheckRange(const TimeRange& r) {
  if (r.start_ns >= r.end_ns) {
    return Status::InvalidArgument("time range is empty: start " + std::to_string(r.start_ns) +
                                   " is not before end " + std::to_string(r.end_ns));
  }
  return Status::Ok();
}

}  // namespace

Status DBImpl::QueryRaw(std::string_view project, const Selector& selector,
                        const TimeRange& range, const RawCallback& callback) {
  SENSORDB_RETURN_IF_ERROR(CheckRange(range));
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  const auto series = catalog_->Select(*p, selector);
  SENSORDB_RETURN_IF_ERROR(CheckSelection(selector, series.size()));
  if (!selector.labels.empty()) return RawByLabels(*p, series, selector, range, callback);
  query::Querier q = NewQuerier(*p);
  if (damage_) q.SkipDamagedBlocks(damage_);
  return q.Raw(series, range, callback);
}

Result<std::vector<LatestPoint>> DBImpl::Latest(std::string_view project,
                                                std::string_view device) {
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  const Selector sel{std::string(device), ""};
  if (device.empty()) return Err(Status::InvalidArgument("latest needs a device name"));
  const auto series = catalog_->Select(*p, sel);
  SENSORDB_RETURN_IF_ERROR(CheckSelection(sel, series.size()));
  std::vector<LatestPoint> out;
  query::Querier q = NewQuerier(*p);
  SENSORDB_RETURN_IF_ERROR(q.Latest(series, &out));
  return out;
}

Status DBImpl::Aggregate(std::string_view project, const AggregateQuery& query,
                         const AggregateCallback& callback) {
  SENSORDB_RETURN_IF_ERROR(CheckRange(query.range));
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  const auto series = catalog_->Select(*p, query.selector);
  SENSORDB_RETURN_IF_ERROR(CheckSelection(query.selector, series.size()));
  if (query.bucket_ns < 0) return Status::InvalidArgument("bucket width must not be negative");
  if (!query.selector.labels.empty() || !query.group_by.empty()) {
    return AggregateByLabels(*p, series, query, callback);
  }
  const size_t threads = std::min<size_t>(options_.query_threads, series.size() / kSeriesPerThread);
  if (threads < 2) {
    query::Querier q = NewQuerier(*p);
    return q.Aggregate(series, query, options_.max_aggregate_buckets, callback);
  }
  if (query.per_series) return AggregatePerSeries(*p, series, query, threads, callback);
  // Merged aggregates over many series: each thread folds a share into its own buckets.
  std::vector<query::Aggregator> parts(
      threads, query::Aggregator(query.range, query.bucket_ns, options_.max_aggregate_buckets));
  std::vector<Status> results(threads);
  std::vector<std::thread> workers;
  const size_t share = (series.size() + threads - 1) / threads;
  for (size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const size_t begin = t * share, end = std::min(series.size(), begin + share);
      query::Querier q = NewQuerier(*p);
      results[t] = q.AggregateInto(std::span(series).subspan(begin, end - begin), query, &parts[t]);
    });
  }
  for (auto& w : workers) w.join();
  for (const Status& s : results) SENSORDB_RETURN_IF_ERROR(s);
  for (size_t t = 1; t < threads; ++t) parts[0].MergeFrom(parts[t]);
  if (parts[0].overflowed()) return parts[0].OverflowError();
  parts[0].Emit(nullptr, callback);
  return Status::Ok();
}

query::Querier DBImpl::NewQuerier(const catalog::ProjectMeta& p) {
  return query::Querier(*store_, *cipher_, *head_, summaries_, p.id, p.max_span_ns, &copy_gate_);
}

// Lanes: the series are cut into `threads` consecutive shares, as for a merged aggregate, each
// folded on a thread of its own into a queue of at most kRowsPerLane rows; the calling thread
// takes the queues in share order and emits the rows. A full queue hands its rows over and waits
// until they are taken, so memory stays bounded; one wakeup per full queue or finished lane.
Status DBImpl::AggregatePerSeries(const catalog::ProjectMeta& p,
                                  std::span<const catalog::SeriesMeta* const> series,
                                  const AggregateQuery& query, size_t threads,
                                  const AggregateCallback& callback) {
  using Rows = std::vector<std::pair<AggregateRow, uint32_t>>;  // row, index into `series`
  struct Lane {
    size_t begin = 0, end = 0;
    std::mutex mu;
    std::condition_variable cv;
    Rows rows;
    bool done = false;
    // The caller stopped, failed or threw: fold no further. Set under `mu`; read without it
    // after every series so that a stop ends the other lanes' work at once.
    std::atomic<bool> cancelled{false};
    Status status;
  };
  std::vector<Lane> lanes(threads);
  const size_t share = (series.size() + threads - 1) / threads;
  auto work = [&](Lane& lane) {
    Rows rows;
    Status s;
    try {
      query::Querier q = NewQuerier(p);
      query::Aggregator agg(query.range, query.bucket_ns, options_.max_aggregate_buckets);
      // Hands `rows` over once the caller has taken the last; false when the caller cancelled.
      auto hand_over = [&] {
        std::unique_lock lock(lane.mu);
        lane.cv.wait(lock, [&] { return lane.cancelled || lane.rows.empty(); });
        lane.rows.swap(rows);
        lane.cv.notify_all();
        return !lane.cancelled;
      };
      auto index = uint32_t(lane.begin);
      auto after_series = [&](const catalog::SeriesMeta&) {
        agg.Emit(nullptr, [&](const AggregateRow& row) {
          rows.emplace_back(row, index);
          return true;
        });
        ++index;
        if (lane.cancelled.load(std::memory_order_relaxed)) return false;
        return rows.size() < kRowsPerLane || hand_over();
      };
      s = q.AggregateInto(series.subspan(lane.begin, lane.end - lane.begin), query, &agg,
                          after_series);
    } catch (const std::exception& e) {
      s = Status::Internal(std::string("per-series aggregate: ") + e.what());
    }
    std::unique_lock lock(lane.mu);
    lane.cv.wait(lock, [&] { return lane.cancelled || lane.rows.empty(); });
    lane.rows.swap(rows);
    lane.status = std::move(s);
    lane.done = true;
    lane.cv.notify_all();
  };
  std::vector<std::thread> workers;
  // Whatever way this function ends (a stop, an error, an exception from the callback), the
  // lanes are cancelled and joined before `lanes` goes.
  struct Joiner {
    std::vector<Lane>& lanes;
    std::vector<std::thread>& workers;
    ~Joiner() {
      for (Lane& lane : lanes) {
        std::lock_guard lock(lane.mu);
        lane.cancelled = true;
        lane.cv.notify_all();
      }
      for (auto& w : workers) w.join();
    }
  } joiner{lanes, workers};
  for (size_t t = 0; t < threads; ++t) {
    lanes[t].begin = std::min(series.size(), t * share);
    lanes[t].end = std::min(series.size(), lanes[t].begin + share);
    workers.emplace_back([&, t] { work(lanes[t]); });
  }
  bool go_on = true;
  Status status;
  Rows taken;
  for (size_t t = 0; t < threads && go_on && status.ok(); ++t) {
    for (bool done = false; !done && go_on;) {
      {
        std::unique_lock lock(lanes[t].mu);
        lanes[t].cv.wait(lock, [&] { return lanes[t].done || !lanes[t].rows.empty(); });
        taken.clear();
        taken.swap(lanes[t].rows);
        if ((done = lanes[t].done)) status = lanes[t].status;
        lanes[t].cv.notify_all();
      }
      for (const auto& [r, index] : taken) {
        const catalog::SeriesMeta& s = *series[index];
        const SeriesRef ref{s.id, s.device, s.channel, s.type};
        AggregateRow row = r;
        row.series = &ref;
        if (!(go_on = callback(row))) break;
      }
    }
  }
  return go_on ? status : Status::Ok();
}

// --- Maintenance ---------------------------------------------------------------------------

Status DBImpl::Flush() {
  SENSORDB_RETURN_IF_ERROR(SealChunks([](const head::MemSeries&) { return true; }));
  SENSORDB_RETURN_IF_ERROR(TruncateHead());
  return store_->Flush();
}

Status DBImpl::Compact() {
  SENSORDB_RETURN_IF_ERROR(Flush());
  RewrittenRanges ranges;
  SENSORDB_RETURN_IF_ERROR(RewriteShortBlocks(&ranges));
  return store_->CompactAll();
}

Status DBImpl::EnforceRetention(int64_t now_ns) {
  if (now_ns == 0) now_ns = clock_.NowUnixNs();
  retention::Cutoffs::Map cutoffs;
  for (const auto& p : catalog_->Projects()) {
    const uint32_t days = p->retention_days.load();
    if (days > 0) cutoffs[p->id] = now_ns - int64_t(days) * 86400 * kNanosPerSecond;
  }
  cutoffs_.Set(cutoffs);
  for (const auto& [pid, cutoff] : cutoffs) {
    const std::string prefix = store::ProjectPrefix(pid);
    SENSORDB_RETURN_IF_ERROR(store_->CompactRange(Cf::kBlocks, prefix, store::PrefixEnd(prefix)));
  }
  // Groups only now, when the references to them that expire are gone from every file: a group
  // dropped first would leave its references unreadable (Corruption, "group ... is missing").
  cutoffs_.SetGroups(cutoffs);
  for (const auto& [pid, cutoff] : cutoffs) {
    const std::string prefix = store::ProjectPrefix(pid);
    SENSORDB_RETURN_IF_ERROR(store_->CompactRange(Cf::kGroups, prefix, store::PrefixEnd(prefix)));
  }
  return Status::Ok();
}

Result<DBStats> DBImpl::Stats() {
  DBStats st;
  const auto projects = catalog_->Projects();
  st.projects = projects.size();
  st.series = catalog_->SeriesCount();
  const auto refusals = catalog_->quota_refusals();
  st.quota_refusals_project = refusals.project;
  st.quota_refusals_device = refusals.device;
  st.quota_refusals_rate = refusals.rate;
  st.head_points = head_->Points();
  st.head_checkpoints = head_checkpoints_.load(std::memory_order_relaxed);
  st.head_chunk_bytes = head_->ChunkBytes();
  st.head_memory_seals = head_memory_seals_.load(std::memory_order_relaxed);
  st.blocks_merged = blocks_merged_.load(std::memory_order_relaxed);
  st.blocks_grouped = blocks_grouped_.load(std::memory_order_relaxed);
  st.short_block_pass_errors = short_block_pass_errors_.load(std::memory_order_relaxed);
  st.label_refusals = catalog_->label_refusals();
  auto it = store_->NewIterator(Cf::kBlocks);
  block::OpenedBlock opened;
  query::BlockReader reader(*store_, *cipher_);
  for (it->Seek(""); it->Valid(); it->Next()) {
    store::BlockKey key;
    if (!store::DecodeBlockKey(it->key(), &key) || !query::BlockReader::WellFormed(it->value())) {
      return Err(Status::Corruption("malformed block in the blocks column family"));
    }
    if (!catalog_->FindProject(key.project)) continue;  // dropped, awaiting compaction
    block::Summary summary;
    if (!summaries_.Get(it->key(), &summary)) {
      SENSORDB_RETURN_IF_ERROR(reader.Open(it->key(), it->value(), &opened));
      summary = opened.summary;
      summaries_.Put(it->key(), summary);
    }
    ++st.blocks;
    st.points += summary.count;
  }
  SENSORDB_RETURN_IF_ERROR(it->status());
  st.points += st.head_points;
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir_, ec)) {
    if (e.is_regular_file(ec)) st.disk_bytes += e.file_size(ec);
  }
  return st;
}

// --- Keys ----------------------------------------------------------------------------------

namespace {
Status NeedKeys(bool encrypted) {
  return encrypted ? Status::Ok()
                   : Status::FailedPrecondition("this database is not encrypted (test mode)");
}
}  // namespace

Status DBImpl::RotateMasterKey(const KeySource& new_key) {
  SENSORDB_RETURN_IF_ERROR(NeedKeys(keyring_ != nullptr));
  SENSORDB_ASSIGN_OR_RETURN(auto destinations, backup::ReadDestinations(dir_));
  std::vector<std::string> copies;
  for (const auto& d : destinations) copies.push_back(backup::LocalDirDestination(d).KeyringDir());
  return keyring_->Rewrap(new_key, copies);
}

Result<uint32_t> DBImpl::RotateProjectKey(std::string_view project) {
  SENSORDB_RETURN_IF_ERROR(NeedKeys(keyring_ != nullptr));
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::shared_lock lock(p->write_mu);
  if (p->dropped) return Err(Status::NotFound("project '" + std::string(project) + "' does not exist"));
  std::shared_lock no_backup_copying(key_creation_mu_);
  return keyring_->AddVersion(p->id, clock_.NowUnixNs() / kNanosPerSecond);
}

Status DBImpl::ReencryptProject(std::string_view project, const ProgressCallback& progress) {
  SENSORDB_RETURN_IF_ERROR(NeedKeys(keyring_ != nullptr));
  SENSORDB_ASSIGN_OR_RETURN(auto p, catalog_->FindProject(project));
  std::lock_guard one_at_a_time(reencrypt_mu_);
  std::shared_lock lock(p->write_mu);  // a drop waits for us
  if (p->dropped) return Status::NotFound("project '" + std::string(project) + "' does not exist");
  // Writes racing with us may seal a few values under an older version; each round re-seals
  // what is left, and the older versions go only when a check with no seal in flight is clean.
  for (int round = 0; round < 5; ++round) {
    SENSORDB_RETURN_IF_ERROR(key_manager_->Reencrypt(*p, [this] { return Flush(); }, progress));
    std::unique_lock no_seals(seal_gate_);
    SENSORDB_ASSIGN_OR_RETURN(bool destroyed, key_manager_->DestroyOlderIfUnused(*p));
    if (destroyed) return Status::Ok();
  }
  return Status::FailedPrecondition("project '" + std::string(project) +
                                    "' still had values under older keys after 5 rounds; retry");
}

Result<KeyStatusReport> DBImpl::KeyStatus() {
  SENSORDB_RETURN_IF_ERROR(NeedKeys(keyring_ != nullptr));
  return key_manager_->Report();
}

}  // namespace sensordb
