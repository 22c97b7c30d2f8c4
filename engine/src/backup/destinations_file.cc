#include "backup/destinations_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "backup/destination.h"
#include "crypto/secret_key.h"
#include "util/errno_status.h"

namespace sensordb::backup {
namespace {

// Replaces `path` with `bytes` durably: temp file, full write, fsync, rename, fsync of the
// directory (a registration lost in a power cut would leave a backup keyring never purged).
Status WriteAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  bool ok = true;
  while (ok && done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += size_t(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return FileError(ok ? errno : err, "cannot write " + path);
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<std::string>> ReadDestinations(const std::string& data_dir) {
  const std::string path = data_dir + "/" + kDestinationsFile;
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return out;
  std::ifstream in(path);
  if (!in) return Err(Status::IOError("cannot read " + path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

Status RegisterDestination(const std::string& data_dir, const std::string& backup_dir) {
  std::error_code ec;
  const std::string abs = std::filesystem::absolute(backup_dir, ec).lexically_normal().string();
  if (ec) return Status::InvalidArgument("bad backup directory " + backup_dir);
  SENSORDB_ASSIGN_OR_RETURN(auto dests, ReadDestinations(data_dir));
  if (std::find(dests.begin(), dests.end(), abs) != dests.end()) return Status::Ok();
  dests.push_back(abs);
  std::string text;
  for (const auto& d : dests) text += d + "\n";
  return WriteAtomically(data_dir + "/" + kDestinationsFile, text);
}

namespace {

Result<std::optional<std::string>> ReadLine(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<std::string>();
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return Err(Status::IOError("cannot read " + path));
  return std::optional<std::string>(line);
}

}  // namespace

Result<std::string> DatabaseIdentity(const std::string& data_dir) {
  const std::string path = data_dir + "/IDENTITY";
  SENSORDB_ASSIGN_OR_RETURN(auto id, ReadLine(path));
  if (id) return *id;
  uint8_t raw[16];
  crypto::RandomBytes(raw);
  std::string hex;
  for (unsigned char c : raw) hex += "0123456789abcdef"[c >> 4], hex += "0123456789abcdef"[c & 15];
  SENSORDB_RETURN_IF_ERROR(WriteAtomically(path, hex + "\n"));
  return hex;
}

Status ClaimDestination(const std::string& keyring_dir, const std::string& identity) {
  std::error_code ec;
  std::filesystem::create_directories(keyring_dir, ec);
  if (ec) return Status::IOError("cannot create " + keyring_dir + ": " + ec.message());
  const std::string path = keyring_dir + "/OWNER";
  SENSORDB_ASSIGN_OR_RETURN(auto owner, ReadLine(path));
  if (!owner) return WriteAtomically(path, identity + "\n");
  if (*owner == identity) return Status::Ok();
  return Status::FailedPrecondition(
      "backup directory " + std::filesystem::path(keyring_dir).parent_path().string() +
      " belongs to another database (" + *owner + ", this one is " + identity +
      "); a database restored from a backup must back up into a new directory");
}

Result<std::vector<uint32_t>> ReadDroppedProjects(const std::string& data_dir) {
  const std::string path = data_dir + "/" + kDroppedFile;
  std::vector<uint32_t> out;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return out;
  std::ifstream in(path);
  if (!in) return Err(Status::IOError("cannot read " + path));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    char* end = nullptr;
    const unsigned long v = std::strtoul(line.c_str(), &end, 10);
    if (*end != '\0' || v > UINT32_MAX) return Err(Status::Corruption(path + " is malformed"));
    out.push_back(uint32_t(v));
  }
  return out;
}

Status RecordDroppedProject(const std::string& data_dir, uint32_t project) {
  SENSORDB_ASSIGN_OR_RETURN(auto ids, ReadDroppedProjects(data_dir));
  if (std::find(ids.begin(), ids.end(), project) != ids.end()) return Status::Ok();
  ids.push_back(project);
  std::string text;
  for (uint32_t id : ids) text += std::to_string(id) + "\n";
  return WriteAtomically(data_dir + "/" + kDroppedFile, text);
}

Result<std::vector<uint32_t>> ReadConfirmedDrops(const std::string& data_dir,
                                                 const crypto::Keyring& keyring) {
  SENSORDB_ASSIGN_OR_RETURN(auto dropped, ReadDroppedProjects(data_dir));
  std::erase_if(dropped, [&](uint32_t p) { return !keyring.WasDropped(p); });
  return dropped;
}

Status PurgeDroppedKeys(const std::string& data_dir, const crypto::Keyring& keyring) {
  SENSORDB_ASSIGN_OR_RETURN(const auto dests, ReadDestinations(data_dir));
  SENSORDB_ASSIGN_OR_RETURN(const auto dropped, ReadConfirmedDrops(data_dir, keyring));
  if (dests.empty() || dropped.empty()) return Status::Ok();
  std::string failed;
  for (const auto& d : dests) {
    std::error_code ec;
    if (!std::filesystem::exists(d, ec)) {
      failed += (failed.empty() ? "" : "; ") + d + ": not reachable (is the disk mounted?)";
      continue;
    }
    const LocalDirDestination dest(d);
    // An empty mount point exists too: without its keyring the destination is not reachable,
    // and a drop must not count it as purged.
    if (!crypto::Keyring::Exists(dest.KeyringDir())) {
      failed += (failed.empty() ? "" : "; ") + d + ": no keyring there (is the disk mounted?)";
      continue;
    }
    Status s = keyring.PurgeDroppedFrom(dest.KeyringDir(), dropped);
    // A verify interrupted midway may have left a restored copy with its own keyring.
    std::filesystem::remove_all(dest.ScratchDir(), ec);
    if (s.ok() && ec) s = Status::IOError("cannot remove " + dest.ScratchDir() + ": " + ec.message());
    if (!s.ok()) failed += (failed.empty() ? "" : "; ") + d + ": " + s.message();
  }
  if (failed.empty()) return Status::Ok();
  return Status::IOError("could not purge destroyed keys from backup keyrings (retried at the "
                         "next open and the next backup): " + failed);
}

}  // namespace sensordb::backup
