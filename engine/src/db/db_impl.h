// DBImpl coordinates the parts: catalog, head, store, querier, retention and the maintenance
// thread. It owns them and wires the write path (engine/docs/write_path.md); the parts do the
// work. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "catalog/catalog.h"
#include "catalog/project_files.h"
#include "catalog/project_secrets.h"
#include "crypto/cipher.h"
#include "crypto/keyring.h"
#include "db/key_manager.h"
#include "db/seal_gate.h"
#include "db/sequencer.h"
#include "head/head.h"
#include "head/head_log.h"
#include "query/summary_cache.h"
#include "retention/retention.h"
#include "sensordb/clock.h"
#include "sensordb/db.h"
#include "store/store.h"
#include "system/system_store_impl.h"

namespace sensordb {
namespace query {
class LabelPlan;
class Querier;
}  // namespace query

class DBImpl final : public DB {
 public:
  DBImpl(const Options& options, std::string dir);
  ~DBImpl() override;
  // Tests only, before Init: faults to inject under RocksDB (store/fault_injection.h).
  void InjectFaultsForTesting(std::shared_ptr<store::FaultInjection> faults) {
    faults_ = std::move(faults);
  }
  Status Init();
  // Salvage (db_salvage.cc), before Init: opens read-only and changes nothing; damaged records
  // and blocks are reported to `sink` and skipped; RocksDB's info log goes to `log_dir`.
  void EnterSalvageMode(std::function<void(const Status&)> sink, std::string log_dir) {
    damage_ = std::move(sink);
    salvage_log_dir_ = std::move(log_dir);
  }

  Result<ProjectInfo> CreateProject(std::string_view name, const ProjectOptions& o) override;
  Result<std::vector<ProjectInfo>> ListProjects() override;
  Result<ProjectInfo> GetProject(std::string_view name) override;
  Status DropProject(std::string_view name) override;
  Status SetRetention(std::string_view project, uint32_t retention_days) override;
  Status RegisterDevice(std::string_view project, const DeviceInfo& device) override;
  Result<std::vector<DeviceInfo>> ListDevices(std::string_view project) override;
  Status SetDeviceLabels(std::string_view project, std::string_view device, int64_t from_ns,
                         std::span<const std::pair<std::string, std::string>> labels) override;
  Result<std::vector<DeviceLabels>> ListDeviceLabels(std::string_view project,
                                                     std::string_view device) override;
  Result<std::vector<std::pair<std::string, std::vector<std::string>>>> ListLabelValues(
      std::string_view project) override;
  Result<ChannelInfo> RegisterChannel(std::string_view project, std::string_view device,
                                      std::string_view channel, ValueType type,
                                      std::string_view unit) override;
  Result<std::vector<ChannelInfo>> ListChannels(std::string_view project,
                                                std::string_view device) override;

  Status PutProjectSecret(std::string_view project, std::string_view name,
                          std::string_view value) override;
  Result<std::optional<std::string>> GetProjectSecret(std::string_view project,
                                                      std::string_view name) override;
  Status DeleteProjectSecret(std::string_view project, std::string_view name) override;

  Result<std::unique_ptr<ProjectFileWriter>> CreateProjectFile(std::string_view project) override;
  Result<std::vector<ProjectFileInfo>> ListProjectFiles(std::string_view project) override;
  Result<ProjectFileInfo> GetProjectFile(std::string_view project, uint64_t id) override;
  Status ReadProjectFile(std::string_view project, uint64_t id, uint64_t offset, uint64_t length,
                         std::string* out) override;
  Status DeleteProjectFile(std::string_view project, uint64_t id) override;

  Status Write(std::string_view project, const WriteBatch& batch) override;
  Status Write(std::string_view project, uint32_t project_id, const WriteBatch& batch) override;

  Status QueryRaw(std::string_view project, const Selector& selector, const TimeRange& range,
                  const RawCallback& callback) override;
  Result<std::vector<LatestPoint>> Latest(std::string_view project,
                                          std::string_view device) override;
  Status Aggregate(std::string_view project, const AggregateQuery& query,
                   const AggregateCallback& callback) override;

