// AsyncClient's administration requests (protocol/README.md "Administration"): accounts, API
// tokens, grants, the audit log, devices and channels, retention and data keys. Each is an
// encoder and a decoder around Impl::CallOne; ReadAudit streams through an AuditHandler. The
// decoders copy what the reply's views point at, since the frame dies with the callback.
#include <algorithm>
#include <span>

#include "async_client_impl.h"
#include "sensordb/protocol/admin_codec.h"

namespace sensordb::client {

namespace {

// A request whose reply is Done.
Status ExpectDone(const Frame& f, std::string_view request) {
  return OkIf(Expect<wire::Done>(f, request));
}

AccountKind FromWire(wire::PrincipalKind kind) {
  return kind == wire::PrincipalKind::ServiceAccount ? AccountKind::kServiceAccount
                                                     : AccountKind::kUser;
}

AuditHash CopyHash(std::span<const uint8_t> bytes) {
  AuditHash h{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), h.size()), h.begin());
  return h;
}

}  // namespace

// ---- Value helpers ------------------------------------------------------------------------------

std::string_view AccountKindName(AccountKind kind) {
  return kind == AccountKind::kServiceAccount ? "service-account" : "user";
}

void IssuedToken::Wipe() {
  // Through a volatile pointer, so the stores are not optimised away before the free.
  volatile char* p = token.data();
  for (size_t i = 0; i < token.size(); ++i) p[i] = 0;
  token.clear();
}

std::string_view RoleName(Role role) { return protocol::RoleName(static_cast<wire::Role>(role)); }

Result<Role> ParseRole(std::string_view name) {
  SENSORDB_ASSIGN_OR_RETURN(const wire::Role role, protocol::ParseRole(name));
  return static_cast<Role>(role);
}

// ---- Projects -----------------------------------------------------------------------------------

std::future<Status> AsyncClient::SetRetention(std::string_view project, uint32_t retention_days) {
  return impl_->CallOne<Status>(
      impl_->Options("SetRetention"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeSetRetention(id, {project, retention_days});
      },
      [](const Frame& f) { return ExpectDone(f, "SetRetention"); });
}

// ---- Accounts -----------------------------------------------------------------------------------

std::future<Status> AsyncClient::CreateUser(std::string_view name, std::string_view password,
                                            bool superuser) {
  return impl_->CallOne<Status>(
      impl_->SecretOptions("CreateAccount"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeCreateAccount(
            id, {name, wire::PrincipalKind::User, password, superuser});
      },
      [](const Frame& f) { return ExpectDone(f, "CreateAccount"); });
}

std::future<Status> AsyncClient::CreateServiceAccount(std::string_view name, bool superuser) {
  return impl_->CallOne<Status>(
      impl_->Options("CreateAccount"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeCreateAccount(
            id, {name, wire::PrincipalKind::ServiceAccount, {}, superuser});
      },
      [](const Frame& f) { return ExpectDone(f, "CreateAccount"); });
}

std::future<Status> AsyncClient::ChangePassword(std::string_view name,
                                                std::string_view old_password,
                                                std::string_view new_password) {
  return impl_->CallOne<Status>(
      impl_->SecretOptions("ChangePassword"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeChangePassword(id, {name, old_password, new_password});
      },
      [](const Frame& f) { return ExpectDone(f, "ChangePassword"); });
}

std::future<Status> AsyncClient::SetAccountDisabled(std::string_view name, bool disabled) {
  return impl_->CallOne<Status>(
      impl_->Options("SetAccountDisabled"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeSetAccountDisabled(id, {name, disabled});
      },
      [](const Frame& f) { return ExpectDone(f, "SetAccountDisabled"); });
}

std::future<Status> AsyncClient::DeleteAccount(std::string_view name) {
  return impl_->CallOne<Status>(
      impl_->Options("DeleteAccount"),
      [&](uint64_t id) -> Result<OutFrame> { return protocol::EncodeDeleteAccount(id, name); },
      [](const Frame& f) { return ExpectDone(f, "DeleteAccount"); });
}

std::future<Result<std::vector<AccountInfo>>> AsyncClient::ListAccounts() {
  return impl_->CallOne<Result<std::vector<AccountInfo>>>(
      impl_->Options("ListAccounts"),
      [](uint64_t id) -> Result<OutFrame> { return protocol::EncodeListAccounts(id); },
      [](const Frame& f) -> Result<std::vector<AccountInfo>> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::ListAccountsReply>(f, "ListAccounts"));
        SENSORDB_ASSIGN_OR_RETURN(const auto views, protocol::DecodeListAccountsReply(*m));
        std::vector<AccountInfo> accounts;
        accounts.reserve(views.size());
        for (const auto& v : views) {
          accounts.push_back(
              {std::string(v.name), FromWire(v.kind), v.superuser, v.disabled, v.created_ns});
        }
        return accounts;
      });
}

