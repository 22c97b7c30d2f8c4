// The administration requests end to end over TLS 1.3: accounts, tokens, grants, the audit
// log, devices and channels, retention and keys. Each succeeds for the right principal and is
// refused with a typed Error for the wrong one, after which the connection still works.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>

#include "net/admin_test_util.h"
#include "sensordb/protocol/query_codec.h"
#include "sensordb/protocol/write_codec.h"

namespace sensordb::server {
namespace {

using testing::AdminServerTest;
using testing::TestClient;

constexpr std::string_view kPassword = "correct horse battery staple";

bool Contains(std::span<const uint8_t> haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

class AdminTest : public AdminServerTest {
 protected:
  void SetUp() override {
    AdminServerTest::SetUp();
    if (HasFatalFailure()) return;
    root_ = LoginToken(token_);
  }
  void TearDown() override {
    root_.reset();  // a client that has left needs no shutdown grace
    AdminServerTest::TearDown();
  }

  // Sends `request` as the bootstrap superuser and expects `Done`.
  void Do(const protocol::OutFrame& request) {
    auto reply = Call(*root_, request);
    ASSERT_TRUE(reply && reply->type() == wire::Message::Done) << ErrorOf(reply).ToString();
  }

  // The entries ReadAudit returns to `c` and the AuditEnd; fails the test on an Error.
  std::vector<std::string> ReadActions(TestClient& c, protocol::ReadAuditRequest request,
                                       protocol::AuditEndInfo* end = nullptr,
                                       size_t* chunks = nullptr) {
    std::vector<std::string> actions;
    const uint64_t id = NextId();
    EXPECT_TRUE(c.Send(protocol::EncodeReadAudit(id, request)));
    for (int frames = 0; frames < 10'000; ++frames) {
      auto f = c.Receive();
      EXPECT_TRUE(f.has_value());
      if (!f) break;
      EXPECT_EQ(f->request_id(), id);
      if (const auto* chunk = f->As<wire::AuditChunk>()) {
        auto entries = protocol::DecodeAuditChunk(*chunk);
        EXPECT_TRUE(entries.has_value()) << entries.error().ToString();
        if (!entries) break;
        for (const auto& e : *entries) {
          actions.push_back(std::string(e.action) + " " + std::string(e.project));
        }
        if (chunks) ++*chunks;
        continue;
      }
      EXPECT_EQ(f->type(), wire::Message::AuditEnd) << ErrorOf(f).ToString();
      if (const auto* e = f->As<wire::AuditEnd>(); e && end) *end = protocol::DecodeAuditEnd(*e);
      break;
    }
    return actions;
  }

  std::unique_ptr<TestClient> root_;
};

// ---- Accounts ----------------------------------------------------------------------------------

TEST_F(AdminTest, CreatesAUserWhoThenLogsInWithTheirPassword) {
  Do(protocol::EncodeCreateAccount(NextId(),
                                   {"alice", wire::PrincipalKind::User, kPassword, false}));
  auto alice = Connect();
  auto reply = TryLogin(*alice, {.user = "alice", .password = kPassword});
  ASSERT_TRUE(reply && reply->type() == wire::Message::AuthReply) << ErrorOf(reply).ToString();
  auto info = protocol::DecodeAuthReply(*reply->As<wire::AuthReply>());
  EXPECT_EQ(info->principal, "alice");
  EXPECT_FALSE(info->superuser);

  auto list = Call(*root_, protocol::EncodeListAccounts(NextId()));
  ASSERT_TRUE(list && list->type() == wire::Message::ListAccountsReply);
  auto accounts = protocol::DecodeListAccountsReply(*list->As<wire::ListAccountsReply>());
  ASSERT_TRUE(accounts.has_value());
  std::set<std::string> names;
  for (const auto& a : *accounts) names.insert(std::string(a.name));
  EXPECT_TRUE(names.contains("alice"));
  EXPECT_TRUE(names.contains("bootstrap-admin"));
  // A reply never carries a password.
  EXPECT_FALSE(Contains(list->payload(), kPassword));
}

TEST_F(AdminTest, UserChangesTheirOwnPasswordOnlyWithTheOldOne) {
  Do(protocol::EncodeCreateAccount(NextId(),
                                   {"alice", wire::PrincipalKind::User, kPassword, false}));
  auto alice = Login({.user = "alice", .password = kPassword});
  const std::string next = "a new and long password";
  auto wrong = Call(*alice, protocol::EncodeChangePassword(NextId(), {"alice", "wrong", next}));
  EXPECT_EQ(ErrorOf(wrong).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorOf(wrong).message().find(next), std::string::npos);
  auto ok = Call(*alice, protocol::EncodeChangePassword(NextId(), {"alice", kPassword, next}));
  ASSERT_TRUE(ok && ok->type() == wire::Message::Done) << ErrorOf(ok).ToString();

  auto again = Connect();
  EXPECT_EQ(ErrorOf(TryLogin(*again, {.user = "alice", .password = kPassword})).code(),
            StatusCode::kPermissionDenied);
  Login({.user = "alice", .password = next});
}

// Whoever learnt the old password is logged out by the change: every other session of the
// account ends (as when it is disabled); the session that made the change goes on.
TEST_F(AdminTest, PasswordChangeEndsTheAccountsOtherSessions) {
  Do(protocol::EncodeCreateAccount(NextId(),
                                   {"alice", wire::PrincipalKind::User, kPassword, false}));
  auto mine = Login({.user = "alice", .password = kPassword});
  auto stolen = Login({.user = "alice", .password = kPassword});
  ASSERT_TRUE(Call(*stolen, protocol::EncodeListProjects(NextId())));
  const std::string next = "a new and long password";
  auto ok = Call(*mine, protocol::EncodeChangePassword(NextId(), {"alice", kPassword, next}));
  ASSERT_TRUE(ok && ok->type() == wire::Message::Done) << ErrorOf(ok).ToString();
  auto refused = Call(*stolen, protocol::EncodeListProjects(NextId()));
  EXPECT_EQ(ErrorOf(refused).code(), StatusCode::kPermissionDenied);
  EXPECT_NE(ErrorOf(refused).message().find("password"), std::string::npos)
      << ErrorOf(refused).message();
  auto still = Call(*mine, protocol::EncodeListProjects(NextId()));
  EXPECT_TRUE(still && still->type() == wire::Message::ListProjectsReply) << ErrorOf(still).ToString();
  // A reset by an administrator ends them all.
  auto third = Login({.user = "alice", .password = next});
  Do(protocol::EncodeChangePassword(NextId(), {"alice", "", "reset by the admin 1"}));
  EXPECT_EQ(ErrorOf(Call(*mine, protocol::EncodeListProjects(NextId()))).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorOf(Call(*third, protocol::EncodeListProjects(NextId()))).code(),
            StatusCode::kPermissionDenied);
}

TEST_F(AdminTest, DisablingAnAccountStopsItsLiveConnectionAndItsLogins) {
  const std::string token = AddServiceAccount("ingest");
  auto ingest = LoginToken(token);
  Do(protocol::EncodeSetAccountDisabled(NextId(), {"ingest", true}));
  auto refused = Call(*ingest, protocol::EncodeListProjects(NextId()));
  EXPECT_EQ(ErrorOf(refused).code(), StatusCode::kPermissionDenied);
  auto fresh = Connect();
  EXPECT_EQ(ErrorOf(TryLogin(*fresh, {.token = token})).code(), StatusCode::kPermissionDenied);

  Do(protocol::EncodeSetAccountDisabled(NextId(), {"ingest", false}));
  LoginToken(token);
}

TEST_F(AdminTest, DeletedAccountCannotLogIn) {
  const std::string token = AddServiceAccount("ingest");
  Do(protocol::EncodeDeleteAccount(NextId(), "ingest"));
  auto c = Connect();
  EXPECT_EQ(ErrorOf(TryLogin(*c, {.token = token})).code(), StatusCode::kPermissionDenied);
  auto again = Call(*root_, protocol::EncodeDeleteAccount(NextId(), "ingest"));
  EXPECT_EQ(ErrorOf(again).code(), StatusCode::kNotFound);
}

TEST_F(AdminTest, NonSuperuserIsRefusedAccountAndTokenAdministration) {
  auto plain = LoginToken(AddServiceAccount("plain"));
  AddServiceAccount("other");
  const protocol::OutFrame requests[] = {
      protocol::EncodeCreateAccount(NextId(), {"x", wire::PrincipalKind::User, kPassword, false}),
      protocol::EncodeChangePassword(NextId(), {"other", "", "a new and long password"}),
      protocol::EncodeSetAccountDisabled(NextId(), {"other", true}),
      protocol::EncodeDeleteAccount(NextId(), "other"),
      protocol::EncodeListAccounts(NextId()),
      protocol::EncodeIssueToken(NextId(), {"other", 0}),
      protocol::EncodeRevokeToken(NextId(), "abcdefgh"),
      protocol::EncodeListTokens(NextId(), ""),
      protocol::EncodeVerifyAudit(NextId(), {}),
      protocol::EncodeKeyStatus(NextId()),
      protocol::EncodeCreateProject(NextId(), {"p", {}}),
  };
  for (const auto& request : requests) {
    auto reply = Call(*plain, request);
    EXPECT_EQ(ErrorOf(reply).code(), StatusCode::kPermissionDenied)
        << protocol::MessageName(wire::GetEnvelope(request.payload().data())->message_type());
    EXPECT_TRUE(StillUsable(*plain));
  }
}

TEST_F(AdminTest, MalformedRequestsGetInvalidArgumentAndTheConnectionStays) {
  const std::string long_name(protocol::kMaxNameBytes + 1, 'a');
  auto reply = Call(*root_, protocol::EncodeDeleteAccount(NextId(), long_name));
  EXPECT_EQ(ErrorOf(reply).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(StillUsable(*root_));
  reply = Call(*root_, protocol::EncodeSetGrant(NextId(), {"p", "a", wire::Role::None}));
  EXPECT_EQ(ErrorOf(reply).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(StillUsable(*root_));
}

// ---- Tokens ------------------------------------------------------------------------------------

TEST_F(AdminTest, IssuedTokenLogsInAndListingsNeverShowItsSecret) {
  Do(protocol::EncodeCreateAccount(NextId(),
                                   {"ingest", wire::PrincipalKind::ServiceAccount, {}, false}));
  auto issued = Call(*root_, protocol::EncodeIssueToken(NextId(), {"ingest", 0}));
  ASSERT_TRUE(issued && issued->type() == wire::Message::IssueTokenReply)
      << ErrorOf(issued).ToString();
  auto token = protocol::DecodeIssueTokenReply(*issued->As<wire::IssueTokenReply>());
  ASSERT_TRUE(token.has_value()) << token.error().ToString();
  EXPECT_EQ(token->account, "ingest");
  EXPECT_TRUE(token->token.starts_with(token->prefix));
  const std::string text(token->token);
  const std::string secret = text.substr(token->prefix.size());

  auto ingest = LoginToken(text);
  auto list = Call(*root_, protocol::EncodeListTokens(NextId(), "ingest"));
  ASSERT_TRUE(list && list->type() == wire::Message::ListTokensReply);
  auto tokens = protocol::DecodeListTokensReply(*list->As<wire::ListTokensReply>());
  ASSERT_TRUE(tokens.has_value());
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].id, token->id);
  EXPECT_NE((*tokens)[0].last_used_ns, 0);
  EXPECT_FALSE(Contains(list->payload(), secret));
}

TEST_F(AdminTest, RevokedTokenIsRefusedOnItsLiveConnectionAndOnANewOne) {
  const std::string token = AddServiceAccount("ingest");
  auto ingest = LoginToken(token);
  ASSERT_TRUE(StillUsable(*ingest));
  const std::string id = token.substr(4, 8);
  Do(protocol::EncodeRevokeToken(NextId(), id));

  auto refused = Call(*ingest, protocol::EncodeListProjects(NextId()));
  EXPECT_EQ(ErrorOf(refused).code(), StatusCode::kPermissionDenied);
  auto fresh = Connect();
  EXPECT_EQ(ErrorOf(TryLogin(*fresh, {.token = token})).code(), StatusCode::kPermissionDenied);

  auto list = Call(*root_, protocol::EncodeListTokens(NextId(), "ingest"));
  auto tokens = protocol::DecodeListTokensReply(*list->As<wire::ListTokensReply>());
  ASSERT_TRUE(tokens && tokens->size() == 1u);
  EXPECT_NE((*tokens)[0].revoked_ns, 0);
}

// ---- Grants ------------------------------------------------------------------------------------

TEST_F(AdminTest, OwnerGrantsARoleThatOpensTheProjectAndRemovesIt) {
  const ProjectInfo p = AddProject("greenhouse");
  auto owner = LoginToken(AddServiceAccount("owner"));
  auto reader = LoginToken(AddServiceAccount("reader"));
  Grant(p, "owner", Role::kOwner);

  auto set = Call(*owner,
                  protocol::EncodeSetGrant(NextId(), {"greenhouse", "reader", wire::Role::Reader}));
  ASSERT_TRUE(set && set->type() == wire::Message::Done) << ErrorOf(set).ToString();
  EXPECT_TRUE(Exchange(*reader, protocol::EncodeListDevices(NextId(), "greenhouse"),
                       wire::Message::ListDevicesReply)
                  .ok());

  auto list = Call(*owner, protocol::EncodeListGrants(NextId(), "greenhouse"));
  ASSERT_TRUE(list && list->type() == wire::Message::ListGrantsReply) << ErrorOf(list).ToString();
  auto grants = protocol::DecodeListGrantsReply(*list->As<wire::ListGrantsReply>());
  ASSERT_TRUE(grants.has_value());
  std::vector<std::string> seen;
  for (const auto& g : *grants) {
    seen.push_back(std::string(g.account) + "=" + std::string(protocol::RoleName(g.role)));
  }
  EXPECT_EQ(seen,
            (std::vector<std::string>{"bootstrap-admin=owner", "owner=owner", "reader=reader"}));

  auto removed = Call(*owner, protocol::EncodeRemoveGrant(NextId(), {"greenhouse", "reader"}));
  ASSERT_TRUE(removed && removed->type() == wire::Message::Done) << ErrorOf(removed).ToString();
  EXPECT_EQ(Exchange(*reader, protocol::EncodeListDevices(NextId(), "greenhouse"),
                     wire::Message::ListDevicesReply)
                .code(),
            StatusCode::kNotFound);
}

TEST_F(AdminTest, AdminCannotGrantTheOwnerRole) {
  const ProjectInfo p = AddProject("greenhouse");
  auto admin = LoginToken(AddServiceAccount("admin"));
  AddServiceAccount("friend");
  Grant(p, "admin", Role::kAdmin);
  auto reply =
      Call(*admin, protocol::EncodeSetGrant(NextId(), {"greenhouse", "friend", wire::Role::Owner}));
  EXPECT_EQ(ErrorOf(reply).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(StillUsable(*admin));
  reply = Call(*admin,
               protocol::EncodeSetGrant(NextId(), {"greenhouse", "friend", wire::Role::Writer}));
  EXPECT_TRUE(reply && reply->type() == wire::Message::Done) << ErrorOf(reply).ToString();
}

// ---- Audit log ---------------------------------------------------------------------------------

TEST_F(AdminTest, ReadAuditReturnsTheEntriesOfTheActionsMade) {
  const uint64_t from = auth_->audit().Head().entries + 1;
  AddServiceAccount("friend");
  auto created = Call(*root_, protocol::EncodeCreateProject(NextId(), {"greenhouse", {}}));
  ASSERT_TRUE(created && created->type() == wire::Message::CreateProjectReply);
  Do(protocol::EncodeSetGrant(NextId(), {"greenhouse", "friend", wire::Role::Reader}));
  auto rotated = Call(*root_, protocol::EncodeRotateProjectKey(NextId(), {"greenhouse", false}));
  ASSERT_TRUE(rotated && rotated->type() == wire::Message::RotateProjectKeyReply)
      << ErrorOf(rotated).ToString();

  protocol::AuditEndInfo end;
  const auto actions = ReadActions(*root_, {from, "", 0}, &end);
  const std::vector<std::string> tail = {"project-created greenhouse", "grant-set greenhouse",
                                         "key-rotated greenhouse"};
  ASSERT_GE(actions.size(), tail.size());
  EXPECT_EQ(std::vector<std::string>(actions.end() - 3, actions.end()), tail);
  EXPECT_EQ(end.count, actions.size());
  EXPECT_EQ(end.next_seq, auth_->audit().Head().entries + 1);

  // Narrowed to the project, with a limit: the first two entries of the project.
  const auto limited = ReadActions(*root_, {from, "greenhouse", 2}, &end);
  EXPECT_EQ(limited, std::vector<std::string>(tail.begin(), tail.begin() + 2));
  EXPECT_EQ(end.count, 2u);
}

// ---- Storage maintenance -----------------------------------------------------------------------

TEST_F(AdminTest, FlushAndCompactAreForSuperusersAndAudited) {
  AddProject("greenhouse");
  WriteBatch b;
  for (int i = 0; i < 10; ++i) b.Add("d", "temp", 1'000 + i, Value::Float64(i));
  ASSERT_TRUE(db_->Write("greenhouse", b).ok());
  ASSERT_EQ(db_->Stats()->head_points, 10u);
  const uint64_t from = auth_->audit().Head().entries + 1;

  // Anyone else is refused before any work: the head keeps its points.
  auto friend_ = LoginToken(AddServiceAccount("friend"));
  EXPECT_EQ(ErrorOf(Call(*friend_, protocol::EncodeFlush(NextId()))).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrorOf(Call(*friend_, protocol::EncodeCompact(NextId()))).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(db_->Stats()->head_points, 10u);

  Do(protocol::EncodeFlush(NextId()));
  auto stats = db_->Stats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->head_points, 0u);
  EXPECT_EQ(stats->points, 10u);
  // Compact enforces retention: a project keeping one day loses its 1970 points for good.
  AddProject("brief");
  ASSERT_TRUE(db_->SetRetention("brief", 1).ok());
  ASSERT_TRUE(db_->Write("brief", b).ok());
  Do(protocol::EncodeCompact(NextId()));
  EXPECT_EQ(db_->Stats()->points, 10u) << "the expired points of 'brief' are still stored";

  const auto actions = ReadActions(*root_, {from, "", 0});
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "storage-maintained "), 2);
}

TEST_F(AdminTest, ReadAuditStreamsALongLogInChunks) {
  const ProjectInfo p = AddProject("greenhouse");
  const uint64_t from = auth_->audit().Head().entries + 1;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(auth_
                    ->Record(Local(), AuditAction::kKeyRotated, p.id, AuditOutcome::kSuccess,
                             std::string(900, 'x'))
                    .ok());
  }
  protocol::AuditEndInfo end;
  size_t chunks = 0;
  const auto actions = ReadActions(*root_, {from, "greenhouse", 0}, &end, &chunks);
  EXPECT_EQ(actions.size(), 100u);
  EXPECT_EQ(end.count, 100u);
  EXPECT_GT(chunks, 1u);
}

TEST_F(AdminTest, ProjectAdminReadsOnlyItsProjectsEntriesAndReaderNone) {
  const ProjectInfo mine = AddProject("mine");
  AddProject("theirs");
  auto admin = LoginToken(AddServiceAccount("admin"));
  auto reader = LoginToken(AddServiceAccount("reader"));
  Grant(mine, "admin", Role::kAdmin);
  Grant(mine, "reader", Role::kReader);
  const auto actions = ReadActions(*admin, {1, "", 0});
  ASSERT_FALSE(actions.empty());
  for (const auto& a : actions) EXPECT_TRUE(a.ends_with(" mine")) << a;

  auto refused =
      Exchange(*reader, protocol::EncodeReadAudit(NextId(), {1, "", 0}), wire::Message::AuditEnd);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Exchange(*admin, protocol::EncodeReadAudit(NextId(), {1, "theirs", 0}),
                     wire::Message::AuditEnd)
                .code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(StillUsable(*admin));
}

TEST_F(AdminTest, VerifyAuditReportsAnIntactLogAndItsHeadAsAnAnchor) {
  auto reply = Call(*root_, protocol::EncodeVerifyAudit(NextId(), {}));
  ASSERT_TRUE(reply && reply->type() == wire::Message::VerifyAuditReply)
      << ErrorOf(reply).ToString();
  auto report = protocol::DecodeVerifyAuditReply(*reply->As<wire::VerifyAuditReply>());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_TRUE(report->ok);
  EXPECT_GT(report->entries_checked, 0u);
  EXPECT_EQ(report->head_entries, report->entries_checked);

  const std::vector<uint8_t> hash(report->head_hash.begin(), report->head_hash.end());
  auto anchored = Call(*root_, protocol::EncodeVerifyAudit(NextId(), {report->head_entries, hash}));
  auto again = protocol::DecodeVerifyAuditReply(*anchored->As<wire::VerifyAuditReply>());
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->ok);

