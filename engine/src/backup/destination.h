// BackupDestination: where a database's backups go. The backup engine writes through a local
// directory; the keyring of the destination is kept apart from the backed-up files. Today there
// is one implementation, a local directory (another disk or mount); an object-storage
// destination can implement this interface later by staging in DataDir() and uploading in
// Commit() (docs/BACKUP.md). Implementations are thread-compatible.
#pragma once

#include <memory>
#include <string>

#include "sensordb/status.h"

namespace sensordb::backup {

class BackupDestination {
 public:
  virtual ~BackupDestination() = default;
  // For messages: "local directory /mnt/backup".
  virtual std::string Describe() const = 0;
  // Makes the destination usable: reachable, and (for `create`) created and writable.
  virtual Status Prepare(bool create) = 0;
  // The local directory the RocksDB backup engine reads and writes.
  virtual std::string DataDir() const = 0;
  // The directory holding the destination's keyring (KEYRING), apart from the data files.
  virtual std::string KeyringDir() const = 0;
  // A scratch directory for verification restores (removed after each use).
  virtual std::string ScratchDir() const = 0;
  // Called after a backup and after a prune: publish the changes (local: nothing to do).
  virtual Status Commit() = 0;
};

// A backup directory on a local filesystem. It is created if missing when its parent exists;
// a missing parent is an error (a backup disk that is not mounted must not fill the root disk).
class LocalDirDestination final : public BackupDestination {
 public:
  explicit LocalDirDestination(std::string dir);
  std::string Describe() const override { return "local directory " + dir_; }
  Status Prepare(bool create) override;
  std::string DataDir() const override { return dir_; }
  std::string KeyringDir() const override { return dir_ + "/keyring"; }
  std::string ScratchDir() const override { return dir_ + "/verify-scratch"; }
  Status Commit() override { return Status::Ok(); }

 private:
  std::string dir_;
};

}  // namespace sensordb::backup
