#include "crypto/keyring.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "sensordb/coding.h"
#include "util/errno_status.h"

namespace sensordb::crypto {
namespace {

constexpr char kMagic[8] = {'S', 'D', 'B', 'K', 'E', 'Y', 'R', '1'};
// Version 2 adds the drop records after the key entries; version 1 files are read as having none.
constexpr uint32_t kFormatVersion = 2;
constexpr uint8_t kKdfKeyFile = 1;
constexpr uint8_t kKdfArgon2id = 2;
constexpr size_t kSaltBytes = crypto_pwhash_SALTBYTES;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kWrappedBytes = SecretKey::kSize + crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kChecksumBytes = 32;
constexpr size_t kFingerprintBytes = 16;
constexpr uint32_t kMaxEntries = 1u << 20;

std::string Hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s.push_back(d[p[i] >> 4]);
    s.push_back(d[p[i] & 15]);
  }
  return s;
}

std::string Fingerprint(const SecretKey& kek) {
  static constexpr char kLabel[] = "sensordb master key fingerprint v1";
  uint8_t out[kFingerprintBytes];
  crypto_generichash(out, sizeof(out), reinterpret_cast<const uint8_t*>(kLabel), sizeof(kLabel) - 1,
                     kek.data(), SecretKey::kSize);
  return Hex(out, sizeof(out));
}

std::string WrapAd(uint32_t project, uint32_t version) {
  std::string ad = "sensordb dek v1";
  PutFixed32BE(&ad, project);
  PutFixed32BE(&ad, version);
  return ad;
}

// A drop record is an AEAD tag over nothing, bound to the project id: only the master key's
// holder can make one, and it cannot be moved to another project.
std::string DropAd(uint32_t project) {
  std::string ad = "sensordb dropped v1";
  PutFixed32BE(&ad, project);
  return ad;
}
constexpr size_t kDropTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Err(errno == ENOENT ? Status::NotFound(path + " does not exist")
                               : Status::IOError("cannot open " + path + ": " + std::strerror(errno)));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return Err(Status::IOError("cannot read " + path + ": " + std::strerror(errno)));
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return Err(Status::Corruption(path + " is larger than any keyring can be"));
    }
  }
  ::close(fd);
  return out;
}

Status WriteFileAtomically(const std::string& dir, const std::string& name,
                           const std::string& bytes) {
  const std::string tmp = dir + "/" + name + ".tmp", dst = dir + "/" + name;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return FileError(err, "cannot write " + tmp);
    }
    done += size_t(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return FileError(err, "cannot sync " + tmp);
  }
  if (::rename(tmp.c_str(), dst.c_str()) != 0) {
    return Status::IOError("cannot replace " + dst + ": " + std::strerror(errno));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Result<SecretKey> ReadKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Err(Status::NotFound("key file " + path + " does not exist (create one with `sensordb keygen " + path + "`)"));
  }
  if (!S_ISREG(st.st_mode)) return Err(Status::InvalidArgument("key file " + path + " is not a regular file"));
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", unsigned(st.st_mode & 07777));
    return Err(Status::PermissionDenied("key file " + path + " is readable by group or others (mode " +
                                        mode + "); run `chmod 600 " + path + "`"));
  }
  if (st.st_size != off_t(SecretKey::kSize)) {
    return Err(Status::InvalidArgument("key file " + path + " must hold exactly 32 bytes, it holds " +
                                       std::to_string(st.st_size)));
  }
  SENSORDB_ASSIGN_OR_RETURN(SecretKey k, SecretKey::Empty());
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Err(Status::IOError("cannot open key file " + path + ": " + std::strerror(errno)));
  const ssize_t n = ::read(fd, k.mutable_data(), SecretKey::kSize);
  ::close(fd);
  if (n != ssize_t(SecretKey::kSize)) return Err(Status::IOError("cannot read key file " + path));
  return k;
}

}  // namespace

std::string Keyring::fingerprint() const {
  std::shared_lock lock(mu_);
  return fingerprint_;
}

