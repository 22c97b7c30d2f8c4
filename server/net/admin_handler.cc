// RequestHandler's administration requests (protocol/README.md "Administration"): accounts,
// API tokens, grants, the audit log, devices and channels, retention and data keys. Each decodes
// its request, then leaves the permission check to the class that owns the records
// (AccountAdmin: kManageUsers, Grants: kManageGrants, AuthService: audit) or, for engine work,
// checks it with AuthorizeProject first, as HandleWrite does. A project the principal has no
// role in is answered exactly as one that does not exist (NotFound, same text).
#include <algorithm>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/request_handler.h"
#include "sensordb/protocol/admin_codec.h"

namespace sensordb::server {

namespace {

// The wire and the stored roles share their numbers (docs/AUTH.md "Stored records").
static_assert(static_cast<uint8_t>(wire::Role::Owner) == static_cast<uint8_t>(Role::kOwner));
static_assert(static_cast<uint8_t>(wire::Role::Reader) == static_cast<uint8_t>(Role::kReader));

wire::Role WireRole(Role role) { return static_cast<wire::Role>(static_cast<uint8_t>(role)); }
// `role` passed DecodeSetGrant, so it is Owner..Reader.
Role ServerRole(wire::Role role) { return static_cast<Role>(static_cast<uint8_t>(role)); }

wire::PrincipalKind WireKind(PrincipalKind kind) {
  return kind == PrincipalKind::kUser ? wire::PrincipalKind::User
                                      : wire::PrincipalKind::ServiceAccount;
}

// The project named `name` as Grants wants it: no id when no project has that name. Grants
// then answers "no such project" and "no role in it" alike.
Result<ProjectRef> ResolveProject(DB& db, std::string_view name) {
  auto project = db.GetProject(name);
  if (project) return ProjectRef{project->id, name};
  if (project.error().code() == StatusCode::kNotFound) return ProjectRef{std::nullopt, name};
  return Err(project.error());
}

}  // namespace

// ---- Accounts ----------------------------------------------------------------------------------

Status RequestHandler::HandleCreateAccount(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeCreateAccount(*frame.As<wire::CreateAccount>());
  SENSORDB_RETURN_IF_ERROR(request);
  const Actor actor{*principal_, peer_, WallClockNs()};
  if (request->kind == wire::PrincipalKind::User) {
    SENSORDB_RETURN_IF_ERROR(
        auth_.accounts().CreateUser(actor, request->name, request->password, request->superuser));
  } else {
    SENSORDB_RETURN_IF_ERROR(
        auth_.accounts().CreateServiceAccount(actor, request->name, request->superuser));
  }
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleChangePassword(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeChangePassword(*frame.As<wire::ChangePassword>());
  SENSORDB_RETURN_IF_ERROR(request);
  const Actor actor{*principal_, peer_, WallClockNs()};
  int64_t changed_ns = 0;
  SENSORDB_RETURN_IF_ERROR(auth_.accounts().ChangePassword(
      actor, request->name, request->old_password, request->new_password, &changed_ns));
  // The account's other sessions end; this one, which knew the old password, goes on.
  if (request->name == principal_->name && principal_->token_id.empty()) {
    principal_->password_changed_ns = changed_ns;
  }
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleSetAccountDisabled(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeSetAccountDisabled(*frame.As<wire::SetAccountDisabled>());
  SENSORDB_RETURN_IF_ERROR(request);
  const Actor actor{*principal_, peer_, WallClockNs()};
  SENSORDB_RETURN_IF_ERROR(auth_.accounts().SetDisabled(actor, request->name, request->disabled));
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleDeleteAccount(const protocol::Frame& frame, ReplySink& out) {
  auto name = protocol::DecodeDeleteAccount(*frame.As<wire::DeleteAccount>());
  SENSORDB_RETURN_IF_ERROR(name);
  const Actor actor{*principal_, peer_, WallClockNs()};
  SENSORDB_RETURN_IF_ERROR(auth_.accounts().DeleteAccount(actor, *name));
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleListAccounts(const protocol::Frame& frame, ReplySink& out) {
  const Actor actor{*principal_, peer_, WallClockNs()};
  auto accounts = auth_.accounts().ListAccounts(actor);
  SENSORDB_RETURN_IF_ERROR(accounts);
  std::vector<protocol::AccountView> views;
  views.reserve(accounts->size());
  for (const AccountInfo& a : *accounts) {
    views.push_back({a.name, WireKind(a.kind), a.superuser, a.disabled, a.created_ns});
  }
  out.push_back(protocol::EncodeListAccountsReply(frame.request_id(), views));
  return Status::Ok();
}

// ---- API tokens --------------------------------------------------------------------------------

Status RequestHandler::HandleIssueToken(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeIssueToken(*frame.As<wire::IssueToken>());
  SENSORDB_RETURN_IF_ERROR(request);
  const Actor actor{*principal_, peer_, WallClockNs()};
  auto issued = auth_.accounts().IssueToken(actor, request->account, request->expires_ns);
  SENSORDB_RETURN_IF_ERROR(issued);
  // The one place the token's text leaves the server; `issued` wipes its copy when it dies.
  const std::string prefix = std::string(kTokenPrefix) + issued->id + "_";
  out.push_back(protocol::EncodeIssueTokenReply(
      frame.request_id(),
      {issued->text.view(), issued->id, prefix, request->account, request->expires_ns}));
  return Status::Ok();
}

Status RequestHandler::HandleRevokeToken(const protocol::Frame& frame, ReplySink& out) {
  auto id = protocol::DecodeRevokeToken(*frame.As<wire::RevokeToken>());
  SENSORDB_RETURN_IF_ERROR(id);
  const Actor actor{*principal_, peer_, WallClockNs()};
  SENSORDB_RETURN_IF_ERROR(auth_.accounts().RevokeToken(actor, *id));
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleListTokens(const protocol::Frame& frame, ReplySink& out) {
  auto account = protocol::DecodeListTokens(*frame.As<wire::ListTokens>());
  SENSORDB_RETURN_IF_ERROR(account);
  const Actor actor{*principal_, peer_, WallClockNs()};
  auto tokens = auth_.accounts().ListTokens(actor, *account);
  SENSORDB_RETURN_IF_ERROR(tokens);
  std::vector<protocol::TokenView> views;
  views.reserve(tokens->size());
  for (const TokenInfo& t : *tokens) {
    views.push_back(
        {t.id, t.prefix, t.account, t.created_ns, t.expires_ns, t.last_used_ns, t.revoked_ns});
  }
  out.push_back(protocol::EncodeListTokensReply(frame.request_id(), views));
  return Status::Ok();
}

// ---- Grants ------------------------------------------------------------------------------------

Status RequestHandler::HandleSetGrant(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeSetGrant(*frame.As<wire::SetGrant>());
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = ResolveProject(db_, request->project);
  SENSORDB_RETURN_IF_ERROR(project);
  const Actor actor{*principal_, peer_, WallClockNs()};
  SENSORDB_RETURN_IF_ERROR(
      auth_.grants().SetGrant(actor, *project, request->account, ServerRole(request->role)));
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleRemoveGrant(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeRemoveGrant(*frame.As<wire::RemoveGrant>());
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = ResolveProject(db_, request->project);
  SENSORDB_RETURN_IF_ERROR(project);
  const Actor actor{*principal_, peer_, WallClockNs()};
  SENSORDB_RETURN_IF_ERROR(auth_.grants().RemoveGrant(actor, *project, request->account));
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleListGrants(const protocol::Frame& frame, ReplySink& out) {
  auto name = protocol::DecodeListGrants(*frame.As<wire::ListGrants>());
  SENSORDB_RETURN_IF_ERROR(name);
  auto project = ResolveProject(db_, *name);
  SENSORDB_RETURN_IF_ERROR(project);
  const Actor actor{*principal_, peer_, WallClockNs()};
  auto grants = auth_.grants().ListGrants(actor, *project);
  SENSORDB_RETURN_IF_ERROR(grants);
  std::vector<protocol::GrantView> views;
  views.reserve(grants->size());
  for (const GrantRecord& g : *grants) {
    views.push_back({g.account, WireRole(g.role), g.granted_ns, g.granted_by});
  }
  out.push_back(protocol::EncodeListGrantsReply(frame.request_id(), views));
  return Status::Ok();
}

// ---- Audit log ---------------------------------------------------------------------------------

Status RequestHandler::HandleReadAudit(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeReadAudit(*frame.As<wire::ReadAudit>());
  SENSORDB_RETURN_IF_ERROR(request);
  std::optional<ProjectRef> project;
  if (!request->project.empty()) {
    auto ref = ResolveProject(db_, request->project);
    SENSORDB_RETURN_IF_ERROR(ref);
    project = *ref;
  }
  // Names of the projects that still exist, to show beside the ids entries carry. Only entries
  // the principal may read are sent, so no name leaks.
  auto projects = db_.ListProjects();
  SENSORDB_RETURN_IF_ERROR(projects);
  std::unordered_map<uint32_t, std::string> names;
  for (ProjectInfo& p : *projects) names.emplace(p.id, std::move(p.name));

  const uint64_t id = frame.request_id();
  const uint64_t from_seq = std::max<uint64_t>(request->from_seq, 1);
  // Entries up to the head as of now are all looked at unless the limit stops the read, so
  // the next read may start past them even when none of them was visible.
  const uint64_t head = auth_.audit().Head().entries;
  protocol::AuditChunkBuilder chunk(id);
  protocol::AuditEndInfo end{0, from_seq};
  bool gone = false;  // the connection closed or the client stopped reading
  const Actor actor{*principal_, peer_, WallClockNs()};
  Status s = auth_.ReadAudit(actor, from_seq, project, request->limit, [&](const AuditEntry& e) {
    const uint32_t pid = e.event.project.value_or(0);
    auto name = e.event.project ? names.find(pid) : names.end();
    chunk.Add({e.seq, e.event.time_ns, e.event.principal, e.event.address,
               AuditActionName(e.event.action), pid,
               name == names.end() ? std::string_view() : std::string_view(name->second),
               AuditOutcomeName(e.event.outcome), e.event.detail, e.prev_hash, e.hash});
    ++end.count;
    end.next_seq = e.seq + 1;
    if (chunk.full() && !out.Stream(chunk.Finish())) gone = true;
    return !gone;
  });
  if (!s.ok()) return s;  // after chunks, an Error tells the client the read is incomplete
  if (gone) return Status::Ok();
  const bool limited = request->limit != 0 && end.count >= request->limit;
  if (!limited) end.next_seq = std::max(end.next_seq, head + 1);
  if (!chunk.empty()) out.push_back(chunk.Finish());
  out.push_back(protocol::EncodeAuditEnd(id, end));
  return Status::Ok();
}

Status RequestHandler::HandleVerifyAudit(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeVerifyAudit(*frame.As<wire::VerifyAudit>());
  SENSORDB_RETURN_IF_ERROR(request);
  std::optional<AuditAnchor> anchor;
  if (!request->anchor_hash.empty()) {
    anchor.emplace();
    anchor->entries = request->anchor_entries;
    std::copy(request->anchor_hash.begin(), request->anchor_hash.end(), anchor->hash.begin());
  }
  const Actor actor{*principal_, peer_, WallClockNs()};
  auto report = auth_.VerifyAudit(actor, anchor);
  SENSORDB_RETURN_IF_ERROR(report);
  std::vector<std::string> problems;
  problems.reserve(report->problems.size());
  for (const AuditProblem& p : report->problems) {
    problems.push_back(std::string(AuditProblemName(p.kind)) + ": " + p.message);
  }
  protocol::VerifyAuditResult reply;
  reply.entries_checked = report->entries_checked;
  reply.ok = report->ok();
  reply.head_entries = report->head.entries;
  reply.head_hash = report->head.hash;
  reply.problems.assign(problems.begin(), problems.end());
  out.push_back(protocol::EncodeVerifyAuditReply(frame.request_id(), reply));
  return Status::Ok();
}

// ---- Devices and channels ----------------------------------------------------------------------

Status RequestHandler::HandleRegisterDevice(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeRegisterDevice(*frame.As<wire::RegisterDevice>());
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = AuthorizeProject(request->project, Operation::kManageDevices);
  SENSORDB_RETURN_IF_ERROR(project);
  const DeviceInfo device{std::string(request->device), std::string(request->model),
                          std::string(request->firmware_version)};
  SENSORDB_RETURN_IF_ERROR(db_.RegisterDevice(project->name, device));
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleListDevices(const protocol::Frame& frame, ReplySink& out) {
  auto name = protocol::DecodeListDevices(*frame.As<wire::ListDevices>());
  SENSORDB_RETURN_IF_ERROR(name);
  auto project = AuthorizeProject(*name, Operation::kQuery);
  SENSORDB_RETURN_IF_ERROR(project);
  auto devices = db_.ListDevices(project->name);
  SENSORDB_RETURN_IF_ERROR(devices);
  out.push_back(protocol::EncodeListDevicesReply(frame.request_id(), *devices));
  return Status::Ok();
}

Status RequestHandler::HandleRegisterChannel(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeRegisterChannel(*frame.As<wire::RegisterChannel>());
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = AuthorizeProject(request->project, Operation::kManageDevices);
  SENSORDB_RETURN_IF_ERROR(project);
  auto channel = db_.RegisterChannel(project->name, request->device, request->channel,
                                     request->type, request->unit);
  SENSORDB_RETURN_IF_ERROR(channel);
  out.push_back(protocol::EncodeRegisterChannelReply(frame.request_id(), *channel));
  return Status::Ok();
}

Status RequestHandler::HandleListChannels(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeListChannels(*frame.As<wire::ListChannels>());
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = AuthorizeProject(request->project, Operation::kQuery);
  SENSORDB_RETURN_IF_ERROR(project);
  auto channels = db_.ListChannels(project->name, request->device);
  SENSORDB_RETURN_IF_ERROR(channels);
  out.push_back(protocol::EncodeListChannelsReply(frame.request_id(), *channels));
  return Status::Ok();
}

// ---- Retention and keys ------------------------------------------------------------------------

Status RequestHandler::HandleSetRetention(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeSetRetention(*frame.As<wire::SetRetention>());
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = AuthorizeProject(request->project, Operation::kSetRetention);
  SENSORDB_RETURN_IF_ERROR(project);
  SENSORDB_RETURN_IF_ERROR(db_.SetRetention(project->name, request->retention_days));
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleRotateProjectKey(const protocol::Frame& frame, ReplySink& out) {
  auto request = protocol::DecodeRotateProjectKey(*frame.As<wire::RotateProjectKey>());
  SENSORDB_RETURN_IF_ERROR(request);
  auto project = AuthorizeProject(request->project, Operation::kRotateProjectKey);
  SENSORDB_RETURN_IF_ERROR(project);
  const Actor actor{*principal_, peer_, WallClockNs()};
  const std::string what = "data key of project " + project->name;
  auto version = db_.RotateProjectKey(project->name);
  if (!version) {
    // The failure is what matters to the client; its audit entry is best effort.
    auth_
        .Record(actor, AuditAction::kKeyRotated, project->id, AuditOutcome::kFailure,
                what + ": rotation failed: " + version.error().message())
        .IgnoreError();
    return version.error();
  }
  std::string detail = what + " rotated to version " + std::to_string(*version);
  Status reencrypted = Status::Ok();
  if (request->reencrypt) {
    reencrypted = db_.ReencryptProject(project->name);
    detail += reencrypted.ok() ? "; older data re-encrypted, older versions destroyed"
                               : "; re-encryption failed: " + reencrypted.message();
  }
  SENSORDB_RETURN_IF_ERROR(auth_.Record(
      actor, AuditAction::kKeyRotated, project->id,
      reencrypted.ok() ? AuditOutcome::kSuccess : AuditOutcome::kFailure, std::move(detail)));
  if (!reencrypted.ok()) return reencrypted;
  out.push_back(
      protocol::EncodeRotateProjectKeyReply(frame.request_id(), {*version, request->reencrypt}));
  return Status::Ok();
}

Status MaintainStorage(DB& db, AuthService& auth, const Actor& actor, bool compact) {
  // One at a time: each holds a worker until it is done, and a client that timed out and asked
  // again must not stack compactions.
  static std::mutex one_at_a_time;
  std::unique_lock lock(one_at_a_time, std::try_to_lock);
  if (!lock.owns_lock()) {
    return Status::RateLimited("a flush or compaction is already running; try again later");
  }
  const std::string what = compact ? "compact" : "flush";
  // Compact drops expired blocks first, as `sensordb compact` on a data directory does.
  Status s = compact ? db.EnforceRetention() : db.Flush();
  if (s.ok() && compact) s = db.Compact();
  if (!s.ok()) {
    // The failure is what matters to the client; its audit entry is best effort.
    auth.Record(actor, AuditAction::kStorageMaintained, std::nullopt, AuditOutcome::kFailure,
                what + " failed: " + s.message())
        .IgnoreError();
    return s;
  }
  return auth.Record(actor, AuditAction::kStorageMaintained, std::nullopt, AuditOutcome::kSuccess,
                     what);
}

Status RequestHandler::HandleMaintenance(const protocol::Frame& frame, ReplySink& out) {
  SENSORDB_RETURN_IF_ERROR(auth_.AuthorizeServer(*principal_, Operation::kMaintainStorage));
  SENSORDB_RETURN_IF_ERROR(MaintainStorage(db_, auth_, {*principal_, peer_, WallClockNs()},
                                           frame.type() == wire::Message::Compact));
  out.push_back(protocol::EncodeDone(frame.request_id()));
  return Status::Ok();
}

Status RequestHandler::HandleKeyStatus(const protocol::Frame& frame, ReplySink& out) {
  // Server-wide key management (it names every project): the operation that guards the master
  // key. The report holds fingerprints and counts, never key material.
  SENSORDB_RETURN_IF_ERROR(auth_.AuthorizeServer(*principal_, Operation::kRotateMasterKey));
  auto report = db_.KeyStatus();
  SENSORDB_RETURN_IF_ERROR(report);
  out.push_back(protocol::EncodeKeyStatusReply(frame.request_id(), *report));
  return Status::Ok();
}

}  // namespace sensordb::server