// ---- API tokens ---------------------------------------------------------------------------------

std::future<Result<IssuedToken>> AsyncClient::IssueToken(std::string_view account,
                                                         int64_t expires_ns) {
  return impl_->CallOne<Result<IssuedToken>>(
      impl_->Options("IssueToken"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeIssueToken(id, {account, expires_ns});
      },
      [](const Frame& f) -> Result<IssuedToken> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m, Expect<wire::IssueTokenReply>(f, "IssueToken"));
        SENSORDB_ASSIGN_OR_RETURN(const auto v, protocol::DecodeIssueTokenReply(*m));
        IssuedToken t;
        t.token.assign(v.token);
        t.id.assign(v.id);
        t.prefix.assign(v.prefix);
        t.account.assign(v.account);
        t.expires_ns = v.expires_ns;
        return t;
      });
}

std::future<Status> AsyncClient::RevokeToken(std::string_view token_id) {
  return impl_->CallOne<Status>(
      impl_->Options("RevokeToken"),
      [&](uint64_t id) -> Result<OutFrame> { return protocol::EncodeRevokeToken(id, token_id); },
      [](const Frame& f) { return ExpectDone(f, "RevokeToken"); });
}

std::future<Result<std::vector<TokenInfo>>> AsyncClient::ListTokens(std::string_view account) {
  return impl_->CallOne<Result<std::vector<TokenInfo>>>(
      impl_->Options("ListTokens"),
      [&](uint64_t id) -> Result<OutFrame> { return protocol::EncodeListTokens(id, account); },
      [](const Frame& f) -> Result<std::vector<TokenInfo>> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m, Expect<wire::ListTokensReply>(f, "ListTokens"));
        SENSORDB_ASSIGN_OR_RETURN(const auto views, protocol::DecodeListTokensReply(*m));
        std::vector<TokenInfo> tokens;
        tokens.reserve(views.size());
        for (const auto& v : views) {
          tokens.push_back({std::string(v.id), std::string(v.prefix), std::string(v.account),
                            v.created_ns, v.expires_ns, v.last_used_ns, v.revoked_ns});
        }
        return tokens;
      });
}

// ---- Grants -------------------------------------------------------------------------------------

std::future<Status> AsyncClient::SetGrant(std::string_view project, std::string_view account,
                                          Role role) {
  return impl_->CallOne<Status>(
      impl_->Options("SetGrant"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeSetGrant(id, {project, account, static_cast<wire::Role>(role)});
      },
      [](const Frame& f) { return ExpectDone(f, "SetGrant"); });
}

std::future<Status> AsyncClient::RemoveGrant(std::string_view project, std::string_view account) {
  return impl_->CallOne<Status>(
      impl_->Options("RemoveGrant"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeRemoveGrant(id, {project, account});
      },
      [](const Frame& f) { return ExpectDone(f, "RemoveGrant"); });
}

std::future<Result<std::vector<GrantInfo>>> AsyncClient::ListGrants(std::string_view project) {
  return impl_->CallOne<Result<std::vector<GrantInfo>>>(
      impl_->Options("ListGrants"),
      [&](uint64_t id) -> Result<OutFrame> { return protocol::EncodeListGrants(id, project); },
      [](const Frame& f) -> Result<std::vector<GrantInfo>> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m, Expect<wire::ListGrantsReply>(f, "ListGrants"));
        SENSORDB_ASSIGN_OR_RETURN(const auto views, protocol::DecodeListGrantsReply(*m));
        std::vector<GrantInfo> grants;
        grants.reserve(views.size());
        for (const auto& v : views) {
          grants.push_back({std::string(v.account), static_cast<Role>(v.role), v.granted_ns,
                            std::string(v.granted_by)});
        }
        return grants;
      });
}

// ---- Audit log ----------------------------------------------------------------------------------

std::future<Result<AuditReadStats>> AsyncClient::ReadAudit(uint64_t from_seq,
                                                           std::string_view project, uint64_t limit,
                                                           AuditCallback on_entry) {
  if (!on_entry) {
    return Ready<Result<AuditReadStats>>(
        Err(Status::InvalidArgument("ReadAudit needs a callback")));
  }
  return impl_->CallStream(
      impl_->Options("ReadAudit"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeReadAudit(id, {std::max<uint64_t>(from_seq, 1), project, limit});
      },
      std::make_shared<AuditHandler>(std::move(on_entry)));
}

