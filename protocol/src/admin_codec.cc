// Administration requests and replies (admin_codec.h). Every string a peer sends is bounded
// here, before the server looks at it; the server's own checks (valid names, permissions) come
// after.
#include "sensordb/protocol/admin_codec.h"

#include <string>

#include "value_type_wire.h"

namespace sensordb::protocol {
namespace {

using flatbuffers::FlatBufferBuilder;
using flatbuffers::Offset;

std::string ToString(uint64_t v) { return std::to_string(v); }

Offset<flatbuffers::String> Str(FlatBufferBuilder& fbb, std::string_view s) {
  return fbb.CreateString(s.data(), s.size());
}

Offset<flatbuffers::Vector<uint8_t>> Bytes(FlatBufferBuilder& fbb, std::span<const uint8_t> b) {
  return fbb.CreateVector(b.data(), b.size());
}

// The message without fields of union type `type`.
template <typename Create>
OutFrame EncodeEmpty(uint64_t request_id, wire::Message type, Create create) {
  FlatBufferBuilder fbb(64);
  auto msg = create(fbb);
  return FinishEnvelope(fbb, request_id, type, msg.Union());
}

// A request naming one thing: `name` checked as a required name.
Result<std::string_view> Name(const flatbuffers::String* s, std::string_view what) {
  return CheckString(s, what, kMaxNameBytes, true);
}

Result<std::span<const uint8_t>> Hash(const flatbuffers::Vector<uint8_t>* v, std::string_view what,
                                      bool required) {
  if (v == nullptr || v->size() == 0) {
    if (required) return Err(Status::InvalidArgument(std::string(what) + " is missing"));
    return std::span<const uint8_t>();
  }
  if (v->size() != kAuditHashBytes) {
    return Err(Status::InvalidArgument(std::string(what) + " has " + ToString(v->size()) +
                                       " bytes, not " + ToString(kAuditHashBytes)));
  }
  return std::span<const uint8_t>(v->data(), v->size());
}

Result<wire::PrincipalKind> CheckKind(wire::PrincipalKind kind) {
  if (kind == wire::PrincipalKind::User || kind == wire::PrincipalKind::ServiceAccount) {
    return kind;
  }
  return Err(Status::InvalidArgument("unknown account kind " +
                                     ToString(static_cast<uint8_t>(kind)) +
                                     "; use User or ServiceAccount"));
}

Result<wire::Role> CheckRole(wire::Role role) {
  if (role >= wire::Role::Owner && role <= wire::Role::Reader) return role;
  return Err(Status::InvalidArgument("unknown role " + ToString(static_cast<uint8_t>(role)) +
                                     "; use owner, admin, writer or reader"));
}

// Decodes every element of a vector of tables with `read`; an absent vector is empty.
template <typename Out, typename Wire, typename Read>
Result<std::vector<Out>> ReadAll(const flatbuffers::Vector<Offset<Wire>>* v, Read read) {
  std::vector<Out> out;
  if (v == nullptr) return out;
  out.reserve(v->size());
  for (const Wire* w : *v) {
    SENSORDB_ASSIGN_OR_RETURN(Out item, read(*w));
    out.push_back(std::move(item));
  }
  return out;
}

// ---- Engine types
// --------------------------------------------------------------------------------

Offset<wire::DeviceInfo> BuildDevice(FlatBufferBuilder& fbb, std::string_view name,
                                     std::string_view model, std::string_view firmware) {
  auto n = Str(fbb, name);
  auto m = Str(fbb, model);
  auto f = Str(fbb, firmware);
  return wire::CreateDeviceInfo(fbb, n, m, f);
}

Result<DeviceInfo> ReadDevice(const wire::DeviceInfo& d) {
  DeviceInfo out;
  SENSORDB_ASSIGN_OR_RETURN(std::string_view name, Name(d.name(), "device name"));
  SENSORDB_ASSIGN_OR_RETURN(std::string_view model,
                            CheckString(d.model(), "device model", kMaxTextBytes, false));
  SENSORDB_ASSIGN_OR_RETURN(
      std::string_view firmware,
      CheckString(d.firmware_version(), "firmware version", kMaxTextBytes, false));
  out.name.assign(name);
  out.model.assign(model);
  out.firmware_version.assign(firmware);
  return out;
}

Offset<wire::ChannelInfo> BuildChannel(FlatBufferBuilder& fbb, const ChannelInfo& c) {
  auto device = Str(fbb, c.device);
  auto name = Str(fbb, c.name);
  auto unit = Str(fbb, c.unit);
  return wire::CreateChannelInfo(fbb, c.series_id, device, name, unit, WireType(c.type));
}

Result<ChannelInfo> ReadChannel(const wire::ChannelInfo& c) {
  ChannelInfo out;
  out.series_id = c.series_id();
  SENSORDB_ASSIGN_OR_RETURN(std::string_view device, Name(c.device(), "device name"));
  SENSORDB_ASSIGN_OR_RETURN(std::string_view name, Name(c.name(), "channel name"));
  SENSORDB_ASSIGN_OR_RETURN(std::string_view unit,
                            CheckString(c.unit(), "unit", kMaxNameBytes, false));
  SENSORDB_ASSIGN_OR_RETURN(out.type, EngineType(c.type(), "channel"));
  out.device.assign(device);
  out.name.assign(name);
  out.unit.assign(unit);
  return out;
}

}  // namespace

OutFrame EncodeDone(uint64_t request_id) {
  return EncodeEmpty(request_id, wire::Message::Done,
                     [](auto& fbb) { return wire::CreateDone(fbb); });
}

// ---- Accounts ----------------------------------------------------------------------------------

OutFrame EncodeCreateAccount(uint64_t request_id, const CreateAccountRequest& request) {
  FlatBufferBuilder fbb(256);
  auto name = Str(fbb, request.name);
  auto password =
      request.password.empty() ? Offset<flatbuffers::String>() : Str(fbb, request.password);
  auto msg = wire::CreateCreateAccount(fbb, name, request.kind, password, request.superuser);
  return FinishEnvelope(fbb, request_id, wire::Message::CreateAccount, msg.Union());
}

Result<CreateAccountRequest> DecodeCreateAccount(const wire::CreateAccount& request) {
  CreateAccountRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.name, Name(request.name(), "account name"));
  SENSORDB_ASSIGN_OR_RETURN(out.kind, CheckKind(request.kind()));
  const bool user = out.kind == wire::PrincipalKind::User;
  SENSORDB_ASSIGN_OR_RETURN(out.password,
                            CheckString(request.password(), "password", kMaxSecretBytes, user));
  if (!user && !out.password.empty()) {
    return Err(Status::InvalidArgument(
        "a service account has no password; create it without one, then issue it an API token"));
  }
  out.superuser = request.superuser();
  return out;
}

