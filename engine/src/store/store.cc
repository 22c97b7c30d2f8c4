#include "store/store.h"

#include "store/fault_injection.h"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/metadata.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/listener.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <vector>

namespace sensordb::store {
namespace {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string m = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(m);
  if (s.IsCorruption()) return Status::Corruption(m);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(m);
  // A server condition, not a request too large: the caller keeps its data and retries.
  if (s.IsNoSpace()) {
    return Status::NoSpace("no space left on the data disk; nothing was stored, free space and "
                           "retry (" + m + ")");
  }
  if (s.IsNotSupported()) return Status::NotSupported(m);
  return Status::IOError(m);
}

rocksdb::Slice S(std::string_view v) { return {v.data(), v.size()}; }
std::string_view V(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

class BlockDropFilter final : public rocksdb::CompactionFilter {
 public:
  explicit BlockDropFilter(const StoreOptions& o) : options_(o) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    return options_.drop_block && options_.drop_block(V(key), V(value));
  }
  const char* Name() const override { return "sensordb.BlockDropFilter"; }

 private:
  const StoreOptions& options_;
};

class IteratorImpl final : public Store::Iterator {
 public:
  explicit IteratorImpl(rocksdb::Iterator* it) : it_(it) {}
  void Seek(std::string_view k) override { it_->Seek(S(k)); }
  void SeekForPrev(std::string_view k) override { it_->SeekForPrev(S(k)); }
  bool Valid() const override { return it_->Valid(); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  std::string_view key() const override { return V(it_->key()); }
  std::string_view value() const override { return V(it_->value()); }
  Status status() const override { return FromRocks(it_->status(), "iterating"); }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

// RocksDB's own recovery from a no-space background error waits until the free space exceeds
// its reserve (the largest write buffer, 16 MiB by default), which a small disk never has: the
// database would stay read-only until a restart. Store::Write resumes it instead.
class NoAutoRecovery final : public rocksdb::EventListener {
 public:
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status bg_error,
                            bool* auto_recovery) override {
    bg_error.PermitUncheckedError();
    if (bg_error.IsNoSpace()) *auto_recovery = false;
  }
};

// At most one DB::Resume() attempt per interval while the disk stays full: a failing Resume
// tries a flush, and writers keep coming.
constexpr auto kResumeInterval = std::chrono::milliseconds(500);

const char* const kCfNames[] = {"default", "head", "blocks", "groups", "files"};

// "000042.log" -> 42; 0 for any other file.
uint64_t LogNumber(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  if (!name.ends_with(".log") || name.size() <= 4) return 0;
  uint64_t n = 0;
  for (size_t i = 0; i + 4 < name.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return 0;
    n = n * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return n;
}

// Fails appends, syncs and reads while the FaultInjection says so (tests only).
rocksdb::IOStatus Injected(FaultInjection& f, const char* what) {
  f.injected.fetch_add(1);
  return rocksdb::IOStatus::IOError(std::string("injected fault: ") + what);
}

class FaultyWritableFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWritableFile(std::unique_ptr<rocksdb::FSWritableFile> t, FaultInjection& f, bool doomed)
      : FSWritableFileOwnerWrapper(std::move(t)), f_(f), doomed_(doomed) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if (Fails()) return Injected(f_, "write");
    return FSWritableFileOwnerWrapper::Append(data, o, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* dbg) override {
    if (Fails()) return Injected(f_, "write");
    return FSWritableFileOwnerWrapper::Append(data, o, v, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (f_.fail_syncs) return Injected(f_, "sync");
    return FSWritableFileOwnerWrapper::Sync(o, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (f_.fail_syncs) return Injected(f_, "fsync");
    return FSWritableFileOwnerWrapper::Fsync(o, dbg);
  }

 private:
  bool Fails() const { return f_.fail_writes || (doomed_ && f_.fail_new_log_writes); }
  FaultInjection& f_;
  const bool doomed_;  // a WAL created while fail_new_log_writes was set
};

class FaultyRandomAccessFile final : public rocksdb::FSRandomAccessFileOwnerWrapper {
 public:
  FaultyRandomAccessFile(std::unique_ptr<rocksdb::FSRandomAccessFile> t, FaultInjection& f)
      : FSRandomAccessFileOwnerWrapper(std::move(t)), f_(f) {}
  rocksdb::IOStatus Read(uint64_t offset, size_t n, const rocksdb::IOOptions& o,
                         rocksdb::Slice* result, char* scratch,
                         rocksdb::IODebugContext* dbg) const override {
    if (f_.fail_reads) return Injected(f_, "read");
    return FSRandomAccessFileOwnerWrapper::Read(offset, n, o, result, scratch, dbg);
  }
  rocksdb::IOStatus MultiRead(rocksdb::FSReadRequest* reqs, size_t n, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override {
    if (f_.fail_reads) return Injected(f_, "read");
    return FSRandomAccessFileOwnerWrapper::MultiRead(reqs, n, o, dbg);
  }

 private:
  FaultInjection& f_;
};

class FaultyDirectory final : public rocksdb::FSDirectoryWrapper {
 public:
  FaultyDirectory(std::unique_ptr<rocksdb::FSDirectory> t, FaultInjection& f)
      : FSDirectoryWrapper(std::move(t)), f_(f) {}
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    if (f_.fail_dir_syncs) return Injected(f_, "directory fsync");
    return FSDirectoryWrapper::Fsync(o, dbg);
  }
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions& d) override {
    if (f_.fail_dir_syncs) return Injected(f_, "directory fsync");
    return FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, d);
  }

 private:
  FaultInjection& f_;
};

class FaultyFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  FaultyFileSystem(std::shared_ptr<FaultInjection> f)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), f_(std::move(f)) {}
  const char* Name() const override { return "sensordb.FaultyFileSystem"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, o, r, dbg);
    const bool doomed = f_->fail_new_log_writes && LogNumber(name) != 0;
    if (s.ok()) *r = std::make_unique<FaultyWritableFile>(std::move(*r), *f_, doomed);
    return s;
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->ReopenWritableFile(name, o, r, dbg);
    if (s.ok()) *r = std::make_unique<FaultyWritableFile>(std::move(*r), *f_, false);
    return s;
  }
  rocksdb::IOStatus NewRandomAccessFile(const std::string& name, const rocksdb::FileOptions& o,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                        rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewRandomAccessFile(name, o, r, dbg);
    if (s.ok()) *r = std::make_unique<FaultyRandomAccessFile>(std::move(*r), *f_);
    return s;
  }
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewDirectory(name, o, r, dbg);
    if (s.ok()) *r = std::make_unique<FaultyDirectory>(std::move(*r), *f_);
    return s;
  }

 private:
  std::shared_ptr<FaultInjection> f_;
};

