// The operation matrix of docs/AUTH.md, over the wire: for every principal (owner, admin,
// writer, reader, an account without a grant, a superuser without a grant) and every request
// the protocol exposes, in the principal's own project, in a foreign project and in one that
// does not exist. The expectation is derived from roles.h (RoleAllows, IsProjectOperation,
// SuperuserAllowsInAnyProject), so this test and the documented matrix cannot drift apart.
// Allowed requests succeed; refused ones get a typed Error and leave the connection usable;
// a project without a grant is refused exactly as a project that does not exist.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "net/admin_test_util.h"
#include "sensordb/protocol/firmware_codec.h"
#include "sensordb/protocol/query_codec.h"
#include "sensordb/protocol/write_codec.h"

namespace sensordb::server {
namespace {

using protocol::OutFrame;
using testing::AdminServerTest;

// A request of the protocol and the operation the server checks for it.
struct WireOp {
  std::string name;
  Operation op;
  wire::Message last;  // the reply type that ends a success
  std::function<OutFrame(uint64_t id, const std::string& project)> request;
  // What an allowed request gets: Ok, or the error of the work after the permission check (a
  // request that cannot succeed in a bare project, e.g. removing a release that is not there).
  StatusCode allowed = StatusCode::kOk;
};

std::vector<WireOp> WireOps() {
  WriteBatch batch;
  batch.Add("d1", "c1", 2'000, Value::Float64(2.5));
  auto query = [](protocol::QueryKind kind) {
    return [kind](uint64_t id, const std::string& project) {
      protocol::QueryRequest q;
      q.kind = kind;
      q.project = project;
      if (kind == protocol::QueryKind::kLatest) q.selector.device = "d1";
      return protocol::EncodeQuery(id, q);
    };
  };
  using M = wire::Message;
  using O = Operation;
  using P = const std::string&;
  return {
      {"write", O::kWrite, M::WriteReply,
       [batch](uint64_t id, P p) { return *protocol::EncodeWrite(id, p, batch); }},
      {"query raw", O::kQuery, M::QueryEnd, query(protocol::QueryKind::kRaw)},
      {"query latest", O::kQuery, M::QueryEnd, query(protocol::QueryKind::kLatest)},
      {"query aggregate", O::kQuery, M::QueryEnd, query(protocol::QueryKind::kAggregate)},
      {"list devices", O::kQuery, M::ListDevicesReply,
       [](uint64_t id, P p) { return protocol::EncodeListDevices(id, p); }},
      {"list channels", O::kQuery, M::ListChannelsReply,
       [](uint64_t id, P p) {
         return protocol::EncodeListChannels(id, {p, ""});
       }},
      {"register device", O::kManageDevices, M::Done,
       [](uint64_t id, P p) {
         return protocol::EncodeRegisterDevice(id, {p, "d1", "m", "1"});
       }},
      {"register channel", O::kManageDevices, M::RegisterChannelReply,
       [](uint64_t id, P p) {
         return protocol::EncodeRegisterChannel(id, {p, "d1", "c1", ValueType::kFloat64, "K"});
       }},
      {"set grant", O::kManageGrants, M::Done,
       [](uint64_t id, P p) {
         return protocol::EncodeSetGrant(id, {p, "m-spare", wire::Role::Reader});
       }},
      {"remove grant", O::kManageGrants, M::Done,
       [](uint64_t id, P p) {
         return protocol::EncodeRemoveGrant(id, {p, "m-spare"});
       }},
      {"list grants", O::kManageGrants, M::ListGrantsReply,
       [](uint64_t id, P p) { return protocol::EncodeListGrants(id, p); }},
      {"read audit", O::kReadAudit, M::AuditEnd,
       [](uint64_t id, P p) {
         return protocol::EncodeReadAudit(id, {1, p, 0});
       }},
      {"set retention", O::kSetRetention, M::Done,
       [](uint64_t id, P p) {
         return protocol::EncodeSetRetention(id, {p, 30});
       }},
      {"rotate project key", O::kRotateProjectKey, M::RotateProjectKeyReply,
       [](uint64_t id, P p) {
         return protocol::EncodeRotateProjectKey(id, {p, false});
       }},
      {"freshness key", O::kManageFirmware, M::FreshnessKeyReply,
       [](uint64_t id, P p) { return protocol::EncodeGetFreshnessKey(id, p); }},
      {"list firmware", O::kQuery, M::ListFirmwareReply,
       [](uint64_t id, P p) { return protocol::EncodeListFirmware(id, p); }},
      {"upload firmware root", O::kManageFirmware, M::UploadFirmwareRootReply,
       [](uint64_t id, P p) {
         const std::vector<uint8_t> not_a_root(40, 7);
         return protocol::EncodeUploadFirmwareRoot(id, {p, not_a_root});
       },
       StatusCode::kInvalidArgument},
      {"upload firmware", O::kManageFirmware, M::FirmwareRelease,
       [](uint64_t id, P p) {
         const std::vector<uint8_t> not_a_manifest(40, 7), image(100, 1);
         return protocol::EncodeUploadFirmware(id, {p, not_a_manifest, image});
       },
       StatusCode::kInvalidArgument},
      {"remove firmware", O::kManageFirmware, M::Done,
       [](uint64_t id, P p) {
         return protocol::EncodeRemoveFirmware(id, {p, 12345});
       },
       StatusCode::kNotFound},
      {"create rollout", O::kManageFirmware, M::RolloutInfo,
       [](uint64_t id, P p) {
         return protocol::EncodeCreateRollout(id, {p, 12345, {"d1"}, {}, 5, 600, {}});
       },
       StatusCode::kNotFound},
      {"set rollout state", O::kManageFirmware, M::RolloutInfo,
       [](uint64_t id, P p) {
         return protocol::EncodeSetRolloutState(id, {p, 99, 2});
       },
       StatusCode::kNotFound},
      {"drop project", O::kDropProject, M::DropProjectReply,
       [](uint64_t id, P p) { return protocol::EncodeDropProject(id, p); }},
      // Server-wide: the project argument is a fresh name for requests that create something.
      {"create project", O::kCreateProject, M::CreateProjectReply,
       [](uint64_t id, P p) {
         return protocol::EncodeCreateProject(id, {p, {}});
       }},
      {"list accounts", O::kManageUsers, M::ListAccountsReply,
       [](uint64_t id, P) { return protocol::EncodeListAccounts(id); }},
      {"create account", O::kManageUsers, M::Done,
       [](uint64_t id, P p) {
         return protocol::EncodeCreateAccount(id,
                                              {p, wire::PrincipalKind::ServiceAccount, {}, false});
       }},
      {"issue token", O::kManageUsers, M::IssueTokenReply,
       [](uint64_t id, P) {
         return protocol::EncodeIssueToken(id, {"m-spare", 0});
       }},
      {"verify audit", O::kReadAllAudit, M::VerifyAuditReply,
       [](uint64_t id, P) { return protocol::EncodeVerifyAudit(id, {}); }},
      // KeyStatus is server-wide key management, guarded by the master key's operation.
      {"key status", O::kRotateMasterKey, M::KeyStatusReply,
       [](uint64_t id, P) { return protocol::EncodeKeyStatus(id); }},
      {"flush", O::kMaintainStorage, M::Done,
       [](uint64_t id, P) { return protocol::EncodeFlush(id); }},
      {"compact", O::kMaintainStorage, M::Done,
       [](uint64_t id, P) { return protocol::EncodeCompact(id); }},
  };
}

// Operations with no request on the wire yet, and why.
const std::map<Operation, std::string> kNotOnTheWire = {
    {Operation::kBackup, "backups are taken by sensordbd's schedule and the local CLI"},
};

TEST(RoleMatrixCoverage, EveryOperationIsExercisedOverTheWire) {
  std::set<Operation> exercised;
  for (const WireOp& w : WireOps()) exercised.insert(w.op);
  for (Operation op : kAllOperations) {
    const bool listed = kNotOnTheWire.contains(op);
    EXPECT_NE(exercised.contains(op), listed)
        << OperationName(op)
        << (listed ? " is exercised: remove it from kNotOnTheWire"
                   : " has no request in the role matrix: add one (or list it in kNotOnTheWire)");
  }
}

struct Who {
  std::string name;          // "owner", ...: the account is "m-<name>"
  std::optional<Role> role;  // in its own project
  bool superuser = false;
};

const Who kPrincipals[] = {
    {"owner", Role::kOwner, false},   {"admin", Role::kAdmin, false},
    {"writer", Role::kWriter, false}, {"reader", Role::kReader, false},
    {"nogrant", std::nullopt, false}, {"super", std::nullopt, true},
};

void PrintTo(const Who& who, std::ostream* os) { *os << who.name; }

enum class Where : uint8_t { kOwn, kForeign, kMissing };

// What roles.h says: may `who` perform `op` in a project of kind `where`?
bool Allowed(const Who& who, Operation op, Where where) {
  if (!IsProjectOperation(op)) return who.superuser;
  if (where == Where::kMissing) return false;
  const std::optional<Role> role = where == Where::kOwn ? who.role : std::nullopt;
  if (role) return RoleAllows(*role, op);
  // Without a role only a superuser, for grant recovery, and for the audit entries of any
  // project, which read-all-audit (a server operation) includes.
  return who.superuser && (SuperuserAllowsInAnyProject(op) || op == Operation::kReadAudit);
}

// The message with the project's name replaced, to compare refusals of different projects.
std::string Normalized(const Status& s, const std::string& project) {
  std::string m = s.message();
  for (size_t at = m.find(project); at != std::string::npos; at = m.find(project, at)) {
    m.replace(at, project.size(), "<p>");
  }
  return std::string(StatusCodeName(s.code())) + ": " + m;
}

class RoleMatrixTest : public AdminServerTest, public ::testing::WithParamInterface<Who> {
 protected:
  void SetUp() override {
    AdminServerTest::SetUp();
    if (HasFatalFailure()) return;
    const Who& who = GetParam();
    token_of_who_ = AddServiceAccount("m-" + who.name, who.superuser);
    AddServiceAccount("m-spare");
    own_ = AddProject("mx");
    foreign_ = AddProject("fx");
    if (who.role) Grant(own_, "m-" + who.name, *who.role);
    WriteBatch batch;
    batch.Add("d1", "c1", 1'000, Value::Float64(1.5));
    ASSERT_TRUE(db_->Write("mx", batch).ok());
    ASSERT_TRUE(db_->Write("fx", batch).ok());
  }

  // The project a request of `op` goes to: fresh ones for drop, so every cell has its own.
  std::string ProjectFor(const WireOp& w, Where where) {
    const std::string n = std::to_string(++fresh_);
    if (!IsProjectOperation(w.op)) return "new-" + n;
    if (where == Where::kMissing) return w.op == Operation::kDropProject ? "nx" + n : "nx";
    if (w.op != Operation::kDropProject) return where == Where::kOwn ? "mx" : "fx";
    const ProjectInfo p = AddProject((where == Where::kOwn ? "mx" : "fx") + n);
    if (where == Where::kOwn && GetParam().role) Grant(p, "m-" + GetParam().name, *GetParam().role);
    return p.name;
  }

  // What a cell needs beforehand: a grant to remove.
  void Prepare(const WireOp& w, const std::string& project) {
    if (w.name != "remove grant") return;
    auto p = db_->GetProject(project);
    if (p) Grant(*p, "m-spare", Role::kReader);
  }

  std::string token_of_who_;
  ProjectInfo own_, foreign_;
  int fresh_ = 0;
};

TEST_P(RoleMatrixTest, AllowsWhatTheMatrixAllowsAndHidesProjectsWithoutAGrant) {
  const Who& who = GetParam();
  auto c = LoginToken(token_of_who_);
  for (const WireOp& w : WireOps()) {
    const std::vector<Where> wheres =
        IsProjectOperation(w.op) ? std::vector<Where>{Where::kOwn, Where::kForeign, Where::kMissing}
                                 : std::vector<Where>{Where::kOwn};
    std::map<Where, std::pair<std::string, Status>> results;
    for (Where where : wheres) {
      const std::string project = ProjectFor(w, where);
      Prepare(w, project);
      SCOPED_TRACE(who.name + " / " + w.name + " / " + project);
      const Status s = Exchange(*c, w.request(NextId(), project), w.last);
      if (Allowed(who, w.op, where)) {
        EXPECT_EQ(s.code(), w.allowed) << s.ToString();
      } else {
        EXPECT_TRUE(s.code() == StatusCode::kPermissionDenied || s.code() == StatusCode::kNotFound)
            << s.ToString();
        EXPECT_TRUE(StillUsable(*c));
      }
      results[where] = {project, s};
    }
    if (!IsProjectOperation(w.op)) continue;
    // A project without a grant is indistinguishable from one that does not exist.
    const auto& [foreign_name, foreign] = results[Where::kForeign];
    const auto& [missing_name, missing] = results[Where::kMissing];
    EXPECT_EQ(missing.code(), StatusCode::kNotFound) << w.name << ": " << missing.ToString();
    if (!Allowed(who, w.op, Where::kForeign)) {
      EXPECT_EQ(Normalized(foreign, foreign_name), Normalized(missing, missing_name))
          << who.name << " / " << w.name;
    }
    // A member whose role does not allow the operation is told so.
    if (who.role && !Allowed(who, w.op, Where::kOwn)) {
      EXPECT_EQ(results[Where::kOwn].second.code(), StatusCode::kPermissionDenied) << w.name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryPrincipal, RoleMatrixTest, ::testing::ValuesIn(kPrincipals),
                         [](const ::testing::TestParamInfo<Who>& p) { return p.param.name; });

}  // namespace
}  // namespace sensordb::server
