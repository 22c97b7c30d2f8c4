// The values of the device identity requests of the native protocol (protocol/README.md
// "Device identity", docs/DEVICES.md): an enrolled certificate and the certificates of a
// project's devices, as plain copies that outlive the reply frame. Plain value types.
#pragma once

#include <cstdint>
#include <string>

namespace sensordb::client {

// What Enroll returns. Nothing secret: the device's key never leaves the device.
struct EnrolledCertificate {
  std::string certificate_pem;
  std::string chain_pem;    // the project's device CA certificate
  std::string serial;       // hex
  std::string fingerprint;  // SHA-256 of the certificate's DER, hex
  int64_t not_before_ns = 0;
  int64_t not_after_ns = 0;
};

struct DeviceCertificate {
  std::string device;
  std::string serial;
  std::string fingerprint;
  int64_t not_before_ns = 0;
  int64_t not_after_ns = 0;
  int64_t issued_ns = 0;
  int64_t revoked_ns = 0;    // 0: not revoked
  int64_t last_seen_ns = 0;  // of the device; 0: never (stored at most once a minute)
  bool device_revoked = false;
  std::string model;             // from the device's catalog record
  std::string firmware_version;  // likewise
};

}  // namespace sensordb::client
