// DeviceAuthority: what the device listener asks about a device that connects (docs/DEVICES.md).
// The TLS layer has verified the chain against the trust store built from CaCertificates();
// Admit then decides: the leaf must be issued by the device CA of the project its URI SAN
// (sensordb://<project>/<device>) names, be inside its validity, not revoked, and belong to a
// registered, enabled device. Identity comes only from the verified certificate, never from
// anything the device sends. Implemented by DeviceRegistry (device_registry.h). Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/status.h"

namespace sensordb::server {

struct DeviceIdentity {
  std::string project;
  uint32_t project_id = 0;
  std::string device;
  std::string serial;       // the certificate's serial number, hex
  std::string fingerprint;  // SHA-256 of the certificate's DER, hex
  int64_t not_after_ns = 0;
};

// A device's report of a step of an offered firmware release (docs/OTA.md "Device reports"):
// the step is firmware::FirmwareStep's number, the reason the agent's result name.
struct FirmwareReport {
  uint64_t release = 0;
  uint8_t step = 0;
  std::string reason;
  std::string version;  // what the device runs now
  uint64_t security_version = 0;
  uint64_t root_version = 0;
  int64_t at_ns = 0;
};

class DeviceAuthority {
 public:
  virtual ~DeviceAuthority() = default;

  // PEM certificates of every project's device CA: the listener's trust store. The generation
  // changes whenever a CA is added or removed (a project created or dropped), so that the
  // listener can rebuild its store.
  virtual std::vector<std::string> CaCertificates() = 0;
  virtual uint64_t CaGeneration() const = 0;

  // The identity of the peer whose verified leaf certificate is `leaf_der`, or
  // kPermissionDenied with a message for the audit log saying why it is refused (wrong CA for
  // the project named, expired, revoked, unknown or disabled device, malformed SAN).
  virtual Result<DeviceIdentity> Admit(std::span<const uint8_t> leaf_der, int64_t now_ns) = 0;

  // Notes that the device was seen (stored at most once a minute per device).
  virtual void Seen(const DeviceIdentity& device, int64_t now_ns) = 0;

  // Records the device's last firmware report (one per device, replacing the one before); a
  // `confirmed` report sets the catalog's firmware version; a failure halts each rollout of
  // the release whose wave holding the device passed its failure threshold (audited).
  virtual Status ReportFirmware(const DeviceIdentity& device, const FirmwareReport& report) = 0;

  // Called (on the revoking thread) when a certificate (serial set) or a whole device (serial
  // empty) is revoked, or a device's project is dropped (device and serial empty), so that
  // live sessions can be closed. Returns a handle for Unwatch.
  using RevocationFn =
      std::function<void(uint32_t project_id, std::string_view device, std::string_view serial)>;
  virtual uint64_t WatchRevocations(RevocationFn fn) = 0;
  virtual void Unwatch(uint64_t handle) = 0;
};

}  // namespace sensordb::server
