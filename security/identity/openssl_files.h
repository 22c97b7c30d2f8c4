// What the two certificate makers (server/tls/dev_ca.cc: the development CA and server
// certificate of `sensordbd init`; identity/device_ca.cc: project device CAs and device keys)
// share: the
// OpenSSL error queue as text, and files created exclusively with a mode, then synced. Inline
// functions, thread-safe (the error queue is per thread).
#pragma once

#include <fcntl.h>
#include <openssl/err.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb::tls_files {

struct FileClose {
  void operator()(FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileClose>;

// `what`, then the OpenSSL error queue (emptied).
inline std::string OpenSslError(std::string_view what) {
  std::string out(what);
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += ": ";
    out += buf;
  }
  return out;
}

// Creates `path` with `mode` (never narrower than the umask makes it, never wider); an existing
// file is an error, never overwritten.
inline Result<FilePtr> CreateExclusive(const std::string& path, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return Err(Status::AlreadyExists("cannot create " + path + ": " + std::strerror(errno) +
                                     " (it is never overwritten)"));
  }
  ::fchmod(fd, mode);  // the umask may have narrowed it; never widen beyond `mode`
  FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    ::close(fd);
    return Err(Status::IOError("fdopen " + path));
  }
  return FilePtr(f);
}

// Flushes and fsyncs `f` (written as `path`).
inline Status SyncFile(FILE* f, const std::string& path) {
  if (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0) {
    return Status::IOError("cannot write " + path);
  }
  return Status::Ok();
}

}  // namespace sensordb::tls_files
