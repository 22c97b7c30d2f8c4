#include "util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sensordb {
namespace {

std::string Why() { return std::strerror(errno); }

}  // namespace

Status ReplaceFileDurably(const std::string& path, std::string_view bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + Why());
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string e = Why();
      ::close(fd);
      ::unlink(tmp.c_str());
      return Status::IOError("cannot write " + tmp + ": " + e);
    }
    done += size_t(n);
  }
  if (::fsync(fd) != 0) {
    const std::string e = Why();
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::IOError("cannot sync " + tmp + ": " + e);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string e = Why();
    ::unlink(tmp.c_str());
    return Status::IOError("cannot replace " + path + ": " + e);
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Status::IOError("cannot open " + dir + " to sync it: " + Why());
  const bool synced = ::fsync(dfd) == 0;
  const std::string e = Why();
  ::close(dfd);
  if (!synced) return Status::IOError("cannot sync " + dir + ": " + e);
  return Status::Ok();
}

Result<std::optional<std::string>> ReadWholeFile(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Err(Status::IOError("cannot open " + path + ": " + Why()));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string e = Why();
      ::close(fd);
      return Err(Status::IOError("cannot read " + path + ": " + e));
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return Err(Status::Corruption(path + " is larger than " + std::to_string(max_bytes) +
                                    " bytes"));
    }
  }
  ::close(fd);
  return std::optional<std::string>(std::move(out));
}

}  // namespace sensordb
