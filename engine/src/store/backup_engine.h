// BackupEngine: RocksDB's backup engine behind sensordb types. Backups of one Store go to one
// directory; table files are shared between backups by checksum, so a backup copies only the
// files the previous ones lack. Every rocksdb::Status is translated here. Thread-compatible:
// one BackupEngine per backup directory and process, calls serialised by the caller.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sensordb/status.h"
#include "store/store.h"

namespace sensordb::store {

struct BackupFile {
  std::string name;  // relative to the backup directory, e.g. "shared_checksum/12_..._s1.sst"
  uint64_t size_bytes = 0;
};

struct StoredBackup {
  uint32_t id = 0;
  int64_t timestamp_unix_s = 0;  // RocksDB's wall-clock time of the backup
  uint64_t size_bytes = 0;       // sum of the files the backup references (shared included)
  uint32_t files = 0;
  std::string app_metadata;
  std::vector<BackupFile> file_details;
};

class BackupEngine {
 public:
  // Opens the engine on `backup_dir` (which must exist). Backups RocksDB finds broken (a missing
  // or damaged meta file) are not listed; see Corrupted().
  static Result<std::unique_ptr<BackupEngine>> Open(const std::string& backup_dir);
  ~BackupEngine();

  // Backs up `store` while writes continue: memtables are flushed first, then the live files
  // (and the WAL written since) are copied. Returns the new backup's id. `progress` is called
  // every few MiB copied. A crash before the meta file is written leaves no backup listed.
  Result<uint32_t> Create(Store& store, const std::string& app_metadata,
                          const std::function<void()>& progress);
  // Every good backup, oldest first, with its files.
  Result<std::vector<StoredBackup>> List();
  // Backups RocksDB refused to load (bad meta file, a missing or truncated file it noticed),
  // each with what is wrong, naming the file ("shared_checksum/12_..._s1.sst: missing").
  struct CorruptBackup {
    uint32_t id = 0;
    std::string problem;
  };
  std::vector<CorruptBackup> Corrupted();
  // Deletes the backup and then every file no remaining backup references.
  Status Delete(uint32_t id);
  // Deletes files of interrupted backups and unreferenced shared files.
  Status GarbageCollect();
  // Checks that every file of the backup exists with its recorded size and checksum. A bad
  // file is Corruption naming it relative to the backup directory and saying what is wrong
  // ("missing", "size mismatch", "checksum mismatch").
  Status Verify(uint32_t id);
  // Restores the backup's RocksDB files into `target_dir`, which the caller has checked is new
  // or empty (RocksDB deletes what it finds there). Returns only once every copy has ended,
  // failed or not, so the caller may remove `target_dir` afterwards.
  Status Restore(uint32_t id, const std::string& target_dir);

 private:
  struct Rep;
  explicit BackupEngine(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace sensordb::store
