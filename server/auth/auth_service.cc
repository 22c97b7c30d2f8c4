#include "auth/auth_service.h"

#include <algorithm>

#include "sensordb/coding.h"

namespace sensordb::server {
namespace {

constexpr std::string_view kBootstrapName = "bootstrap";

AuditEvent EventOf(const Actor& actor, AuditAction action, std::optional<uint32_t> project,
                   AuditOutcome outcome, std::string detail) {
  return {actor.now_ns, actor.principal.name, std::string(actor.address), action, project,
          outcome,      std::move(detail)};
}

}  // namespace

Result<std::unique_ptr<AuthService>> AuthService::Open(SystemStore& store, AuthOptions options) {
  std::unique_ptr<AuthService> s(new AuthService(store, std::move(options)));
  SENSORDB_ASSIGN_OR_RETURN(s->audit_, AuditLog::Open(store));
  s->accounts_ = std::make_unique<AccountAdmin>(store, *s->audit_, s->options_);
  s->grants_ = std::make_unique<Grants>(store, *s->audit_);
  SENSORDB_ASSIGN_OR_RETURN(s->authenticator_,
                            Authenticator::Create(*s->accounts_, *s->audit_, s->options_));
  return s;
}

Result<std::optional<IssuedToken>> AuthService::EnsureBootstrapAdmin(int64_t now_ns) {
  std::lock_guard lock(bootstrap_mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto marker, store_.GetNamed(SystemSpace::kServer, kBootstrapName));
  if (marker) return std::optional<IssuedToken>();
  RecordWriter w;
  w.PutU8(1);
  w.PutSigned(now_ns);
  w.PutString(options_.bootstrap_account);
  std::vector<SystemStore::Op> extra{
      PutOp(SystemSpace::kServer, std::string(kBootstrapName), w.Release())};
  const int64_t expires =
      options_.bootstrap_token_ttl_ns ? now_ns + options_.bootstrap_token_ttl_ns : 0;
  SENSORDB_ASSIGN_OR_RETURN(
      IssuedToken t, accounts_->CreateBootstrapAccount(options_.bootstrap_account, now_ns, expires,
                                                       std::move(extra)));
  return std::optional<IssuedToken>(std::move(t));
}

Status AuthService::Revalidate(const Principal& principal, int64_t now_ns) {
  SENSORDB_ASSIGN_OR_RETURN(auto account, accounts_->GetAccount(principal.name));
  if (!account) {
    return Status::PermissionDenied("account '" + principal.name + "' was deleted; log in again");
  }
  if (account->disabled) {
    return Status::PermissionDenied("account '" + principal.name +
                                    "' was disabled; ask an administrator to enable it");
  }
  if (account->created_ns != principal.account_created_ns ||
      account->superuser != principal.superuser) {
    return Status::PermissionDenied("account '" + principal.name +
                                    "' has changed since this session began; log in again");
  }
  if (principal.token_id.empty()) {
    if (account->password_changed_ns != principal.password_changed_ns) {
      return Status::PermissionDenied("the password of account '" + principal.name +
                                      "' was changed since this session began; log in again");
    }
    return Status::Ok();
  }
  SENSORDB_ASSIGN_OR_RETURN(auto token, accounts_->GetToken(principal.token_id));
  const std::string label = "API token sdb_" + principal.token_id + "_";
  if (!token || token->revoked_ns != 0) {
    return Status::PermissionDenied(label + " was revoked; ask an administrator for a new one");
  }
  if (token->expires_ns != 0 && now_ns >= token->expires_ns) {
    return Status::PermissionDenied(label + " expired on " + FormatTimeUtc(token->expires_ns));
  }
  return Status::Ok();
}

Status AuthService::ProjectCreated(const Actor& actor, uint32_t project_id, std::string_view name) {
  SENSORDB_RETURN_IF_ERROR(grants_->AuthorizeServer(actor.principal, Operation::kCreateProject));
  GrantRecord owner{project_id, actor.principal.name, Role::kOwner, actor.now_ns,
                    actor.principal.name};
  std::vector<SystemStore::Op> ops{
      PutOp(SystemSpace::kGrants, GrantName(project_id, actor.principal.name), EncodeGrant(owner))};
  auto seq = audit_->Append(
      EventOf(actor, AuditAction::kProjectCreated, project_id, AuditOutcome::kSuccess,
              "project " + std::string(name) + ", owner " + actor.principal.name),
      ops);
  return seq ? Status::Ok() : seq.error();
}

Status AuthService::ProjectDropped(const Actor& actor, uint32_t project_id, std::string_view name) {
  SENSORDB_ASSIGN_OR_RETURN(auto ops, grants_->DropProjectOps(project_id));
  auto seq = audit_->Append(
      EventOf(
          actor, AuditAction::kProjectDropped, project_id, AuditOutcome::kSuccess,
          "project " + std::string(name) + ", " + std::to_string(ops.size()) + " grant(s) removed"),
      ops);
  return seq ? Status::Ok() : seq.error();
}

Status AuthService::Record(const Actor& actor, AuditAction action, std::optional<uint32_t> project,
                           AuditOutcome outcome, std::string detail) {
  auto seq = audit_->Append(EventOf(actor, action, project, outcome, std::move(detail)));
  return seq ? Status::Ok() : seq.error();
}

Status AuthService::ReadAudit(const Actor& actor, uint64_t from_seq,
                              std::optional<ProjectRef> project, size_t limit,
                              const std::function<bool(const AuditEntry&)>& fn) {
  const Principal& p = actor.principal;
  std::vector<uint32_t> visible;  // sorted; unused for superusers
  if (project) {
    if (!p.superuser) SENSORDB_RETURN_IF_ERROR(Authorize(p, Operation::kReadAudit, *project));
    if (!project->id)
      return Status::NotFound("project '" + std::string(project->name) +
                              "' does not exist or you have no role in it");
    visible = {*project->id};
  } else if (!p.superuser) {
    SENSORDB_ASSIGN_OR_RETURN(visible, grants_->ProjectsAllowing(p.name, Operation::kReadAudit));
    if (visible.empty()) {
      return Status::PermissionDenied(
          "reading the audit log needs the owner or admin role in a "
          "project, or a superuser");
    }
  }
  const bool all = p.superuser && !project;
  size_t sent = 0;
  return audit_->Read(from_seq, [&](const AuditEntry& e) {
    const bool show = all || (e.event.project &&
                              std::binary_search(visible.begin(), visible.end(), *e.event.project));
    if (!show) return true;
    ++sent;
    return fn(e) && (limit == 0 || sent < limit);
  });
}

Result<AuditVerifyReport> AuthService::VerifyAudit(const Actor& actor,
                                                   std::optional<AuditAnchor> anchor) {
  SENSORDB_RETURN_IF_ERROR(grants_->AuthorizeServer(actor.principal, Operation::kReadAllAudit));
  return audit_->Verify(anchor);
}

}  // namespace sensordb::server
