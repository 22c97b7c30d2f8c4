// AsyncClient: one TLS 1.3 connection to sensordbd speaking the native protocol
// (protocol/README.md), with a background io thread. Requests are pipelined: every call sends
// at once (or waits for a slot in the window of ClientOptions::max_in_flight requests) and
// returns a future; replies are matched by request id. Query results stream through callbacks
// that run on the io thread as chunks arrive; the library never collects a whole result.
//
// Every failure is a Status in the future: an Error frame from the server (its code and
// message), a timeout, a lost connection (which fails every pending request and every later
// call). No exception leaves this API.
//
// Thread-safe: any number of threads may call any method concurrently. Callbacks run on the io
// thread, one at a time; while one runs no other reply is read. A callback must not block on
// this client (no future.get(), no Client call, no destruction); it may start new async calls,
// which fail at once rather than wait when the window is full. See docs/CLIENT.md.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/client/admin_types.h"
#include "sensordb/client/client_options.h"
#include "sensordb/client/device_types.h"
#include "sensordb/client/firmware_types.h"
#include "sensordb/key_status.h"
#include "sensordb/query.h"
#include "sensordb/status.h"
#include "sensordb/types.h"
#include "sensordb/write_batch.h"

namespace sensordb::client {

// What Connect learnt from HelloReply and AuthReply.
struct SessionInfo {
  uint16_t protocol_version = 0;
  std::string server_name;        // "sensordbd/0.1.0"
  uint32_t max_frame_bytes = 0;   // largest frame the server accepts
  uint32_t max_write_points = 0;  // most points in one Write
  std::string principal;          // the account logged in
  bool service_account = false;   // token login (else a user)
  bool superuser = false;
};

struct WriteAck {
  uint64_t points = 0;                 // points stored
  Durability ack = Durability::kSync;  // the guarantee the acknowledgement gives
};

struct QueryStats {
  // Points (raw, latest) or rows (aggregate) handed to the callback.
  uint64_t count = 0;
  // The query's `limit` cut the result short (reported by the server).
  bool truncated = false;
  // The callback returned false. The future completes then; the rest of the server's reply is
  // read and discarded in the background (its request slot stays taken until it ends).
  bool stopped = false;
};

// Raw runs: the engine's RawCallback (sensordb/query.h). Latest points of one device:
using LatestCallback = std::function<bool(const LatestPoint&)>;

class AsyncClient {
 public:
  // Resolves, connects, verifies the server's certificate, negotiates the protocol version
  // (Hello) and logs in (Auth), all within options.connect_timeout_ms.
  static Result<std::unique_ptr<AsyncClient>> Connect(const ClientOptions& options);
  // Closes the connection: pending requests fail with kFailedPrecondition ("client closed").
  // Must not run on the io thread (from a callback).
  ~AsyncClient();
  AsyncClient(const AsyncClient&) = delete;
  AsyncClient& operator=(const AsyncClient&) = delete;

  const SessionInfo& session() const;
  // Ok while the connection is up; else why it closed.
  Status status() const;
  // Same as the destructor, earlier. Idempotent.
  void Close();

  // ---- Writes -----------------------------------------------------------------------------
  // Encodes the batch on the calling thread, then sends it. A batch with more points than
  // session().max_write_points, or whose frame exceeds session().max_frame_bytes, is refused
  // with kInvalidArgument before anything is sent (a Write is atomic: split it yourself, each
  // part is then atomic on its own). The batch may be reused once the call returns.
  std::future<Result<WriteAck>> Write(std::string_view project, const WriteBatch& batch,
                                      Durability durability = Durability::kSync);

  // ---- Queries (callbacks on the io thread; return false to stop) ------------------------
  // Raw points of the selected series in [range.start_ns, range.end_ns); limit 0: all.
  std::future<Result<QueryStats>> QueryRaw(std::string_view project, const Selector& selector,
                                           const TimeRange& range, uint64_t limit,
                                           RawCallback on_run);
  // The newest point of each channel of `device` (of `channel` only, when not empty).
  std::future<Result<QueryStats>> Latest(std::string_view project, std::string_view device,
                                         std::string_view channel, LatestCallback on_point);
  // Aggregate rows; row.series is null for a merged (not per-series) query. limit 0: all rows.
  std::future<Result<QueryStats>> Aggregate(std::string_view project, const AggregateQuery& query,
                                            AggregateCallback on_row, uint64_t limit = 0);

  // ---- Administration and liveness -------------------------------------------------------
  // Who may send what: the operation matrix of docs/AUTH.md. Secrets (passwords) are wiped from
  // the request frame once it is written; no secret is ever put in an error message.
  std::future<Result<ProjectInfo>> CreateProject(std::string_view name,
                                                 const ProjectOptions& options = {});
  std::future<Result<std::vector<ProjectInfo>>> ListProjects();
  std::future<Status> DropProject(std::string_view name);
  std::future<Status> SetRetention(std::string_view project, uint32_t retention_days);
  // Round trip; also keeps an idle connection open past the server's idle timeout.
  std::future<Status> Ping();