  std::vector<uint8_t> forged = hash;
  forged[0] ^= 1;
  auto bad = Call(*root_, protocol::EncodeVerifyAudit(NextId(), {report->head_entries, forged}));
  auto broken = protocol::DecodeVerifyAuditReply(*bad->As<wire::VerifyAuditReply>());
  ASSERT_TRUE(broken.has_value()) << broken.error().ToString();
  EXPECT_FALSE(broken->ok);
  EXPECT_FALSE(broken->problems.empty());
}

// ---- Devices, channels, retention, keys --------------------------------------------------------

TEST_F(AdminTest, RegistersAndListsDevicesAndChannels) {
  AddProject("greenhouse");
  Do(protocol::EncodeRegisterDevice(NextId(), {"greenhouse", "dl-17", "DL-2", "1.4.2"}));
  auto channel =
      Call(*root_, protocol::EncodeRegisterChannel(
                       NextId(), {"greenhouse", "dl-17", "air/temp", ValueType::kFloat64, "degC"}));
  ASSERT_TRUE(channel && channel->type() == wire::Message::RegisterChannelReply)
      << ErrorOf(channel).ToString();

  auto devices = Call(*root_, protocol::EncodeListDevices(NextId(), "greenhouse"));
  ASSERT_TRUE(devices && devices->type() == wire::Message::ListDevicesReply);
  auto d = protocol::DecodeListDevicesReply(*devices->As<wire::ListDevicesReply>());
  ASSERT_TRUE(d && d->size() == 1u);
  EXPECT_EQ((*d)[0].model, "DL-2");
  EXPECT_EQ((*d)[0].firmware_version, "1.4.2");

  auto channels = Call(*root_, protocol::EncodeListChannels(NextId(), {"greenhouse", "dl-17"}));
  ASSERT_TRUE(channels && channels->type() == wire::Message::ListChannelsReply);
  auto c = protocol::DecodeListChannelsReply(*channels->As<wire::ListChannelsReply>());
  ASSERT_TRUE(c && c->size() == 1u);
  EXPECT_EQ((*c)[0].name, "air/temp");
  EXPECT_EQ((*c)[0].unit, "degC");
}

TEST_F(AdminTest, SetRetentionShowsInTheProjectList) {
  AddProject("greenhouse");
  Do(protocol::EncodeSetRetention(NextId(), {"greenhouse", 30}));
  auto list = Call(*root_, protocol::EncodeListProjects(NextId()));
  auto projects = protocol::DecodeListProjectsReply(*list->As<wire::ListProjectsReply>());
  ASSERT_TRUE(projects && projects->size() == 1u);
  EXPECT_EQ((*projects)[0].retention_days, 30u);
}

TEST_F(AdminTest, RotatesAProjectKeyWithReencryptionAndShowsTheVersionsInKeyStatus) {
  AddProject("greenhouse");
  WriteBatch batch;
  batch.Add("dl-17", "air/temp", 1, Value::Float64(21.5));
  ASSERT_TRUE(db_->Write("greenhouse", batch).ok());
  ASSERT_TRUE(db_->Flush().ok());
  auto first = Call(*root_, protocol::EncodeRotateProjectKey(NextId(), {"greenhouse", false}));
  ASSERT_TRUE(first && first->type() == wire::Message::RotateProjectKeyReply)
      << ErrorOf(first).ToString();
  const auto v1 = protocol::DecodeRotateProjectKeyReply(*first->As<wire::RotateProjectKeyReply>());
  auto second = Call(*root_, protocol::EncodeRotateProjectKey(NextId(), {"greenhouse", true}));
  ASSERT_TRUE(second && second->type() == wire::Message::RotateProjectKeyReply)
      << ErrorOf(second).ToString();
  const auto v2 = protocol::DecodeRotateProjectKeyReply(*second->As<wire::RotateProjectKeyReply>());
  EXPECT_EQ(v2.version, v1.version + 1);
  EXPECT_TRUE(v2.reencrypted);

  auto status = Call(*root_, protocol::EncodeKeyStatus(NextId()));
  ASSERT_TRUE(status && status->type() == wire::Message::KeyStatusReply)
      << ErrorOf(status).ToString();
  auto report = protocol::DecodeKeyStatusReply(*status->As<wire::KeyStatusReply>());
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_FALSE(report->master_key_fingerprint.empty());
  ASSERT_EQ(report->projects.size(), 1u);
  ASSERT_FALSE(report->projects[0].versions.empty());
  EXPECT_EQ(report->projects[0].versions.back().version, v2.version);
  EXPECT_TRUE(report->projects[0].versions.back().active);

  // No key material: the master key's bytes are nowhere in the reply.
  std::ifstream key_file(config_.key_file, std::ios::binary);
  const std::string key((std::istreambuf_iterator<char>(key_file)), {});
  ASSERT_FALSE(key.empty());
  EXPECT_FALSE(Contains(status->payload(), key));
}

// The handler alone (no socket): every AuditChunk stays below the smallest frame limit a client
// may announce, whatever the entries' sizes.
TEST_F(AdminTest, AuditChunksStayBelowTheSmallestFrameLimit) {
  const ProjectInfo p = AddProject("greenhouse");
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(auth_
                    ->Record(Local(), AuditAction::kKeyRotated, p.id, AuditOutcome::kSuccess,
                             std::string(2000, 'x'))
                    .ok());
  }
  const auto in = [](const protocol::OutFrame& out) {
    const std::vector<uint8_t> bytes = out.ToBytes();
    return *protocol::VerifyFrame(
        std::vector<uint8_t>(bytes.begin() + protocol::kFrameHeaderBytes, bytes.end()));
  };
  RequestHandler handler(*db_, *auth_, "local", {});
  VectorSink sink;
  handler.Handle(in(protocol::EncodeHello(1, {})), sink);
  handler.Handle(in(protocol::EncodeAuth(2, {.token = token_})), sink);
  sink.frames.clear();
  handler.Handle(in(protocol::EncodeReadAudit(3, {1, "greenhouse", 0})), sink);
  ASSERT_GT(sink.frames.size(), 2u);
  for (const protocol::OutFrame& f : sink.frames) {
    EXPECT_LT(f.size(), protocol::kMinMaxFrameBytes);
  }
  EXPECT_EQ(in(sink.frames.back()).type(), wire::Message::AuditEnd);
}

}  // namespace
}  // namespace sensordb::server