OutFrame EncodeChangePassword(uint64_t request_id, const ChangePasswordRequest& request) {
  FlatBufferBuilder fbb(256);
  auto name = Str(fbb, request.name);
  auto old_password = Str(fbb, request.old_password);
  auto new_password = Str(fbb, request.new_password);
  auto msg = wire::CreateChangePassword(fbb, name, old_password, new_password);
  return FinishEnvelope(fbb, request_id, wire::Message::ChangePassword, msg.Union());
}

Result<ChangePasswordRequest> DecodeChangePassword(const wire::ChangePassword& request) {
  ChangePasswordRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.name, Name(request.name(), "account name"));
  SENSORDB_ASSIGN_OR_RETURN(out.old_password, CheckString(request.old_password(), "old password",
                                                          kMaxSecretBytes, false));
  SENSORDB_ASSIGN_OR_RETURN(
      out.new_password, CheckString(request.new_password(), "new password", kMaxSecretBytes, true));
  return out;
}

OutFrame EncodeSetAccountDisabled(uint64_t request_id, const SetAccountDisabledRequest& request) {
  FlatBufferBuilder fbb(128);
  auto msg = wire::CreateSetAccountDisabled(fbb, Str(fbb, request.name), request.disabled);
  return FinishEnvelope(fbb, request_id, wire::Message::SetAccountDisabled, msg.Union());
}

Result<SetAccountDisabledRequest> DecodeSetAccountDisabled(
    const wire::SetAccountDisabled& request) {
  SetAccountDisabledRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.name, Name(request.name(), "account name"));
  out.disabled = request.disabled();
  return out;
}

OutFrame EncodeDeleteAccount(uint64_t request_id, std::string_view name) {
  FlatBufferBuilder fbb(128);
  auto msg = wire::CreateDeleteAccount(fbb, Str(fbb, name));
  return FinishEnvelope(fbb, request_id, wire::Message::DeleteAccount, msg.Union());
}

Result<std::string_view> DecodeDeleteAccount(const wire::DeleteAccount& request) {
  return Name(request.name(), "account name");
}

OutFrame EncodeListAccounts(uint64_t request_id) {
  return EncodeEmpty(request_id, wire::Message::ListAccounts,
                     [](auto& fbb) { return wire::CreateListAccounts(fbb); });
}