  // Accounts (superuser). A user logs in with a password; a service account with tokens.
  std::future<Status> CreateUser(std::string_view name, std::string_view password,
                                 bool superuser = false);
  std::future<Status> CreateServiceAccount(std::string_view name, bool superuser = false);
  // One's own password needs `old_password`; a superuser resets another user's without it.
  std::future<Status> ChangePassword(std::string_view name, std::string_view old_password,
                                     std::string_view new_password);
  std::future<Status> SetAccountDisabled(std::string_view name, bool disabled);
  // Also deletes the account's tokens and grants.
  std::future<Status> DeleteAccount(std::string_view name);
  std::future<Result<std::vector<AccountInfo>>> ListAccounts();

  // API tokens of service accounts (superuser). expires_ns 0: never.
  std::future<Result<IssuedToken>> IssueToken(std::string_view account, int64_t expires_ns = 0);
  std::future<Status> RevokeToken(std::string_view token_id);
  // `account` empty: every account's tokens.
  std::future<Result<std::vector<TokenInfo>>> ListTokens(std::string_view account = {});

  // Grants of roles in a project (owner, admin; a superuser anywhere).
  std::future<Status> SetGrant(std::string_view project, std::string_view account, Role role);
  std::future<Status> RemoveGrant(std::string_view project, std::string_view account);
  std::future<Result<std::vector<GrantInfo>>> ListGrants(std::string_view project);

  // Audit entries from `from_seq` (from 1) that the principal may read, of one project when
  // `project` is not empty; limit 0: all. The callback runs on the io thread (same rules as a
  // query callback); the entries stream, the library never collects them.
  std::future<Result<AuditReadStats>> ReadAudit(uint64_t from_seq, std::string_view project,
                                                uint64_t limit, AuditCallback on_entry);
  // Walks the whole hash chain (superuser); with an anchor, also proves it is still there.
  std::future<Result<AuditVerifyReport>> VerifyAudit(const AuditAnchor* anchor = nullptr);

  // Devices and channels, as DB::RegisterDevice ... ListChannels (sensordb/db.h).
  std::future<Status> RegisterDevice(std::string_view project, const DeviceInfo& device);
  std::future<Result<std::vector<DeviceInfo>>> ListDevices(std::string_view project);
  std::future<Result<ChannelInfo>> RegisterChannel(std::string_view project,
                                                   std::string_view device,
                                                   std::string_view channel, ValueType type,
                                                   std::string_view unit = {});
  std::future<Result<std::vector<ChannelInfo>>> ListChannels(std::string_view project,
                                                             std::string_view device = {});

  // Device identity (docs/DEVICES.md): enrolment from a PEM CSR (`days` 0: the server's
  // default), the certificates of a project or one device, revocation of one certificate or a
  // whole device (owner, admin), and the project's device CA (made by an owner or admin's first
  // call or enrolment; readable by every role once it exists).
  std::future<Result<EnrolledCertificate>> Enroll(std::string_view project, std::string_view device,
                                                  std::string_view csr_pem, uint32_t days = 0);
  std::future<Result<std::vector<DeviceCertificate>>> ListDeviceCerts(
      std::string_view project, std::string_view device = {});
  std::future<Status> RevokeDeviceCert(std::string_view project, std::string_view device,
                                       std::string_view serial);
  std::future<Status> RevokeDevice(std::string_view project, std::string_view device);
  std::future<Result<std::string>> GetDeviceCa(std::string_view project);

  // Data keys (docs/SECURITY.md). With `reencrypt` the server re-seals older data before it
  // replies: allow a long request_timeout_ms for a large project.
  std::future<Result<RotatedProjectKey>> RotateProjectKey(std::string_view project,
                                                          bool reencrypt = false);
  // Master key fingerprint and data key versions per project (superuser); no key material.
  std::future<Result<KeyStatusReport>> KeyStatus();

  // Storage maintenance (superuser, audited; docs/CLI.md "Stats and maintenance"): Flush seals
  // every head chunk into blocks and empties the head log; Compact enforces retention, flushes,
  // then compacts every file. The server answers when done: allow a long request_timeout_ms for
  // Compact of a large database. One runs at a time; another gets RateLimited.
  std::future<Status> Flush();
  std::future<Status> Compact();

  // Firmware (docs/OTA.md; manage-firmware, listing: query; every change audited): the
  // project's freshness public key (made on first use), its next trust root, a signed release
  // (manifest and image in one frame: the image is bounded by the server's frame limit), the
  // releases and rollouts, rollouts offering a release to devices in waves, and what the
  // devices reported.
  std::future<Result<std::array<uint8_t, 32>>> GetFreshnessKey(std::string_view project);
  std::future<Result<uint64_t>> UploadFirmwareRoot(std::string_view project,
                                                   std::span<const uint8_t> root);
  std::future<Result<FirmwareRelease>> UploadFirmware(std::string_view project,
                                                      std::span<const uint8_t> manifest,
                                                      std::span<const uint8_t> image);
  std::future<Result<FirmwareListing>> ListFirmware(std::string_view project);
  std::future<Status> RemoveFirmware(std::string_view project, uint64_t release);
  std::future<Result<FirmwareRollout>> CreateRollout(std::string_view project, uint64_t release,
                                                     const std::vector<std::string>& devices,
                                                     const RolloutPlan& plan = {});
  std::future<Result<FirmwareRollout>> SetRolloutState(std::string_view project, uint64_t rollout,
                                                       RolloutState state);
  // What the project's devices last reported (query): every device that reported, or one.
  std::future<Result<std::vector<DeviceFirmware>>> ListDeviceFirmware(std::string_view project,
                                                                      std::string_view device = {});

 private:
  class Impl;
  explicit AsyncClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sensordb::client
