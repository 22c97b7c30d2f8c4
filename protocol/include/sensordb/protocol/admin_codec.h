// The administration requests of the native protocol and their replies: accounts, API tokens,
// grants, the audit log, devices and channels, retention and data keys (protocol/README.md
// "Administration"). Same conventions as messages.h: Encode* return a frame ready to send;
// Decode* take a message of a verified frame, check what the schema cannot (sizes, required
// fields, known enum values) and return views into that frame (keep it alive while using them),
// or engine types (copies) where the engine has one. Functions are thread-safe (pure); an
// AuditChunkBuilder is not.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "sensordb/key_status.h"
#include "sensordb/protocol/frame.h"
#include "sensordb/protocol/messages.h"
#include "sensordb/status.h"
#include "sensordb/types.h"

namespace sensordb::protocol {

// Free text a peer may send: audit details, audit problems, device model and firmware.
inline constexpr size_t kMaxTextBytes = 4096;
// Audit hashes (BLAKE2b-256).
inline constexpr size_t kAuditHashBytes = 32;
// Most problems a VerifyAuditReply may carry (the server reports at most 64).
inline constexpr size_t kMaxAuditProblems = 1024;
// Target payload of one AuditChunk: an entry is below 2.5 KiB, so a chunk stays far below
// kMinMaxFrameBytes, the smallest frame limit a peer may announce.
inline constexpr size_t kDefaultAuditChunkBytes = 32 * 1024;

// The reply to the requests that return nothing but their success.
OutFrame EncodeDone(uint64_t request_id);

// ---- Accounts ----------------------------------------------------------------------------------

struct CreateAccountRequest {
  std::string_view name;
  wire::PrincipalKind kind = wire::PrincipalKind::User;
  std::string_view password;  // users only
  bool superuser = false;
};
OutFrame EncodeCreateAccount(uint64_t request_id, const CreateAccountRequest& request);
// A user needs a password; a service account must not carry one.
Result<CreateAccountRequest> DecodeCreateAccount(const wire::CreateAccount& request);

struct ChangePasswordRequest {
  std::string_view name;
  std::string_view old_password;  // own password: required by the server; reset: empty
  std::string_view new_password;
};
OutFrame EncodeChangePassword(uint64_t request_id, const ChangePasswordRequest& request);
Result<ChangePasswordRequest> DecodeChangePassword(const wire::ChangePassword& request);

struct SetAccountDisabledRequest {
  std::string_view name;
  bool disabled = true;
};
OutFrame EncodeSetAccountDisabled(uint64_t request_id, const SetAccountDisabledRequest& request);
Result<SetAccountDisabledRequest> DecodeSetAccountDisabled(const wire::SetAccountDisabled& request);

OutFrame EncodeDeleteAccount(uint64_t request_id, std::string_view name);
Result<std::string_view> DecodeDeleteAccount(const wire::DeleteAccount& request);

struct AccountView {
  std::string_view name;
  wire::PrincipalKind kind = wire::PrincipalKind::User;
  bool superuser = false;
  bool disabled = false;
  int64_t created_ns = 0;
};
OutFrame EncodeListAccounts(uint64_t request_id);
OutFrame EncodeListAccountsReply(uint64_t request_id, std::span<const AccountView> accounts);
Result<std::vector<AccountView>> DecodeListAccountsReply(const wire::ListAccountsReply& reply);

// ---- API tokens --------------------------------------------------------------------------------

struct IssueTokenRequest {
  std::string_view account;
  int64_t expires_ns = 0;  // 0: never
};
OutFrame EncodeIssueToken(uint64_t request_id, const IssueTokenRequest& request);
Result<IssueTokenRequest> DecodeIssueToken(const wire::IssueToken& request);

struct IssuedTokenView {
  std::string_view token;  // the secret, shown once: never log it
  std::string_view id;
  std::string_view prefix;
  std::string_view account;
  int64_t expires_ns = 0;
};
OutFrame EncodeIssueTokenReply(uint64_t request_id, const IssuedTokenView& reply);
Result<IssuedTokenView> DecodeIssueTokenReply(const wire::IssueTokenReply& reply);

OutFrame EncodeRevokeToken(uint64_t request_id, std::string_view token_id);
Result<std::string_view> DecodeRevokeToken(const wire::RevokeToken& request);

// `account` empty: every account's tokens.
OutFrame EncodeListTokens(uint64_t request_id, std::string_view account);
Result<std::string_view> DecodeListTokens(const wire::ListTokens& request);

struct TokenView {
  std::string_view id;
  std::string_view prefix;
  std::string_view account;
  int64_t created_ns = 0;
  int64_t expires_ns = 0;
  int64_t last_used_ns = 0;
  int64_t revoked_ns = 0;
};
OutFrame EncodeListTokensReply(uint64_t request_id, std::span<const TokenView> tokens);
Result<std::vector<TokenView>> DecodeListTokensReply(const wire::ListTokensReply& reply);

// ---- Grants ------------------------------------------------------------------------------------

// "owner", "admin", "writer", "reader"; "none" for Role::None and unknown values.
std::string_view RoleName(wire::Role role);
// Owner..Reader; kInvalidArgument naming the valid names otherwise.
Result<wire::Role> ParseRole(std::string_view name);

struct SetGrantRequest {
  std::string_view project;
  std::string_view account;
  wire::Role role = wire::Role::Reader;
};
OutFrame EncodeSetGrant(uint64_t request_id, const SetGrantRequest& request);
// The role must be Owner..Reader.
Result<SetGrantRequest> DecodeSetGrant(const wire::SetGrant& request);

struct RemoveGrantRequest {
  std::string_view project;
  std::string_view account;
};
OutFrame EncodeRemoveGrant(uint64_t request_id, const RemoveGrantRequest& request);
Result<RemoveGrantRequest> DecodeRemoveGrant(const wire::RemoveGrant& request);

OutFrame EncodeListGrants(uint64_t request_id, std::string_view project);
Result<std::string_view> DecodeListGrants(const wire::ListGrants& request);

struct GrantView {
  std::string_view account;
  wire::Role role = wire::Role::Reader;
  int64_t granted_ns = 0;
  std::string_view granted_by;
};
OutFrame EncodeListGrantsReply(uint64_t request_id, std::span<const GrantView> grants);
Result<std::vector<GrantView>> DecodeListGrantsReply(const wire::ListGrantsReply& reply);

// ---- Audit log ---------------------------------------------------------------------------------

struct ReadAuditRequest {
  uint64_t from_seq = 1;
  std::string_view project;  // empty: every entry the principal may read
  uint64_t limit = 0;        // 0: no limit
};
OutFrame EncodeReadAudit(uint64_t request_id, const ReadAuditRequest& request);
Result<ReadAuditRequest> DecodeReadAudit(const wire::ReadAudit& request);

struct AuditEntryView {
  uint64_t seq = 0;
  int64_t time_ns = 0;
  std::string_view principal;
  std::string_view address;
  std::string_view action;   // "login", "grant-set", ...
  uint32_t project_id = 0;   // 0: none
  std::string_view project;  // empty when dropped or none
  std::string_view outcome;  // "success", "failure", "denied"
  std::string_view detail;
  std::span<const uint8_t> prev_hash;  // kAuditHashBytes
  std::span<const uint8_t> hash;       // kAuditHashBytes
};

// Collects audit entries into AuditChunk frames of about `target_bytes` each: Add() until
// full(), send Finish()'s frame, Finish() the remainder before the AuditEnd. Add() copies.
class AuditChunkBuilder {
 public:
  explicit AuditChunkBuilder(uint64_t request_id, size_t target_bytes = kDefaultAuditChunkBytes);