// The newest write-ahead log RocksDB made, and the newest log that met a failed append, sync or
// close, or that was the newest when a directory fsync failed (the first synced write to a new
// log syncs the directory: its record is in that log). Log numbers, 0 for none. Store::Resume
// lets writes go on only once a log newer than the tainted one exists (RocksDB 7.8 starts none
// when every memtable is empty).
struct WalWatch {
  std::atomic<uint64_t> newest{0};
  std::atomic<uint64_t> tainted{0};
  void Created(uint64_t log) { Raise(newest, log); }
  void Taint() { Raise(tainted, newest.load()); }
  void Taint(uint64_t log) { Raise(tainted, log); }

 private:
  static void Raise(std::atomic<uint64_t>& v, uint64_t to) {
    uint64_t seen = v.load();
    while (seen < to && !v.compare_exchange_weak(seen, to)) {
    }
  }
};

// RocksDB takes a failed write or sync of a log, the MANIFEST or a new table file for fatal
// (every later write fails until a reopen) unless the error is marked retryable: then it is a
// hard error, and Store::Resume's DB::Resume starts a new MANIFEST if that failed, flushes
// every memtable (together: atomic_flush) and starts a new log, so a file that failed is never
// appended to again. The write that met the error is not acknowledged and in no memtable. A
// full disk stays NoSpace (resumed the same way). docs/write_path.md, "Fail closed".
rocksdb::IOStatus Recoverable(rocksdb::IOStatus s) {
  if (!s.ok() && s.IsIOError() && !s.IsNoSpace()) s.SetRetryable(true);
  return s;
}

class RecoverableFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  // `log` is the file's log number, 0 for a file that is not a write-ahead log.
  RecoverableFile(std::unique_ptr<rocksdb::FSWritableFile> t, WalWatch& w, uint64_t log)
      : FSWritableFileOwnerWrapper(std::move(t)), watch_(w), log_(log) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    return Check(FSWritableFileOwnerWrapper::Append(data, o, dbg));
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo& v,
                           rocksdb::IODebugContext* dbg) override {
    return Check(FSWritableFileOwnerWrapper::Append(data, o, v, dbg));
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return Check(FSWritableFileOwnerWrapper::Flush(o, dbg));
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return Check(FSWritableFileOwnerWrapper::Sync(o, dbg));
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return Check(FSWritableFileOwnerWrapper::Fsync(o, dbg));
  }
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& o,
                              rocksdb::IODebugContext* dbg) override {
    return Check(FSWritableFileOwnerWrapper::RangeSync(offset, nbytes, o, dbg));
  }
  rocksdb::IOStatus Close(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return Check(FSWritableFileOwnerWrapper::Close(o, dbg));
  }

 private:
  rocksdb::IOStatus Check(rocksdb::IOStatus s) {
    if (!s.ok() && log_ != 0) watch_.Taint(log_);
    return Recoverable(std::move(s));
  }
  WalWatch& watch_;
  const uint64_t log_;
};

class RecoverableDirectory final : public rocksdb::FSDirectoryWrapper {
 public:
  RecoverableDirectory(std::unique_ptr<rocksdb::FSDirectory> t, WalWatch& w)
      : FSDirectoryWrapper(std::move(t)), watch_(w) {}
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
    return Check(FSDirectoryWrapper::Fsync(o, dbg));
  }
  rocksdb::IOStatus FsyncWithDirOptions(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg,
                                        const rocksdb::DirFsyncOptions& d) override {
    return Check(FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, d));
  }

 private:
  // The first synced write to a new log syncs the directory: its record is in the log.
  rocksdb::IOStatus Check(rocksdb::IOStatus s) {
    if (!s.ok() && in_write) watch_.Taint();
    return Recoverable(std::move(s));
  }
  WalWatch& watch_;

 public:
  // Set on a thread while it is in DB::Write: a directory fsync there is the write's (the
  // first synced write to a new log); those of flushes and recoveries taint no log.
  static thread_local bool in_write;
};
thread_local bool RecoverableDirectory::in_write = false;

class RecoverableFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  RecoverableFileSystem(std::shared_ptr<rocksdb::FileSystem> target, WalWatch& w)
      : FileSystemWrapper(std::move(target)), watch_(w) {}
  const char* Name() const override { return "sensordb.RecoverableFileSystem"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    return Wrap(name, target()->NewWritableFile(name, o, r, dbg), r);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override {
    return Wrap(name, target()->ReopenWritableFile(name, o, r, dbg), r);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override {
    return Wrap(name, target()->ReuseWritableFile(name, old_name, o, r, dbg), r);
  }
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& o,
                                 std::unique_ptr<rocksdb::FSDirectory>* r,
                                 rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewDirectory(name, o, r, dbg);
    if (s.ok()) *r = std::make_unique<RecoverableDirectory>(std::move(*r), watch_);
    return Recoverable(std::move(s));
  }

 private:
  rocksdb::IOStatus Wrap(const std::string& name, rocksdb::IOStatus s,
                         std::unique_ptr<rocksdb::FSWritableFile>* r) {
    if (!s.ok()) return Recoverable(std::move(s));
    const uint64_t log = LogNumber(name);
    watch_.Created(log);
    *r = std::make_unique<RecoverableFile>(std::move(*r), watch_, log);
    return s;
  }
  WalWatch& watch_;
};

