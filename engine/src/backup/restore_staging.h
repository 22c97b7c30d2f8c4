// RestoreStaging: where a restore writes until it is complete, so that a failed restore leaves
// the target exactly as it was (absent, or an empty directory) and can simply be retried.
// A target that does not exist is staged in a new directory beside it and renamed into place;
// an existing empty directory (perhaps a mount point, which no rename can replace) is staged
// in a directory inside it whose entries are moved up, CURRENT last, so that an interrupted
// move never leaves a directory that opens as a database. Only directories this class created
// are ever removed. Not thread-safe; movable.
#pragma once

#include <string>

#include "sensordb/status.h"

namespace sensordb::backup {

class RestoreStaging {
 public:
  // Checks the target (new or empty; a non-empty one is FailedPrecondition and untouched),
  // creates its missing parents and the staging directory.
  static Result<RestoreStaging> Create(const std::string& target);
  RestoreStaging(RestoreStaging&& other) noexcept;
  RestoreStaging& operator=(RestoreStaging&&) = delete;
  ~RestoreStaging();  // removes the staging directory unless committed

  // The directory to restore into.
  const std::string& dir() const { return staging_; }
  // Publishes the staged files as the target, durably (fsync of the directories).
  Status Commit();

 private:
  RestoreStaging(std::string target, std::string staging, bool inside)
      : target_(std::move(target)), staging_(std::move(staging)), inside_(inside) {}
  void Abandon();

  std::string target_;
  std::string staging_;  // empty once committed or moved from
  bool inside_ = false;  // staged inside an existing empty target
};

}  // namespace sensordb::backup
