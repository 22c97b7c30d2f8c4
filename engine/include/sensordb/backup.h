// Snapshot backups of a database (docs/BACKUP.md): incremental, consistent while writes
// continue, holding only ciphertext and wrapped keys. A backup directory holds RocksDB's backup
// files (table files shared between backups) and one keyring, BACKUP_DIR/keyring/KEYRING, kept
// apart from them. Backups are taken with DB::CreateBackup (or a BackupScheduler); the free
// functions below work on a backup directory without a live database. All thread-safe, but
// operations on one backup directory must not run in two processes at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/clock.h"
#include "sensordb/keys.h"
#include "sensordb/status.h"

namespace sensordb {

class DB;

// The on-disk format version of sensordb data, recorded in every backup. 2: integer sequences
// may use Rice packing (engine/docs/format/columns.md), which builds of version 1 cannot read.
// 3: short blocks may live in block groups (engine/docs/format/block_group.md). 4: project
// files in the `files` column family (engine/docs/format/project_files.md), which builds of
// version 3 would neither count nor re-seal before destroying a key version.
inline constexpr uint32_t kStorageFormatVersion = 4;

struct BackupOptions {
  // Free text for people (at most 128 printable characters). Stored in plaintext: no secrets.
  std::string label;
  // The backup's recorded creation time; 0 = now. Schedulers with their own clock set it.
  int64_t created_unix_ns = 0;
  // Bytes copied so far of about `total` (the live data size).
  ProgressCallback progress;
};

struct BackupInfo {
  uint32_t id = 0;
  int64_t created_unix_ns = 0;
  uint64_t size_bytes = 0;    // every file the backup needs, shared ones included
  uint64_t new_bytes = 0;     // files this backup was the first to store
  uint64_t shared_bytes = 0;  // files it shares with older backups
  uint32_t files = 0;
  uint32_t format_version = 0;
  bool encrypted = true;      // false only for test-mode (plaintext) databases
  std::string label;
  // Empty for a good backup; else what is wrong (e.g. its meta file is damaged). Such backups
  // cannot be restored; `prune` leaves them for an operator to look at.
  std::string problem;
};

// Which backups to keep. A backup is kept when any rule keeps it, and the newest good backup is
// always kept. Default: every backup of the last 35 days.
struct BackupRetention {
  uint32_t keep_days = 35;     // backups younger than this many days
  uint32_t keep_daily = 0;     // the newest backup of each of the last N days that have one
  uint32_t keep_weekly = 0;    // ... of each of the last M ISO weeks (Monday to Sunday, UTC)
  uint32_t keep_monthly = 0;   // ... of each of the last K calendar months (UTC)
  // Grandfather-father-son only, e.g. Gfs(7, 5, 12).
  static BackupRetention Gfs(uint32_t daily, uint32_t weekly, uint32_t monthly) {
    return {0, daily, weekly, monthly};
  }
};

struct BackupVerifyReport {
  uint32_t id = 0;
  uint32_t files_checked = 0;   // files whose size and checksum matched
  uint64_t projects = 0;        // projects of the restored copy
  uint64_t points_counted = 0;  // points a count aggregate over every project found
  uint64_t series_read = 0;     // series read point by point (a sample)
  uint64_t points_read = 0;
};

// Good and damaged backups, oldest first.
Result<std::vector<BackupInfo>> ListBackups(std::string_view backup_dir);
// The backups, good and damaged, created at or before `unix_ns`, newest first (ties: the higher
// id first). Empty when there is none.
Result<std::vector<BackupInfo>> BackupsBefore(std::string_view backup_dir, int64_t unix_ns);
// The first good one of BackupsBefore; NotFound when there is none.
Result<BackupInfo> FindBackupBefore(std::string_view backup_dir, int64_t unix_ns);
// Checks every file's size and checksum, then restores the backup into a scratch directory
// under `backup_dir`, opens it with `key` and decrypts a sample (a count over every project and
// the points of a few series per project). Any problem is an error saying what is wrong.
Result<BackupVerifyReport> VerifyBackup(std::string_view backup_dir, uint32_t id,
                                        const KeySource& key,
                                        const ProgressCallback& progress = {});
// Restores backup `id` into `target_dir`, which must not exist or be empty; the restored
// database opens with `key` (the master key of the database backed up). A wrong key is
// PermissionDenied before anything is written.
Status RestoreBackup(std::string_view backup_dir, uint32_t id, std::string_view target_dir,
                     const KeySource& key, const ProgressCallback& progress = {});
// Which of `backups` `policy` deletes as of `now_unix_ns` (ids, ascending). Pure.
std::vector<uint32_t> BackupsToDelete(const std::vector<BackupInfo>& backups,
                                      const BackupRetention& policy, int64_t now_unix_ns);
// Deletes those backups and the files no kept backup needs; returns the deleted ids.
Result<std::vector<uint32_t>> PruneBackups(std::string_view backup_dir,
                                           const BackupRetention& policy, int64_t now_unix_ns);

// --- The daily schedule ---------------------------------------------------------------------

struct BackupScheduleOptions {
  std::string backup_dir;
  int32_t time_of_day_s = 2 * 3600;  // seconds after midnight UTC at which the backup is due
  BackupRetention retention;
  bool verify = true;                // verify each new backup (needs `key`)
  KeySource key;                     // the database's master key, for verification
  std::string label = "daily";
  uint32_t poll_interval_ms = 60'000;  // Start(): how often the thread reads the clock
};

struct BackupScheduleStatus {
  int64_t last_success_unix_ns = 0;
  int64_t last_failure_unix_ns = 0;
  int64_t next_due_unix_ns = 0;
  std::string last_message;     // what the last run did, or why it failed
  uint32_t last_backup_id = 0;
  uint32_t backups_kept = 0;    // good backups in the directory after the last run
  uint64_t backup_bytes = 0;    // bytes of all their distinct files
  uint64_t runs = 0;
  uint64_t failures = 0;
};

// Takes the daily backup once the clock passes the configured time of day (also catching up a
// missed one at start), applies retention, verifies the new backup and keeps a status. Driven
// by RunIfDue (tests, or a server's timer) or by its own thread (Start). Thread-safe.
class BackupScheduler {
 public:
  // `db` and `clock` must outlive the scheduler.
  static Result<std::unique_ptr<BackupScheduler>> Create(DB& db, const Clock& clock,
                                                         BackupScheduleOptions options);
  ~BackupScheduler();

  // Runs the backup if it is due; OK when nothing was due. Failures are also in status().
  Status RunIfDue();
  // Runs a backup now, whatever the schedule.
  Status RunNow();
  BackupScheduleStatus status() const;
  // A background thread calling RunIfDue every poll interval, until Stop or destruction.
  void Start();
  void Stop();

 private:
  struct Rep;
  explicit BackupScheduler(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace sensordb
