#include "backup/restore_staging.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace sensordb::backup {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCurrent = "CURRENT";

Status ErrnoStatus(const std::string& what, int e) {
  const std::string m = what + ": " + std::strerror(e);
  return e == EACCES || e == EPERM ? Status::PermissionDenied(m) : Status::IOError(m);
}

void SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// mkdtemp on `prefix` + "XXXXXX".
Result<std::string> MakeTempDir(const std::string& prefix) {
  std::string tmpl = prefix + "XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Err(ErrnoStatus("cannot create a staging directory " + tmpl, errno));
  }
  return tmpl;
}

}  // namespace

Result<RestoreStaging> RestoreStaging::Create(const std::string& target_in) {
  std::string target = target_in;
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  if (target.empty()) return Err(Status::InvalidArgument("no restore target directory given"));
  std::error_code ec;
  if (fs::exists(target, ec)) {
    if (!fs::is_directory(target, ec)) {
      return Err(Status::InvalidArgument("restore target " + target + " is not a directory"));
    }
    if (!fs::is_empty(target, ec)) {
      return Err(Status::FailedPrecondition(
          "restore target " + target +
          " is not empty; restore into a new or empty directory (a database is never restored "
          "over existing files)"));
    }
    SENSORDB_ASSIGN_OR_RETURN(std::string staging, MakeTempDir(target + "/.restoring-"));
    return RestoreStaging(target, std::move(staging), /*inside=*/true);
  }
  const fs::path absolute = fs::absolute(target, ec);
  const fs::path parent = absolute.parent_path();
  fs::create_directories(parent, ec);
  if (ec) {
    return Err(ErrnoStatus("cannot create " + parent.string(), ec.value()));
  }
  SENSORDB_ASSIGN_OR_RETURN(
      std::string staging,
      MakeTempDir((parent / ("." + absolute.filename().string() + ".restoring-")).string()));
  return RestoreStaging(target, std::move(staging), /*inside=*/false);
}

RestoreStaging::RestoreStaging(RestoreStaging&& other) noexcept
    : target_(std::move(other.target_)),
      staging_(std::move(other.staging_)),
      inside_(other.inside_) {
  other.staging_.clear();
}

RestoreStaging::~RestoreStaging() { Abandon(); }

void RestoreStaging::Abandon() {
  if (staging_.empty()) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);  // ours: made by mkdtemp, holding only what the restore wrote
  staging_.clear();
}

Status RestoreStaging::Commit() {
  if (!inside_) {
    // RENAME_NOREPLACE: a target someone created meanwhile is never replaced.
    if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, target_.c_str(), RENAME_NOREPLACE) !=
        0) {
      return ErrnoStatus("cannot move the restored files from " + staging_ + " to " + target_,
                         errno);
    }
    staging_.clear();
    SyncDir(target_);
    std::error_code ec;
    SyncDir(fs::absolute(target_, ec).parent_path().string());
    return Status::Ok();
  }
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(staging_, ec)) {
    names.push_back(e.path().filename().string());
  }
  if (ec) return Status::IOError("cannot list " + staging_ + ": " + ec.message());
  std::stable_partition(names.begin(), names.end(),
                        [](const std::string& n) { return n != kCurrent; });
  SyncDir(staging_);
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string from = staging_ + "/" + names[i], to = target_ + "/" + names[i];
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
      const Status s = ErrnoStatus("cannot move " + from + " to " + to, errno);
      for (size_t j = 0; j < i; ++j) fs::remove_all(target_ + "/" + names[j], ec);  // ours
      return s;
    }
  }
  SyncDir(target_);
  if (::rmdir(staging_.c_str()) == 0) staging_.clear();
  return Status::Ok();
}

}  // namespace sensordb::backup
