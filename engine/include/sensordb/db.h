// DB: the embedded sensordb engine. Open one per data directory (RocksDB holds a lock on it).
// Thread-safe: any number of threads may write and query concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sensordb/backup.h"
#include "sensordb/keys.h"
#include "sensordb/options.h"
#include "sensordb/project_file.h"
#include "sensordb/query.h"
#include "sensordb/status.h"
#include "sensordb/system_store.h"
#include "sensordb/types.h"
#include "sensordb/write_batch.h"

namespace sensordb {

struct DBStats {
  uint64_t projects = 0;
  uint64_t series = 0;
  uint64_t points = 0;        // in blocks and head (duplicates awaiting merge count twice)
  uint64_t head_points = 0;   // not sealed yet
  uint64_t blocks = 0;
  uint64_t disk_bytes = 0;    // all files of the data directory
  // Batches refused by Options::series_quota since the open, by the bound they would pass.
  uint64_t quota_refusals_project = 0;
  uint64_t quota_refusals_device = 0;
  uint64_t quota_refusals_rate = 0;
  // Head checkpoints since the open (Options::head_checkpoint_bytes, head_idle_checkpoint_s).
  uint64_t head_checkpoints = 0;
  // Heap bytes of the head's open chunks, and how often they passed Options::head_memory_bytes
  // and the largest were sealed.
  uint64_t head_chunk_bytes = 0;
  uint64_t head_memory_seals = 0;
  // Short blocks merged into larger ones since the open (Options::merge_block_bytes).
  uint64_t blocks_merged = 0;
  // Short blocks put into block groups since the open (Options::group_block_bytes).
  uint64_t blocks_grouped = 0;
  // Background merge-and-group passes (Options::short_block_interval_s) that failed since the
  // open (a block that does not open: DB::Compact and queries name it).
  uint64_t short_block_pass_errors = 0;
  // Writes and label changes refused by Options::label_limits since the open.
  uint64_t label_refusals = 0;
  double bytes_per_point() const { return points ? double(disk_bytes) / double(points) : 0; }
};

// What DB::Salvage found and did (docs/SALVAGE.md).
struct SalvageOptions {
  std::string export_dir;  // a new directory to write every readable point to; empty: report only
  std::string log_dir;     // RocksDB's info log of the read-only open; empty: the system temp dir
};
struct SalvageReport {
  std::vector<std::string> damage;  // each damaged file, record or range, with what is wrong
  uint64_t projects = 0;            // readable projects
  uint64_t series = 0;              // readable series
  uint64_t points = 0;              // readable points (exported, with an export directory)
  bool clean() const { return damage.empty(); }
};

// Writes one project file (DB::CreateProjectFile). Not thread-safe; one writer per file.
class ProjectFileWriter {
 public:
  // Without Commit, deletes what it wrote (best effort: a failure leaves the file incomplete).
  // Must not outlive its DB.
  virtual ~ProjectFileWriter() = default;
  // Appends content; full 64 KiB chunks are sealed and stored as they fill. After an error the
  // writer refuses everything.
  virtual Status Append(std::string_view bytes) = 0;
  // Bytes appended so far, and their SHA-256 (so that a caller can check the content against
  // what it expects before it commits).
  virtual uint64_t length() const = 0;
  virtual std::array<uint8_t, 32> sha256() const = 0;
  // Stores the last chunk and marks the file complete with `metadata` (at most 64 KiB), in one
  // durable write. The file is readable only afterwards.
  virtual Result<ProjectFileInfo> Commit(std::string_view metadata) = 0;
};

class DB {
 public:
  // Opens (or with create_if_missing creates) the database in `dir`, replaying the head records
  // of the last run.
  static Result<std::unique_ptr<DB>> Open(const Options& options, std::string_view dir);

  // Reads everything in `dir` that can be read, reports every damaged file, record and block,
  // and with options.export_dir writes every readable project, device, channel and point to a
  // new database there (same master key). Never changes `dir`: it opens it read-only. Fails
  // only when nothing can be read (no keyring, wrong master key, RocksDB refuses even a lenient
  // read-only open) or the export fails.
  static Result<SalvageReport> Salvage(const Options& options, std::string_view dir,
                                       const SalvageOptions& salvage);