OutFrame EncodeListAccountsReply(uint64_t request_id, std::span<const AccountView> accounts) {
  FlatBufferBuilder fbb(128 + 64 * accounts.size());
  std::vector<Offset<wire::AccountInfo>> offsets;
  offsets.reserve(accounts.size());
  for (const AccountView& a : accounts) {
    offsets.push_back(wire::CreateAccountInfo(fbb, Str(fbb, a.name), a.kind, a.superuser,
                                              a.disabled, a.created_ns));
  }
  auto msg = wire::CreateListAccountsReply(fbb, fbb.CreateVector(offsets));
  return FinishEnvelope(fbb, request_id, wire::Message::ListAccountsReply, msg.Union());
}

Result<std::vector<AccountView>> DecodeListAccountsReply(const wire::ListAccountsReply& reply) {
  return ReadAll<AccountView>(
      reply.accounts(), [](const wire::AccountInfo& a) -> Result<AccountView> {
        AccountView out;
        SENSORDB_ASSIGN_OR_RETURN(out.name, Name(a.name(), "account name"));
        SENSORDB_ASSIGN_OR_RETURN(out.kind, CheckKind(a.kind()));
        out.superuser = a.superuser();
        out.disabled = a.disabled();
        out.created_ns = a.created_ns();
        return out;
      });
}

// ---- API tokens --------------------------------------------------------------------------------

OutFrame EncodeIssueToken(uint64_t request_id, const IssueTokenRequest& request) {
  FlatBufferBuilder fbb(128);
  auto msg = wire::CreateIssueToken(fbb, Str(fbb, request.account), request.expires_ns);
  return FinishEnvelope(fbb, request_id, wire::Message::IssueToken, msg.Union());
}

Result<IssueTokenRequest> DecodeIssueToken(const wire::IssueToken& request) {
  IssueTokenRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.account, Name(request.account(), "account name"));
  out.expires_ns = request.expires_ns();
  if (out.expires_ns < 0) {
    return Err(Status::InvalidArgument("token expiry " + std::to_string(out.expires_ns) +
                                       " is negative; give nanoseconds since the epoch, or 0"));
  }
  return out;
}

OutFrame EncodeIssueTokenReply(uint64_t request_id, const IssuedTokenView& reply) {
  FlatBufferBuilder fbb(256);
  auto token = Str(fbb, reply.token);
  auto id = Str(fbb, reply.id);
  auto prefix = Str(fbb, reply.prefix);
  auto account = Str(fbb, reply.account);
  auto msg = wire::CreateIssueTokenReply(fbb, token, id, prefix, account, reply.expires_ns);
  return FinishEnvelope(fbb, request_id, wire::Message::IssueTokenReply, msg.Union());
}

Result<IssuedTokenView> DecodeIssueTokenReply(const wire::IssueTokenReply& reply) {
  IssuedTokenView out;
  SENSORDB_ASSIGN_OR_RETURN(out.token, CheckString(reply.token(), "token", kMaxSecretBytes, true));
  SENSORDB_ASSIGN_OR_RETURN(out.id, Name(reply.id(), "token id"));
  SENSORDB_ASSIGN_OR_RETURN(out.prefix, Name(reply.prefix(), "token prefix"));
  SENSORDB_ASSIGN_OR_RETURN(out.account, Name(reply.account(), "account name"));
  out.expires_ns = reply.expires_ns();
  return out;
}

OutFrame EncodeRevokeToken(uint64_t request_id, std::string_view token_id) {
  FlatBufferBuilder fbb(128);
  auto msg = wire::CreateRevokeToken(fbb, Str(fbb, token_id));
  return FinishEnvelope(fbb, request_id, wire::Message::RevokeToken, msg.Union());
}

Result<std::string_view> DecodeRevokeToken(const wire::RevokeToken& request) {
  return Name(request.id(), "token id");
}

OutFrame EncodeListTokens(uint64_t request_id, std::string_view account) {
  FlatBufferBuilder fbb(128);
  auto msg = wire::CreateListTokens(fbb, Str(fbb, account));
  return FinishEnvelope(fbb, request_id, wire::Message::ListTokens, msg.Union());
}

Result<std::string_view> DecodeListTokens(const wire::ListTokens& request) {
  return CheckString(request.account(), "account name", kMaxNameBytes, false);
}

OutFrame EncodeListTokensReply(uint64_t request_id, std::span<const TokenView> tokens) {
  FlatBufferBuilder fbb(128 + 128 * tokens.size());
  std::vector<Offset<wire::TokenInfo>> offsets;
  offsets.reserve(tokens.size());
  for (const TokenView& t : tokens) {
    auto id = Str(fbb, t.id);
    auto prefix = Str(fbb, t.prefix);
    auto account = Str(fbb, t.account);
    offsets.push_back(wire::CreateTokenInfo(fbb, id, prefix, account, t.created_ns, t.expires_ns,
                                            t.last_used_ns, t.revoked_ns));
  }
  auto msg = wire::CreateListTokensReply(fbb, fbb.CreateVector(offsets));
  return FinishEnvelope(fbb, request_id, wire::Message::ListTokensReply, msg.Union());
}