  void Add(const AuditEntryView& entry);
  bool empty() const { return entries_.empty(); }
  bool full() const { return fbb_.GetSize() >= target_bytes_; }
  size_t entries() const { return entries_.size(); }

  // The chunk as a frame; the builder is then empty.
  OutFrame Finish();

 private:
  const uint64_t request_id_;
  const size_t target_bytes_;
  flatbuffers::FlatBufferBuilder fbb_;
  std::vector<flatbuffers::Offset<wire::AuditEntry>> entries_;
};
// Checks every entry's strings and hash sizes.
Result<std::vector<AuditEntryView>> DecodeAuditChunk(const wire::AuditChunk& chunk);

struct AuditEndInfo {
  uint64_t count = 0;
  uint64_t next_seq = 0;
};
OutFrame EncodeAuditEnd(uint64_t request_id, const AuditEndInfo& end);
AuditEndInfo DecodeAuditEnd(const wire::AuditEnd& end);

struct VerifyAuditRequest {
  uint64_t anchor_entries = 0;
  std::span<const uint8_t> anchor_hash;  // empty: no anchor; else kAuditHashBytes
};
OutFrame EncodeVerifyAudit(uint64_t request_id, const VerifyAuditRequest& request);
Result<VerifyAuditRequest> DecodeVerifyAudit(const wire::VerifyAudit& request);

struct VerifyAuditResult {
  uint64_t entries_checked = 0;
  bool ok = false;
  uint64_t head_entries = 0;
  std::span<const uint8_t> head_hash;  // kAuditHashBytes
  std::vector<std::string_view> problems;
};
OutFrame EncodeVerifyAuditReply(uint64_t request_id, const VerifyAuditResult& reply);
// Also checks that `ok` agrees with the problems.
Result<VerifyAuditResult> DecodeVerifyAuditReply(const wire::VerifyAuditReply& reply);

// ---- Devices and channels ----------------------------------------------------------------------

struct RegisterDeviceRequest {
  std::string_view project;
  std::string_view device;
  std::string_view model;
  std::string_view firmware_version;
};
OutFrame EncodeRegisterDevice(uint64_t request_id, const RegisterDeviceRequest& request);
Result<RegisterDeviceRequest> DecodeRegisterDevice(const wire::RegisterDevice& request);

OutFrame EncodeListDevices(uint64_t request_id, std::string_view project);
Result<std::string_view> DecodeListDevices(const wire::ListDevices& request);
OutFrame EncodeListDevicesReply(uint64_t request_id, std::span<const DeviceInfo> devices);
Result<std::vector<DeviceInfo>> DecodeListDevicesReply(const wire::ListDevicesReply& reply);

struct RegisterChannelRequest {
  std::string_view project;
  std::string_view device;
  std::string_view channel;
  ValueType type = ValueType::kFloat64;
  std::string_view unit;
};
OutFrame EncodeRegisterChannel(uint64_t request_id, const RegisterChannelRequest& request);
Result<RegisterChannelRequest> DecodeRegisterChannel(const wire::RegisterChannel& request);
OutFrame EncodeRegisterChannelReply(uint64_t request_id, const ChannelInfo& channel);
Result<ChannelInfo> DecodeRegisterChannelReply(const wire::RegisterChannelReply& reply);

struct ListChannelsRequest {
  std::string_view project;
  std::string_view device;  // empty: every device
};
OutFrame EncodeListChannels(uint64_t request_id, const ListChannelsRequest& request);
Result<ListChannelsRequest> DecodeListChannels(const wire::ListChannels& request);
OutFrame EncodeListChannelsReply(uint64_t request_id, std::span<const ChannelInfo> channels);
Result<std::vector<ChannelInfo>> DecodeListChannelsReply(const wire::ListChannelsReply& reply);

// ---- Retention and keys ------------------------------------------------------------------------

struct SetRetentionRequest {
  std::string_view project;
  uint32_t retention_days = 0;  // 0 keeps forever
};
OutFrame EncodeSetRetention(uint64_t request_id, const SetRetentionRequest& request);
Result<SetRetentionRequest> DecodeSetRetention(const wire::SetRetention& request);

struct RotateProjectKeyRequest {
  std::string_view project;
  bool reencrypt = false;
};
OutFrame EncodeRotateProjectKey(uint64_t request_id, const RotateProjectKeyRequest& request);
Result<RotateProjectKeyRequest> DecodeRotateProjectKey(const wire::RotateProjectKey& request);

struct RotatedKey {
  uint32_t version = 0;
  bool reencrypted = false;
};
OutFrame EncodeRotateProjectKeyReply(uint64_t request_id, const RotatedKey& reply);
RotatedKey DecodeRotateProjectKeyReply(const wire::RotateProjectKeyReply& reply);

// Storage maintenance (both answered with Done).
OutFrame EncodeFlush(uint64_t request_id);
OutFrame EncodeCompact(uint64_t request_id);

OutFrame EncodeKeyStatus(uint64_t request_id);
OutFrame EncodeKeyStatusReply(uint64_t request_id, const KeyStatusReport& report);
Result<KeyStatusReport> DecodeKeyStatusReply(const wire::KeyStatusReply& reply);

}  // namespace sensordb::protocol