  Status Flush() override;
  Status Compact() override;
  Status EnforceRetention(int64_t now_ns) override;
  Result<DBStats> Stats() override;

  Status RotateMasterKey(const KeySource& new_key) override;
  Result<uint32_t> RotateProjectKey(std::string_view project) override;
  Status ReencryptProject(std::string_view project, const ProgressCallback& progress) override;
  Result<KeyStatusReport> KeyStatus() override;
  SystemStore& System() override { return *system_; }

  // Backups (db_backup.cc).
  Result<BackupInfo> CreateBackup(std::string_view backup_dir,
                                  const BackupOptions& options) override;

 private:
  class FileWriter;  // db_files.cc
  // Opens the keyring (or notes plaintext mode) and picks the cipher.
  Status OpenKeys();
  // Accepts projects without a data key only if the keyring records their drop (their data is
  // then deleted once the open is validated); otherwise Corruption. Changes nothing.
  Status CheckUnreadableProjects(const std::vector<uint32_t>& unreadable) const;
  // Corruption when the system records exist but their key is gone. Changes nothing.
  Status CheckSystemKey() const;
  Status DeleteProjectData(uint32_t project);
  // Destroys dropped projects' keys in every backup keyring this database wrote (db_backup.cc).
  Status PurgeBackupKeyrings();
  Status ValidateBatch(const WriteBatch& batch) const;
  // Both Writes: into `project_id` only, when given.
  Status WriteInto(std::string_view project, std::optional<uint32_t> project_id,
                   const WriteBatch& batch);
  // Rebuilds the head from the head log and starts the sequencer past every record and the
  // floor. Fails on the first damaged record (salvage: reports it and goes on).
  Status ReplayHead();
  // Seals the chunks `due` selects (all of `only`, if given) and persists them as blocks, each
  // re-encoded as one vector when `one_vector` (block::CoalesceVectors). Sealing holds the head
  // shard's lock, which the writers applying the next batches wait for: a writer sealing its
  // own full chunks keeps the head's vectors (re-encoding a fleet's chunks that fill together
  // stalled acknowledgements for most of a second); Flush, replay and the maintenance thread
  // re-encode.
  Status SealChunks(const head::Head::DueFn& due, const std::vector<uint64_t>& only = {},
                    bool one_vector = true);
  Status PersistBlocks(std::vector<head::CutChunk>& chunks, bool one_vector);
  // The key range of `blocks` that short-block passes rewrote, per project.
  using RewrittenRanges = std::map<uint32_t, std::pair<std::string, std::string>>;
  static void Widen(RewrittenRanges* ranges, uint32_t project, std::string_view first,
                    std::string_view last);
  // Merges each project's series' consecutive short blocks (Options::merge_block_bytes;
  // db_merge.cc), then puts the short blocks left into block groups (Options::group_block_bytes;
  // db_group.cc), noting what it rewrote in `ranges`. Does nothing while a re-encryption runs.
  // Corruption naming a block that does not open (nothing changed for its run or group).
  Status RewriteShortBlocks(RewrittenRanges* ranges);
  // The same, then compacts the rewritten ranges so that the replaced values leave the disk
  // (the maintenance thread: after an idle checkpoint, and every short_block_interval_s).
  Status RewriteShortBlocksAndCompact();
  Status MergeShortBlocksOf(catalog::ProjectMeta& p, RewrittenRanges* ranges);
  struct ShortBlock;
  Result<bool> MergeRun(catalog::ProjectMeta& p, std::vector<ShortBlock>& run,
                        RewrittenRanges* ranges);
  Status GroupShortBlocksOf(catalog::ProjectMeta& p, RewrittenRanges* ranges);
  struct GroupDraft;
  Status WriteGroup(catalog::ProjectMeta& p, GroupDraft& draft, RewrittenRanges* ranges);
  // Blocks of `p` ending before this are past its retention (min() when it keeps everything).
  int64_t RetentionCutoff(const catalog::ProjectMeta& p) const;
  // A Querier of project `p` holding the copy gate (every query of the database goes through one).
  query::Querier NewQuerier(const catalog::ProjectMeta& p);
  // Per-series aggregate of many series on `threads` threads, rows emitted in series order.
  Status AggregatePerSeries(const catalog::ProjectMeta& p,
                            std::span<const catalog::SeriesMeta* const> series,
                            const AggregateQuery& query, size_t threads,
                            const AggregateCallback& callback);
  // Label queries (db_labels.cc): selector.labels or group_by given. One thread.
  Status RawByLabels(const catalog::ProjectMeta& p,
                     std::span<const catalog::SeriesMeta* const> series, const Selector& selector,
                     const TimeRange& range, const RawCallback& callback);
  Status AggregateByLabels(const catalog::ProjectMeta& p,
                           std::span<const catalog::SeriesMeta* const> series,
                           const AggregateQuery& query, const AggregateCallback& callback);
  Status AggregateByLabelsInLanes(const catalog::ProjectMeta& p,
                                  std::span<const catalog::SeriesMeta* const> series,
                                  const AggregateQuery& query, query::LabelPlan& plan,
                                  std::unordered_map<uint64_t, std::vector<LabelHistory>>& labels,
                                  size_t threads, const AggregateCallback& callback);
  // A batch of label sets only (SetDeviceLabels, or a Write without points).
  Status WriteLabelsOnly(catalog::ProjectMeta& project, const WriteBatch& batch);
  // Deletes head records every open chunk has moved past.
  Status TruncateHead();
  // Seals every chunk, deletes the head records and compacts them out of the head's files
  // (Options::head_checkpoint_bytes, head_idle_checkpoint_s).
  Status CheckpointHead();
  void MaintenanceLoop();

