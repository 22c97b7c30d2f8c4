// Firmware on the device stream (docs/OTA.md "Transfer", protocol/README.md): a device asks for
// its offer and reads the offered image in ranges. Same conventions as admin_codec.h: Encode*
// return a frame ready to send; Decode* check sizes and required fields and return views into
// the frame (keep it alive while using them). The signed files inside (statement, manifest,
// roots) are opaque here: the device's agent verifies them. Functions are thread-safe (pure).
#pragma once

#include <cstdint>
#include <span>
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

}  // namespace sensordb::protocol