Result<std::vector<TokenView>> DecodeListTokensReply(const wire::ListTokensReply& reply) {
  return ReadAll<TokenView>(reply.tokens(), [](const wire::TokenInfo& t) -> Result<TokenView> {
    TokenView out;
    SENSORDB_ASSIGN_OR_RETURN(out.id, Name(t.id(), "token id"));
    SENSORDB_ASSIGN_OR_RETURN(out.prefix, Name(t.prefix(), "token prefix"));
    SENSORDB_ASSIGN_OR_RETURN(out.account, Name(t.account(), "account name"));
    out.created_ns = t.created_ns();
    out.expires_ns = t.expires_ns();
    out.last_used_ns = t.last_used_ns();
    out.revoked_ns = t.revoked_ns();
    return out;
  });
}

// ---- Grants ------------------------------------------------------------------------------------

std::string_view RoleName(wire::Role role) {
  switch (role) {
    case wire::Role::Owner:
      return "owner";
    case wire::Role::Admin:
      return "admin";
    case wire::Role::Writer:
      return "writer";
    case wire::Role::Reader:
      return "reader";
    case wire::Role::None:
      break;
  }
  return "none";
}

Result<wire::Role> ParseRole(std::string_view name) {
  for (wire::Role r :
       {wire::Role::Owner, wire::Role::Admin, wire::Role::Writer, wire::Role::Reader}) {
    if (RoleName(r) == name) return r;
  }
  return Err(Status::InvalidArgument("unknown role '" + std::string(name.substr(0, 64)) +
                                     "'; use owner, admin, writer or reader"));
}

OutFrame EncodeSetGrant(uint64_t request_id, const SetGrantRequest& request) {
  FlatBufferBuilder fbb(128);
  auto project = Str(fbb, request.project);
  auto account = Str(fbb, request.account);
  auto msg = wire::CreateSetGrant(fbb, project, account, request.role);
  return FinishEnvelope(fbb, request_id, wire::Message::SetGrant, msg.Union());
}

Result<SetGrantRequest> DecodeSetGrant(const wire::SetGrant& request) {
  SetGrantRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Name(request.project(), "project name"));
  SENSORDB_ASSIGN_OR_RETURN(out.account, Name(request.account(), "account name"));
  SENSORDB_ASSIGN_OR_RETURN(out.role, CheckRole(request.role()));
  return out;
}

OutFrame EncodeRemoveGrant(uint64_t request_id, const RemoveGrantRequest& request) {
  FlatBufferBuilder fbb(128);
  auto project = Str(fbb, request.project);
  auto account = Str(fbb, request.account);
  auto msg = wire::CreateRemoveGrant(fbb, project, account);
  return FinishEnvelope(fbb, request_id, wire::Message::RemoveGrant, msg.Union());
}

Result<RemoveGrantRequest> DecodeRemoveGrant(const wire::RemoveGrant& request) {
  RemoveGrantRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Name(request.project(), "project name"));
  SENSORDB_ASSIGN_OR_RETURN(out.account, Name(request.account(), "account name"));
  return out;
}

OutFrame EncodeListGrants(uint64_t request_id, std::string_view project) {
  FlatBufferBuilder fbb(128);
  auto msg = wire::CreateListGrants(fbb, Str(fbb, project));
  return FinishEnvelope(fbb, request_id, wire::Message::ListGrants, msg.Union());
}

Result<std::string_view> DecodeListGrants(const wire::ListGrants& request) {
  return Name(request.project(), "project name");
}

OutFrame EncodeListGrantsReply(uint64_t request_id, std::span<const GrantView> grants) {
  FlatBufferBuilder fbb(128 + 96 * grants.size());
  std::vector<Offset<wire::GrantInfo>> offsets;
  offsets.reserve(grants.size());
  for (const GrantView& g : grants) {
    auto account = Str(fbb, g.account);
    auto by = Str(fbb, g.granted_by);
    offsets.push_back(wire::CreateGrantInfo(fbb, account, g.role, g.granted_ns, by));
  }
  auto msg = wire::CreateListGrantsReply(fbb, fbb.CreateVector(offsets));
  return FinishEnvelope(fbb, request_id, wire::Message::ListGrantsReply, msg.Union());
}