std::future<Result<AuditVerifyReport>> AsyncClient::VerifyAudit(const AuditAnchor* anchor) {
  protocol::VerifyAuditRequest request;
  if (anchor != nullptr) {
    request.anchor_entries = anchor->entries;
    request.anchor_hash = anchor->hash;
  }
  return impl_->CallOne<Result<AuditVerifyReport>>(
      impl_->Options("VerifyAudit"),
      [&](uint64_t id) -> Result<OutFrame> { return protocol::EncodeVerifyAudit(id, request); },
      [](const Frame& f) -> Result<AuditVerifyReport> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m, Expect<wire::VerifyAuditReply>(f, "VerifyAudit"));
        SENSORDB_ASSIGN_OR_RETURN(const auto v, protocol::DecodeVerifyAuditReply(*m));
        AuditVerifyReport r;
        r.entries_checked = v.entries_checked;
        r.ok = v.ok;
        r.head = {v.head_entries, CopyHash(v.head_hash)};
        for (std::string_view p : v.problems) r.problems.emplace_back(p);
        return r;
      });
}

// ---- Devices and channels -----------------------------------------------------------------------

std::future<Status> AsyncClient::RegisterDevice(std::string_view project,
                                                const DeviceInfo& device) {
  return impl_->CallOne<Status>(
      impl_->Options("RegisterDevice"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeRegisterDevice(
            id, {project, device.name, device.model, device.firmware_version});
      },
      [](const Frame& f) { return ExpectDone(f, "RegisterDevice"); });
}

std::future<Result<std::vector<DeviceInfo>>> AsyncClient::ListDevices(std::string_view project) {
  return impl_->CallOne<Result<std::vector<DeviceInfo>>>(
      impl_->Options("ListDevices"),
      [&](uint64_t id) -> Result<OutFrame> { return protocol::EncodeListDevices(id, project); },
      [](const Frame& f) -> Result<std::vector<DeviceInfo>> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m, Expect<wire::ListDevicesReply>(f, "ListDevices"));
        return protocol::DecodeListDevicesReply(*m);
      });
}

std::future<Result<ChannelInfo>> AsyncClient::RegisterChannel(std::string_view project,
                                                              std::string_view device,
                                                              std::string_view channel,
                                                              ValueType type,
                                                              std::string_view unit) {
  return impl_->CallOne<Result<ChannelInfo>>(
      impl_->Options("RegisterChannel"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeRegisterChannel(id, {project, device, channel, type, unit});
      },
      [](const Frame& f) -> Result<ChannelInfo> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::RegisterChannelReply>(f, "RegisterChannel"));
        return protocol::DecodeRegisterChannelReply(*m);
      });
}

std::future<Result<std::vector<ChannelInfo>>> AsyncClient::ListChannels(std::string_view project,
                                                                        std::string_view device) {
  return impl_->CallOne<Result<std::vector<ChannelInfo>>>(
      impl_->Options("ListChannels"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeListChannels(id, {project, device});
      },
      [](const Frame& f) -> Result<std::vector<ChannelInfo>> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::ListChannelsReply>(f, "ListChannels"));
        return protocol::DecodeListChannelsReply(*m);
      });
}

// ---- Keys ---------------------------------------------------------------------------------------

std::future<Result<RotatedProjectKey>> AsyncClient::RotateProjectKey(std::string_view project,
                                                                     bool reencrypt) {
  return impl_->CallOne<Result<RotatedProjectKey>>(
      impl_->Options("RotateProjectKey"),
      [&](uint64_t id) -> Result<OutFrame> {
        return protocol::EncodeRotateProjectKey(id, {project, reencrypt});
      },
      [](const Frame& f) -> Result<RotatedProjectKey> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m,
                                  Expect<wire::RotateProjectKeyReply>(f, "RotateProjectKey"));
        const protocol::RotatedKey k = protocol::DecodeRotateProjectKeyReply(*m);
        return RotatedProjectKey{k.version, k.reencrypted};
      });
}

std::future<Result<KeyStatusReport>> AsyncClient::KeyStatus() {
  return impl_->CallOne<Result<KeyStatusReport>>(
      impl_->Options("KeyStatus"),
      [](uint64_t id) -> Result<OutFrame> { return protocol::EncodeKeyStatus(id); },
      [](const Frame& f) -> Result<KeyStatusReport> {
        SENSORDB_ASSIGN_OR_RETURN(const auto* m, Expect<wire::KeyStatusReply>(f, "KeyStatus"));
        return protocol::DecodeKeyStatusReply(*m);
      });
}

// ---- Storage maintenance ------------------------------------------------------------------------

std::future<Status> AsyncClient::Flush() {
  return impl_->CallOne<Status>(
      impl_->Options("Flush"),
      [](uint64_t id) -> Result<OutFrame> { return protocol::EncodeFlush(id); },
      [](const Frame& f) { return ExpectDone(f, "Flush"); });
}

std::future<Status> AsyncClient::Compact() {
  return impl_->CallOne<Status>(
      impl_->Options("Compact"),
      [](uint64_t id) -> Result<OutFrame> { return protocol::EncodeCompact(id); },
      [](const Frame& f) { return ExpectDone(f, "Compact"); });
}

}  // namespace sensordb::client
