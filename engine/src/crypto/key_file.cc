// The public key-file helpers of sensordb/keys.h.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/keyring.h"
#include "crypto/secret_key.h"
#include "sensordb/keys.h"

namespace sensordb {

Status CreateKeyFile(std::string_view path_view) {
  SENSORDB_RETURN_IF_ERROR(crypto::InitSodium());
  const std::string path(path_view);
  // O_EXCL: never overwrite a key; 0600 from the start, not chmod'ed afterwards.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::AlreadyExists("key file " + path + " already exists");
    return Status::IOError("cannot create key file " + path + ": " + std::strerror(errno));
  }
  SENSORDB_ASSIGN_OR_RETURN(crypto::SecretKey key, crypto::SecretKey::Random());
  const bool ok = ::write(fd, key.data(), crypto::SecretKey::kSize) ==
                      ssize_t(crypto::SecretKey::kSize) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status::IOError("cannot write key file " + path);
  }
  return Status::Ok();
}

Result<std::string> KeyFingerprint(const KeySource& source, std::string_view data_dir) {
  return crypto::Keyring::FingerprintOf(std::string(data_dir), source);
}

}  // namespace sensordb
