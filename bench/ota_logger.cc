#include "ota_logger.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace sensordb::bench {
namespace {

// Both files: a magic, the payload, and BLAKE2b-256 over magic and payload.
constexpr char kStoreMagic[8] = {'S', 'D', 'B', 'O', 'T', 'A', 'S', '1'};
constexpr char kDownloadMagic[8] = {'S', 'D', 'B', 'O', 'T', 'A', 'D', '1'};
constexpr size_t kSumBytes = 32;

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " " + path + ": " + std::strerror(errno));
}

// Writes `data` to `path` through a synced temporary file renamed over it, then syncs the
// directory: after a power cut the file is the old one or the new one, whole.
Status WriteFileAtomically(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", tmp);
  const bool ok = ::write(fd, data.data(), data.size()) == ssize_t(data.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) return Errno("cannot write", path);
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Errno("cannot open directory", dir);
  const bool synced = ::fsync(dfd) == 0;
  ::close(dfd);
  return synced ? Status::Ok() : Errno("cannot sync directory", dir);
}

std::string Sum(std::string_view data) {
  std::string sum(kSumBytes, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(sum.data()), sum.size(),
                     reinterpret_cast<const uint8_t*>(data.data()), data.size(), nullptr, 0);
  return sum;
}

std::string Sealed(const char (&magic)[8], const std::vector<char>& payload) {
  std::string out(magic, sizeof magic);
  out.append(payload.begin(), payload.end());
  out += Sum(out);
  return out;
}

// The payload of a file written by Sealed, or Corruption naming the file.
Result<std::vector<char>> Unsealed(const std::string& path, const char (&magic)[8]) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(Errno("cannot open", path));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < sizeof magic + kSumBytes ||
      std::memcmp(data.data(), magic, sizeof magic) != 0 ||
      Sum(std::string_view(data).substr(0, data.size() - kSumBytes)) !=
          std::string_view(data).substr(data.size() - kSumBytes)) {
    return std::unexpected(Status::Corruption(
        path + " is damaged (bytes 0-" + std::to_string(data.size()) +
        " fail their checksum); the logger refuses to guess its firmware state: restore the "
        "file or re-provision"));
  }
  return std::vector<char>(data.begin() + sizeof magic, data.end() - kSumBytes);
}

// Payloads are vectors: g++ 12 warns falsely (maybe-uninitialized) on raw bytes copied into or
// out of a std::string it cannot prove is past its inline buffer.
template <typename T>
void Append(std::vector<char>* out, const T& v) {
  const auto* p = reinterpret_cast<const char*>(&v);
  out->insert(out->end(), p, p + sizeof v);
}

template <typename T>
bool Take(std::string_view* in, T* v) {
  if (in->size() < sizeof *v) return false;
  std::memcpy(v, in->data(), sizeof *v);
  in->remove_prefix(sizeof *v);
  return true;
}

}  // namespace

std::string OtaLogger::SlotPath(uint32_t slot) const {
  return dir_ + "/slot-" + std::to_string(slot) + ".bin";
}

Status OtaLogger::Refuse(sdb_ota_result r, const std::string& what) {
  last_ = r;
  if (r == SDB_OTA_OK) return Status::Ok();
  return Status::InvalidArgument(what + " refused: " + sdb_ota_result_name(r));
}

