// Store: sensordb's only door to RocksDB. It owns the database with its three column families
// (meta, head, blocks), translates rocksdb::Status into sensordb::Status, and hides every
// RocksDB type behind small wrappers. Thread-safe (as RocksDB is); Batch and Iterator objects
// are not shared between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace rocksdb {
class DB;
}

namespace sensordb::store {

class BackupEngine;
struct FaultInjection;

enum class Cf : uint8_t { kMeta = 0, kHead = 1, kBlocks = 2, kGroups = 3, kFiles = 4 };

struct StoreOptions {
  bool create_if_missing = true;
  size_t write_buffer_bytes = 32 << 20;
  size_t block_cache_bytes = 32 << 20;
  // Called by compactions of the blocks and groups column families; returning true drops the
  // entry.
  // Must be thread-safe and must outlive the Store.
  std::function<bool(std::string_view key, std::string_view value)> drop_block;
  // Tests only: faults to inject under RocksDB (fault_injection.h); null in production.
  std::shared_ptr<FaultInjection> faults;
  // Salvage (DB::Salvage): opens read-only, writing nothing in the directory (RocksDB's info
  // log goes to `log_dir`); with `skip_damaged_wal`, WAL records that fail their checksum are
  // skipped instead of refusing the open.
  bool read_only = false;
  bool skip_damaged_wal = false;
  std::string log_dir;
};

class Store {
 public:
  // A write batch bound to one Store (its column families); applied atomically by Write.
  class Batch {
   public:
    explicit Batch(const Store& store);
    ~Batch();
    Batch(Batch&&) noexcept;
    void Put(Cf cf, std::string_view key, std::string_view value);
    void Delete(Cf cf, std::string_view key);
    void DeleteRange(Cf cf, std::string_view begin, std::string_view end);
    size_t Count() const;
    size_t ByteSize() const;
    void Clear();

   private:
    friend class Store;
    struct Rep;
    std::unique_ptr<Rep> rep_;
  };
  Batch NewBatch() const { return Batch(*this); }

  class Iterator {
   public:
    virtual ~Iterator() = default;
    virtual void Seek(std::string_view key) = 0;
    virtual void SeekForPrev(std::string_view key) = 0;
    virtual bool Valid() const = 0;
    virtual void Next() = 0;
    virtual void Prev() = 0;
    virtual std::string_view key() const = 0;
    virtual std::string_view value() const = 0;
    virtual Status status() const = 0;
  };

  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options, const std::string& dir);
  ~Store();

  // kNoSpace when the disk is full; the next Write once space is freed takes the database
  // out of RocksDB's read-only error state (Resume) and succeeds.
  Status Write(Batch& batch, bool sync);
  // Empty optional when the key does not exist.
  Result<std::optional<std::string>> Get(Cf cf, std::string_view key);
  // Iterates `cf` at the current state; keys of other prefixes are the caller's to skip.
  std::unique_ptr<Iterator> NewIterator(Cf cf);
  Status Flush();
  Status CompactRange(Cf cf, std::string_view begin, std::string_view end);
  Status CompactFamily(Cf cf);  // the whole family, to its bottom level
  Status CompactAll();
  // Bytes of live SST files plus WAL, as RocksDB counts them.
  uint64_t LiveBytes();
  // Reads every live SST file whole and checks every block's checksum, each file on its own;
  // calls on_damage once per damaged file with an error naming it, and its file number.
  Status VerifyFiles(const std::function<void(const Status&, uint64_t file_number)>& on_damage);
  // Salvage, before any read: iterators leave these SST files out (whatever they hold, live
  // points and deletions alike, is not seen). Not thread-safe against running readers.
  void SkipFiles(std::set<uint64_t> file_numbers);

 private:
  friend class BackupEngine;  // backs up the open database (backup_engine.h)
  rocksdb::DB* rocks() const;
  // DB::Resume() after a background error, at most once per kResumeInterval; true if resumed.
  bool Resume();
  bool ResumeLocked();  // with write_mu held exclusively
  // Writes a deletion of the reserved key 'W' without the WAL, so that some memtable holds an
  // entry: RocksDB 7.8's recovery from a failed WAL write starts a new log only then. Does so
  // only in the first write after an open, flush, backup or recovery (each leaves the
  // memtables empty), so an idle database flushed or backed up again writes no file.
  void MarkMemtable();
  void NoteMemtablesEmpty();
  Status NeedsReopenError() const;
  struct Rep;
  explicit Store(std::unique_ptr<Rep> rep);
  std::unique_ptr<Rep> rep_;
};

}  // namespace sensordb::store
