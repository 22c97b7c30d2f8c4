// OtaLogger: the firmware side of one simulated datalogger (docs/OTA.md "The device agent"),
// the agent's real code over files in a directory: two slots (`slot-0.bin`, `slot-1.bin`), the
// agent's store (`ota-store`) and a download in progress (`ota-download`). It shows the contract
// an integrator keeps on a real logger: the store is persisted after every call that changed
// it, atomically, with a checksum; slot bytes reach the disk before the download progress that
// counts them, so a power cut at any point resumes or refuses, never installs unverified bytes.
// A damaged store is refused with the file named (fail closed: nothing is reset or deleted).
// Not thread-safe; one object per directory at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sensordb/ota.h"
#include "sensordb/status.h"

namespace sensordb::bench {

class OtaLogger {
 public:
  // At the factory: a new directory with the factory image in slot 0 and the agent's store
  // (sdb_ota_provision). Refuses a directory that already holds a store.
  static Result<OtaLogger> Provision(const std::string& dir, const std::string& project,
                                     const std::string& device, const std::string& model,
                                     std::span<const uint8_t> root_signed,
                                     std::span<const uint8_t> factory_image,
                                     uint64_t security_version, int64_t now_unix_s);
  // After a power cut or a restart: reads the store (refused when damaged).
  static Result<OtaLogger> Open(const std::string& dir);

  const sdb_ota_store& store() const { return store_; }
  // The named reason of the last refusal (SDB_OTA_OK after a success), as a device reports it.
  sdb_ota_result last_result() const { return last_; }

  // The bootloader at power-on: sdb_ota_boot, the store persisted; the slot it boots.
  Result<uint32_t> PowerOn();
  // Starts a request for an offer (sdb_ota_begin_request, the store persisted): its nonce.
  Result<std::vector<uint8_t>> NewNonce();
  // The server's answer to the pending request; records its offer.
  Result<sdb_ota_freshness> AcceptFreshness(std::span<const uint8_t> statement);
  Status AcceptRoot(std::span<const uint8_t> root_signed);
  // Starts downloading the manifest's image into the inactive slot: the manifest must be the
  // one the last accepted freshness statement offered.
  Status BeginDownload(std::span<const uint8_t> manifest_signed);
  // Where the download resumes (0 without one).
  uint64_t DownloadOffset() const { return download_ ? image_.written : 0; }
  uint64_t DownloadLength() const { return download_ ? image_.expected_length : 0; }
  // Bytes at `offset`, which must be DownloadOffset(): written to the slot, synced, then counted.
  Status WriteChunk(uint64_t offset, std::span<const uint8_t> bytes);
  // Checks the whole image and installs it (sdb_ota_install): tried at the next PowerOn.
  Status FinishDownload();
  // The application reports healthy on trial: the new firmware becomes the confirmed one.
  Status ConfirmHealthy();

  std::string SlotPath(uint32_t slot) const;

 private:
  explicit OtaLogger(std::string dir) : dir_(std::move(dir)) {}
  Status Refuse(sdb_ota_result r, const std::string& what);
  Status SaveStore();
  Status LoadStore();
  Status SaveDownload();
  Status LoadDownload();
  static int ReadSlot(void* ctx, uint32_t slot, uint64_t offset, uint8_t* buf, size_t len);

  std::string dir_;
  sdb_ota_store store_{};
  uint64_t store_counter_ = 0;
  sdb_ota_result last_ = SDB_OTA_OK;
  bool download_ = false;
  std::vector<uint8_t> manifest_;  // the signed manifest being downloaded
  sdb_ota_image image_{};
};

}  // namespace sensordb::bench