  DB() = default;
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;
  // Closes without sealing: head chunks stay in the head records and are replayed on open.
  virtual ~DB() = default;

  // --- Catalog -------------------------------------------------------------------------------
  // Project names: 1-64 characters of [a-z0-9_-], starting with a letter or digit.
  virtual Result<ProjectInfo> CreateProject(std::string_view name,
                                            const ProjectOptions& options = {}) = 0;
  virtual Result<std::vector<ProjectInfo>> ListProjects() = 0;
  virtual Result<ProjectInfo> GetProject(std::string_view name) = 0;
  // Deletes the project with all its devices, channels and points.
  virtual Status DropProject(std::string_view name) = 0;
  virtual Status SetRetention(std::string_view project, uint32_t retention_days) = 0;

  // Device and channel names: 1-255 bytes of printable UTF-8 (no control characters).
  // Registering an existing device updates model and firmware version.
  virtual Status RegisterDevice(std::string_view project, const DeviceInfo& device) = 0;
  virtual Result<std::vector<DeviceInfo>> ListDevices(std::string_view project) = 0;
  // Creates the channel (and its device if needed). Registering an existing channel with the
  // same type updates its unit; a different type is an error.
  virtual Result<ChannelInfo> RegisterChannel(std::string_view project, std::string_view device,
                                              std::string_view channel, ValueType type,
                                              std::string_view unit = {}) = 0;
  // All channels of the project, or of one device when `device` is not empty.
  virtual Result<std::vector<ChannelInfo>> ListChannels(std::string_view project,
                                                        std::string_view device = {}) = 0;

  // Device labels (docs/LABELS.md): what describes a device (site, room, line), kept with
  // their history and used by queries (Selector::labels, AggregateQuery::group_by). Writes set
  // them from a batch's label sets (line protocol tags); SetDeviceLabels sets them directly on an
  // existing device, from `from_ns` on (an empty value removes the key), durably, all or nothing.
  virtual Status SetDeviceLabels(std::string_view project, std::string_view device, int64_t from_ns,
                                 std::span<const std::pair<std::string, std::string>> labels) = 0;
  // The label histories of the project's devices (or of one), by device name.
  virtual Result<std::vector<DeviceLabels>> ListDeviceLabels(std::string_view project,
                                                             std::string_view device = {}) = 0;
  // Every label key of the project with every value it was ever given, both sorted.
  virtual Result<std::vector<std::pair<std::string, std::vector<std::string>>>> ListLabelValues(
      std::string_view project) = 0;

  // Project secrets: small named values (at most 64 KiB; names as device names) stored with the
  // project's catalog, sealed under its data key, re-sealed by ReencryptProject and destroyed
  // with the project by DropProject (crypto-shredding). For keys of the project's own services,
  // e.g. its device CA (docs/DEVICES.md). Put creates or replaces; Get returns nullopt when the
  // project has no secret of that name; Delete of a missing secret is Ok.
  virtual Status PutProjectSecret(std::string_view project, std::string_view name,
                                  std::string_view value) = 0;
  virtual Result<std::optional<std::string>> GetProjectSecret(std::string_view project,
                                                              std::string_view name) = 0;
  virtual Status DeleteProjectSecret(std::string_view project, std::string_view name) = 0;

