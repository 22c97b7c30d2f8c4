// The device identity requests of the native protocol and their replies (protocol/README.md
// "Device identity"): enrolment from a CSR, certificate listing, revocation, the project's
// device CA. Same conventions as admin_codec.h: Encode* return a frame ready to send; Decode*
// check sizes and required fields and return views into the frame (keep it alive while using
// them). Functions are thread-safe (pure).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "sensordb/protocol/frame.h"
#include "sensordb/protocol/messages.h"
#include "sensordb/status.h"

namespace sensordb::protocol {

// A CSR, and a certificate or chain in PEM (the CA's and a device's together stay far below).
inline constexpr size_t kMaxCsrPemBytes = 16 * 1024;
inline constexpr size_t kMaxCertPemBytes = 32 * 1024;
// Hex serials (128 bits: 32 digits; colons allowed as people copy them) and SHA-256 hex.
inline constexpr size_t kMaxSerialBytes = 128;
inline constexpr size_t kMaxFingerprintBytes = 64;

struct EnrollDeviceRequest {
  std::string_view project;
  std::string_view device;
  std::string_view csr_pem;
  uint32_t days = 0;  // 0: the server's default
};
OutFrame EncodeEnrollDevice(uint64_t request_id, const EnrollDeviceRequest& request);
Result<EnrollDeviceRequest> DecodeEnrollDevice(const wire::EnrollDevice& request);

struct EnrolledView {
  std::string_view certificate_pem;
  std::string_view chain_pem;
  std::string_view serial;
  std::string_view fingerprint;
  int64_t not_before_ns = 0;
  int64_t not_after_ns = 0;
};
OutFrame EncodeEnrollDeviceReply(uint64_t request_id, const EnrolledView& reply);
Result<EnrolledView> DecodeEnrollDeviceReply(const wire::EnrollDeviceReply& reply);

struct ListDeviceCertsRequest {
  std::string_view project;
  std::string_view device;  // empty: every device
};
OutFrame EncodeListDeviceCerts(uint64_t request_id, const ListDeviceCertsRequest& request);
Result<ListDeviceCertsRequest> DecodeListDeviceCerts(const wire::ListDeviceCerts& request);

struct DeviceCertView {
  std::string_view device;
  std::string_view serial;
  std::string_view fingerprint;
  int64_t not_before_ns = 0;
  int64_t not_after_ns = 0;
  int64_t issued_ns = 0;
  int64_t revoked_ns = 0;
  int64_t last_seen_ns = 0;
  bool device_revoked = false;
  std::string_view model;
  std::string_view firmware_version;
};
OutFrame EncodeListDeviceCertsReply(uint64_t request_id, std::span<const DeviceCertView> certs);
Result<std::vector<DeviceCertView>> DecodeListDeviceCertsReply(
    const wire::ListDeviceCertsReply& reply);

struct RevokeDeviceCertRequest {
  std::string_view project;
  std::string_view device;
  std::string_view serial;
};
OutFrame EncodeRevokeDeviceCert(uint64_t request_id, const RevokeDeviceCertRequest& request);
Result<RevokeDeviceCertRequest> DecodeRevokeDeviceCert(const wire::RevokeDeviceCert& request);

struct RevokeDeviceRequest {
  std::string_view project;
  std::string_view device;
};
OutFrame EncodeRevokeDevice(uint64_t request_id, const RevokeDeviceRequest& request);
Result<RevokeDeviceRequest> DecodeRevokeDevice(const wire::RevokeDevice& request);

OutFrame EncodeGetDeviceCa(uint64_t request_id, std::string_view project);
Result<std::string_view> DecodeGetDeviceCa(const wire::GetDeviceCa& request);
OutFrame EncodeGetDeviceCaReply(uint64_t request_id, std::string_view ca_pem);
Result<std::string_view> DecodeGetDeviceCaReply(const wire::GetDeviceCaReply& reply);

}  // namespace sensordb::protocol