// RocksDB's open error for a damaged WAL record says "checksum mismatch" without naming the
// log; its info log does ("... /dir/000042.log: dropping 57 bytes; Corruption: ..."). Returns
// " (damaged: FILE, ...)" for the files that info log names in its warnings, or nothing.
std::string DamagedFilesFromInfoLog(const std::string& dir) {
  std::ifstream in(dir + "/LOG");
  std::vector<std::string> files;
  for (std::string line; std::getline(in, line);) {
    if (line.find("Corruption") == std::string::npos &&
        line.find("dropping") == std::string::npos) {
      continue;
    }
    for (size_t at = line.find(dir + "/"); at != std::string::npos;
         at = line.find(dir + "/", at + 1)) {
      const size_t begin = at + dir.size() + 1;
      size_t end = begin;
      while (end < line.size() && (std::isalnum(static_cast<unsigned char>(line[end])) ||
                                   line[end] == '.' || line[end] == '-' || line[end] == '_')) {
        ++end;
      }
      std::string name = line.substr(begin, end - begin);
      while (!name.empty() && name.back() == '.') name.pop_back();
      if (!name.empty() && std::find(files.begin(), files.end(), name) == files.end()) {
        files.push_back(name);
      }
    }
  }
  if (files.empty()) return "";
  std::string out = " (damaged: ";
  for (size_t i = 0; i < files.size(); ++i) out += (i ? ", " : "") + dir + "/" + files[i];
  return out + ")";
}

}  // namespace

struct Store::Rep {
  std::unique_ptr<rocksdb::Env> env;  // RecoverableFileSystem (over the faults in tests)
  WalWatch wal;                       // outlives env
  StoreOptions options;
  std::unique_ptr<BlockDropFilter> filter;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  std::mutex resume_mu;
  // Writers hold it shared; a recovery exclusive, so that no write reaches RocksDB between
  // its Resume and the check that a new log was started.
  std::shared_mutex write_mu;
  std::chrono::steady_clock::time_point last_resume;  // GUARDED_BY(resume_mu)
  // Set when a recovery after a failed WAL write could not start a new log: every write is
  // refused from then on, without reaching RocksDB, until the database is reopened.
  std::atomic<bool> needs_reopen{false};
  // A write met an I/O error that no recovery has cleared yet.
  std::atomic<bool> write_failed{false};
  // After an open, flush, backup or recovery: the next write first calls MarkMemtable.
  std::atomic<bool> memtables_empty{true};
  std::set<uint64_t> skipped_files;  // salvage only; set before any reader runs
  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return cfs[static_cast<size_t>(c)]; }
  ~Rep() {
    for (auto* h : cfs) {
      if (h != nullptr) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    if (db) db->Close().PermitUncheckedError();
  }
};

struct Store::Batch::Rep {
  const Store::Rep& store;
  rocksdb::WriteBatch wb;
};

Store::Batch::Batch(const Store& store) : rep_(new Rep{*store.rep_, rocksdb::WriteBatch()}) {}
Store::Batch::~Batch() = default;
Store::Batch::Batch(Batch&&) noexcept = default;
void Store::Batch::Put(Cf cf, std::string_view k, std::string_view v) {
  rep_->wb.Put(rep_->store.cf(cf), S(k), S(v)).PermitUncheckedError();
}
void Store::Batch::Delete(Cf cf, std::string_view k) {
  rep_->wb.Delete(rep_->store.cf(cf), S(k)).PermitUncheckedError();
}
void Store::Batch::DeleteRange(Cf cf, std::string_view b, std::string_view e) {
  rep_->wb.DeleteRange(rep_->store.cf(cf), S(b), S(e)).PermitUncheckedError();
}
size_t Store::Batch::Count() const { return rep_->wb.Count(); }
size_t Store::Batch::ByteSize() const { return rep_->wb.GetDataSize(); }
void Store::Batch::Clear() { rep_->wb.Clear(); }