std::string Keyring::kdf_name() const {
  std::shared_lock lock(mu_);
  return kdf_.type == kKdfArgon2id ? "argon2id" : "key-file";
}

bool Keyring::Exists(const std::string& dir) {
  struct stat st {};
  return ::stat((dir + "/" + kKeyringFile).c_str(), &st) == 0;
}

Result<Keyring::Kdf> Keyring::NewKdf(const KeySource& source) {
  Kdf kdf;
  if (!source.key_file.empty()) return kdf;
  kdf.type = kKdfArgon2id;
  kdf.salt.resize(kSaltBytes);
  randombytes_buf(kdf.salt.data(), kSaltBytes);
  kdf.opslimit = source.kdf_opslimit;
  kdf.memlimit = source.kdf_memlimit_bytes;
  if (kdf.opslimit < crypto_pwhash_OPSLIMIT_MIN || kdf.memlimit < crypto_pwhash_MEMLIMIT_MIN) {
    return Err(Status::InvalidArgument("Argon2id cost below libsodium's minimum"));
  }
  return kdf;
}

Result<SecretKey> Keyring::DeriveKek(const KeySource& source, const Kdf& kdf) {
  SENSORDB_RETURN_IF_ERROR(InitSodium());
  const bool file = !source.key_file.empty(), pass = !source.passphrase.empty();
  if (file == pass) {
    return Err(Status::InvalidArgument(
        "give exactly one master key source: a key file or a passphrase"));
  }
  if (file != (kdf.type == kKdfKeyFile)) {
    return Err(Status::InvalidArgument(
        std::string("this database's master key comes from ") +
        (kdf.type == kKdfKeyFile ? "a key file" : "a passphrase") + ", not from " +
        (file ? "a key file" : "a passphrase")));
  }
  if (file) return ReadKeyFile(source.key_file);
  SENSORDB_ASSIGN_OR_RETURN(SecretKey k, SecretKey::Empty());
  if (crypto_pwhash(k.mutable_data(), SecretKey::kSize, source.passphrase.data(),
                    source.passphrase.size(), reinterpret_cast<const uint8_t*>(kdf.salt.data()),
                    kdf.opslimit, size_t(kdf.memlimit), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Err(Status::ResourceExhausted("Argon2id ran out of memory deriving the master key"));
  }
  return k;
}

Status Keyring::Persist(const SecretKey& kek, const Kdf& kdf, const std::string& fingerprint) {
  std::string out(kMagic, sizeof(kMagic));
  PutFixed32BE(&out, kFormatVersion);
  out.push_back(char(kdf.type));
  if (kdf.type == kKdfArgon2id) {
    out.append(kdf.salt);
    PutFixed64BE(&out, kdf.opslimit);
    PutFixed64BE(&out, kdf.memlimit);
  }
  out.append(fingerprint);  // hex, 32 characters
  uint32_t entries = 0;
  for (const auto& [p, versions] : keys_) entries += uint32_t(versions.size());
  PutFixed32BE(&out, entries);
  for (const auto& [project, versions] : keys_) {
    for (const auto& [version, dk] : versions) {
      PutFixed32BE(&out, project);
      PutFixed32BE(&out, version);
      PutFixed64BE(&out, uint64_t(dk.created_unix_s));
      uint8_t nonce[kNonceBytes];
      randombytes_buf(nonce, sizeof(nonce));
      out.append(reinterpret_cast<const char*>(nonce), sizeof(nonce));
      const std::string ad = WrapAd(project, version);
      uint8_t wrapped[kWrappedBytes];
      crypto_aead_xchacha20poly1305_ietf_encrypt(
          wrapped, nullptr, dk.key->data(), SecretKey::kSize,
          reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nullptr, nonce, kek.data());
      out.append(reinterpret_cast<const char*>(wrapped), sizeof(wrapped));
    }
  }
  PutFixed32BE(&out, uint32_t(dropped_.size()));
  for (uint32_t project : dropped_) {
    PutFixed32BE(&out, project);
    uint8_t nonce[kNonceBytes], tag[kDropTagBytes];
    randombytes_buf(nonce, sizeof(nonce));
    const std::string ad = DropAd(project);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        tag, nullptr, nullptr, 0, reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nullptr,
        nonce, kek.data());
    out.append(reinterpret_cast<const char*>(nonce), sizeof(nonce));
    out.append(reinterpret_cast<const char*>(tag), sizeof(tag));
  }
  uint8_t sum[kChecksumBytes];
  crypto_generichash(sum, sizeof(sum), reinterpret_cast<const uint8_t*>(out.data()), out.size(),
                     nullptr, 0);
  out.append(reinterpret_cast<const char*>(sum), sizeof(sum));
  return WriteFileAtomically(dir_, kKeyringFile, out);
}

