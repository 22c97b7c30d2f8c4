// DirLock: an exclusive advisory lock (flock) on DIR/LOCK, held while the object lives, so two
// processes — or two objects in one process — never work on the same directory at once.
// Not thread-safe; movable.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "sensordb/status.h"

namespace sensordb {

class DirLock {
 public:
  // `what` names the directory's role in the error ("backup directory").
  static Result<DirLock> Acquire(const std::string& dir, const std::string& what) {
    const std::string path = dir + "/LOCK";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      return Err(Status::IOError("cannot open " + path + ": " + std::strerror(errno)));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int e = errno;
      ::close(fd);
      if (e == EWOULDBLOCK) {
        return Err(Status::FailedPrecondition(
            what + " " + dir + " is in use by another backup, verify, restore or prune; "
            "retry when it has finished"));
      }
      return Err(Status::IOError("cannot lock " + path + ": " + std::strerror(e)));
    }
    return DirLock(fd);
  }

  DirLock(DirLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  DirLock& operator=(DirLock&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
  }

 private:
  explicit DirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace sensordb
