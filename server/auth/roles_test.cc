// Authorisation: every role x every operation x own, foreign and nonexistent project; the
// superuser; grant management rules.
#include "auth/roles.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "auth/auth_test_util.h"

namespace sensordb::server::testing {
namespace {

using O = Operation;

// The intended matrix, written out independently of RoleAllows (docs/AUTH.md).
const std::map<Role, std::set<Operation>> kAllowed = {
    {Role::kOwner,
     {O::kWrite, O::kQuery, O::kManageDevices, O::kManageGrants, O::kReadAudit, O::kSetRetention,
      O::kRotateProjectKey, O::kDropProject, O::kManageFirmware}},
    {Role::kAdmin,
     {O::kWrite, O::kQuery, O::kManageDevices, O::kManageGrants, O::kReadAudit, O::kSetRetention,
      O::kManageFirmware}},
    {Role::kWriter, {O::kWrite, O::kQuery}},
    {Role::kReader, {O::kQuery}},
};

const ProjectRef kOwn{1, "greenhouse"};
const ProjectRef kForeign{2, "brewery"};

class Roles : public AuthTest {
 protected:
  Principal UserWithRole(Role role) {
    const std::string name = "u-" + std::string(RoleName(role));
    EXPECT_TRUE(auth_->accounts().CreateUser(Root(), name, "password of " + name).ok());
    EXPECT_TRUE(auth_->grants().SetGrant(Root(), kOwn, name, role).ok());
    auto p = Login(name, "password of " + name);
    EXPECT_TRUE(p.has_value());
    return p.value_or(Principal{});
  }
};

TEST_P(Roles, MatrixAllowsExactlyTheIntendedSet) {
  for (Role role : kAllRoles) {
    const Principal p = UserWithRole(role);
    for (Operation op : kAllOperations) {
      SCOPED_TRACE(std::string(RoleName(role)) + " " + std::string(OperationName(op)));
      if (!IsProjectOperation(op)) {
        EXPECT_EQ(auth_->AuthorizeServer(p, op).code(), StatusCode::kPermissionDenied);
        EXPECT_EQ(auth_->Authorize(p, op, kOwn).code(), StatusCode::kInvalidArgument);
        continue;
      }
      const bool allowed = kAllowed.at(role).contains(op);
      const Status own = auth_->Authorize(p, op, kOwn);
      EXPECT_EQ(own.code(), allowed ? StatusCode::kOk : StatusCode::kPermissionDenied);
      EXPECT_EQ(RoleAllows(role, op), allowed);
      // Foreign and nonexistent projects: the same NotFound, word for word.
      const Status foreign = auth_->Authorize(p, op, kForeign);
      const Status missing = auth_->Authorize(p, op, {std::nullopt, kForeign.name});
      EXPECT_EQ(foreign.code(), StatusCode::kNotFound);
      EXPECT_EQ(foreign.ToString(), missing.ToString());
    }
  }
}

TEST_P(Roles, SuperuserRunsTheServerButNeedsAGrantForData) {
  for (Operation op : kAllOperations) {
    SCOPED_TRACE(OperationName(op));
    if (!IsProjectOperation(op)) {
      EXPECT_TRUE(auth_->AuthorizeServer(root_, op).ok());
    } else if (op == Operation::kManageGrants) {
      EXPECT_TRUE(auth_->Authorize(root_, op, kForeign).ok());  // recovery of orphaned projects
      EXPECT_EQ(auth_->Authorize(root_, op, {std::nullopt, "ghost"}).code(), StatusCode::kNotFound);
    } else {
      EXPECT_EQ(auth_->Authorize(root_, op, kForeign).code(), StatusCode::kNotFound);
    }
  }
}

TEST_P(Roles, CreatorOfAProjectBecomesItsOwnerAndDropRemovesGrants) {
  ASSERT_TRUE(auth_->ProjectCreated(Root(), 7, "orchard").ok());
  EXPECT_TRUE(auth_->Authorize(root_, Operation::kDropProject, {7, "orchard"}).ok());
  ASSERT_TRUE(auth_->grants().SetGrant(Root(), {7, "orchard"}, "alice", Role::kReader).ok());
  ASSERT_TRUE(auth_->ProjectDropped(Root(), 7, "orchard").ok());
  auto role = auth_->grants().RoleOf("alice", 7);
  ASSERT_TRUE(role.has_value());
  EXPECT_FALSE(role->has_value());
  auto alice = Login("alice", kAlicePassword);
  ASSERT_TRUE(alice);
  EXPECT_EQ(auth_->ProjectCreated({*alice, "x", kT0}, 8, "mine").code(),
            StatusCode::kPermissionDenied);
}

TEST_P(Roles, AdminsManageGrantsBelowOwner) {
  const Principal admin = UserWithRole(Role::kAdmin);
  const Principal writer = UserWithRole(Role::kWriter);
  const Actor a{admin, "192.0.2.1", kT0};
  EXPECT_TRUE(auth_->grants().SetGrant(a, kOwn, "alice", Role::kWriter).ok());
  EXPECT_TRUE(auth_->grants().SetGrant(a, kOwn, "alice", Role::kAdmin).ok());
  EXPECT_EQ(auth_->grants().SetGrant(a, kOwn, "alice", Role::kOwner).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(auth_->grants().SetGrant(a, kOwn, "nobody", Role::kReader).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(auth_->grants().SetGrant(a, kForeign, "alice", Role::kReader).code(),
            StatusCode::kNotFound);
  const Principal owner = UserWithRole(Role::kOwner);
  EXPECT_EQ(auth_->grants().RemoveGrant(a, kOwn, owner.name).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(
      auth_->grants().SetGrant({writer, "192.0.2.2", kT0}, kOwn, "alice", Role::kReader).code(),
      StatusCode::kPermissionDenied);
  const Actor o{owner, "192.0.2.3", kT0};
  EXPECT_TRUE(auth_->grants().SetGrant(o, kOwn, "alice", Role::kOwner).ok());
  EXPECT_TRUE(auth_->grants().RemoveGrant(o, kOwn, "alice").ok());
  auto grants = auth_->grants().ListGrants(o, kOwn);
  ASSERT_TRUE(grants.has_value());
  std::vector<std::string> names;
  for (const auto& g : *grants) names.push_back(g.account + ":" + std::string(RoleName(g.role)));
  EXPECT_EQ(names, (std::vector<std::string>{"u-admin:admin", "u-owner:owner", "u-writer:writer"}));
  EXPECT_FALSE(auth_->grants().ListGrants({writer, "x", kT0}, kOwn).has_value());
}

TEST_P(Roles, DeletingAnAccountRemovesItsGrants) {
  ASSERT_TRUE(auth_->grants().SetGrant(Root(), kOwn, "alice", Role::kWriter).ok());
  ASSERT_TRUE(auth_->accounts().DeleteAccount(Root(), "alice").ok());
  auto role = auth_->grants().RoleOf("alice", kOwn.id.value());
  ASSERT_TRUE(role.has_value());
  EXPECT_FALSE(role->has_value());
}

TEST(RoleNames, RoundTrip) {
  for (Role r : kAllRoles) EXPECT_EQ(ParseRole(RoleName(r)), r);
  EXPECT_FALSE(ParseRole("root").has_value());
}

SENSORDB_AUTH_BACKENDS(Roles);

}  // namespace
}  // namespace sensordb::server::testing