Status Keyring::Load(const std::string& bytes, const KeySource& source, const SecretKey* given) {
  const std::string path = dir_ + "/" + kKeyringFile;
  const Status damaged = Status::Corruption("keyring " + path + " is damaged or truncated");
  if (bytes.size() < sizeof(kMagic) + 4 + 1 + kChecksumBytes ||
      std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption(path + " is not a sensordb keyring (bad magic or too short)");
  }
  uint8_t sum[kChecksumBytes];
  const size_t body = bytes.size() - kChecksumBytes;
  crypto_generichash(sum, sizeof(sum), reinterpret_cast<const uint8_t*>(bytes.data()), body,
                     nullptr, 0);
  if (sodium_memcmp(sum, bytes.data() + body, kChecksumBytes) != 0) return damaged;
  std::string_view in(bytes.data() + sizeof(kMagic), body - sizeof(kMagic));
  uint32_t version, entries;
  if (!GetFixed32BE(&in, &version) || version < 1 || version > kFormatVersion || in.empty()) {
    return Status::Corruption("keyring " + path + " has an unknown format version");
  }
  kdf_.type = uint8_t(in[0]);
  in.remove_prefix(1);
  if (kdf_.type == kKdfArgon2id) {
    if (in.size() < kSaltBytes + 16) return damaged;
    kdf_.salt = std::string(in.substr(0, kSaltBytes));
    in.remove_prefix(kSaltBytes);
    if (!GetFixed64BE(&in, &kdf_.opslimit) || !GetFixed64BE(&in, &kdf_.memlimit)) return damaged;
  } else if (kdf_.type != kKdfKeyFile) {
    return damaged;
  }
  if (in.size() < 2 * kFingerprintBytes) return damaged;
  const std::string stored(in.substr(0, 2 * kFingerprintBytes));
  in.remove_prefix(2 * kFingerprintBytes);
  SENSORDB_ASSIGN_OR_RETURN(SecretKey kek,
                            given ? SecretKey::FromBytes({given->data(), SecretKey::kSize})
                                  : DeriveKek(source, kdf_));
  const std::string given_fp = Fingerprint(kek);
  if (given_fp != stored) {
    return Status::PermissionDenied("wrong master key: this database was sealed with key " +
                                    stored + ", the given key is " + given_fp);
  }
  if (!GetFixed32BE(&in, &entries) || entries > kMaxEntries) return damaged;
  for (uint32_t i = 0; i < entries; ++i) {
    uint32_t project, v;
    uint64_t created;
    if (!GetFixed32BE(&in, &project) || !GetFixed32BE(&in, &v) || !GetFixed64BE(&in, &created) ||
        in.size() < kNonceBytes + kWrappedBytes) {
      return damaged;
    }
    const auto* nonce = reinterpret_cast<const uint8_t*>(in.data());
    const auto* wrapped = nonce + kNonceBytes;
    in.remove_prefix(kNonceBytes + kWrappedBytes);
    SENSORDB_ASSIGN_OR_RETURN(SecretKey dek, SecretKey::Empty());
    const std::string ad = WrapAd(project, v);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            dek.mutable_data(), nullptr, nullptr, wrapped, kWrappedBytes,
            reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nonce, kek.data()) != 0) {
      return Status::Corruption("keyring entry for project " + std::to_string(project) +
                                " version " + std::to_string(v) + " fails authentication");
    }
    keys_[project][v] = {v, int64_t(created), std::make_shared<const SecretKey>(std::move(dek))};
  }
  uint32_t drops = 0;
  if (version >= 2 && (!GetFixed32BE(&in, &drops) || drops > kMaxEntries)) return damaged;
  for (uint32_t i = 0; i < drops; ++i) {
    uint32_t project;
    if (!GetFixed32BE(&in, &project) || in.size() < kNonceBytes + kDropTagBytes) return damaged;
    const auto* nonce = reinterpret_cast<const uint8_t*>(in.data());
    const auto* tag = nonce + kNonceBytes;
    in.remove_prefix(kNonceBytes + kDropTagBytes);
    const std::string ad = DropAd(project);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            nullptr, nullptr, nullptr, tag, kDropTagBytes,
            reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nonce, kek.data()) != 0) {
      return Status::Corruption("keyring " + path + ": the drop record of project " +
                                std::to_string(project) + " fails authentication");
    }
    if (keys_.count(project)) {
      return Status::Corruption("keyring " + path + " records project " +
                                std::to_string(project) + " as dropped and still holds its keys");
    }
    dropped_.insert(project);
  }
  if (!in.empty()) return damaged;
  kek_ = std::make_unique<SecretKey>(std::move(kek));
  fingerprint_ = stored;
  return Status::Ok();
}