Result<std::vector<GrantView>> DecodeListGrantsReply(const wire::ListGrantsReply& reply) {
  return ReadAll<GrantView>(reply.grants(), [](const wire::GrantInfo& g) -> Result<GrantView> {
    GrantView out;
    SENSORDB_ASSIGN_OR_RETURN(out.account, Name(g.account(), "account name"));
    SENSORDB_ASSIGN_OR_RETURN(out.role, CheckRole(g.role()));
    out.granted_ns = g.granted_ns();
    SENSORDB_ASSIGN_OR_RETURN(out.granted_by,
                              CheckString(g.granted_by(), "granted by", kMaxNameBytes, false));
    return out;
  });
}

// ---- Audit log ---------------------------------------------------------------------------------

OutFrame EncodeReadAudit(uint64_t request_id, const ReadAuditRequest& request) {
  FlatBufferBuilder fbb(128);
  auto project =
      request.project.empty() ? Offset<flatbuffers::String>() : Str(fbb, request.project);
  auto msg = wire::CreateReadAudit(fbb, request.from_seq, project, request.limit);
  return FinishEnvelope(fbb, request_id, wire::Message::ReadAudit, msg.Union());
}

Result<ReadAuditRequest> DecodeReadAudit(const wire::ReadAudit& request) {
  ReadAuditRequest out;
  out.from_seq = request.from_seq();
  SENSORDB_ASSIGN_OR_RETURN(out.project,
                            CheckString(request.project(), "project name", kMaxNameBytes, false));
  out.limit = request.limit();
  return out;
}

AuditChunkBuilder::AuditChunkBuilder(uint64_t request_id, size_t target_bytes)
    : request_id_(request_id), target_bytes_(target_bytes), fbb_(target_bytes + 4096) {}

void AuditChunkBuilder::Add(const AuditEntryView& e) {
  auto principal = Str(fbb_, e.principal);
  auto address = Str(fbb_, e.address);
  auto action = Str(fbb_, e.action);
  auto project = Str(fbb_, e.project);
  auto outcome = Str(fbb_, e.outcome);
  auto detail = Str(fbb_, e.detail);
  auto prev_hash = Bytes(fbb_, e.prev_hash);
  auto hash = Bytes(fbb_, e.hash);
  entries_.push_back(wire::CreateAuditEntry(fbb_, e.seq, e.time_ns, principal, address, action,
                                            e.project_id, project, outcome, detail, prev_hash,
                                            hash));
}

OutFrame AuditChunkBuilder::Finish() {
  auto msg = wire::CreateAuditChunk(fbb_, fbb_.CreateVector(entries_));
  OutFrame frame = FinishEnvelope(fbb_, request_id_, wire::Message::AuditChunk, msg.Union());
  fbb_.Clear();
  entries_.clear();
  return frame;
}

Result<std::vector<AuditEntryView>> DecodeAuditChunk(const wire::AuditChunk& chunk) {
  return ReadAll<AuditEntryView>(
      chunk.entries(), [](const wire::AuditEntry& e) -> Result<AuditEntryView> {
        AuditEntryView out;
        out.seq = e.seq();
        out.time_ns = e.time_ns();
        SENSORDB_ASSIGN_OR_RETURN(
            out.principal, CheckString(e.principal(), "audit principal", kMaxNameBytes, false));
        SENSORDB_ASSIGN_OR_RETURN(out.address,
                                  CheckString(e.address(), "audit address", kMaxNameBytes, false));
        SENSORDB_ASSIGN_OR_RETURN(out.action, Name(e.action(), "audit action"));
        out.project_id = e.project_id();
        SENSORDB_ASSIGN_OR_RETURN(out.project,
                                  CheckString(e.project(), "audit project", kMaxNameBytes, false));
        SENSORDB_ASSIGN_OR_RETURN(out.outcome, Name(e.outcome(), "audit outcome"));
        SENSORDB_ASSIGN_OR_RETURN(out.detail,
                                  CheckString(e.detail(), "audit detail", kMaxTextBytes, false));
        SENSORDB_ASSIGN_OR_RETURN(out.prev_hash, Hash(e.prev_hash(), "audit prev_hash", true));
        SENSORDB_ASSIGN_OR_RETURN(out.hash, Hash(e.hash(), "audit hash", true));
        return out;
      });
}

OutFrame EncodeAuditEnd(uint64_t request_id, const AuditEndInfo& end) {
  FlatBufferBuilder fbb(64);
  auto msg = wire::CreateAuditEnd(fbb, end.count, end.next_seq);
  return FinishEnvelope(fbb, request_id, wire::Message::AuditEnd, msg.Union());
}

AuditEndInfo DecodeAuditEnd(const wire::AuditEnd& end) { return {end.count(), end.next_seq()}; }