Store::Store(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
rocksdb::DB* Store::rocks() const { return rep_->db.get(); }
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const StoreOptions& options, const std::string& dir) {
  auto rep = std::make_unique<Rep>();
  rep->options = options;
  rep->filter = std::make_unique<BlockDropFilter>(rep->options);

  rocksdb::Options db_opts;
  db_opts.create_if_missing = options.create_if_missing;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  db_opts.bytes_per_sync = 1 << 20;
  db_opts.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_opts.keep_log_file_num = 2;
  db_opts.max_total_wal_size = 64 << 20;
  db_opts.listeners.push_back(std::make_shared<NoAutoRecovery>());
  // Recovery from a failed write (RecoverableFile) flushes every column family in one step, so
  // a crash during it never leaves one family past the failed log and another not: a batch
  // spans the catalog, head and blocks families and is replayed whole or not at all.
  db_opts.atomic_flush = true;
  // Store::Resume recovers, driven by writes; no second recovery thread of RocksDB's own.
  db_opts.max_bgerror_resume_count = 0;
  // The memtable marker (Store::MarkMemtable) is written without the WAL; it is not data,
  // so a close need not flush it.
  db_opts.avoid_flush_during_shutdown = true;
  std::shared_ptr<rocksdb::FileSystem> fs = rocksdb::FileSystem::Default();
  if (options.faults) fs = std::make_shared<FaultyFileSystem>(options.faults);
  rep->env = rocksdb::NewCompositeEnv(std::make_shared<RecoverableFileSystem>(fs, rep->wal));
  db_opts.env = rep->env.get();
  db_opts.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(options.write_buffer_bytes);
  // Fail closed (docs/write_path.md, "Fail closed"): an acknowledged synced record is never torn,
  // so only an incomplete record at the very end of a log (a write cut by a crash) is
  // tolerated; damage anywhere else refuses the open instead of dropping every later write.
  // The MANIFEST records each WAL, so a removed or shortened closed log is refused as well.
  db_opts.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  db_opts.track_and_verify_wals_in_manifest = true;
  db_opts.paranoid_checks = true;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.block_size = 16 << 10;
  table.format_version = 5;
  auto table_factory =
      std::shared_ptr<rocksdb::TableFactory>(rocksdb::NewBlockBasedTableFactory(table));

  // Values are already compressed (codecs + zstd) and, with a key configured, encrypted:
  // RocksDB compression could not shrink them, so it is off for head and blocks.
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  for (size_t i = 0; i < std::size(kCfNames); ++i) {
    rocksdb::ColumnFamilyOptions cf;
    cf.table_factory = table_factory;
    // The catalog is small. Project files (sealed image chunks) are rare but come in bursts of
    // megabytes: with atomic_flush, a small memtable of theirs would flush every family often.
    cf.write_buffer_size = i == 0 ? (4 << 20) : options.write_buffer_bytes / 2;
    cf.compression = i == 0 ? rocksdb::kZSTD : rocksdb::kNoCompression;
    // Except the plaintext references of grouped blocks (engine/docs/format/block_group.md),
    // 48 bytes per block with its key, which zstd shrinks where they settle; a data block of
    // sealed values that does not shrink is stored raw by RocksDB.
    if (i == static_cast<size_t>(Cf::kBlocks)) cf.bottommost_compression = rocksdb::kZSTD;
    cf.level_compaction_dynamic_level_bytes = true;
    if (i == static_cast<size_t>(Cf::kBlocks) || i == static_cast<size_t>(Cf::kGroups)) {
      cf.compaction_filter = rep->filter.get();
    }
    descs.emplace_back(kCfNames[i], cf);
  }
  // Without CURRENT RocksDB takes a directory for a new database and deletes the files it
  // finds as obsolete: a lost CURRENT must be an error, never an empty database.
  if (!std::filesystem::exists(dir + "/CURRENT")) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.starts_with("MANIFEST-") || name.ends_with(".sst") || name.ends_with(".log")) {
        return Err(Status::Corruption("database " + dir + " has no CURRENT file but holds " +
                                      name + ": CURRENT was lost; restore it or the database "
                                      "from a backup (refusing to start an empty database "
                                      "over these files)"));
      }
    }
    if (ec) return Err(Status::IOError("cannot list " + dir + ": " + ec.message()));
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    db_opts.create_if_missing = false;
    db_opts.db_log_dir = options.log_dir;  // the info log is the only file RocksDB would write
    if (options.skip_damaged_wal) {
      db_opts.wal_recovery_mode = rocksdb::WALRecoveryMode::kSkipAnyCorruptedRecords;
    }
    // A directory written before the groups or files family existed has none, and a
    // read-only open cannot create it: it is left out (reads of it find nothing). Families
    // were added in order, so the missing ones are the last.
    std::vector<std::string> present;
    if (rocksdb::DB::ListColumnFamilies(db_opts, dir, &present).ok()) {
      while (descs.size() > 1 &&
             std::find(present.begin(), present.end(), descs.back().name) == present.end()) {
        descs.pop_back();
      }
    }
    s = rocksdb::DB::OpenForReadOnly(db_opts, dir, descs, &rep->cfs, &raw);
    if (s.ok()) rep->cfs.resize(std::size(kCfNames), nullptr);
  } else {
    s = rocksdb::DB::Open(db_opts, dir, descs, &rep->cfs, &raw);
  }
  if (!s.ok()) {
    if (s.IsInvalidArgument() && !options.create_if_missing) {
      return Err(Status::NotFound("no database in " + dir + " (" + s.ToString() + ")"));
    }
    if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
      return Err(Status::FailedPrecondition(
          "database " + dir + " is in use by another process (" + s.ToString() + ")"));
    }
    std::string damaged = DamagedFilesFromInfoLog(dir);
    if (damaged.empty() && s.ToString().find("MANIFEST-") != std::string::npos &&
        s.ToString().find("No such file") != std::string::npos) {
      damaged = " (" + dir + "/CURRENT names a MANIFEST that does not exist: CURRENT is "
                "damaged, or the MANIFEST was removed)";
    }
    return Err(FromRocks(s, "opening " + dir + damaged));
  }
  rep->db.reset(raw);
  return std::unique_ptr<Store>(new Store(std::move(rep)));
}

