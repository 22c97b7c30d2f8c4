#include "store/backup_engine.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/utilities/backup_engine.h>

#include <algorithm>
#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>

namespace sensordb::store {
namespace {

// Keeps what RocksDB logs about backups it refuses to load ("Backup 3 corrupted -- ..."): the
// only place where it says which file is wrong. Other lines are dropped. Thread-safe.
class CorruptionLog final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[4096];
    std::vsnprintf(line, sizeof line, format, ap);
    // The line starts with "[file:line] " in most builds.
    static const std::regex kCorrupted(R"(Backup (\d+) corrupted -- (.*))");
    std::cmatch m;
    if (!std::regex_search(line, m, kCorrupted)) return;
    std::lock_guard lock(mu_);
    reasons_[static_cast<uint32_t>(std::stoul(m[1].str()))] = m[2].str();
  }
  std::string ReasonFor(uint32_t id) const {
    std::lock_guard lock(mu_);
    auto it = reasons_.find(id);
    return it == reasons_.end() ? std::string() : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<uint32_t, std::string> reasons_;  // GUARDED_BY(mu_)
};

// RocksDB names a damaged file by its absolute path somewhere in its message, in words that
// differ between checks. This says it as "<file relative to the backup dir>: <what is wrong>
// (<RocksDB's words>)", what is wrong being "missing", "size mismatch" or "checksum mismatch".
std::string DescribeDamage(const std::string& backup_dir, std::string message, bool not_found) {
  const std::string prefix = backup_dir + "/";
  for (size_t at; (at = message.find(prefix)) != std::string::npos;) message.erase(at, prefix.size());
  static const std::regex kFile(R"((shared_checksum|shared|private|meta)/[^\s:,]+)");
  std::smatch file;
  const bool named = std::regex_search(message, file, kFile);
  // Classified on RocksDB's words without file names ("shared_checksum/" says nothing).
  std::string words = std::regex_replace(message, kFile, "");
  std::transform(words.begin(), words.end(), words.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string what = "damaged";
  if (not_found || words.find("not found") != std::string::npos ||
      words.find("missing") != std::string::npos ||
      words.find("no such file") != std::string::npos) {
    what = "missing";
  } else if (words.find("checksum") != std::string::npos) {
    what = "checksum mismatch";
  } else if (words.find("size") != std::string::npos) {
    what = "size mismatch";
  }
  if (!named) return what + " (" + message + ")";
  return file.str() + ": " + what + " (" + message + ")";
}

// What RocksDB's VerifyBackup does not see: a missing file is found, but a size is compared
// only with the size found when the engine was opened. A table file's name records its size
// ("shared_checksum/000012_s<session>_1053.sst"); private files have only a checksum.
std::string CheckPresenceAndSize(const std::string& backup_dir,
                                 const std::vector<rocksdb::BackupFileInfo>& files) {
  static const std::regex kSizeInName(R"(_(\d+)\.sst$)");
  for (const auto& f : files) {
    // relative_filename is relative to the backup directory ("shared_checksum/...sst").
    const std::string& name = f.relative_filename;
    const std::filesystem::path path = std::filesystem::path(backup_dir) / name;
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path, ec);
    if (ec) return name + ": missing (" + ec.message() + ")";
    std::smatch m;
    if (name.starts_with("shared_checksum/") && std::regex_search(name, m, kSizeInName) &&
        m[1].str() != std::to_string(size)) {
      return name + ": size mismatch (" + std::to_string(size) + " bytes, its name records " +
             m[1].str() + ")";
    }
  }
  return {};
}

rocksdb::BackupEngineOptions EngineOptions(const std::string& backup_dir, rocksdb::Logger* log) {
  rocksdb::BackupEngineOptions o(backup_dir);
  o.share_table_files = true;
  o.share_files_with_checksum = true;
  o.sync = true;
  o.max_background_operations = 2;
  o.info_log = log;
  return o;
}

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
  std::shared_ptr<CorruptionLog> log;  // outlives `engine`, which logs to it
  std::unique_ptr<rocksdb::BackupEngine> engine;
};