OutFrame EncodeVerifyAudit(uint64_t request_id, const VerifyAuditRequest& request) {
  FlatBufferBuilder fbb(128);
  auto hash = request.anchor_hash.empty() ? Offset<flatbuffers::Vector<uint8_t>>()
                                          : Bytes(fbb, request.anchor_hash);
  auto msg = wire::CreateVerifyAudit(fbb, request.anchor_entries, hash);
  return FinishEnvelope(fbb, request_id, wire::Message::VerifyAudit, msg.Union());
}

Result<VerifyAuditRequest> DecodeVerifyAudit(const wire::VerifyAudit& request) {
  VerifyAuditRequest out;
  out.anchor_entries = request.anchor_entries();
  SENSORDB_ASSIGN_OR_RETURN(out.anchor_hash, Hash(request.anchor_hash(), "anchor hash", false));
  return out;
}

OutFrame EncodeVerifyAuditReply(uint64_t request_id, const VerifyAuditResult& reply) {
  FlatBufferBuilder fbb(256);
  auto hash = Bytes(fbb, reply.head_hash);
  std::vector<Offset<flatbuffers::String>> problems;
  problems.reserve(reply.problems.size());
  for (std::string_view p : reply.problems) {
    problems.push_back(Str(fbb, p.substr(0, kMaxTextBytes)));
  }
  auto msg = wire::CreateVerifyAuditReply(fbb, reply.entries_checked, reply.ok, reply.head_entries,
                                          hash, fbb.CreateVector(problems));
  return FinishEnvelope(fbb, request_id, wire::Message::VerifyAuditReply, msg.Union());
}

Result<VerifyAuditResult> DecodeVerifyAuditReply(const wire::VerifyAuditReply& reply) {
  VerifyAuditResult out;
  out.entries_checked = reply.entries_checked();
  out.ok = reply.ok();
  out.head_entries = reply.head_entries();
  SENSORDB_ASSIGN_OR_RETURN(out.head_hash, Hash(reply.head_hash(), "head hash", true));
  if (const auto* problems = reply.problems()) {
    if (problems->size() > kMaxAuditProblems) {
      return Err(Status::InvalidArgument("audit verification reports " +
                                         ToString(problems->size()) + " problems, more than " +
                                         ToString(kMaxAuditProblems)));
    }
    for (const flatbuffers::String* p : *problems) {
      SENSORDB_ASSIGN_OR_RETURN(std::string_view text,
                                CheckString(p, "audit problem", kMaxTextBytes, true));
      out.problems.push_back(text);
    }
  }
  if (out.ok != out.problems.empty()) {
    return Err(Status::InvalidArgument(
        "audit verification says ok=" + std::string(out.ok ? "true" : "false") + " with " +
        ToString(out.problems.size()) + " problems"));
  }
  return out;
}

// ---- Devices and channels ----------------------------------------------------------------------

OutFrame EncodeRegisterDevice(uint64_t request_id, const RegisterDeviceRequest& request) {
  FlatBufferBuilder fbb(256);
  auto project = Str(fbb, request.project);
  auto device = BuildDevice(fbb, request.device, request.model, request.firmware_version);
  auto msg = wire::CreateRegisterDevice(fbb, project, device);
  return FinishEnvelope(fbb, request_id, wire::Message::RegisterDevice, msg.Union());
}

Result<RegisterDeviceRequest> DecodeRegisterDevice(const wire::RegisterDevice& request) {
  RegisterDeviceRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Name(request.project(), "project name"));
  const wire::DeviceInfo* d = request.device();
  if (d == nullptr) return Err(Status::InvalidArgument("device is missing"));
  SENSORDB_ASSIGN_OR_RETURN(out.device, Name(d->name(), "device name"));
  SENSORDB_ASSIGN_OR_RETURN(out.model,
                            CheckString(d->model(), "device model", kMaxTextBytes, false));
  SENSORDB_ASSIGN_OR_RETURN(
      out.firmware_version,
      CheckString(d->firmware_version(), "firmware version", kMaxTextBytes, false));
  return out;
}

OutFrame EncodeListDevices(uint64_t request_id, std::string_view project) {
  FlatBufferBuilder fbb(128);
  auto msg = wire::CreateListDevices(fbb, Str(fbb, project));
  return FinishEnvelope(fbb, request_id, wire::Message::ListDevices, msg.Union());
}

Result<std::string_view> DecodeListDevices(const wire::ListDevices& request) {
  return Name(request.project(), "project name");
}

