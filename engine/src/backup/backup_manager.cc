#include "backup/backup_manager.h"

#include <charconv>
#include <filesystem>
#include <map>
#include <set>

#include "backup/restore_staging.h"
#include "sensordb/clock.h"
#include "sensordb/db.h"

namespace sensordb::backup {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kProgressStepBytes = 4u << 20;  // RocksDB's callback_trigger_interval_size
constexpr size_t kSampleSeriesPerProject = 3;

// Sizes new/shared bytes: a file is new in the first backup (lowest id) that references it.
std::vector<BackupInfo> ToInfos(const std::vector<store::StoredBackup>& stored) {
  std::set<std::string> seen;
  std::vector<BackupInfo> out;
  for (const auto& s : stored) {
    BackupInfo b;
    b.id = s.id;
    b.size_bytes = s.size_bytes;
    b.files = s.files;
    for (const auto& f : s.file_details) {
      (seen.insert(f.name).second ? b.new_bytes : b.shared_bytes) += f.size_bytes;
    }
    BackupMetadata m;
    if (BackupMetadata::Decode(s.app_metadata, &m)) {
      b.created_unix_ns = m.created_unix_ns;
      b.format_version = m.format_version;
      b.encrypted = m.encrypted;
      b.label = m.label;
      if (m.format_version > kStorageFormatVersion) {
        b.problem = "written by a newer sensordb (format version " +
                    std::to_string(m.format_version) + ")";
      }
    } else {
      b.created_unix_ns = s.timestamp_unix_s * kNanosPerSecond;
      b.problem = "not a sensordb backup (its metadata is missing or unreadable)";
    }
    out.push_back(std::move(b));
  }
  return out;
}

// Removes `dir` and everything in it. Only for directories this code made (the verify scratch).
void RemoveOwnDirectory(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

Options RestoredOptions(const BackupInfo& info, const KeySource& key) {
  Options o;
  o.create_if_missing = false;
  o.maintenance_interval_ms = 0;
  o.key = key;
  o.insecure_plaintext_for_testing = !info.encrypted;
  if (!info.encrypted) o.key = KeySource{};
  return o;
}

}  // namespace

std::string BackupMetadata::Encode() const {
  return "sensordb_backup=1\ncreated_unix_ns=" + std::to_string(created_unix_ns) +
         "\nformat_version=" + std::to_string(format_version) +
         "\nencrypted=" + (encrypted ? "1" : "0") + "\nlabel=" + label + "\n";
}

bool BackupMetadata::Decode(const std::string& text, BackupMetadata* out) {
  std::map<std::string, std::string> kv;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    const size_t eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
    pos = end + 1;
  }
  if (kv["sensordb_backup"] != "1") return false;
  const std::string& created = kv["created_unix_ns"];
  const std::string& version = kv["format_version"];
  if (std::from_chars(created.data(), created.data() + created.size(), out->created_unix_ns).ec !=
          std::errc() ||
      std::from_chars(version.data(), version.data() + version.size(), out->format_version).ec !=
          std::errc()) {
    return false;
  }
  out->encrypted = kv["encrypted"] != "0";
  out->label = kv["label"];
  return true;
}