int OtaLogger::ReadSlot(void* ctx, uint32_t slot, uint64_t offset, uint8_t* buf, size_t len) {
  const auto* self = static_cast<const OtaLogger*>(ctx);
  const int fd = ::open(self->SlotPath(slot).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  const ssize_t n = ::pread(fd, buf, len, off_t(offset));
  ::close(fd);
  return n == ssize_t(len) ? 0 : -1;
}

// The store: counter, the struct's size, the struct (this simulator's own layout).
Status OtaLogger::SaveStore() {
  std::vector<char> payload;
  Append(&payload, ++store_counter_);
  Append(&payload, uint32_t(sizeof store_));
  Append(&payload, store_);
  return WriteFileAtomically(dir_ + "/ota-store", Sealed(kStoreMagic, payload));
}

Status OtaLogger::LoadStore() {
  const std::string path = dir_ + "/ota-store";
  SENSORDB_ASSIGN_OR_RETURN(const std::vector<char> payload, Unsealed(path, kStoreMagic));
  std::string_view in(payload.data(), payload.size());
  uint32_t size = 0;
  if (!Take(&in, &store_counter_) || !Take(&in, &size) || size != sizeof store_ ||
      !Take(&in, &store_) || !in.empty() || store_.active_slot > 1 ||
      store_.trial > SDB_OTA_TRIAL_BOOTING) {
    return Status::Corruption(path + " does not hold a store of this simulator's layout");
  }
  return Status::Ok();
}

// The download: the signed manifest and the hash state over the bytes written so far.
Status OtaLogger::SaveDownload() {
  const std::string path = dir_ + "/ota-download";
  if (!download_) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("cannot remove", path);
    return Status::Ok();
  }
  std::vector<char> payload;
  Append(&payload, uint32_t(manifest_.size()));
  payload.insert(payload.end(), manifest_.begin(), manifest_.end());
  Append(&payload, image_);
  return WriteFileAtomically(path, Sealed(kDownloadMagic, payload));
}

Status OtaLogger::LoadDownload() {
  const std::string path = dir_ + "/ota-download";
  if (!std::filesystem::exists(path)) return Status::Ok();
  SENSORDB_ASSIGN_OR_RETURN(const std::vector<char> payload, Unsealed(path, kDownloadMagic));
  std::string_view in(payload.data(), payload.size());
  uint32_t n = 0;
  if (!Take(&in, &n) || in.size() != n + sizeof image_) {
    return Status::Corruption(path + " does not hold a download of this simulator's layout");
  }
  manifest_.assign(in.begin(), in.begin() + n);
  in.remove_prefix(n);
  Take(&in, &image_);
  download_ = true;
  return Status::Ok();
}

