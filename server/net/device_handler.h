// DeviceHandler: the native protocol as a device speaks it (docs/DEVICES.md) — the identity is
// the verified certificate, fixed when the connection was admitted: `Hello`, then `Write`s of
// the device's own series only, `Ping`, and reading its own configuration (`ListDevices` and
// `ListChannels` of its project answer with itself only), and firmware (docs/OTA.md "Transfer":
// `GetFirmwareOffer`, `ReadFirmware` of what a running rollout offers it, per-device bytes per
// second, `ReportFirmware` of each step into the registry). `Auth` and everything else are refused.
// Writes pass a per-device points-per-second limit. Borrows the DB, the firmware store and the
// limiters. Not thread-safe (one per connection).
#pragma once

#include <atomic>
#include <string>

#include "auth/rate_limiter.h"
#include "devices/device_authority.h"
#include "firmware/firmware_store.h"
#include "net/request_handler.h"
#include "sensordb/db.h"
#include "sensordb/write_batch.h"

namespace sensordb::server {

class DeviceHandler : public FrameHandler {
 public:
  struct Firmware {
    firmware::FirmwareStore* store = nullptr;  // null: firmware requests are refused
    RateLimiter* bytes_limit = nullptr;
    DeviceAuthority* reports = nullptr;  // where ReportFirmware goes; null: refused
  };
  DeviceHandler(DB& db, DeviceIdentity identity, SessionLimits limits, RateLimiter& points_limit,
                Firmware firmware)
      : db_(db),
        identity_(std::move(identity)),
        limits_(limits),
        points_limit_(points_limit),
        firmware_(firmware) {}

  Next Handle(const protocol::Frame& frame, ReplySink& out) override;
  bool authenticated() const override { return hello_done_; }
  const RequestOutcome& outcome() const override { return outcome_; }
  const DeviceIdentity& identity() const { return identity_; }

 private:
  Status HandleWrite(const protocol::Frame& frame, ReplySink& out);
  Status HandleListDevices(const protocol::Frame& frame, ReplySink& out);
  Status HandleListChannels(const protocol::Frame& frame, ReplySink& out);
  Status HandleGetFirmwareOffer(const protocol::Frame& frame, ReplySink& out);
  Status HandleReadFirmware(const protocol::Frame& frame, ReplySink& out);
  Status HandleReportFirmware(const protocol::Frame& frame, ReplySink& out);
  // Ok when `project` is the device's own; else the NotFound every other name gets.
  Status OwnProject(std::string_view project) const;

  DB& db_;
  const DeviceIdentity identity_;
  const SessionLimits limits_;
  RateLimiter& points_limit_;
  const Firmware firmware_;
  bool hello_done_ = false;
  WriteBatch batch_;
  RequestOutcome outcome_;
};

}  // namespace sensordb::server