Result<std::unique_ptr<Keyring>> Keyring::Open(const std::string& dir, const KeySource& source,
                                               bool create) {
  SENSORDB_RETURN_IF_ERROR(InitSodium());
  std::unique_ptr<Keyring> k(new Keyring(dir));
  auto bytes = ReadSmallFile(dir + "/" + kKeyringFile, 64u << 20);
  if (bytes) {
    SENSORDB_RETURN_IF_ERROR(k->Load(*bytes, source));
    return k;
  }
  if (bytes.error().code() != StatusCode::kNotFound || !create) return Err(bytes.error());
  SENSORDB_ASSIGN_OR_RETURN(k->kdf_, NewKdf(source));
  SENSORDB_ASSIGN_OR_RETURN(SecretKey kek, DeriveKek(source, k->kdf_));
  k->fingerprint_ = Fingerprint(kek);
  SENSORDB_RETURN_IF_ERROR(k->Persist(kek, k->kdf_, k->fingerprint_));
  k->kek_ = std::make_unique<SecretKey>(std::move(kek));
  return k;
}

Result<std::string> Keyring::FingerprintOf(const std::string& dir, const KeySource& source) {
  SENSORDB_RETURN_IF_ERROR(InitSodium());
  Kdf kdf;
  if (!source.passphrase.empty()) {
    // The salt is in the keyring: read just its header.
    SENSORDB_ASSIGN_OR_RETURN(std::string bytes,
                              ReadSmallFile(dir + "/" + kKeyringFile, 64u << 20));
    std::string_view in(bytes);
    if (in.size() < sizeof(kMagic) + 5 + kSaltBytes + 16 || uint8_t(in[12]) != kKdfArgon2id) {
      return Err(Status::InvalidArgument("the keyring in " + dir + " uses no passphrase"));
    }
    in.remove_prefix(13);
    kdf.type = kKdfArgon2id;
    kdf.salt = std::string(in.substr(0, kSaltBytes));
    in.remove_prefix(kSaltBytes);
    GetFixed64BE(&in, &kdf.opslimit);
    GetFixed64BE(&in, &kdf.memlimit);
  }
  SENSORDB_ASSIGN_OR_RETURN(SecretKey kek, DeriveKek(source, kdf));
  return Fingerprint(kek);
}

Result<DataKey> Keyring::Active(uint32_t project) const {
  std::shared_lock lock(mu_);
  auto it = keys_.find(project);
  if (it == keys_.end() || it->second.empty()) {
    return Err(Status::NotFound("project " + std::to_string(project) + " has no data key"));
  }
  return it->second.rbegin()->second;
}

std::shared_ptr<const SecretKey> Keyring::Get(uint32_t project, uint32_t version) const {
  std::shared_lock lock(mu_);
  auto it = keys_.find(project);
  if (it == keys_.end()) return nullptr;
  auto v = it->second.find(version);
  return v == it->second.end() ? nullptr : v->second.key;
}