OutFrame EncodeListDevicesReply(uint64_t request_id, std::span<const DeviceInfo> devices) {
  FlatBufferBuilder fbb(128 + 96 * devices.size());
  std::vector<Offset<wire::DeviceInfo>> offsets;
  offsets.reserve(devices.size());
  for (const DeviceInfo& d : devices) {
    offsets.push_back(BuildDevice(fbb, d.name, d.model, d.firmware_version));
  }
  auto msg = wire::CreateListDevicesReply(fbb, fbb.CreateVector(offsets));
  return FinishEnvelope(fbb, request_id, wire::Message::ListDevicesReply, msg.Union());
}

Result<std::vector<DeviceInfo>> DecodeListDevicesReply(const wire::ListDevicesReply& reply) {
  return ReadAll<DeviceInfo>(reply.devices(), ReadDevice);
}

OutFrame EncodeRegisterChannel(uint64_t request_id, const RegisterChannelRequest& request) {
  FlatBufferBuilder fbb(256);
  auto project = Str(fbb, request.project);
  auto device = Str(fbb, request.device);
  auto channel = Str(fbb, request.channel);
  auto unit = Str(fbb, request.unit);
  auto msg =
      wire::CreateRegisterChannel(fbb, project, device, channel, WireType(request.type), unit);
  return FinishEnvelope(fbb, request_id, wire::Message::RegisterChannel, msg.Union());
}

Result<RegisterChannelRequest> DecodeRegisterChannel(const wire::RegisterChannel& request) {
  RegisterChannelRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Name(request.project(), "project name"));
  SENSORDB_ASSIGN_OR_RETURN(out.device, Name(request.device(), "device name"));
  SENSORDB_ASSIGN_OR_RETURN(out.channel, Name(request.channel(), "channel name"));
  SENSORDB_ASSIGN_OR_RETURN(out.type, EngineType(request.type(), "channel"));
  SENSORDB_ASSIGN_OR_RETURN(out.unit, CheckString(request.unit(), "unit", kMaxNameBytes, false));
  return out;
}

OutFrame EncodeRegisterChannelReply(uint64_t request_id, const ChannelInfo& channel) {
  FlatBufferBuilder fbb(256);
  auto msg = wire::CreateRegisterChannelReply(fbb, BuildChannel(fbb, channel));
  return FinishEnvelope(fbb, request_id, wire::Message::RegisterChannelReply, msg.Union());
}

Result<ChannelInfo> DecodeRegisterChannelReply(const wire::RegisterChannelReply& reply) {
  if (reply.channel() == nullptr) return Err(Status::InvalidArgument("channel is missing"));
  return ReadChannel(*reply.channel());
}

OutFrame EncodeListChannels(uint64_t request_id, const ListChannelsRequest& request) {
  FlatBufferBuilder fbb(128);
  auto project = Str(fbb, request.project);
  auto device = request.device.empty() ? Offset<flatbuffers::String>() : Str(fbb, request.device);
  auto msg = wire::CreateListChannels(fbb, project, device);
  return FinishEnvelope(fbb, request_id, wire::Message::ListChannels, msg.Union());
}

Result<ListChannelsRequest> DecodeListChannels(const wire::ListChannels& request) {
  ListChannelsRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Name(request.project(), "project name"));
  SENSORDB_ASSIGN_OR_RETURN(out.device,
                            CheckString(request.device(), "device name", kMaxNameBytes, false));
  return out;
}

OutFrame EncodeListChannelsReply(uint64_t request_id, std::span<const ChannelInfo> channels) {
  FlatBufferBuilder fbb(128 + 128 * channels.size());
  std::vector<Offset<wire::ChannelInfo>> offsets;
  offsets.reserve(channels.size());
  for (const ChannelInfo& c : channels) offsets.push_back(BuildChannel(fbb, c));
  auto msg = wire::CreateListChannelsReply(fbb, fbb.CreateVector(offsets));
  return FinishEnvelope(fbb, request_id, wire::Message::ListChannelsReply, msg.Union());
}

Result<std::vector<ChannelInfo>> DecodeListChannelsReply(const wire::ListChannelsReply& reply) {
  return ReadAll<ChannelInfo>(reply.channels(), ReadChannel);
}

// ---- Retention and keys ------------------------------------------------------------------------

OutFrame EncodeSetRetention(uint64_t request_id, const SetRetentionRequest& request) {
  FlatBufferBuilder fbb(128);
  auto msg = wire::CreateSetRetention(fbb, Str(fbb, request.project), request.retention_days);
  return FinishEnvelope(fbb, request_id, wire::Message::SetRetention, msg.Union());
}

Result<SetRetentionRequest> DecodeSetRetention(const wire::SetRetention& request) {
  SetRetentionRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Name(request.project(), "project name"));
  out.retention_days = request.retention_days();
  return out;
}