BackupEngine::BackupEngine(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
BackupEngine::~BackupEngine() = default;

Result<std::unique_ptr<BackupEngine>> BackupEngine::Open(const std::string& backup_dir) {
  auto rep = std::make_unique<Rep>();
  rep->dir = backup_dir;
  rep->log = std::make_shared<CorruptionLog>();
  rocksdb::BackupEngine* raw = nullptr;
  const rocksdb::IOStatus s = rocksdb::BackupEngine::Open(
      EngineOptions(backup_dir, rep->log.get()), rocksdb::Env::Default(), &raw);
  if (!s.ok()) return Err(FromRocks(s, "opening backup directory " + backup_dir));
  rep->engine.reset(raw);
  return std::unique_ptr<BackupEngine>(new BackupEngine(std::move(rep)));
}

Result<uint32_t> BackupEngine::Create(Store& store, const std::string& app_metadata,
                                      const std::function<void()>& progress) {
  // Flushed by the store first: it recovers from a pending failed write before, or refuses.
  // The backup's own flush then covers only what was written since.
  SENSORDB_RETURN_IF_ERROR(store.Flush());
  rocksdb::CreateBackupOptions co;
  co.flush_before_backup = true;
  if (progress) co.progress_callback = progress;
  rocksdb::BackupID id = 0;
  const rocksdb::IOStatus s =
      rep_->engine->CreateNewBackupWithMetadata(co, store.rocks(), app_metadata, &id);
  store.NoteMemtablesEmpty();  // the flush before the backup emptied them
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

std::vector<BackupEngine::CorruptBackup> BackupEngine::Corrupted() {
  std::vector<rocksdb::BackupID> ids;
  rep_->engine->GetCorruptedBackups(&ids);
  std::vector<CorruptBackup> out;
  for (rocksdb::BackupID id : ids) {
    const std::string reason = rep_->log->ReasonFor(id);
    out.push_back({id, reason.empty()
                           ? "its meta file is damaged, or a file it lists is missing"
                           : DescribeDamage(rep_->dir, reason, /*not_found=*/false)});
  }
  return out;
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
  rocksdb::BackupInfo info;
  SENSORDB_RETURN_IF_ERROR(FromRocks(rep_->engine->GetBackupInfo(id, &info, true),
                                     "reading backup " + std::to_string(id)));
  const std::string bad = CheckPresenceAndSize(rep_->dir, info.file_details);
  if (!bad.empty()) {
    return Status::Corruption("backup " + std::to_string(id) + " in " + rep_->dir +
                              " is damaged: " + bad);
  }
  const rocksdb::IOStatus s = rep_->engine->VerifyBackup(id, /*verify_with_checksum=*/true);
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound() || s.IsCorruption() || s.IsInvalidArgument()) {
    return Status::Corruption("backup " + std::to_string(id) + " in " + rep_->dir +
                              " is damaged: " + DescribeDamage(rep_->dir, s.ToString(),
                                                               s.IsNotFound()));
  }
  return FromRocks(s, "verifying backup " + std::to_string(id));
}

Status BackupEngine::Restore(uint32_t id, const std::string& target_dir) {
  // An engine of its own for each restore: RocksDB's restore returns at the first file that
  // fails while its copy threads may still be writing others into target_dir. Destroying the
  // engine joins those threads, so nothing writes there once this returns.
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  rocksdb::IOStatus s = rocksdb::BackupEngineReadOnly::Open(
      EngineOptions(rep_->dir, rep_->log.get()), rocksdb::Env::Default(), &raw);
  if (!s.ok()) return FromRocks(s, "opening backup directory " + rep_->dir);
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  s = engine->RestoreDBFromBackup(rocksdb::RestoreOptions(), id, target_dir, target_dir);
  engine.reset();
  if (s.ok()) return Status::Ok();
  const std::string what = "restoring backup " + std::to_string(id) + " into " + target_dir;
  if (s.IsNotFound() || s.IsCorruption()) {
    return Status::Corruption(what + ": the backup is damaged: " +
                              DescribeDamage(rep_->dir, s.ToString(), s.IsNotFound()));
  }
  return FromRocks(s, what);
}

}  // namespace sensordb::store