std::vector<DataKey> Keyring::Versions(uint32_t project) const {
  std::shared_lock lock(mu_);
  std::vector<DataKey> out;
  if (auto it = keys_.find(project); it != keys_.end()) {
    for (const auto& [v, dk] : it->second) out.push_back(dk);
  }
  return out;
}

std::vector<uint32_t> Keyring::Projects() const {
  std::shared_lock lock(mu_);
  std::vector<uint32_t> out;
  for (const auto& [p, v] : keys_) out.push_back(p);
  return out;
}

bool Keyring::WasDropped(uint32_t project) const {
  std::shared_lock lock(mu_);
  return dropped_.count(project) > 0;
}

Result<uint32_t> Keyring::AddVersion(uint32_t project, int64_t created_unix_s) {
  SENSORDB_ASSIGN_OR_RETURN(SecretKey dek, SecretKey::Random());
  std::unique_lock lock(mu_);
  if (dropped_.count(project)) {
    return Err(Status::FailedPrecondition("project id " + std::to_string(project) +
                                          " was dropped; its id is never given a key again"));
  }
  auto& versions = keys_[project];
  const uint32_t v = versions.empty() ? 1 : versions.rbegin()->first + 1;
  versions[v] = {v, created_unix_s, std::make_shared<const SecretKey>(std::move(dek))};
  Status s = Persist(*kek_, kdf_, fingerprint_);
  if (!s.ok()) {
    versions.erase(v);
    if (versions.empty()) keys_.erase(project);
    return Err(s);
  }
  return v;
}

Status Keyring::DestroyProject(uint32_t project) {
  std::unique_lock lock(mu_);
  if (dropped_.count(project)) return Status::Ok();
  auto it = keys_.find(project);
  std::map<uint32_t, DataKey> saved;
  if (it != keys_.end()) {
    saved = std::move(it->second);
    keys_.erase(it);
  }
  dropped_.insert(project);  // the keys go and the drop is recorded in one file replacement
  Status s = Persist(*kek_, kdf_, fingerprint_);
  if (!s.ok()) {
    dropped_.erase(project);
    if (!saved.empty()) keys_[project] = std::move(saved);
  }
  return s;
}

Status Keyring::DestroyVersionsBelow(uint32_t project, uint32_t keep_from) {
  std::unique_lock lock(mu_);
  auto it = keys_.find(project);
  if (it == keys_.end()) return Status::Ok();
  auto saved = it->second;
  std::erase_if(it->second, [&](const auto& kv) { return kv.first < keep_from; });
  Status s = Persist(*kek_, kdf_, fingerprint_);
  if (!s.ok()) it->second = std::move(saved);
  return s;
}

// --- Backup keyrings ------------------------------------------------------------------------

namespace {
// Backup keyring files are read, merged and rewritten by backups and by drops, which may run at
// once: one rewrite at a time in the process (they share KEYRING.tmp).
std::mutex backup_keyring_mu;
}  // namespace

Result<std::unique_ptr<Keyring>> Keyring::ReadWithOurKek(const std::string& dir) const {
  std::unique_ptr<Keyring> k(new Keyring(dir));
  auto bytes = ReadSmallFile(dir + "/" + kKeyringFile, 64u << 20);
  if (!bytes && bytes.error().code() == StatusCode::kNotFound) return std::unique_ptr<Keyring>();
  SENSORDB_RETURN_IF_ERROR(bytes);
  const Status s = k->Load(*bytes, KeySource{}, kek_.get());
  if (s.code() == StatusCode::kPermissionDenied) {
    // Sealed under another master key (the destination was away when the key was rotated).
    // Never replaced silently: it may hold key versions older backups there still need.
    return Err(Status::PermissionDenied(
        "the keyring of backup destination " + dir + " is sealed under another master key (" +
        s.message() + "); open its backups with that key, or move the destination aside"));
  }
  if (!s.ok()) return Err(s);
  return k;
}