OutFrame EncodeRotateProjectKey(uint64_t request_id, const RotateProjectKeyRequest& request) {
  FlatBufferBuilder fbb(128);
  auto msg = wire::CreateRotateProjectKey(fbb, Str(fbb, request.project), request.reencrypt);
  return FinishEnvelope(fbb, request_id, wire::Message::RotateProjectKey, msg.Union());
}

Result<RotateProjectKeyRequest> DecodeRotateProjectKey(const wire::RotateProjectKey& request) {
  RotateProjectKeyRequest out;
  SENSORDB_ASSIGN_OR_RETURN(out.project, Name(request.project(), "project name"));
  out.reencrypt = request.reencrypt();
  return out;
}

OutFrame EncodeRotateProjectKeyReply(uint64_t request_id, const RotatedKey& reply) {
  FlatBufferBuilder fbb(64);
  auto msg = wire::CreateRotateProjectKeyReply(fbb, reply.version, reply.reencrypted);
  return FinishEnvelope(fbb, request_id, wire::Message::RotateProjectKeyReply, msg.Union());
}

RotatedKey DecodeRotateProjectKeyReply(const wire::RotateProjectKeyReply& reply) {
  return {reply.version(), reply.reencrypted()};
}

OutFrame EncodeFlush(uint64_t request_id) {
  return EncodeEmpty(request_id, wire::Message::Flush,
                     [](auto& fbb) { return wire::CreateFlush(fbb); });
}

OutFrame EncodeCompact(uint64_t request_id) {
  return EncodeEmpty(request_id, wire::Message::Compact,
                     [](auto& fbb) { return wire::CreateCompact(fbb); });
}

OutFrame EncodeKeyStatus(uint64_t request_id) {
  return EncodeEmpty(request_id, wire::Message::KeyStatus,
                     [](auto& fbb) { return wire::CreateKeyStatus(fbb); });
}

OutFrame EncodeKeyStatusReply(uint64_t request_id, const KeyStatusReport& report) {
  FlatBufferBuilder fbb(256 + 128 * report.projects.size());
  std::vector<Offset<wire::ProjectKeyInfo>> projects;
  projects.reserve(report.projects.size());
  for (const ProjectKeyStatus& p : report.projects) {
    std::vector<Offset<wire::KeyVersionInfo>> versions;
    versions.reserve(p.versions.size());
    for (const KeyVersionStatus& v : p.versions) {
      versions.push_back(wire::CreateKeyVersionInfo(fbb, v.version, v.active, v.created_unix_s,
                                                    v.blocks, v.head_records, v.catalog_records,
                                                    v.bytes, v.file_records));
    }
    auto name = Str(fbb, p.project);
    projects.push_back(
        wire::CreateProjectKeyInfo(fbb, name, p.project_id, fbb.CreateVector(versions)));
  }
  auto fingerprint = Str(fbb, report.master_key_fingerprint);
  auto kdf = Str(fbb, report.kdf);
  auto msg = wire::CreateKeyStatusReply(fbb, fingerprint, kdf, fbb.CreateVector(projects));
  return FinishEnvelope(fbb, request_id, wire::Message::KeyStatusReply, msg.Union());
}

Result<KeyStatusReport> DecodeKeyStatusReply(const wire::KeyStatusReply& reply) {
  KeyStatusReport out;
  SENSORDB_ASSIGN_OR_RETURN(
      std::string_view fingerprint,
      CheckString(reply.master_key_fingerprint(), "key fingerprint", kMaxNameBytes, false));
  SENSORDB_ASSIGN_OR_RETURN(std::string_view kdf,
                            CheckString(reply.kdf(), "kdf", kMaxNameBytes, false));
  out.master_key_fingerprint.assign(fingerprint);
  out.kdf.assign(kdf);
  SENSORDB_ASSIGN_OR_RETURN(
      out.projects,
      ReadAll<ProjectKeyStatus>(
          reply.projects(), [](const wire::ProjectKeyInfo& p) -> Result<ProjectKeyStatus> {
            ProjectKeyStatus status;
            SENSORDB_ASSIGN_OR_RETURN(std::string_view name, Name(p.project(), "project name"));
            status.project.assign(name);
            status.project_id = p.project_id();
            if (p.versions() == nullptr) return status;
            for (const wire::KeyVersionInfo* v : *p.versions()) {
              status.versions.push_back({v->version(), v->active(), v->created_unix_s(),
                                         v->blocks(), v->head_records(), v->catalog_records(),
                                         v->bytes(), v->file_records()});
            }
            return status;
          }));
  return out;
}

}  // namespace sensordb::protocol
