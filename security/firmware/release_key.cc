#include "firmware/release_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "sensordb/ota.h"

namespace sensordb::firmware {
namespace {

constexpr size_t kSeedBytes = crypto_sign_SEEDBYTES;
constexpr size_t kSecretBytes = crypto_sign_SECRETKEYBYTES;
static_assert(kSeedBytes == 32 && kSecretBytes == 64 && crypto_sign_BYTES == 64);

Status Errno(std::string_view what, std::string_view path) {
  return Status::IOError(std::string(what) + " " + std::string(path) + ": " + std::strerror(errno));
}

// Writes all of `data` to `fd`.
bool WriteAll(int fd, const uint8_t* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w <= 0) return false;
    data += w;
    n -= size_t(w);
  }
  return true;
}

}  // namespace

Status InitCrypto() {
  if (sodium_init() < 0) return Status::Internal("libsodium could not be initialised");
  return Status::Ok();
}

Result<FileDigest> DigestFile(std::string_view path_view) {
  SENSORDB_RETURN_IF_ERROR(InitCrypto());
  const std::string path(path_view);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(Errno("cannot open", path));
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::vector<char> buf(1 << 16);
  FileDigest d;
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    const auto n = size_t(in.gcount());
    crypto_hash_sha256_update(&st, reinterpret_cast<const uint8_t*>(buf.data()), n);
    d.length += n;
  }
  if (in.bad()) return std::unexpected(Errno("cannot read", path));
  crypto_hash_sha256_final(&st, d.sha256.data());
  return d;
}

std::string Hex(std::span<const uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

KeyId KeyIdOf(const PublicKey& key) {
  KeyId id;
  sdb_ota_key_id(key.data(), id.data());
  return id;
}

ReleaseKey::ReleaseKey(ReleaseKey&& other) noexcept
    : secret_(other.secret_), public_key_(other.public_key_) {
  other.secret_ = nullptr;
}

ReleaseKey::~ReleaseKey() {
  if (secret_ != nullptr) sodium_free(secret_);  // wipes before it frees
}

Signature ReleaseKey::Sign(std::span<const uint8_t> body) const {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, body.data(), body.size(), secret_);
  return sig;
}

Result<ReleaseKey> ReleaseKey::Create(std::string_view path_view) {
  SENSORDB_RETURN_IF_ERROR(InitCrypto());
  const std::string path(path_view);
  auto* seed = static_cast<uint8_t*>(sodium_malloc(kSeedBytes));
  auto* secret = static_cast<uint8_t*>(sodium_malloc(kSecretBytes));
  if (seed == nullptr || secret == nullptr) {
    sodium_free(seed);
    sodium_free(secret);
    return std::unexpected(Status::Internal("cannot allocate locked memory for a key"));
  }
  randombytes_buf(seed, kSeedBytes);
  PublicKey pk;
  crypto_sign_seed_keypair(pk.data(), secret, seed);
  ReleaseKey key(secret, pk);
  // O_EXCL: never overwrite a key; 0600 from the start, not chmod'ed afterwards.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    sodium_free(seed);
    if (errno == EEXIST) {
      return std::unexpected(Status::AlreadyExists("key file " + path + " already exists"));
    }
    return std::unexpected(Errno("cannot create key file", path));
  }
  const bool ok = WriteAll(fd, seed, kSeedBytes) && ::fsync(fd) == 0;
  ::close(fd);
  sodium_free(seed);
  if (!ok) {
    ::unlink(path.c_str());
    return std::unexpected(Errno("cannot write key file", path));
  }
  if (Status s = WritePublicKeyFile(path + ".pub", pk); !s.ok()) {
    ::unlink(path.c_str());
    return std::unexpected(s);
  }
  return key;
}

Result<ReleaseKey> ReleaseKey::Load(std::string_view path_view) {
  SENSORDB_RETURN_IF_ERROR(InitCrypto());
  const std::string path(path_view);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::unexpected(Errno("cannot open key file", path));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return std::unexpected(Errno("cannot stat key file", path));
  }
  if ((st.st_mode & 0077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", unsigned(st.st_mode & 0777));
    return std::unexpected(Status::PermissionDenied(
        "key file " + path + " may be read by others (mode " + mode + "): chmod 600 it"));
  }
  if (st.st_size != off_t(kSeedBytes)) {
    ::close(fd);
    return std::unexpected(Status::InvalidArgument(
        "key file " + path + " is not a firmware release key (" + std::to_string(kSeedBytes) +
        " bytes expected, " + std::to_string(st.st_size) + " found)"));
  }
  auto* seed = static_cast<uint8_t*>(sodium_malloc(kSeedBytes));
  auto* secret = static_cast<uint8_t*>(sodium_malloc(kSecretBytes));
  if (seed == nullptr || secret == nullptr) {
    ::close(fd);
    sodium_free(seed);
    sodium_free(secret);
    return std::unexpected(Status::Internal("cannot allocate locked memory for a key"));
  }
  const bool ok = ::read(fd, seed, kSeedBytes) == ssize_t(kSeedBytes);
  ::close(fd);
  PublicKey pk;
  if (ok) crypto_sign_seed_keypair(pk.data(), secret, seed);
  sodium_free(seed);
  if (!ok) {
    sodium_free(secret);
    return std::unexpected(Errno("cannot read key file", path));
  }
  return ReleaseKey(secret, pk);
}