void Store::MarkMemtable() {
  // A load on every write; the exchange only in the first write after a flush.
  if (!rep_->memtables_empty.load(std::memory_order_relaxed) ||
      !rep_->memtables_empty.exchange(false)) {
    return;
  }
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  rocksdb::WriteBatch wb;
  wb.Delete(rep_->cf(Cf::kMeta), "W").PermitUncheckedError();
  if (!rep_->db->Write(wo, &wb).ok()) rep_->memtables_empty = true;  // tried again next write
}

Status Store::Write(Batch& batch, bool sync) {
  if (rep_->needs_reopen) return NeedsReopenError();
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  auto write = [&] {
    std::shared_lock lock(rep_->write_mu);
    if (rep_->needs_reopen) return NeedsReopenError();
    MarkMemtable();
    RecoverableDirectory::in_write = true;
    rocksdb::Status r = rep_->db->Write(wo, &batch.rep_->wb);
    RecoverableDirectory::in_write = false;
    return FromRocks(r, "writing");
  };
  Status s = write();
  // After a no-space or I/O error RocksDB refuses every write until resumed; once the fault
  // clears the first write resumes it, without a restart, and is retried once. The write that
  // met the fault itself was not acknowledged (docs/write_path.md, "Fail closed").
  if (s.code() == StatusCode::kNoSpace || s.code() == StatusCode::kIOError) {
    rep_->write_failed = true;
    if (Resume()) s = write();
  }
  if (rep_->needs_reopen) return NeedsReopenError();
  return s;
}

void Store::NoteMemtablesEmpty() { rep_->memtables_empty = true; }

Status Store::NeedsReopenError() const {
  return Status::IOError("a write-ahead log write failed while no data was buffered, "
                         "and RocksDB cannot start a new log in place in that case: nothing "
                         "is written until the database is reopened (restart sensordbd); "
                         "every acknowledged write is kept");
}

bool Store::Resume() {
  std::unique_lock lock(rep_->resume_mu, std::try_to_lock);
  if (!lock.owns_lock()) return false;  // another writer is resuming
  const auto now = std::chrono::steady_clock::now();
  if (now - rep_->last_resume < kResumeInterval) return false;
  rep_->last_resume = now;
  std::unique_lock writers(rep_->write_mu);
  return ResumeLocked();
}

bool Store::ResumeLocked() {
  if (rep_->needs_reopen) return false;
  if (!rep_->db->Resume().ok()) return false;
  // Resume starts a new log only when some memtable holds data (RocksDB 7.8; 9.6 always
  // does). Without one, the next write would go to the log that failed: refuse instead.
  const uint64_t tainted = rep_->wal.tainted.load();
  if (tainted != 0 && rep_->wal.newest.load() <= tainted) {
    rep_->needs_reopen = true;
    return false;
  }
  rep_->write_failed = false;
  rep_->memtables_empty = true;
  return true;
}