  Options options_;  // the passphrase is wiped once the keyring is open
  const Clock& clock_;  // *options_.clock, or Clock::System()
  const std::string dir_;
  std::unique_ptr<crypto::Keyring> keyring_;  // null in plaintext (test) mode
  std::unique_ptr<crypto::Cipher> cipher_;
  retention::Cutoffs cutoffs_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<catalog::ProjectSecrets> secrets_;
  std::unique_ptr<catalog::ProjectFiles> files_;
  std::unique_ptr<head::Head> head_;
  std::unique_ptr<head::HeadLog> head_log_;
  std::unique_ptr<Sequencer> sequencer_;
  std::unique_ptr<KeyManager> key_manager_;
  std::unique_ptr<system::SystemStoreImpl> system_;
  query::SummaryCache summaries_;
  std::mutex reencrypt_mu_;  // one re-encryption at a time
  SealGate seal_gate_;       // see seal_gate.h
  std::mutex backup_mu_;     // one backup at a time
  // New data keys (project creation, key rotation) hold it shared; a backup holds it exclusively
  // while it copies, so the destination keyring merged before the copy has every key the copy
  // can need, even if the process dies before the merge after it.
  std::shared_mutex key_creation_mu_;

  std::shared_ptr<store::FaultInjection> faults_;  // tests only
  std::function<void(const Status&)> damage_;      // salvage only (read-only open)
  std::string salvage_log_dir_;
  bool opened_ = false;      // set once Init validated everything; only then may we truncate
  // Bytes of head records written since the last checkpoint began (a trigger, not an account).
  std::atomic<uint64_t> head_bytes_since_checkpoint_{0};
  std::atomic<uint64_t> head_checkpoints_{0};
  std::atomic<uint64_t> head_memory_seals_{0};
  std::atomic<uint64_t> blocks_merged_{0};
  std::atomic<uint64_t> blocks_grouped_{0};
  std::atomic<uint64_t> short_block_pass_errors_{0};
  // Held shared by queries from their head copies to their block iterator, exclusively by a
  // merge's write (query::Querier, db_merge.cc).
  std::shared_mutex copy_gate_;
  std::mutex maintenance_mu_;
  std::condition_variable maintenance_cv_;
  bool stopping_ = false;  // GUARDED_BY(maintenance_mu_)
  std::thread maintenance_;
};

}  // namespace sensordb
