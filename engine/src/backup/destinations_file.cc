#include "backup/destinations_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "backup/destination.h"

namespace sensordb::backup {
namespace {

Status WriteAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  const bool ok = ::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()) &&
                  ::fsync(fd) == 0;
  const std::string err = std::strerror(errno);
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError("cannot write " + path + ": " + err);
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

Status PurgeDroppedKeys(const std::string& data_dir, const crypto::Keyring& keyring) {
  SENSORDB_ASSIGN_OR_RETURN(const auto dests, ReadDestinations(data_dir));
  std::string failed;
  for (const auto& d : dests) {
    std::error_code ec;
    if (!std::filesystem::exists(d, ec)) {
      failed += (failed.empty() ? "" : "; ") + d + ": not reachable (is the disk mounted?)";
      continue;
    }
    const Status s = keyring.PurgeDroppedFrom(LocalDirDestination(d).KeyringDir());
    if (!s.ok()) failed += (failed.empty() ? "" : "; ") + d + ": " + s.message();
  }
  if (failed.empty()) return Status::Ok();
  return Status::IOError("could not purge destroyed keys from backup keyrings (retried at the "
                         "next open and the next backup): " + failed);
}

}  // namespace sensordb::backup
