// BackupManager: the backups of one destination. Creates them from an open Store (with the
// keyring merged into the destination's keyring before and after the copy), lists, verifies,
// restores and prunes them (docs/BACKUP.md). Thread-compatible: one manager per destination,
// calls serialised by the caller.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backup/destination.h"
#include "crypto/keyring.h"
#include "sensordb/backup.h"
#include "store/backup_engine.h"
#include "util/dir_lock.h"
#include "store/store.h"

namespace sensordb::backup {

// The plaintext metadata a backup records (RocksDB app metadata): key=value lines.
struct BackupMetadata {
  int64_t created_unix_ns = 0;
  uint32_t format_version = kStorageFormatVersion;
  bool encrypted = true;
  std::string label;
  std::string Encode() const;
  static bool Decode(const std::string& text, BackupMetadata* out);
};

// At most 128 printable characters, no control characters.
Status ValidateLabel(const std::string& label);

class BackupManager {
 public:
  // Opens the destination; with `create` the directory is created if its parent exists.
  static Result<std::unique_ptr<BackupManager>> Open(std::unique_ptr<BackupDestination> dest,
                                                     bool create);
  static Result<std::unique_ptr<BackupManager>> OpenLocal(const std::string& dir, bool create);

  // Backs up `store`. `keyring` is null for a test-mode (plaintext) database. `live_bytes`
  // sizes the progress reports.
  Result<BackupInfo> Create(store::Store& store, const crypto::Keyring* keyring,
                            const BackupOptions& options, uint64_t live_bytes);
  Result<std::vector<BackupInfo>> List();
  Result<BackupInfo> Get(uint32_t id);
  Result<BackupVerifyReport> Verify(uint32_t id, const KeySource& key,
                                    const ProgressCallback& progress);
  Status Restore(uint32_t id, const std::string& target_dir, const KeySource& key,
                 const ProgressCallback& progress);
  Result<std::vector<uint32_t>> Prune(const BackupRetention& policy, int64_t now_unix_ns);
  // Bytes of the distinct files all good backups use.
  Result<uint64_t> TotalBytes();

  BackupDestination& destination() { return *dest_; }

 private:
  BackupManager(DirLock lock, std::unique_ptr<BackupDestination> dest,
                std::unique_ptr<store::BackupEngine> engine)
      : lock_(std::move(lock)), dest_(std::move(dest)), engine_(std::move(engine)) {}
  Status CheckKeyringOpens(const BackupInfo& info, const KeySource& key);
  Status RestoreFiles(const BackupInfo& info, const std::string& target_dir,
                      const KeySource& key);
  Result<BackupVerifyReport> SampleRestored(const std::string& dir, const BackupInfo& info,
                                            const KeySource& key);

  DirLock lock_;  // one manager per backup directory at a time, across processes
  std::unique_ptr<BackupDestination> dest_;
  std::unique_ptr<store::BackupEngine> engine_;
};

}  // namespace sensordb::backup
