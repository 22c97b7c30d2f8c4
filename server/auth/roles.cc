#include "auth/roles.h"

namespace sensordb::server {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kOwner:
      return "owner";
    case Role::kAdmin:
      return "admin";
    case Role::kWriter:
      return "writer";
    case Role::kReader:
      return "reader";
  }
  return "unknown";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role r : kAllRoles) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

bool IsValidRole(uint8_t value) { return value >= 1 && value <= 4; }

std::string_view OperationName(Operation op) {
  switch (op) {
    case Operation::kWrite:
      return "write";
    case Operation::kQuery:
      return "query";
    case Operation::kManageDevices:
      return "manage-devices";
    case Operation::kManageGrants:
      return "manage-grants";
    case Operation::kReadAudit:
      return "read-audit";
    case Operation::kSetRetention:
      return "set-retention";
    case Operation::kRotateProjectKey:
      return "rotate-project-key";
    case Operation::kDropProject:
      return "drop-project";
    case Operation::kCreateProject:
      return "create-project";
    case Operation::kManageUsers:
      return "manage-users";
    case Operation::kReadAllAudit:
      return "read-all-audit";
    case Operation::kRotateMasterKey:
      return "rotate-master-key";
    case Operation::kBackup:
      return "backup";
    case Operation::kMaintainStorage:
      return "maintain-storage";
    case Operation::kManageFirmware:
      return "manage-firmware";
  }
  return "unknown";
}

bool IsProjectOperation(Operation op) {
  switch (op) {
    case Operation::kWrite:
    case Operation::kQuery:
    case Operation::kManageDevices:
    case Operation::kManageGrants:
    case Operation::kReadAudit:
    case Operation::kSetRetention:
    case Operation::kRotateProjectKey:
    case Operation::kDropProject:
    case Operation::kManageFirmware:
      return true;
    case Operation::kCreateProject:
    case Operation::kManageUsers:
    case Operation::kReadAllAudit:
    case Operation::kRotateMasterKey:
    case Operation::kBackup:
    case Operation::kMaintainStorage:
      return false;
  }
  return false;
}

bool RoleAllows(Role role, Operation op) {
  switch (op) {
    case Operation::kQuery:
      return true;  // every role reads
    case Operation::kWrite:
      return role != Role::kReader;
    case Operation::kManageDevices:
    case Operation::kManageGrants:
    case Operation::kReadAudit:
    case Operation::kSetRetention:
    case Operation::kManageFirmware:
      return role == Role::kOwner || role == Role::kAdmin;
    case Operation::kRotateProjectKey:
    case Operation::kDropProject:
      return role == Role::kOwner;
    case Operation::kCreateProject:
    case Operation::kManageUsers:
    case Operation::kReadAllAudit:
    case Operation::kRotateMasterKey:
    case Operation::kBackup:
    case Operation::kMaintainStorage:
      return false;
  }
  return false;
}

bool SuperuserAllowsInAnyProject(Operation op) { return op == Operation::kManageGrants; }

bool MayChangeGrant(Role actor_role, std::optional<Role> current, std::optional<Role> wanted) {
  if (actor_role == Role::kOwner) return true;
  if (actor_role != Role::kAdmin) return false;
  return current != Role::kOwner && wanted != Role::kOwner;
}

}  // namespace sensordb::server
