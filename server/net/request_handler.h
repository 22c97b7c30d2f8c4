// RequestHandler: the native protocol's session state machine for one connection, independent
// of sockets — Hello, then Auth, then authorised requests against the DB. Each Handle() call
// takes one verified frame and appends the reply frames. Borrows the DB and the AuthService,
// which must outlive it. Not thread-safe (one per session, called from the session's strand).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/auth_service.h"
#include "sensordb/db.h"
#include "sensordb/protocol/frame.h"
#include "sensordb/write_batch.h"

namespace sensordb::firmware {
class FirmwareStore;
}  // namespace sensordb::firmware

namespace sensordb::server {

class DeviceRegistry;

// Where a handler puts its replies. push_back queues a frame, sent after the request is
// handled; Stream sends it now (waiting while the connection's send queue is full) and returns
// false when the connection is gone or the client stopped reading, so a long query can stop.
// Implemented by the Session; a test may use VectorSink.
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  virtual void push_back(protocol::OutFrame frame) = 0;
  virtual bool Stream(protocol::OutFrame frame) {
    push_back(std::move(frame));
    return true;
  }
};

// Collects every reply (tests, and handlers whose replies are small).
class VectorSink : public ReplySink {
 public:
  void push_back(protocol::OutFrame frame) override { frames.push_back(std::move(frame)); }
  std::vector<protocol::OutFrame> frames;
};

struct SessionLimits {
  uint32_t max_frame_bytes = protocol::kDefaultMaxFrameBytes;
  uint32_t max_write_points = 1024 * 1024;
  Durability ack = Durability::kSync;  // what a WriteReply promises (the database's durability)
  // Device identity (docs/DEVICES.md); null: the device requests answer FailedPrecondition.
  // Borrowed; must outlive the handler.
  DeviceRegistry* devices = nullptr;
  // Firmware administration (docs/OTA.md); null: those requests answer FailedPrecondition.
  firmware::FirmwareStore* firmware = nullptr;
};

// The Hello of either session (people and programs, devices): at most one per connection, the
// version negotiated, the limits told. Ok: the HelloReply is in `out` and `*done` is set.
// Otherwise the Error frame is in `out`, the connection must close, and the status says why
// (a second Hello, a malformed one, no common version).
Status AnswerHello(const protocol::Frame& frame, const SessionLimits& limits, bool* done,
                   ReplySink& out);

// What the last Handle() did, for the server's metrics.
struct RequestOutcome {
  StatusCode code = StatusCode::kOk;  // of the Error sent, if any
  uint64_t points_written = 0;
  uint64_t rows_returned = 0;  // query points, latest values or aggregate rows
  uint64_t firmware_bytes = 0;  // image bytes served to a device
  uint8_t firmware_step = 0;    // a device's firmware report: its step (1..7)
};

// One connection's requests, whoever the peer is: RequestHandler for people and programs,
// DeviceHandler for devices (device_handler.h). Called by one thread at a time.
class FrameHandler {
 public:
  // kClose: a protocol violation, the connection closes once the replies are sent; kEnd: the
  // peer ended the conversation (MQTT DISCONNECT), the connection closes as normally.
  enum class Next : uint8_t { kContinue, kClose, kEnd };
  virtual ~FrameHandler() = default;
  // Appends the replies to `frame` to `out`; kClose when the connection must close after
  // they are sent (protocol violations).
  virtual Next Handle(const protocol::Frame& frame, ReplySink& out) = 0;
  // The peer may send requests beyond the connection set-up (idle, not handshake, deadline).
  virtual bool authenticated() const = 0;
  virtual const RequestOutcome& outcome() const = 0;
};

class RequestHandler : public FrameHandler {
 public:
  RequestHandler(DB& db, AuthService& auth, std::string peer_address, SessionLimits limits)
      : db_(db), auth_(auth), peer_(std::move(peer_address)), limits_(limits) {}

  Next Handle(const protocol::Frame& frame, ReplySink& out) override;

  bool authenticated() const override { return principal_.has_value(); }
  const RequestOutcome& outcome() const override { return outcome_; }