Result<OtaLogger> OtaLogger::Provision(const std::string& dir, const std::string& project,
                                       const std::string& device, const std::string& model,
                                       std::span<const uint8_t> root_signed,
                                       std::span<const uint8_t> factory_image,
                                       uint64_t security_version, int64_t now_unix_s) {
  if (sdb_ota_init() != SDB_OTA_OK) return std::unexpected(Status::Internal("libsodium"));
  OtaLogger l(dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return std::unexpected(Status::IOError("cannot create " + dir + ": " + ec.message()));
  if (std::filesystem::exists(dir + "/ota-store")) {
    return std::unexpected(Status::AlreadyExists(dir + " already holds a provisioned logger"));
  }
  std::ofstream slot(l.SlotPath(0), std::ios::binary | std::ios::trunc);
  slot.write(reinterpret_cast<const char*>(factory_image.data()),
             std::streamsize(factory_image.size()));
  slot.close();
  if (!slot) return std::unexpected(Status::IOError("cannot write " + l.SlotPath(0)));
  const sdb_ota_result r = sdb_ota_provision(
      &l.store_, project.c_str(), device.c_str(), model.c_str(), root_signed.data(),
      root_signed.size(), now_unix_s, 0, factory_image.size(), security_version, ReadSlot, &l);
  SENSORDB_RETURN_IF_ERROR(l.Refuse(r, "provisioning"));
  SENSORDB_RETURN_IF_ERROR(l.SaveStore());
  return l;
}

Result<OtaLogger> OtaLogger::Open(const std::string& dir) {
  if (sdb_ota_init() != SDB_OTA_OK) return std::unexpected(Status::Internal("libsodium"));
  OtaLogger l(dir);
  SENSORDB_RETURN_IF_ERROR(l.LoadStore());
  SENSORDB_RETURN_IF_ERROR(l.LoadDownload());
  return l;
}

Result<uint32_t> OtaLogger::PowerOn() {
  uint32_t slot = 0;
  sdb_ota_store next = store_;
  const sdb_ota_result r = sdb_ota_boot(&next, ReadSlot, this, &slot);
  // Persisted before the slot runs, so that a reset during a trial is known as one.
  if (std::memcmp(&next, &store_, sizeof next) != 0) {
    store_ = next;
    SENSORDB_RETURN_IF_ERROR(SaveStore());
  }
  SENSORDB_RETURN_IF_ERROR(Refuse(r, "boot"));
  return slot;
}

Result<std::vector<uint8_t>> OtaLogger::NewNonce() {
  std::vector<uint8_t> nonce(SDB_OTA_NONCE_BYTES);
  sdb_ota_begin_request(&store_, nonce.data());
  SENSORDB_RETURN_IF_ERROR(SaveStore());
  return nonce;
}

Result<sdb_ota_freshness> OtaLogger::AcceptFreshness(std::span<const uint8_t> statement) {
  sdb_ota_freshness f;
  SENSORDB_RETURN_IF_ERROR(
      Refuse(sdb_ota_accept_freshness(&store_, statement.data(), statement.size(), &f),
             "freshness statement"));
  SENSORDB_RETURN_IF_ERROR(SaveStore());
  return f;
}

Status OtaLogger::AcceptRoot(std::span<const uint8_t> root_signed) {
  SENSORDB_RETURN_IF_ERROR(
      Refuse(sdb_ota_accept_root(&store_, root_signed.data(), root_signed.size()), "trust root"));
  return SaveStore();
}

Status OtaLogger::BeginDownload(std::span<const uint8_t> manifest_signed) {
  if (!store_.has_offer) return Refuse(SDB_OTA_NOT_OFFERED, "manifest");
  sdb_ota_manifest m;
  SENSORDB_RETURN_IF_ERROR(
      Refuse(sdb_ota_check_manifest(&store_, manifest_signed.data(), manifest_signed.size(),
                                    store_.offered_sha256, &m),
             "manifest"));
  // The inactive slot is about to change: an install not tried yet is forgotten first.
  if (store_.trial != SDB_OTA_TRIAL_NONE) {
    SENSORDB_RETURN_IF_ERROR(Refuse(sdb_ota_cancel_install(&store_), "download during a trial"));
    SENSORDB_RETURN_IF_ERROR(SaveStore());
  }
  manifest_.assign(manifest_signed.begin(), manifest_signed.end());
  sdb_ota_image_begin(&image_, &m);
  download_ = true;
  return SaveDownload();
}

Status OtaLogger::WriteChunk(uint64_t offset, std::span<const uint8_t> bytes) {
  if (!download_) return Refuse(SDB_OTA_BAD_STATE, "chunk without a download");
  if (offset != image_.written) {
    return Status::InvalidArgument("chunk at offset " + std::to_string(offset) +
                                   "; the download resumes at " + std::to_string(image_.written));
  }
  sdb_ota_image next = image_;
  SENSORDB_RETURN_IF_ERROR(
      Refuse(sdb_ota_image_update(&next, bytes.data(), bytes.size()), "chunk"));
  const std::string path = SlotPath(1 - store_.active_slot);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot open", path);
  const bool ok =
      ::pwrite(fd, bytes.data(), bytes.size(), off_t(offset)) == ssize_t(bytes.size()) &&
      ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok) return Errno("cannot write", path);
  image_ = next;  // counted only once the bytes are on disk
  return SaveDownload();
}

Status OtaLogger::FinishDownload() {
  if (!download_) return Refuse(SDB_OTA_BAD_STATE, "install without a download");
  sdb_ota_image check = image_;
  SENSORDB_RETURN_IF_ERROR(Refuse(sdb_ota_image_finish(&check), "image"));
  // The agent reads the whole slot again: what is installed is what is on disk now.
  sdb_ota_store next = store_;
  SENSORDB_RETURN_IF_ERROR(Refuse(
      sdb_ota_install(&next, manifest_.data(), manifest_.size(), ReadSlot, this), "install"));
  store_ = next;
  SENSORDB_RETURN_IF_ERROR(SaveStore());
  download_ = false;
  manifest_.clear();
  return SaveDownload();
}

Status OtaLogger::ConfirmHealthy() {
  SENSORDB_RETURN_IF_ERROR(Refuse(sdb_ota_confirm(&store_), "confirm"));
  return SaveStore();
}

}  // namespace sensordb::bench
