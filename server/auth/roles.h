// Roles, operations and the fixed matrix that says which role may do what (docs/AUTH.md
// "Operation matrix"). Project operations are checked against the caller's role in that
// project; server operations only against the superuser flag. Thread-safe (constants).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sensordb::server {

// Ordered from most to least powerful. Stored as its numeric value.
enum class Role : uint8_t { kOwner = 1, kAdmin = 2, kWriter = 3, kReader = 4 };
inline constexpr std::array<Role, 4> kAllRoles = {Role::kOwner, Role::kAdmin, Role::kWriter,
                                                  Role::kReader};

enum class Operation : uint8_t {
  // In one project.
  kWrite,          // write points
  kQuery,          // raw, latest, aggregate queries; list devices and channels
  kManageDevices,  // register, update, revoke devices and channels
  kManageGrants,   // grant and remove roles in the project
  kReadAudit,      // the project's audit entries
  kSetRetention,
  kRotateProjectKey,  // rotate and re-encrypt the project's data key
  kDropProject,
  // Server-wide (superuser only).
  kCreateProject,
  kManageUsers,   // users, service accounts, passwords of others, API tokens
  kReadAllAudit,  // every audit entry, and audit verification
  kRotateMasterKey,
  kBackup,           // take, verify, list and restore backups
  kMaintainStorage,  // flush the head into blocks, compact the files
  kManageFirmware,   // the project's firmware: freshness key, roots, releases, rollouts
};
inline constexpr size_t kOperationCount = 15;
inline constexpr std::array<Operation, kOperationCount> kAllOperations = {
    Operation::kWrite,
    Operation::kQuery,
    Operation::kManageDevices,
    Operation::kManageGrants,
    Operation::kReadAudit,
    Operation::kSetRetention,
    Operation::kRotateProjectKey,
    Operation::kDropProject,
    Operation::kCreateProject,
    Operation::kManageUsers,
    Operation::kReadAllAudit,
    Operation::kRotateMasterKey,
    Operation::kBackup,
    Operation::kMaintainStorage,
    Operation::kManageFirmware};

std::string_view RoleName(Role role);  // "owner", "admin", "writer", "reader"
std::optional<Role> ParseRole(std::string_view name);
bool IsValidRole(uint8_t value);
std::string_view OperationName(Operation op);  // "write", "manage-devices", ...

// True for operations that name a project.
bool IsProjectOperation(Operation op);

// The matrix: may `role` perform the project operation `op`? False for server operations.
bool RoleAllows(Role role, Operation op);

// Project operations a superuser may perform in any project without a grant: only grant
// management, so that a project whose owners are gone can be recovered (audited).
bool SuperuserAllowsInAnyProject(Operation op);

// May an actor holding `actor_role` set a grant from `current` (none when absent) to `wanted`
// (none to remove it)? Owners may do anything; admins may not create, change or remove an
// owner grant.
bool MayChangeGrant(Role actor_role, std::optional<Role> current, std::optional<Role> wanted);

}  // namespace sensordb::server
