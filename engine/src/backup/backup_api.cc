// The public functions of sensordb/backup.h that work on a backup directory alone.
#include <algorithm>
#include <chrono>

#include "backup/backup_manager.h"
#include "sensordb/backup.h"

namespace sensordb {
namespace {

using backup::BackupManager;

Result<std::unique_ptr<BackupManager>> OpenExisting(std::string_view backup_dir) {
  return BackupManager::OpenLocal(std::string(backup_dir), /*create=*/false);
}

}  // namespace

Result<std::vector<BackupInfo>> ListBackups(std::string_view backup_dir) {
  SENSORDB_ASSIGN_OR_RETURN(auto m, OpenExisting(backup_dir));
  return m->List();
}

Result<std::vector<BackupInfo>> BackupsBefore(std::string_view backup_dir, int64_t unix_ns) {
  SENSORDB_ASSIGN_OR_RETURN(auto all, ListBackups(backup_dir));
  std::erase_if(all, [unix_ns](const BackupInfo& b) { return b.created_unix_ns > unix_ns; });
  std::sort(all.begin(), all.end(), [](const BackupInfo& x, const BackupInfo& y) {
    return x.created_unix_ns != y.created_unix_ns ? x.created_unix_ns > y.created_unix_ns
                                                  : x.id > y.id;
  });
  return all;
}

Result<BackupInfo> FindBackupBefore(std::string_view backup_dir, int64_t unix_ns) {
  SENSORDB_ASSIGN_OR_RETURN(const auto all, BackupsBefore(backup_dir, unix_ns));
  for (const BackupInfo& b : all) {
    if (b.problem.empty()) return b;
  }
  return Err(Status::NotFound("no good backup in " + std::string(backup_dir) +
                              " was taken at or before the given time"));
}

Result<BackupVerifyReport> VerifyBackup(std::string_view backup_dir, uint32_t id,
                                        const KeySource& key, const ProgressCallback& progress) {
  SENSORDB_ASSIGN_OR_RETURN(auto m, OpenExisting(backup_dir));
  return m->Verify(id, key, progress);
}

Status RestoreBackup(std::string_view backup_dir, uint32_t id, std::string_view target_dir,
                     const KeySource& key, const ProgressCallback& progress) {
  SENSORDB_ASSIGN_OR_RETURN(auto m, OpenExisting(backup_dir));
  return m->Restore(id, std::string(target_dir), key, progress);
}

Result<std::vector<uint32_t>> PruneBackups(std::string_view backup_dir,
                                           const BackupRetention& policy, int64_t now_unix_ns) {
  SENSORDB_ASSIGN_OR_RETURN(auto m, OpenExisting(backup_dir));
  return m->Prune(policy, now_unix_ns);
}

}  // namespace sensordb