Status ValidateLabel(const std::string& label) {
  if (label.size() > 128) return Status::InvalidArgument("backup label is longer than 128 bytes");
  for (unsigned char c : label) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("backup label contains a control character");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<BackupManager>> BackupManager::Open(
    std::unique_ptr<BackupDestination> dest, bool create) {
  SENSORDB_RETURN_IF_ERROR(dest->Prepare(create));
  // RocksDB's backup engine needs its callers serialised: a prune collecting garbage while a
  // backup reuses shared files would leave the new backup pointing at deleted files.
  SENSORDB_ASSIGN_OR_RETURN(DirLock lock, DirLock::Acquire(dest->DataDir(), "backup directory"));
  SENSORDB_ASSIGN_OR_RETURN(auto engine, store::BackupEngine::Open(dest->DataDir()));
  return std::unique_ptr<BackupManager>(
      new BackupManager(std::move(lock), std::move(dest), std::move(engine)));
}

Result<std::unique_ptr<BackupManager>> BackupManager::OpenLocal(const std::string& dir,
                                                                bool create) {
  return Open(std::make_unique<LocalDirDestination>(dir), create);
}

Result<BackupInfo> BackupManager::Create(store::Store& store, const crypto::Keyring* keyring,
                                         const BackupOptions& options, uint64_t live_bytes) {
  SENSORDB_RETURN_IF_ERROR(ValidateLabel(options.label));
  BackupMetadata meta;
  meta.created_unix_ns =  // the DB fills it from Options::clock
      options.created_unix_ns ? options.created_unix_ns : Clock::System().NowUnixNs();
  meta.encrypted = keyring != nullptr;
  meta.label = options.label;
  // Every key that exists when the copy starts goes to the destination keyring first, so the
  // backup never holds data whose key the destination lacks; the second merge adds keys made
  // while copying (a project created meanwhile).
  if (keyring) SENSORDB_RETURN_IF_ERROR(keyring->MergeInto(dest_->KeyringDir()));
  uint64_t copied = 0;
  std::function<void()> on_step;
  if (options.progress) {
    on_step = [&] {
      copied += kProgressStepBytes;
      options.progress(copied, std::max(copied, live_bytes));
    };
  }
  SENSORDB_ASSIGN_OR_RETURN(const uint32_t id, engine_->Create(store, meta.Encode(), on_step));
  if (keyring) {
    Status s = keyring->MergeInto(dest_->KeyringDir());
    if (!s.ok()) {
      engine_->Delete(id).IgnoreError();
      return Err(s);
    }
  }
  SENSORDB_RETURN_IF_ERROR(dest_->Commit());
  if (options.progress) options.progress(live_bytes, live_bytes);
  return Get(id);
}

Result<std::vector<BackupInfo>> BackupManager::List() {
  SENSORDB_ASSIGN_OR_RETURN(auto stored, engine_->List());
  std::vector<BackupInfo> out = ToInfos(stored);
  for (auto& corrupt : engine_->Corrupted()) {
    BackupInfo b;
    b.id = corrupt.id;
    b.problem = std::move(corrupt.problem);
    out.push_back(std::move(b));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<BackupInfo> BackupManager::Get(uint32_t id) {
  SENSORDB_ASSIGN_OR_RETURN(auto all, List());
  for (auto& b : all) {
    if (b.id == id) return std::move(b);
  }
  return Err(Status::NotFound("backup " + std::to_string(id) + " does not exist in " +
                              dest_->Describe() + " (run `sensordb backup list`)"));
}

Status BackupManager::CheckKeyringOpens(const BackupInfo& info, const KeySource& key) {
  if (!info.encrypted) return Status::Ok();
  const std::string dir = dest_->KeyringDir();
  if (!crypto::Keyring::Exists(dir)) {
    return Status::Corruption("the keyring of " + dest_->Describe() + " (" + dir +
                              "/KEYRING) is missing: the backups cannot be decrypted");
  }
  auto keyring = crypto::Keyring::Open(dir, key, /*create=*/false);
  if (!keyring) {
    const Status& e = keyring.error();
    return Status(e.code(), "cannot open the keyring of " + dest_->Describe() + ": " +
                                e.message());
  }
  return Status::Ok();
}

Status BackupManager::RestoreFiles(const BackupInfo& info, const std::string& target_dir,
                                   const KeySource& key) {
  SENSORDB_RETURN_IF_ERROR(engine_->Restore(info.id, target_dir));
  if (info.encrypted) {
    std::error_code ec;
    fs::copy_file(dest_->KeyringDir() + "/" + crypto::kKeyringFile,
                  target_dir + "/" + crypto::kKeyringFile, ec);
    if (ec) return Status::IOError("cannot copy the backup keyring: " + ec.message());
  }
  // Opening finishes the restore: keys of projects the backup has no records of are destroyed
  // in the restored keyring, and projects whose keys were destroyed are deleted.
  auto db = DB::Open(RestoredOptions(info, key), target_dir);
  if (!db) {
    return Status(db.error().code(), "the restored backup " + std::to_string(info.id) +
                                         " does not open: " + db.error().message());
  }
  return Status::Ok();
}

Status BackupManager::Restore(uint32_t id, const std::string& target_dir, const KeySource& key,
                              const ProgressCallback& progress) {
  SENSORDB_ASSIGN_OR_RETURN(const BackupInfo info, Get(id));
  if (!info.problem.empty()) {
    return Status::Corruption("backup " + std::to_string(id) + " cannot be restored: " +
                              info.problem);
  }
  SENSORDB_RETURN_IF_ERROR(CheckKeyringOpens(info, key));  // before anything is written
  // Every file's size and checksum first, so that damage is named as the backup's file.
  SENSORDB_RETURN_IF_ERROR(engine_->Verify(id));
  // Nothing is written to the target until the restore is complete and opens: a failure
  // leaves it as it was, and the restore can be retried.
  SENSORDB_ASSIGN_OR_RETURN(backup::RestoreStaging staging, RestoreStaging::Create(target_dir));
  if (progress) progress(0, info.size_bytes);
  SENSORDB_RETURN_IF_ERROR(RestoreFiles(info, staging.dir(), key));
  SENSORDB_RETURN_IF_ERROR(staging.Commit());
  if (progress) progress(info.size_bytes, info.size_bytes);
  return Status::Ok();
}

Result<BackupVerifyReport> BackupManager::SampleRestored(const std::string& dir,
                                                         const BackupInfo& info,
                                                         const KeySource& key) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, DB::Open(RestoredOptions(info, key), dir));
  BackupVerifyReport r;
  r.id = info.id;
  SENSORDB_ASSIGN_OR_RETURN(const auto projects, db->ListProjects());
  r.projects = projects.size();
  for (const auto& p : projects) {
    SENSORDB_RETURN_IF_ERROR(db->Aggregate(p.name, {}, [&](const AggregateRow& row) {
      r.points_counted += row.count;
      return true;
    }));
    SENSORDB_ASSIGN_OR_RETURN(const auto channels, db->ListChannels(p.name, {}));
    for (size_t i = 0; i < channels.size() && i < kSampleSeriesPerProject; ++i) {
      ++r.series_read;
      SENSORDB_RETURN_IF_ERROR(db->QueryRaw(p.name, {channels[i].device, channels[i].name}, {},
                                            [&](const SeriesRef&, const PointRun& run) {
                                              r.points_read += run.size();
                                              return true;
                                            }));
    }
  }
  return r;
}

Result<BackupVerifyReport> BackupManager::Verify(uint32_t id, const KeySource& key,
                                                 const ProgressCallback& progress) {
  SENSORDB_ASSIGN_OR_RETURN(const BackupInfo info, Get(id));
  if (!info.problem.empty()) {
    return Err(Status::Corruption("backup " + std::to_string(id) + " is damaged: " +
                                  info.problem));
  }
  if (progress) progress(0, 3);
  SENSORDB_RETURN_IF_ERROR(engine_->Verify(id));
  if (progress) progress(1, 3);
  const std::string scratch = dest_->ScratchDir();
  RemoveOwnDirectory(scratch);  // left by an interrupted verify
  std::error_code ec;
  if (!fs::create_directory(scratch, ec)) {
    return Err(Status::IOError("cannot create " + scratch + ": " + ec.message()));
  }
  Status s = CheckKeyringOpens(info, key);
  if (s.ok()) s = RestoreFiles(info, scratch, key);
  if (progress) progress(2, 3);
  Result<BackupVerifyReport> r = s.ok() ? SampleRestored(scratch, info, key) : Err(s);
  RemoveOwnDirectory(scratch);
  if (!r) {
    return Err(Status(r.error().code(), "backup " + std::to_string(id) +
                                            " failed verification: " + r.error().message()));
  }
  r->files_checked = info.files;
  if (progress) progress(3, 3);
  return r;
}

Result<std::vector<uint32_t>> BackupManager::Prune(const BackupRetention& policy,
                                                   int64_t now_unix_ns) {
  SENSORDB_ASSIGN_OR_RETURN(const auto all, List());
  const std::vector<uint32_t> doomed = BackupsToDelete(all, policy, now_unix_ns);
  for (uint32_t id : doomed) SENSORDB_RETURN_IF_ERROR(engine_->Delete(id));
  SENSORDB_RETURN_IF_ERROR(engine_->GarbageCollect());
  SENSORDB_RETURN_IF_ERROR(dest_->Commit());
  return doomed;
}

Result<uint64_t> BackupManager::TotalBytes() {
  SENSORDB_ASSIGN_OR_RETURN(auto stored, engine_->List());
  std::map<std::string, uint64_t> files;
  for (const auto& s : stored) {
    for (const auto& f : s.file_details) files[f.name] = f.size_bytes;
  }
  uint64_t total = 0;
  for (const auto& [name, size] : files) total += size;
  return total;
}

}  // namespace sensordb::backup
