#include "store/backup_engine.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/utilities/backup_engine.h>

#include <algorithm>

namespace sensordb::store {
namespace {

// Translates RocksDB's status (its message names the file) into ours.
Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  const std::string m = what + ": " + s.ToString();
  if (s.IsNoSpace()) return Status::NoSpace(m + " (the backup disk is full)");
  if (s.ToString().find("Permission denied") != std::string::npos) {
    return Status::PermissionDenied(m);
  }
  if (s.IsNotFound()) return Status::NotFound(m);
  if (s.IsCorruption()) return Status::Corruption(m);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(m);
  if (s.IsNotSupported()) return Status::NotSupported(m);
  return Status::IOError(m);
}

}  // namespace

struct BackupEngine::Rep {
  std::string dir;
  std::unique_ptr<rocksdb::BackupEngine> engine;
};

BackupEngine::BackupEngine(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
BackupEngine::~BackupEngine() = default;

Result<std::unique_ptr<BackupEngine>> BackupEngine::Open(const std::string& backup_dir) {
  rocksdb::BackupEngineOptions o(backup_dir);
  o.share_table_files = true;
  o.share_files_with_checksum = true;
  o.sync = true;
  o.max_background_operations = 2;
  rocksdb::BackupEngine* raw = nullptr;
  const rocksdb::IOStatus s = rocksdb::BackupEngine::Open(o, rocksdb::Env::Default(), &raw);
  if (!s.ok()) return Err(FromRocks(s, "opening backup directory " + backup_dir));
  auto rep = std::make_unique<Rep>();
  rep->dir = backup_dir;
  rep->engine.reset(raw);
  return std::unique_ptr<BackupEngine>(new BackupEngine(std::move(rep)));
}

Result<uint32_t> BackupEngine::Create(Store& store, const std::string& app_metadata,
                                      const std::function<void()>& progress) {
  rocksdb::CreateBackupOptions co;
  co.flush_before_backup = true;
  if (progress) co.progress_callback = progress;
  rocksdb::BackupID id = 0;
  const rocksdb::IOStatus s =
      rep_->engine->CreateNewBackupWithMetadata(co, store.rocks(), app_metadata, &id);
  if (!s.ok()) {
    // Leave no half-copied files behind; a failure here is reported by the next backup.
    rep_->engine->GarbageCollect().PermitUncheckedError();
    return Err(FromRocks(s, "backing up to " + rep_->dir));
  }
  return uint32_t{id};
}

Result<std::vector<StoredBackup>> BackupEngine::List() {
  std::vector<rocksdb::BackupInfo> infos;
  rep_->engine->GetBackupInfo(&infos, /*include_file_details=*/true);
  std::vector<StoredBackup> out;
  out.reserve(infos.size());
  for (const auto& i : infos) {
    StoredBackup b;
    b.id = i.backup_id;
    b.timestamp_unix_s = i.timestamp;
    b.size_bytes = i.size;
    b.files = i.number_files;
    b.app_metadata = i.app_metadata;
    for (const auto& f : i.file_details) {
      // relative_filename is relative to the backup directory ("shared_checksum/...sst").
      b.file_details.push_back({f.relative_filename, f.size});
    }
    out.push_back(std::move(b));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<uint32_t> BackupEngine::Corrupted() {
  std::vector<rocksdb::BackupID> ids;
  rep_->engine->GetCorruptedBackups(&ids);
  return {ids.begin(), ids.end()};
}

Status BackupEngine::Delete(uint32_t id) {
  SENSORDB_RETURN_IF_ERROR(FromRocks(rep_->engine->DeleteBackup(id),
                                     "deleting backup " + std::to_string(id)));
  return GarbageCollect();
}

Status BackupEngine::GarbageCollect() {
  return FromRocks(rep_->engine->GarbageCollect(), "collecting unused files in " + rep_->dir);
}

Status BackupEngine::Verify(uint32_t id) {
  const rocksdb::IOStatus s = rep_->engine->VerifyBackup(id, /*verify_with_checksum=*/true);
  if (s.ok()) return Status::Ok();
  const std::string m = "backup " + std::to_string(id) + " in " + rep_->dir + " is damaged: ";
  if (s.IsNotFound()) return Status::Corruption(m + "a file is missing (" + s.ToString() + ")");
  if (s.IsCorruption() || s.IsInvalidArgument()) return Status::Corruption(m + s.ToString());
  return FromRocks(s, "verifying backup " + std::to_string(id));
}

Status BackupEngine::Restore(uint32_t id, const std::string& target_dir) {
  rocksdb::RestoreOptions ro;
  return FromRocks(rep_->engine->RestoreDBFromBackup(ro, id, target_dir, target_dir),
                   "restoring backup " + std::to_string(id) + " into " + target_dir);
}

}  // namespace sensordb::store