Status Keyring::Rewrap(const KeySource& source, const std::vector<std::string>& copies) {
  SENSORDB_ASSIGN_OR_RETURN(Kdf kdf, NewKdf(source));
  SENSORDB_ASSIGN_OR_RETURN(SecretKey kek, DeriveKek(source, kdf));
  const std::string fp = Fingerprint(kek);
  std::lock_guard file_lock(backup_keyring_mu);
  std::unique_lock lock(mu_);
  // The live keyring first: if that fails, nothing has changed. Then each backup keyring,
  // keeping every entry it has (older backups may need versions the live keyring retired),
  // under the same new key, salt and fingerprint; one that fails is named in the error and
  // refuses later backups until it is dealt with (it is never silently replaced).
  std::vector<std::unique_ptr<Keyring>> read;
  std::string failed;
  for (const std::string& dir : copies) {
    auto copy = ReadWithOurKek(dir);  // with the old key, before it is replaced
    if (!copy) {
      failed += (failed.empty() ? "" : "; ") + copy.error().message();
    } else if (*copy) {
      read.push_back(std::move(*copy));
    }
  }
  // One rename replaces the file: after a crash the old or the new keyring is in place whole.
  SENSORDB_RETURN_IF_ERROR(Persist(kek, kdf, fp));
  for (auto& copy : read) {
    const Status st = copy->Persist(kek, kdf, fp);
    if (!st.ok()) failed += (failed.empty() ? "" : "; ") + st.message();
  }
  kek_ = std::make_unique<SecretKey>(std::move(kek));
  kdf_ = kdf;
  fingerprint_ = fp;
  if (!failed.empty()) {
    return Status::IOError("the master key is rotated, but some backup keyrings were not "
                           "re-wrapped: " + failed);
  }
  return Status::Ok();
}

Status Keyring::MergeInto(const std::string& dir) const {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    const std::string m = "cannot create " + dir + ": " + std::strerror(errno);
    return errno == EACCES ? Status::PermissionDenied(m) : Status::IOError(m);
  }
  std::lock_guard file_lock(backup_keyring_mu);
  std::shared_lock lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(std::unique_ptr<Keyring> out, ReadWithOurKek(dir));
  if (!out) out.reset(new Keyring(dir));
  bool changed = false;
  for (const auto& [project, versions] : keys_) {
    if (out->dropped_.count(project)) {
      return Status::FailedPrecondition(
          "backup keyring " + dir + " records project " + std::to_string(project) +
          " as dropped, but this database holds keys for it: that backup directory belongs to "
          "another database; back up into a new directory");
    }
    for (const auto& [v, dk] : versions) {
      auto& slot = out->keys_[project][v];
      if (slot.key) {
        if (sodium_memcmp(slot.key->data(), dk.key->data(), SecretKey::kSize) != 0) {
          return Status::FailedPrecondition(
              "backup keyring " + dir + " holds another key for project " +
              std::to_string(project) + " version " + std::to_string(v) +
              ": that backup directory belongs to another database (for example the one this "
              "database was restored from); back up into a new directory");
        }
        continue;
      }
      slot = dk;
      changed = true;
    }
  }
  return changed || !Exists(dir) ? out->Persist(*kek_, kdf_, fingerprint_) : Status::Ok();
}

Status Keyring::PurgeDroppedFrom(const std::string& dir,
                                 const std::vector<uint32_t>& dropped) const {
  std::lock_guard file_lock(backup_keyring_mu);
  if (!Exists(dir)) return Status::Ok();
  std::shared_lock lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(std::unique_ptr<Keyring> out, ReadWithOurKek(dir));
  if (!out) return Status::Ok();  // no keyring there
  // The drop is recorded there too, so that a database restored from these backups (which
  // still hold the project's catalog records) knows it was dropped rather than damaged.
  bool changed = false;
  for (uint32_t p : dropped) {
    changed |= out->keys_.erase(p) > 0;
    changed |= out->dropped_.insert(p).second;
  }
  return changed ? out->Persist(*kek_, kdf_, fingerprint_) : Status::Ok();
}

}  // namespace sensordb::crypto
