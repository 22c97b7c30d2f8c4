// DBImpl's part in backups: it hands its Store and keyring to the backup manager and keeps the
// list of destinations whose keyrings a drop must purge (docs/BACKUP.md).
#include "backup/backup_manager.h"
#include "backup/destinations_file.h"
#include "db/db_impl.h"

namespace sensordb {

Result<BackupInfo> DBImpl::CreateBackup(std::string_view backup_dir,
                                        const BackupOptions& options) {
  std::lock_guard one_at_a_time(backup_mu_);
  const std::string dir(backup_dir);
  SENSORDB_ASSIGN_OR_RETURN(auto manager, backup::BackupManager::OpenLocal(dir, /*create=*/true));
  if (keyring_) {  // a backup directory serves one database lineage only
    SENSORDB_ASSIGN_OR_RETURN(const std::string identity, backup::DatabaseIdentity(dir_));
    SENSORDB_RETURN_IF_ERROR(
        backup::ClaimDestination(manager->destination().KeyringDir(), identity));
  }
  // Recorded before any key reaches the destination, so a drop always knows to purge it.
  SENSORDB_RETURN_IF_ERROR(backup::RegisterDestination(dir_, dir));
  if (keyring_) {  // a purge that failed at drop time (destination away) happens now
    SENSORDB_ASSIGN_OR_RETURN(const auto dropped, backup::ReadConfirmedDrops(dir_, *keyring_));
    SENSORDB_RETURN_IF_ERROR(
        keyring_->PurgeDroppedFrom(manager->destination().KeyringDir(), dropped));
  }
  std::unique_lock no_new_keys(key_creation_mu_);  // see db_impl.h
  BackupOptions timed = options;                   // "now" is Options::clock's
  if (timed.created_unix_ns == 0) timed.created_unix_ns = clock_.NowUnixNs();
  return manager->Create(*store_, keyring_.get(), timed, store_->LiveBytes());
}

Status DBImpl::PurgeBackupKeyrings() {
  if (!keyring_) return Status::Ok();
  return backup::PurgeDroppedKeys(dir_, *keyring_);
}

}  // namespace sensordb
