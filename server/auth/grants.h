// Grants: roles per (project, account) and the authorisation check. A principal without a grant
// in a project gets exactly the answer a nonexistent project gets (NotFound, same message), so
// probing reveals nothing. Grant changes are checked (kManageGrants, and MayChangeGrant for
// owner grants), written and audited in one atomic SystemStore::Apply. Thread-safe.
// Borrows the store and the audit log, which must outlive it.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "auth/account_admin.h"
#include "auth/principal.h"
#include "auth/records.h"
#include "auth/roles.h"
#include "sensordb/status.h"
#include "sensordb/system_store.h"

namespace sensordb::server {

// A project as the server resolved it from the name in a request: `id` is empty when no project
// has that name.
struct ProjectRef {
  std::optional<uint32_t> id;
  std::string_view name;
};

class Grants {
 public:
  Grants(SystemStore& store, AuditLog& audit) : store_(store), audit_(audit) {}

  // The account's role in the project, if any.
  Result<std::optional<Role>> RoleOf(std::string_view account, uint32_t project_id);

  // Ok, or NotFound (no such project, or no grant in it: the same message), or
  // PermissionDenied (a grant whose role does not allow `op`), or InvalidArgument for a
  // server operation. Never audited here: the caller audits the denials it cares about.
  Status Authorize(const Principal& principal, Operation op, const ProjectRef& project);
  // For server-wide operations (kCreateProject, kManageUsers, ...): superusers only.
  Status AuthorizeServer(const Principal& principal, Operation op);

  // Sets (creates or changes) `account`'s role in the project.
  Status SetGrant(const Actor& actor, const ProjectRef& project, std::string_view account,
                  Role role);
  Status RemoveGrant(const Actor& actor, const ProjectRef& project, std::string_view account);
  // Every grant in the project (needs kManageGrants there), sorted by account.
  Result<std::vector<GrantRecord>> ListGrants(const Actor& actor, const ProjectRef& project);
  // Projects in which `account` holds a role allowing `op` (for filtering the audit log).
  Result<std::vector<uint32_t>> ProjectsAllowing(std::string_view account, Operation op);

  // Ops deleting every grant of a dropped project (to apply with its audit entry).
  Result<std::vector<SystemStore::Op>> DropProjectOps(uint32_t project_id);

 private:
  Status ChangeGrant(const Actor& actor, const ProjectRef& project, std::string_view account,
                     std::optional<Role> wanted);
  static Status Hidden(const ProjectRef& project);

  SystemStore& store_;
  AuditLog& audit_;
  std::mutex mu_;  // serialises read-modify-write of grant records
};

}  // namespace sensordb::server
