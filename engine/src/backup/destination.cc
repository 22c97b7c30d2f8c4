#include "backup/destination.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sensordb::backup {

namespace fs = std::filesystem;

LocalDirDestination::LocalDirDestination(std::string dir) : dir_(std::move(dir)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

Status LocalDirDestination::Prepare(bool create) {
  std::error_code ec;
  if (dir_.empty()) return Status::InvalidArgument("no backup directory given (--backup-dir)");
  if (fs::is_directory(dir_, ec)) {
    if (create && ::access(dir_.c_str(), W_OK | X_OK) != 0) {
      return Status::PermissionDenied("cannot write to backup directory " + dir_ + ": " +
                                      std::strerror(errno));
    }
    return Status::Ok();
  }
  if (fs::exists(dir_, ec)) {
    return Status::InvalidArgument("backup directory " + dir_ + " is not a directory");
  }
  if (!create) return Status::NotFound("backup directory " + dir_ + " does not exist");
  const fs::path parent = fs::absolute(dir_, ec).parent_path();
  if (!fs::is_directory(parent, ec)) {
    return Status::NotFound("cannot create backup directory " + dir_ + ": its parent " +
                            parent.string() + " does not exist (is the backup disk mounted?)");
  }
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    const std::string m = "cannot create backup directory " + dir_ + ": " + std::strerror(errno);
    return errno == EACCES ? Status::PermissionDenied(m) : Status::IOError(m);
  }
  return Status::Ok();
}

}  // namespace sensordb::backup
