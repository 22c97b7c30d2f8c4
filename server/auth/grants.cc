#include "auth/grants.h"

#include <algorithm>

namespace sensordb::server {

// The one message for "no such project" and "no access to it".
Status Grants::Hidden(const ProjectRef& project) {
  return Status::NotFound("project '" + std::string(project.name) +
                          "' does not exist or you have no role in it");
}

Result<std::optional<Role>> Grants::RoleOf(std::string_view account, uint32_t project_id) {
  SENSORDB_ASSIGN_OR_RETURN(auto value,
                            store_.GetNamed(SystemSpace::kGrants, GrantName(project_id, account)));
  if (!value) return std::optional<Role>();
  SENSORDB_ASSIGN_OR_RETURN(GrantRecord g, DecodeGrant(*value));
  if (g.account != account || g.project_id != project_id) {
    return Err(Status::Corruption("grant record of '" + std::string(account) +
                                  "' names another account or project; restore the system "
                                  "records from a backup"));
  }
  return std::optional<Role>(g.role);
}

Status Grants::AuthorizeServer(const Principal& principal, Operation op) {
  if (IsProjectOperation(op)) {
    return Status::InvalidArgument("operation " + std::string(OperationName(op)) +
                                   " needs a project");
  }
  if (principal.superuser) return Status::Ok();
  return Status::PermissionDenied("operation " + std::string(OperationName(op)) +
                                  " needs a superuser; account '" + principal.name +
                                  "' is not one");
}

Status Grants::Authorize(const Principal& principal, Operation op, const ProjectRef& project) {
  if (!IsProjectOperation(op)) {
    return Status::InvalidArgument("operation " + std::string(OperationName(op)) +
                                   " is server-wide; it takes no project");
  }
  // A missing project still costs one lookup (of id 0, which no project has), so that timing
  // does not tell "does not exist" from "no role in it" apart either.
  SENSORDB_ASSIGN_OR_RETURN(auto role, RoleOf(principal.name, project.id.value_or(0)));
  if (!project.id) return Hidden(project);
  if (principal.superuser && SuperuserAllowsInAnyProject(op)) return Status::Ok();
  if (!role) return Hidden(project);
  if (RoleAllows(*role, op)) return Status::Ok();
  return Status::PermissionDenied("role " + std::string(RoleName(*role)) + " in project '" +
                                  std::string(project.name) + "' does not allow " +
                                  std::string(OperationName(op)) + "; ask a project owner");
}

Status Grants::SetGrant(const Actor& actor, const ProjectRef& project, std::string_view account,
                        Role role) {
  return ChangeGrant(actor, project, account, role);
}

Status Grants::RemoveGrant(const Actor& actor, const ProjectRef& project,
                           std::string_view account) {
  return ChangeGrant(actor, project, account, std::nullopt);
}

Status Grants::ChangeGrant(const Actor& actor, const ProjectRef& project, std::string_view account,
                           std::optional<Role> wanted) {
  const AuditAction action = wanted ? AuditAction::kGrantSet : AuditAction::kGrantRemoved;
  SENSORDB_RETURN_IF_ERROR(Authorize(actor.principal, Operation::kManageGrants, project));
  const uint32_t pid = *project.id;
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto actor_role, RoleOf(actor.principal.name, pid));
  SENSORDB_ASSIGN_OR_RETURN(auto current, RoleOf(account, pid));
  // Re-checked under the lock: the actor's grant may have been removed since Authorize.
  if (!actor.principal.superuser &&
      (!actor_role || !RoleAllows(*actor_role, Operation::kManageGrants))) {
    return Hidden(project);
  }
  // A superuser acting without a grant counts as an owner (recovery of an orphaned project).
  const Role effective = actor_role && !actor.principal.superuser ? *actor_role : Role::kOwner;
  const std::string what = std::string(account) + " in project " + std::string(project.name);
  if (!MayChangeGrant(effective, current, wanted)) {
    auto seq = audit_.Append({actor.now_ns, actor.principal.name, std::string(actor.address),
                              action, pid, AuditOutcome::kDenied, what});
    if (!seq) seq.error().IgnoreError();
    return Status::PermissionDenied("an admin cannot create, change or remove an owner grant (" +
                                    what + "); ask a project owner");
  }
  std::vector<SystemStore::Op> ops;
  std::string detail;
  if (wanted) {
    auto acct = store_.GetNamed(SystemSpace::kUsers, account);
    SENSORDB_RETURN_IF_ERROR(acct);
    if (!*acct || !IsValidAccountName(account)) {
      return Status::NotFound("no account named '" + std::string(account) + "'");
    }
    GrantRecord g{pid, std::string(account), *wanted, actor.now_ns, actor.principal.name};
    ops.push_back(PutOp(SystemSpace::kGrants, GrantName(pid, account), EncodeGrant(g)));
    detail = what + ": " + (current ? std::string(RoleName(*current)) : "none") + " -> " +
             std::string(RoleName(*wanted));
  } else {
    if (!current) return Status::NotFound(what + " has no role to remove");
    ops.push_back(DeleteOp(SystemSpace::kGrants, GrantName(pid, account)));
    detail = what + ": " + std::string(RoleName(*current)) + " -> none";
  }
  auto seq = audit_.Append({actor.now_ns, actor.principal.name, std::string(actor.address), action,
                            pid, AuditOutcome::kSuccess, std::move(detail)},
                           ops);
  return seq ? Status::Ok() : seq.error();
}

Result<std::vector<GrantRecord>> Grants::ListGrants(const Actor& actor, const ProjectRef& project) {
  SENSORDB_RETURN_IF_ERROR(Authorize(actor.principal, Operation::kManageGrants, project));
  std::vector<GrantRecord> out;
  Status decode;
  SENSORDB_RETURN_IF_ERROR(store_.ScanNamed(SystemSpace::kGrants, [&](auto, std::string_view v) {
    auto g = DecodeGrant(v);
    if (!g) decode = g.error();
    if (g && g->project_id == *project.id) out.push_back(std::move(*g));
    return decode.ok();
  }));
  SENSORDB_RETURN_IF_ERROR(decode);
  std::sort(out.begin(), out.end(),
            [](const GrantRecord& a, const GrantRecord& b) { return a.account < b.account; });
  return out;
}

Result<std::vector<uint32_t>> Grants::ProjectsAllowing(std::string_view account, Operation op) {
  std::vector<uint32_t> out;
  Status decode;
  SENSORDB_RETURN_IF_ERROR(store_.ScanNamed(SystemSpace::kGrants, [&](auto, std::string_view v) {
    auto g = DecodeGrant(v);
    if (!g) decode = g.error();
    if (g && g->account == account && RoleAllows(g->role, op)) out.push_back(g->project_id);
    return decode.ok();
  }));
  SENSORDB_RETURN_IF_ERROR(decode);
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<SystemStore::Op>> Grants::DropProjectOps(uint32_t project_id) {
  std::vector<SystemStore::Op> ops;
  Status decode;
  SENSORDB_RETURN_IF_ERROR(store_.ScanNamed(SystemSpace::kGrants, [&](auto, std::string_view v) {
    auto g = DecodeGrant(v);
    if (!g) decode = g.error();
    if (g && g->project_id == project_id) {
      ops.push_back(DeleteOp(SystemSpace::kGrants, GrantName(g->project_id, g->account)));
    }
    return decode.ok();
  }));
  SENSORDB_RETURN_IF_ERROR(decode);
  return ops;
}

}  // namespace sensordb::server