Result<PublicKey> ReadPublicKeyFile(std::string_view path_view) {
  const std::string path(path_view);
  std::ifstream in(path);
  if (!in) return std::unexpected(Errno("cannot open public key file", path));
  std::string line;
  std::getline(in, line);
  PublicKey pk;
  size_t len = 0;
  const char* end = nullptr;
  if (line.size() != 64 ||
      sodium_hex2bin(pk.data(), pk.size(), line.data(), line.size(), nullptr, &len, &end) != 0 ||
      len != pk.size()) {
    return std::unexpected(
        Status::InvalidArgument("public key file " + path +
                                " must hold one line of 64 hex digits (an Ed25519 key, as "
                                "`sensordb firmware keygen` writes it)"));
  }
  return pk;
}

Status WritePublicKeyFile(std::string_view path_view, const PublicKey& key) {
  const std::string path(path_view);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create public key file", path);
  const std::string line = Hex(key) + "\n";
  const bool ok =
      WriteAll(fd, reinterpret_cast<const uint8_t*>(line.data()), line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Errno("cannot write public key file", path);
  }
  return Status::Ok();
}

Result<SignedFile> ReadSignedFile(std::string_view path_view) {
  const std::string path(path_view);
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(Errno("cannot open", path));
  const std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  sdb_ota_signed s;
  if (const sdb_ota_result r = sdb_ota_open_signed(data.data(), data.size(), &s); r != SDB_OTA_OK) {
    return std::unexpected(Status::InvalidArgument(path + " is not signed firmware metadata (" +
                                                   sdb_ota_result_name(r) + ")"));
  }
  SignedFile f;
  f.body.assign(s.body, s.body + s.body_len);
  for (uint32_t i = 0; i < s.signature_count; ++i) {
    std::pair<KeyId, Signature> e;
    std::memcpy(e.first.data(), s.signatures[i].key_id, e.first.size());
    std::memcpy(e.second.data(), s.signatures[i].sig, e.second.size());
    f.signatures.push_back(e);
  }
  return f;
}

std::vector<uint8_t> EncodeSignedFile(const SignedFile& file) {
  sdb_ota_signed s{};
  s.body = file.body.data();
  s.body_len = file.body.size();
  s.signature_count = uint32_t(file.signatures.size());
  for (size_t i = 0; i < file.signatures.size() && i < SDB_OTA_MAX_SIGNATURES; ++i) {
    s.signatures[i] = {file.signatures[i].first.data(), file.signatures[i].second.data()};
  }
  std::vector<uint8_t> out(file.body.size() + 32 + 72 * file.signatures.size());
  size_t len = 0;
  if (sdb_ota_encode_signed(&s, out.data(), out.size(), &len) != SDB_OTA_OK) return {};
  out.resize(len);
  return out;
}

Status WriteSignedFile(std::string_view path_view, const SignedFile& file, bool replace) {
  if (file.signatures.size() > SDB_OTA_MAX_SIGNATURES) {
    return Status::InvalidArgument("at most " + std::to_string(SDB_OTA_MAX_SIGNATURES) +
                                   " signatures per file");
  }
  const std::vector<uint8_t> data = EncodeSignedFile(file);
  if (data.empty()) return Status::InvalidArgument("nothing to write: the body is empty");
  const std::string path(path_view);
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  // The directory first: once the file is in place, nothing may fail that a retry cannot redo.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Errno("cannot open directory", dir);
  // The mode: the replaced file's, or 0644 less the umask, as open(2) would have made it.
  mode_t mode = 0644;
  struct stat old;
  if (replace && ::stat(path.c_str(), &old) == 0) {
    mode = old.st_mode & 0777;
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode &= ~mask;
  }
  // mkstemp: a name nobody could have prepared (no symlink followed, O_EXCL underneath).
  std::string tmp = path + ".XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) {
    const Status s = Errno("cannot create a temporary file beside", path);
    ::close(dfd);
    return s;
  }
  const bool ok =
      WriteAll(fd, data.data(), data.size()) && ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  // RENAME_NOREPLACE fails when `path` exists: a new file appears whole or not at all (and,
  // unlike link(), it works on the FAT and exFAT sticks offline signing often uses).
  const bool placed = ok && ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(),
                                        replace ? 0 : RENAME_NOREPLACE) == 0;
  if (!placed) {
    const Status s = !ok               ? Errno("cannot write", tmp)
                     : errno == EEXIST ? Status::AlreadyExists(path +
                                                               " already exists; nothing "
                                                               "was written")
                                       : Errno("cannot write", path);
    ::unlink(tmp.c_str());
    ::close(dfd);
    return s;
  }
  const bool synced = ::fsync(dfd) == 0;
  ::close(dfd);
  return synced ? Status::Ok() : Errno("cannot sync directory", dir);
}

Status AddSignature(SignedFile* file, const ReleaseKey& key) {
  const KeyId id = KeyIdOf(key.public_key());
  std::erase_if(file->signatures, [&](const auto& e) { return e.first == id; });
  if (file->signatures.size() >= SDB_OTA_MAX_SIGNATURES) {
    return Status::InvalidArgument("the file already holds the most signatures allowed (" +
                                   std::to_string(SDB_OTA_MAX_SIGNATURES) + ")");
  }
  file->signatures.emplace_back(id, key.Sign(file->body));
  return Status::Ok();
}

}  // namespace sensordb::firmware
