// FileError: the Status of a failed file call from its errno — kNoSpace for a full disk or an
// exhausted quota (a server condition the caller retries after freeing space), kIOError
// otherwise. The message is `what` and the system's text. Thread-safe (pure).
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

#include "sensordb/status.h"

namespace sensordb {

inline Status FileError(int err, const std::string& what) {
  std::string m = what + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Status::NoSpace(std::move(m));
  return Status::IOError(std::move(m));
}

}  // namespace sensordb
