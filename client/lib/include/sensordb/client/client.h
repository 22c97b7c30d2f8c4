// Client: the blocking face of AsyncClient — the same calls, each waiting for its reply and
// returning a Result or Status. Query callbacks still run on the client's io thread while the
// calling thread waits. Thread-safe: several threads may call at once, and their requests are
// pipelined on the one connection (up to ClientOptions::max_in_flight).
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "sensordb/client/async_client.h"

namespace sensordb::client {

class Client {
 public:
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);

  const SessionInfo& session() const { return async_->session(); }
  Status status() const { return async_->status(); }
  void Close() { async_->Close(); }
  // The asynchronous client underneath, for mixing both styles on one connection.
  AsyncClient& async() { return *async_; }

  Result<WriteAck> Write(std::string_view project, const WriteBatch& batch,
                         Durability durability = Durability::kSync);
  Result<QueryStats> QueryRaw(std::string_view project, const Selector& selector,
                              const TimeRange& range, uint64_t limit, RawCallback on_run);
  Result<QueryStats> Latest(std::string_view project, std::string_view device,
                            std::string_view channel, LatestCallback on_point);
  Result<QueryStats> Aggregate(std::string_view project, const AggregateQuery& query,
                               AggregateCallback on_row, uint64_t limit = 0);
  Result<ProjectInfo> CreateProject(std::string_view name, const ProjectOptions& options = {});
  Result<std::vector<ProjectInfo>> ListProjects();
  Status DropProject(std::string_view name);
  Status SetRetention(std::string_view project, uint32_t retention_days);
  Status Ping();

  Status CreateUser(std::string_view name, std::string_view password, bool superuser = false);
  Status CreateServiceAccount(std::string_view name, bool superuser = false);
  Status ChangePassword(std::string_view name, std::string_view old_password,
                        std::string_view new_password);
  Status SetAccountDisabled(std::string_view name, bool disabled);
  Status DeleteAccount(std::string_view name);
  Result<std::vector<AccountInfo>> ListAccounts();

  Result<IssuedToken> IssueToken(std::string_view account, int64_t expires_ns = 0);
  Status RevokeToken(std::string_view token_id);
  Result<std::vector<TokenInfo>> ListTokens(std::string_view account = {});

  Status SetGrant(std::string_view project, std::string_view account, Role role);
  Status RemoveGrant(std::string_view project, std::string_view account);
  Result<std::vector<GrantInfo>> ListGrants(std::string_view project);

  Result<AuditReadStats> ReadAudit(uint64_t from_seq, std::string_view project, uint64_t limit,
                                   AuditCallback on_entry);
  Result<AuditVerifyReport> VerifyAudit(const AuditAnchor* anchor = nullptr);

  Status RegisterDevice(std::string_view project, const DeviceInfo& device);
  Result<std::vector<DeviceInfo>> ListDevices(std::string_view project);
  Result<ChannelInfo> RegisterChannel(std::string_view project, std::string_view device,
                                      std::string_view channel, ValueType type,
                                      std::string_view unit = {});
  Result<std::vector<ChannelInfo>> ListChannels(std::string_view project,
                                                std::string_view device = {});

  Result<EnrolledCertificate> Enroll(std::string_view project, std::string_view device,
                                     std::string_view csr_pem, uint32_t days = 0);
  Result<std::vector<DeviceCertificate>> ListDeviceCerts(std::string_view project,
                                                         std::string_view device = {});
  Status RevokeDeviceCert(std::string_view project, std::string_view device,
                          std::string_view serial);
  Status RevokeDevice(std::string_view project, std::string_view device);
  Result<std::string> GetDeviceCa(std::string_view project);

  Result<RotatedProjectKey> RotateProjectKey(std::string_view project, bool reencrypt = false);
  Result<KeyStatusReport> KeyStatus();

  Status Flush();
  Status Compact();

  Result<std::array<uint8_t, 32>> GetFreshnessKey(std::string_view project);
  Result<uint64_t> UploadFirmwareRoot(std::string_view project, std::span<const uint8_t> root);
  Result<FirmwareRelease> UploadFirmware(std::string_view project,
                                         std::span<const uint8_t> manifest,
                                         std::span<const uint8_t> image);
  Result<FirmwareListing> ListFirmware(std::string_view project);
  Status RemoveFirmware(std::string_view project, uint64_t release);
  Result<FirmwareRollout> CreateRollout(std::string_view project, uint64_t release,
                                        const std::vector<std::string>& devices,
                                        const RolloutPlan& plan = {});
  Result<FirmwareRollout> SetRolloutState(std::string_view project, uint64_t rollout,
                                          RolloutState state);
  Result<std::vector<DeviceFirmware>> ListDeviceFirmware(std::string_view project,
                                                         std::string_view device = {});

 private:
  explicit Client(std::unique_ptr<AsyncClient> async) : async_(std::move(async)) {}
  std::unique_ptr<AsyncClient> async_;
};

}  // namespace sensordb::client