 private:
  Next HandleHello(const protocol::Frame& frame, ReplySink& out);
  Next HandleAuth(const protocol::Frame& frame, ReplySink& out);
  Status HandleWrite(const protocol::Frame& frame, ReplySink& out);
  Status HandleQuery(const protocol::Frame& frame, ReplySink& out);
  Status HandleCreateProject(const protocol::Frame& frame, ReplySink& out);
  Status HandleListProjects(const protocol::Frame& frame, ReplySink& out);
  Status HandleDropProject(const protocol::Frame& frame, ReplySink& out);
  // Administration (admin_handler.cc).
  Status HandleCreateAccount(const protocol::Frame& frame, ReplySink& out);
  Status HandleChangePassword(const protocol::Frame& frame, ReplySink& out);
  Status HandleSetAccountDisabled(const protocol::Frame& frame, ReplySink& out);
  Status HandleDeleteAccount(const protocol::Frame& frame, ReplySink& out);
  Status HandleListAccounts(const protocol::Frame& frame, ReplySink& out);
  Status HandleIssueToken(const protocol::Frame& frame, ReplySink& out);
  Status HandleRevokeToken(const protocol::Frame& frame, ReplySink& out);
  Status HandleListTokens(const protocol::Frame& frame, ReplySink& out);
  Status HandleSetGrant(const protocol::Frame& frame, ReplySink& out);
  Status HandleRemoveGrant(const protocol::Frame& frame, ReplySink& out);
  Status HandleListGrants(const protocol::Frame& frame, ReplySink& out);
  Status HandleReadAudit(const protocol::Frame& frame, ReplySink& out);
  Status HandleVerifyAudit(const protocol::Frame& frame, ReplySink& out);
  Status HandleRegisterDevice(const protocol::Frame& frame, ReplySink& out);
  Status HandleListDevices(const protocol::Frame& frame, ReplySink& out);
  Status HandleRegisterChannel(const protocol::Frame& frame, ReplySink& out);
  Status HandleListChannels(const protocol::Frame& frame, ReplySink& out);
  Status HandleSetRetention(const protocol::Frame& frame, ReplySink& out);
  Status HandleRotateProjectKey(const protocol::Frame& frame, ReplySink& out);
  Status HandleKeyStatus(const protocol::Frame& frame, ReplySink& out);
  // Flush and Compact (superuser, audited).
  Status HandleMaintenance(const protocol::Frame& frame, ReplySink& out);
  // Device identity (device_admin_handler.cc).
  Status HandleEnrollDevice(const protocol::Frame& frame, ReplySink& out);
  Status HandleListDeviceCerts(const protocol::Frame& frame, ReplySink& out);
  Status HandleRevokeDeviceCert(const protocol::Frame& frame, ReplySink& out);
  Status HandleRevokeDevice(const protocol::Frame& frame, ReplySink& out);
  Status HandleGetDeviceCa(const protocol::Frame& frame, ReplySink& out);
  // Firmware administration (firmware_admin_handler.cc).
  Status HandleGetFreshnessKey(const protocol::Frame& frame, ReplySink& out);
  Status HandleUploadFirmwareRoot(const protocol::Frame& frame, ReplySink& out);
  Status HandleUploadFirmware(const protocol::Frame& frame, ReplySink& out);
  Status HandleListFirmware(const protocol::Frame& frame, ReplySink& out);
  Status HandleRemoveFirmware(const protocol::Frame& frame, ReplySink& out);
  Status HandleCreateRollout(const protocol::Frame& frame, ReplySink& out);
  Status HandleSetRolloutState(const protocol::Frame& frame, ReplySink& out);
  Status HandleListDeviceFirmware(const protocol::Frame& frame, ReplySink& out);
  Result<firmware::FirmwareStore*> Firmware();
  Result<DeviceRegistry*> Devices();
  // Resolves `name` and checks the principal may do `op` in it; the project's id on success.
  Result<ProjectInfo> AuthorizeProject(std::string_view name, Operation op);
  Status Admit();

  DB& db_;
  AuthService& auth_;
  const std::string peer_;
  const SessionLimits limits_;
  bool hello_done_ = false;
  std::optional<Principal> principal_;
  WriteBatch batch_;  // reused across writes
  RequestOutcome outcome_;
};

// Now (Clock::System()), the time an authenticated request acts at (Actor::now_ns).
int64_t WallClockNs();

// Flush (every head chunk sealed, the head log emptied) or, with `compact`, retention enforced
// and every file compacted, recorded in the audit log (storage-maintained) with its outcome.
// The caller has authorised the actor for Operation::kMaintainStorage. Native and REST.
Status MaintainStorage(DB& db, AuthService& auth, const Actor& actor, bool compact);

}  // namespace sensordb::server