  // --- Project files (engine/docs/format/project_files.md) -----------------------------------
  // Immutable byte strings of a project of at most 1 GiB (firmware images), sealed under its
  // data key in 64 KiB chunks, read by byte range, counted by KeyStatus, re-sealed by
  // ReencryptProject, destroyed with the project by DropProject and copied by backups.
  // Create durably records a new file in state "writing" and returns its writer.
  virtual Result<std::unique_ptr<ProjectFileWriter>> CreateProjectFile(
      std::string_view project) = 0;
  // Every file of the project, incomplete ones included, by id.
  virtual Result<std::vector<ProjectFileInfo>> ListProjectFiles(std::string_view project) = 0;
  virtual Result<ProjectFileInfo> GetProjectFile(std::string_view project, uint64_t id) = 0;
  // Replaces *out with bytes [offset, offset + length) of a complete file, cut at its end (at
  // most kMaxProjectFileReadBytes after the cut, else InvalidArgument). NotFound for a file
  // that does not exist; FailedPrecondition for an incomplete one; Corruption naming the file,
  // chunk and byte range when a chunk is missing or altered (*out is then unchanged).
  virtual Status ReadProjectFile(std::string_view project, uint64_t id, uint64_t offset,
                                 uint64_t length, std::string* out) = 0;
  // Deletes the file, complete or not, durably; NotFound when there is none. A writer of the
  // file fails from its next Append or Commit on.
  virtual Status DeleteProjectFile(std::string_view project, uint64_t id) = 0;

  // --- Writes --------------------------------------------------------------------------------
  // Applies the batch whole or not at all. Points may arrive out of order; a timestamp written
  // twice in a series keeps the value written last.
  virtual Status Write(std::string_view project, const WriteBatch& batch) = 0;
  // As Write, into the project only while it is the one whose id (ProjectInfo::id) is
  // `project_id`: for a caller that authorised the write against that project earlier (a server
  // reading the body). Once it was dropped, even if another of the same name exists, NotFound
  // and nothing is written.
  virtual Status Write(std::string_view project, uint32_t project_id, const WriteBatch& batch) = 0;

  // --- Queries -------------------------------------------------------------------------------
  virtual Status QueryRaw(std::string_view project, const Selector& selector,
                          const TimeRange& range, const RawCallback& callback) = 0;
  // The newest point of each channel of a device (channels without points are left out).
  virtual Result<std::vector<LatestPoint>> Latest(std::string_view project,
                                                  std::string_view device) = 0;
  virtual Status Aggregate(std::string_view project, const AggregateQuery& query,
                           const AggregateCallback& callback) = 0;

  // --- Maintenance ---------------------------------------------------------------------------
  // Seals every head chunk into blocks and flushes RocksDB memtables.
  virtual Status Flush() = 0;
  // Flush, then compact all files (for benchmarks and after large deletions).
  virtual Status Compact() = 0;
  // Drops blocks past their project's retention as of `now_ns` (0 = the current time).
  virtual Status EnforceRetention(int64_t now_ns = 0) = 0;
  virtual Result<DBStats> Stats() = 0;

  // --- Keys (docs/SECURITY.md) ---------------------------------------------------------------
  // Re-wraps every data key under `new_key` and replaces the keyring atomically: afterwards only
  // the new key opens the database; if the process dies midway, exactly one of the two does.
  virtual Status RotateMasterKey(const KeySource& new_key) = 0;
  // Starts a new data key version for the project's new writes; returns it. Older versions
  // stay readable until ReencryptProject retires them.
  virtual Result<uint32_t> RotateProjectKey(std::string_view project) = 0;
  // Rewrites every value of the project still sealed with an older key version under the
  // newest one, then destroys the older versions.
  virtual Status ReencryptProject(std::string_view project,
                                  const ProgressCallback& progress = {}) = 0;
  virtual Result<KeyStatusReport> KeyStatus() = 0;

  // --- Server-wide records (accounts, tokens, grants, audit log) ------------------------------
  virtual SystemStore& System() = 0;

  // --- Backups (docs/BACKUP.md) ---------------------------------------------------------------
  // Takes a consistent, incremental backup into `backup_dir` while writes continue: it holds
  // every point acknowledged before the call. The directory is created if its parent exists,
  // and recorded in DIR/BACKUP_DESTINATIONS so that DropProject also destroys the project's
  // keys in that directory's keyring. Backups are not concurrent with each other.
  virtual Result<BackupInfo> CreateBackup(std::string_view backup_dir,
                                          const BackupOptions& options = {}) = 0;
};

}  // namespace sensordb