Result<std::optional<std::string>> Store::Get(Cf cf, std::string_view key) {
  if (rep_->cf(cf) == nullptr) return std::optional<std::string>();  // see Open: read-only
  std::string v;
  rocksdb::Status s = rep_->db->Get(rocksdb::ReadOptions(), rep_->cf(cf), S(key), &v);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return Err(FromRocks(s, "reading"));
  return std::optional<std::string>(std::move(v));
}

std::unique_ptr<Store::Iterator> Store::NewIterator(Cf cf) {
  if (rep_->cf(cf) == nullptr) {  // see Open: read-only, without the family
    return std::make_unique<IteratorImpl>(rocksdb::NewEmptyIterator());
  }
  rocksdb::ReadOptions ro;
  ro.fill_cache = true;
  if (!rep_->skipped_files.empty()) {  // salvage: damaged SST files are left out
    ro.table_filter = [this](const rocksdb::TableProperties& t) {
      return rep_->skipped_files.count(t.orig_file_number) == 0;
    };
  }
  return std::make_unique<IteratorImpl>(rep_->db->NewIterator(ro, rep_->cf(cf)));
}

// A flush switches memtables and so starts a new log, appending first to the current one:
// after a failed log write, only a recovery may do that (outside one, RocksDB 7.8 takes the
// failed log's error for fatal). So writers are held out, and a pending failure is recovered
// from first or the flush refused.
Status Store::Flush() {
  std::unique_lock writers(rep_->write_mu);
  if (rep_->needs_reopen) return NeedsReopenError();
  if (rep_->write_failed && !ResumeLocked()) {
    if (rep_->needs_reopen) return NeedsReopenError();
    return Status::IOError("flushing: the database is recovering from a failed write and the "
                           "fault has not cleared; nothing was flushed, try again");
  }
  rocksdb::FlushOptions fo;
  fo.wait = true;
  Status s = FromRocks(rep_->db->Flush(fo, rep_->cfs), "flushing");
  rep_->memtables_empty = true;
  return s;
}

Status Store::CompactRange(Cf cf, std::string_view begin, std::string_view end) {
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  rocksdb::Slice b = S(begin), e = S(end);
  return FromRocks(rep_->db->CompactRange(co, rep_->cf(cf), &b, &e), "compacting");
}

Status Store::CompactFamily(Cf cf) {
  rocksdb::CompactRangeOptions co;
  co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  return FromRocks(rep_->db->CompactRange(co, rep_->cf(cf), nullptr, nullptr), "compacting");
}

Status Store::CompactAll() {
  for (Cf cf : {Cf::kMeta, Cf::kHead, Cf::kBlocks, Cf::kGroups, Cf::kFiles}) {
    SENSORDB_RETURN_IF_ERROR(CompactFamily(cf));
  }
  return Status::Ok();
}

void Store::SkipFiles(std::set<uint64_t> file_numbers) {
  rep_->skipped_files = std::move(file_numbers);
}

Status Store::VerifyFiles(const std::function<void(const Status&, uint64_t)>& on_damage) {
  std::vector<rocksdb::LiveFileMetaData> files;
  rep_->db->GetLiveFilesMetaData(&files);
  rocksdb::Options o;
  o.env = rep_->db->GetEnv();
  for (const auto& f : files) {
    const std::string path = f.db_path + f.name;
    rocksdb::SstFileReader reader(o);
    rocksdb::Status s = reader.Open(path);
    if (s.ok()) s = reader.VerifyChecksum();
    if (!s.ok()) {
      on_damage(FromRocks(s, "SST file " + path + " (column family " + f.column_family_name +
                                 ", level " + std::to_string(f.level) + ", keys " +
                                 std::to_string(f.num_entries) + ")"),
                f.file_number);
    }
  }
  return Status::Ok();
}

uint64_t Store::LiveBytes() {
  uint64_t total = 0, v = 0;
  for (auto* h : rep_->cfs) {
    if (h != nullptr && rep_->db->GetIntProperty(h, rocksdb::DB::Properties::kLiveSstFilesSize, &v))
      total += v;
  }
  return total;
}

}  // namespace sensordb::store
