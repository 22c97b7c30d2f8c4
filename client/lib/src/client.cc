// Client: each call is the AsyncClient call and a wait for its future. The waits end because
// every pending request is completed by its reply, its timeout, or the connection closing.
#include "sensordb/client/client.h"

namespace sensordb::client {

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  SENSORDB_ASSIGN_OR_RETURN(std::unique_ptr<AsyncClient> async, AsyncClient::Connect(options));
  return std::unique_ptr<Client>(new Client(std::move(async)));
}

Result<WriteAck> Client::Write(std::string_view project, const WriteBatch& batch,
                               Durability durability) {
  return async_->Write(project, batch, durability).get();
}

Result<QueryStats> Client::QueryRaw(std::string_view project, const Selector& selector,
                                    const TimeRange& range, uint64_t limit, RawCallback on_run) {
  return async_->QueryRaw(project, selector, range, limit, std::move(on_run)).get();
}

Result<QueryStats> Client::Latest(std::string_view project, std::string_view device,
                                  std::string_view channel, LatestCallback on_point) {
  return async_->Latest(project, device, channel, std::move(on_point)).get();
}

Result<QueryStats> Client::Aggregate(std::string_view project, const AggregateQuery& query,
                                     AggregateCallback on_row, uint64_t limit) {
  return async_->Aggregate(project, query, std::move(on_row), limit).get();
}

Result<ProjectInfo> Client::CreateProject(std::string_view name, const ProjectOptions& options) {
  return async_->CreateProject(name, options).get();
}

Result<std::vector<ProjectInfo>> Client::ListProjects() { return async_->ListProjects().get(); }

Status Client::DropProject(std::string_view name) { return async_->DropProject(name).get(); }

Status Client::SetRetention(std::string_view project, uint32_t retention_days) {
  return async_->SetRetention(project, retention_days).get();
}

Status Client::Ping() { return async_->Ping().get(); }

Status Client::CreateUser(std::string_view name, std::string_view password, bool superuser) {
  return async_->CreateUser(name, password, superuser).get();
}

Status Client::CreateServiceAccount(std::string_view name, bool superuser) {
  return async_->CreateServiceAccount(name, superuser).get();
}

Status Client::ChangePassword(std::string_view name, std::string_view old_password,
                              std::string_view new_password) {
  return async_->ChangePassword(name, old_password, new_password).get();
}

Status Client::SetAccountDisabled(std::string_view name, bool disabled) {
  return async_->SetAccountDisabled(name, disabled).get();
}

Status Client::DeleteAccount(std::string_view name) { return async_->DeleteAccount(name).get(); }

Result<std::vector<AccountInfo>> Client::ListAccounts() { return async_->ListAccounts().get(); }

Result<IssuedToken> Client::IssueToken(std::string_view account, int64_t expires_ns) {
  return async_->IssueToken(account, expires_ns).get();
}

Status Client::RevokeToken(std::string_view token_id) {
  return async_->RevokeToken(token_id).get();
}

Result<std::vector<TokenInfo>> Client::ListTokens(std::string_view account) {
  return async_->ListTokens(account).get();
}

Status Client::SetGrant(std::string_view project, std::string_view account, Role role) {
  return async_->SetGrant(project, account, role).get();
}

Status Client::RemoveGrant(std::string_view project, std::string_view account) {
  return async_->RemoveGrant(project, account).get();
}

Result<std::vector<GrantInfo>> Client::ListGrants(std::string_view project) {
  return async_->ListGrants(project).get();
}

Result<AuditReadStats> Client::ReadAudit(uint64_t from_seq, std::string_view project,
                                         uint64_t limit, AuditCallback on_entry) {
  return async_->ReadAudit(from_seq, project, limit, std::move(on_entry)).get();
}

Result<AuditVerifyReport> Client::VerifyAudit(const AuditAnchor* anchor) {
  return async_->VerifyAudit(anchor).get();
}

Status Client::RegisterDevice(std::string_view project, const DeviceInfo& device) {
  return async_->RegisterDevice(project, device).get();
}

Result<std::vector<DeviceInfo>> Client::ListDevices(std::string_view project) {
  return async_->ListDevices(project).get();
}

Result<ChannelInfo> Client::RegisterChannel(std::string_view project, std::string_view device,
                                            std::string_view channel, ValueType type,
                                            std::string_view unit) {
  return async_->RegisterChannel(project, device, channel, type, unit).get();
}

Result<std::vector<ChannelInfo>> Client::ListChannels(std::string_view project,
                                                      std::string_view device) {
  return async_->ListChannels(project, device).get();
}

Result<EnrolledCertificate> Client::Enroll(std::string_view project, std::string_view device,
                                           std::string_view csr_pem, uint32_t days) {
  return async_->Enroll(project, device, csr_pem, days).get();
}

Result<std::vector<DeviceCertificate>> Client::ListDeviceCerts(std::string_view project,
                                                               std::string_view device) {
  return async_->ListDeviceCerts(project, device).get();
}

Status Client::RevokeDeviceCert(std::string_view project, std::string_view device,
                                std::string_view serial) {
  return async_->RevokeDeviceCert(project, device, serial).get();
}

Status Client::RevokeDevice(std::string_view project, std::string_view device) {
  return async_->RevokeDevice(project, device).get();
}

Result<std::string> Client::GetDeviceCa(std::string_view project) {
  return async_->GetDeviceCa(project).get();
}

Result<RotatedProjectKey> Client::RotateProjectKey(std::string_view project, bool reencrypt) {
  return async_->RotateProjectKey(project, reencrypt).get();
}

Result<KeyStatusReport> Client::KeyStatus() { return async_->KeyStatus().get(); }

Status Client::Flush() { return async_->Flush().get(); }

Status Client::Compact() { return async_->Compact().get(); }

Result<std::array<uint8_t, 32>> Client::GetFreshnessKey(std::string_view project) {
  return async_->GetFreshnessKey(project).get();
}

Result<uint64_t> Client::UploadFirmwareRoot(std::string_view project,
                                            std::span<const uint8_t> root) {
  return async_->UploadFirmwareRoot(project, root).get();
}

Result<FirmwareRelease> Client::UploadFirmware(std::string_view project,
                                               std::span<const uint8_t> manifest,
                                               std::span<const uint8_t> image) {
  return async_->UploadFirmware(project, manifest, image).get();
}

Result<FirmwareListing> Client::ListFirmware(std::string_view project) {
  return async_->ListFirmware(project).get();
}

Status Client::RemoveFirmware(std::string_view project, uint64_t release) {
  return async_->RemoveFirmware(project, release).get();
}

Result<FirmwareRollout> Client::CreateRollout(std::string_view project, uint64_t release,
                                              const std::vector<std::string>& devices,
                                              const RolloutPlan& plan) {
  return async_->CreateRollout(project, release, devices, plan).get();
}

Result<std::vector<DeviceFirmware>> Client::ListDeviceFirmware(std::string_view project,
                                                               std::string_view device) {
  return async_->ListDeviceFirmware(project, device).get();
}

Result<FirmwareRollout> Client::SetRolloutState(std::string_view project, uint64_t rollout,
                                                RolloutState state) {
  return async_->SetRolloutState(project, rollout, state).get();
}

}  // namespace sensordb::client
