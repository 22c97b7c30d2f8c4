// Firmware on the device stream (docs/OTA.md "Transfer", protocol/README.md): a device asks for
// its offer and reads the offered image in ranges; and firmware administration on the client
// listener: the freshness key, roots, releases and rollouts of a project. Same conventions as
// admin_codec.h: Encode* return a frame ready to send; Decode* check sizes and required fields and
// return views into the frame (keep it alive while using them). The signed files inside (statement,
// manifest, roots) are opaque here: the device's agent verifies them. Functions are thread-safe
// (pure).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/protocol/frame.h"
#include "sensordb/protocol/messages.h"
#include "sensordb/status.h"

namespace sensordb::protocol {

inline constexpr size_t kFirmwareNonceBytes = 16;
// A signed statement, manifest or root (protocol/firmware_format.md: far below).
inline constexpr size_t kMaxFirmwareFileBytes = 16 * 1024;
// Roots sent with one offer (the server keeps at most 64 KiB of them).
inline constexpr size_t kMaxFirmwareRoots = 64;
// One ReadFirmware: the server reads at most one 64 KiB chunk per request.
inline constexpr uint32_t kMaxFirmwareReadBytes = 64 * 1024;

struct FirmwareOfferRequest {
  std::string_view project;
  std::span<const uint8_t> nonce;  // kFirmwareNonceBytes
  std::string_view model;
  std::string_view version;
  uint64_t security_version = 0;
  uint64_t root_version = 0;
};
OutFrame EncodeGetFirmwareOffer(uint64_t request_id, const FirmwareOfferRequest& request);
Result<FirmwareOfferRequest> DecodeGetFirmwareOffer(const wire::GetFirmwareOffer& request);

struct FirmwareOfferView {
  std::span<const uint8_t> statement;
  std::span<const uint8_t> manifest;  // empty: nothing offered
  uint64_t image_id = 0;              // 0: nothing offered
  uint64_t image_length = 0;
  std::vector<std::span<const uint8_t>> roots;  // oldest first
};
OutFrame EncodeFirmwareOffer(uint64_t request_id, const FirmwareOfferView& reply);
Result<FirmwareOfferView> DecodeFirmwareOffer(const wire::FirmwareOffer& reply);

struct ReadFirmwareRequest {
  std::string_view project;
  uint64_t image_id = 0;
  uint64_t offset = 0;
  uint32_t length = 0;  // 1 .. kMaxFirmwareReadBytes
};
OutFrame EncodeReadFirmware(uint64_t request_id, const ReadFirmwareRequest& request);
Result<ReadFirmwareRequest> DecodeReadFirmware(const wire::ReadFirmware& request);

struct FirmwareDataView {
  uint64_t offset = 0;
  std::span<const uint8_t> bytes;
};
OutFrame EncodeFirmwareData(uint64_t request_id, const FirmwareDataView& reply);
Result<FirmwareDataView> DecodeFirmwareData(const wire::FirmwareData& reply);

// A device's report of a step (firmware::FirmwareStep, 1 .. kMaxFirmwareStepOnWire); reason at
// most kMaxFirmwareReasonBytes of printable ASCII (as the version).
inline constexpr uint8_t kMaxFirmwareStepOnWire = 7;
inline constexpr size_t kMaxFirmwareReasonBytes = 64;
struct ReportFirmwareRequest {
  std::string_view project;
  uint64_t image_id = 0;
  uint8_t step = 0;
  std::string_view reason;
  std::string_view version;
  uint64_t security_version = 0;
  uint64_t root_version = 0;
};
OutFrame EncodeReportFirmware(uint64_t request_id, const ReportFirmwareRequest& request);
Result<ReportFirmwareRequest> DecodeReportFirmware(const wire::ReportFirmware& request);

// ---- Administration (client listener) -------------------------------------------------------

inline constexpr size_t kFirmwareKeyBytes = 32;
inline constexpr size_t kFirmwareHashBytes = 32;
// Devices one rollout names (firmware::kMaxRolloutDevices), and what one listing carries.
inline constexpr size_t kMaxRolloutDevicesOnWire = 4096;
inline constexpr size_t kMaxFirmwareListEntries = 100'000;

OutFrame EncodeGetFreshnessKey(uint64_t request_id, std::string_view project);
Result<std::string_view> DecodeGetFreshnessKey(const wire::GetFreshnessKey& request);
OutFrame EncodeFreshnessKeyReply(uint64_t request_id, std::span<const uint8_t> public_key);
Result<std::span<const uint8_t>> DecodeFreshnessKeyReply(const wire::FreshnessKeyReply& reply);

struct UploadFirmwareRootRequest {
  std::string_view project;
  std::span<const uint8_t> root;
};
OutFrame EncodeUploadFirmwareRoot(uint64_t request_id, const UploadFirmwareRootRequest& request);
Result<UploadFirmwareRootRequest> DecodeUploadFirmwareRoot(const wire::UploadFirmwareRoot& request);
OutFrame EncodeUploadFirmwareRootReply(uint64_t request_id, uint64_t version);
uint64_t DecodeUploadFirmwareRootReply(const wire::UploadFirmwareRootReply& reply);

// The image is bounded by the frame limit only: the server streams it into sealed chunks.
struct UploadFirmwareRequest {
  std::string_view project;
  std::span<const uint8_t> manifest;
  std::span<const uint8_t> image;
};
OutFrame EncodeUploadFirmware(uint64_t request_id, const UploadFirmwareRequest& request);
Result<UploadFirmwareRequest> DecodeUploadFirmware(const wire::UploadFirmware& request);

struct FirmwareReleaseView {
  uint64_t id = 0;
  bool complete = false;
  std::string_view hardware_model;
  std::string_view version;
  uint64_t security_version = 0;
  uint64_t root_version = 0;
  uint64_t image_length = 0;
  int64_t expires_unix_s = 0;
  int64_t uploaded_unix_s = 0;
  std::span<const uint8_t> manifest_sha256;  // empty or kFirmwareHashBytes
};
OutFrame EncodeFirmwareRelease(uint64_t request_id, const FirmwareReleaseView& reply);
Result<FirmwareReleaseView> DecodeFirmwareRelease(const wire::FirmwareRelease& reply);

struct RolloutView {
  uint64_t id = 0;
  uint64_t release = 0;
  uint8_t state = 0;  // 1 running, 2 paused, 3 cancelled, 4 halted
  int64_t created_unix_s = 0;
  std::vector<std::string_view> devices;
  std::vector<uint8_t> waves;  // cumulative percentages
  uint8_t failure_percent = 0;
  uint32_t soak_s = 0;
  uint32_t wave = 0;
  int64_t wave_opened_unix_s = 0;
  std::vector<uint8_t> device_waves;  // as `devices`
  int64_t counted_since_unix_s = 0;   // failures reported since count towards a halt
  std::string_view model;             // not empty: every device of this model, no `devices`
  std::span<const uint8_t> wave_key;  // a model target's (16 bytes): devices' waves by hash
};
// Times of a rollout: 0 .. year 2255 (nanoseconds fit an int64).
inline constexpr int64_t kMaxFirmwareTime = 9'000'000'000;
OutFrame EncodeRolloutInfo(uint64_t request_id, const RolloutView& reply);
Result<RolloutView> DecodeRolloutInfo(const wire::RolloutInfo& reply);

OutFrame EncodeListFirmware(uint64_t request_id, std::string_view project);
Result<std::string_view> DecodeListFirmware(const wire::ListFirmware& request);
struct FirmwareListView {
  std::vector<FirmwareReleaseView> releases;
  std::vector<RolloutView> rollouts;
};
OutFrame EncodeListFirmwareReply(uint64_t request_id, const FirmwareListView& reply);
Result<FirmwareListView> DecodeListFirmwareReply(const wire::ListFirmwareReply& reply);

struct RemoveFirmwareRequest {
  std::string_view project;
  uint64_t release = 0;
};
OutFrame EncodeRemoveFirmware(uint64_t request_id, const RemoveFirmwareRequest& request);
Result<RemoveFirmwareRequest> DecodeRemoveFirmware(const wire::RemoveFirmware& request);

struct CreateRolloutRequest {
  std::string_view project;
  uint64_t release = 0;
  std::vector<std::string_view> devices;
  std::vector<uint8_t> waves;  // empty: one wave
  uint8_t failure_percent = 5;
  uint32_t soak_s = 600;
  std::string_view model;  // not empty: every device of this model, `devices` empty
};
OutFrame EncodeCreateRollout(uint64_t request_id, const CreateRolloutRequest& request);
Result<CreateRolloutRequest> DecodeCreateRollout(const wire::CreateRollout& request);

struct SetRolloutStateRequest {
  std::string_view project;
  uint64_t rollout = 0;
  uint8_t state = 0;  // 1 running, 2 paused, 3 cancelled (4, halted, is the server's)
};
OutFrame EncodeSetRolloutState(uint64_t request_id, const SetRolloutStateRequest& request);
Result<SetRolloutStateRequest> DecodeSetRolloutState(const wire::SetRolloutState& request);

struct ListDeviceFirmwareRequest {
  std::string_view project;
  std::string_view device;  // empty: every device that reported
};
OutFrame EncodeListDeviceFirmware(uint64_t request_id, const ListDeviceFirmwareRequest& request);
Result<ListDeviceFirmwareRequest> DecodeListDeviceFirmware(const wire::ListDeviceFirmware& request);
struct DeviceFirmwareView {
  std::string_view device;
  uint64_t image_id = 0;
  uint8_t step = 0;
  std::string_view reason;
  std::string_view version;
  uint64_t security_version = 0;
  uint64_t root_version = 0;
  int64_t reported_unix_s = 0;
};
OutFrame EncodeDeviceFirmwareList(uint64_t request_id,
                                  const std::vector<DeviceFirmwareView>& reply);
Result<std::vector<DeviceFirmwareView>> DecodeDeviceFirmwareList(
    const wire::DeviceFirmwareList& reply);

}  // namespace sensordb::protocol
