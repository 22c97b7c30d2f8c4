// The administration messages: round trips through a FrameDecoder, and the checks Decode*
// add to the schema (required fields, size bounds, known enum values).
#include "sensordb/protocol/admin_codec.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "test_util.h"

namespace sensordb::protocol {
namespace {

using testing::MessageOf;
using testing::RoundTrip;

const std::string kLongName(kMaxNameBytes + 1, 'n');
const std::string kLongSecret(kMaxSecretBytes + 1, 's');

TEST(AdminCodec, DoneRoundTripsWithItsRequestId) {
  Frame frame = RoundTrip(EncodeDone(77));
  EXPECT_EQ(frame.type(), wire::Message::Done);
  EXPECT_EQ(frame.request_id(), 77u);
}

TEST(AdminCodec, NewMessagesAreAppendedAfterPong) {
  // Wire compatibility: the members that existed before keep their numbers.
  EXPECT_EQ(static_cast<int>(wire::Message::Pong), 18);
  EXPECT_EQ(static_cast<int>(wire::Message::Done), 19);
  EXPECT_GE(wire::Message::MAX, wire::Message::KeyStatusReply);  // device messages follow
  EXPECT_TRUE(IsKnownMessage(wire::Message::KeyStatusReply));
  EXPECT_EQ(MessageName(wire::Message::ReadAudit), "ReadAudit");
}

TEST(AdminCodec, MaintenanceMessagesAreAppendedAfterTheDeviceMessages) {
  EXPECT_EQ(static_cast<int>(wire::Message::Flush),
            static_cast<int>(wire::Message::GetDeviceCaReply) + 1);
  EXPECT_EQ(static_cast<int>(wire::Message::Compact), static_cast<int>(wire::Message::Flush) + 1);
  EXPECT_GE(wire::Message::MAX, wire::Message::Compact);  // firmware transfer follows
  EXPECT_EQ(static_cast<int>(wire::Message::Flush), 60);  // protocol/README.md
  Frame flush = RoundTrip(EncodeFlush(5));
  EXPECT_EQ(flush.type(), wire::Message::Flush);
  EXPECT_EQ(flush.request_id(), 5u);
  Frame compact = RoundTrip(EncodeCompact(6));
  EXPECT_EQ(compact.type(), wire::Message::Compact);
  EXPECT_EQ(MessageName(wire::Message::Compact), "Compact");
}

// ---- Accounts ----------------------------------------------------------------------------------

TEST(AdminCodec, CreateAccountRoundTripsAUserAndAServiceAccount) {
  Frame frame = RoundTrip(
      EncodeCreateAccount(1, {"alice", wire::PrincipalKind::User, "correct horse battery", true}));
  auto user = DecodeCreateAccount(MessageOf<wire::CreateAccount>(frame));
  ASSERT_TRUE(user.has_value()) << user.error().ToString();
  EXPECT_EQ(user->name, "alice");
  EXPECT_EQ(user->kind, wire::PrincipalKind::User);
  EXPECT_EQ(user->password, "correct horse battery");
  EXPECT_TRUE(user->superuser);

  Frame svc_frame =
      RoundTrip(EncodeCreateAccount(2, {"ingest", wire::PrincipalKind::ServiceAccount, {}, false}));
  auto svc = DecodeCreateAccount(MessageOf<wire::CreateAccount>(svc_frame));
  ASSERT_TRUE(svc.has_value()) << svc.error().ToString();
  EXPECT_EQ(svc->kind, wire::PrincipalKind::ServiceAccount);
  EXPECT_TRUE(svc->password.empty());
  EXPECT_FALSE(svc->superuser);
}

TEST(AdminCodec, CreateAccountRejectsMissingAndOversizeFields) {
  Frame no_name = RoundTrip(EncodeCreateAccount(1, {"", wire::PrincipalKind::User, "pw", false}));
  auto r = DecodeCreateAccount(MessageOf<wire::CreateAccount>(no_name));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "account name is missing");

  Frame no_password =
      RoundTrip(EncodeCreateAccount(1, {"alice", wire::PrincipalKind::User, "", false}));
  r = DecodeCreateAccount(MessageOf<wire::CreateAccount>(no_password));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "password is missing");

  Frame long_name =
      RoundTrip(EncodeCreateAccount(1, {kLongName, wire::PrincipalKind::User, "pw", false}));
  EXPECT_EQ(DecodeCreateAccount(MessageOf<wire::CreateAccount>(long_name)).error().code(),
            StatusCode::kInvalidArgument);

  Frame long_password =
      RoundTrip(EncodeCreateAccount(1, {"alice", wire::PrincipalKind::User, kLongSecret, false}));
  r = DecodeCreateAccount(MessageOf<wire::CreateAccount>(long_password));
  ASSERT_FALSE(r.has_value());
  // The error names the field and its size, never the secret.
  EXPECT_EQ(r.error().message(), "password of 4097 bytes is longer than the maximum of 4096");
}

TEST(AdminCodec, CreateAccountRefusesAServiceAccountWithAPasswordAndUnknownKinds) {
  Frame svc = RoundTrip(
      EncodeCreateAccount(1, {"ingest", wire::PrincipalKind::ServiceAccount, "secret", false}));
  EXPECT_EQ(DecodeCreateAccount(MessageOf<wire::CreateAccount>(svc)).error().code(),
            StatusCode::kInvalidArgument);
  Frame kind =
      RoundTrip(EncodeCreateAccount(1, {"x", static_cast<wire::PrincipalKind>(9), "pw", false}));
  EXPECT_EQ(DecodeCreateAccount(MessageOf<wire::CreateAccount>(kind)).error().code(),
            StatusCode::kInvalidArgument);
}

TEST(AdminCodec, ChangePasswordNeedsOnlyTheNewPassword) {
  Frame reset = RoundTrip(EncodeChangePassword(1, {"bob", "", "new password 123"}));
  auto r = DecodeChangePassword(MessageOf<wire::ChangePassword>(reset));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->name, "bob");
  EXPECT_TRUE(r->old_password.empty());
  EXPECT_EQ(r->new_password, "new password 123");

  Frame missing = RoundTrip(EncodeChangePassword(1, {"bob", "old", ""}));
  EXPECT_FALSE(DecodeChangePassword(MessageOf<wire::ChangePassword>(missing)).has_value());
  Frame long_old = RoundTrip(EncodeChangePassword(1, {"bob", kLongSecret, "new"}));
  EXPECT_FALSE(DecodeChangePassword(MessageOf<wire::ChangePassword>(long_old)).has_value());
}

TEST(AdminCodec, AccountFlagsAndDeletionRoundTrip) {
  Frame frame = RoundTrip(EncodeSetAccountDisabled(1, {"bob", true}));
  auto disabled = DecodeSetAccountDisabled(MessageOf<wire::SetAccountDisabled>(frame));
  ASSERT_TRUE(disabled.has_value());
  EXPECT_EQ(disabled->name, "bob");
  EXPECT_TRUE(disabled->disabled);

  Frame del = RoundTrip(EncodeDeleteAccount(1, "bob"));
  EXPECT_EQ(*DecodeDeleteAccount(MessageOf<wire::DeleteAccount>(del)), "bob");
  Frame del_long = RoundTrip(EncodeDeleteAccount(1, kLongName));
  EXPECT_FALSE(DecodeDeleteAccount(MessageOf<wire::DeleteAccount>(del_long)).has_value());
}

TEST(AdminCodec, ListAccountsReplyRoundTrips) {
  EXPECT_EQ(RoundTrip(EncodeListAccounts(3)).type(), wire::Message::ListAccounts);
  const std::array<AccountView, 2> accounts = {
      AccountView{"alice", wire::PrincipalKind::User, true, false, 1000},
      AccountView{"ingest", wire::PrincipalKind::ServiceAccount, false, true, 2000}};
  Frame frame = RoundTrip(EncodeListAccountsReply(3, accounts));
  auto r = DecodeListAccountsReply(MessageOf<wire::ListAccountsReply>(frame));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "alice");
  EXPECT_TRUE((*r)[0].superuser);
  EXPECT_EQ((*r)[1].kind, wire::PrincipalKind::ServiceAccount);
  EXPECT_TRUE((*r)[1].disabled);
  EXPECT_EQ((*r)[1].created_ns, 2000);
}

// ---- Tokens ------------------------------------------------------------------------------------

TEST(AdminCodec, IssueTokenAndItsReplyRoundTrip) {
  Frame frame = RoundTrip(EncodeIssueToken(1, {"ingest", 5'000}));
  auto r = DecodeIssueToken(MessageOf<wire::IssueToken>(frame));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->account, "ingest");
  EXPECT_EQ(r->expires_ns, 5'000);

  const std::string token = "sdb_abcdefgh_" + std::string(43, 'x');
  Frame reply =
      RoundTrip(EncodeIssueTokenReply(1, {token, "abcdefgh", "sdb_abcdefgh_", "ingest", 0}));
  auto issued = DecodeIssueTokenReply(MessageOf<wire::IssueTokenReply>(reply));
  ASSERT_TRUE(issued.has_value()) << issued.error().ToString();
  EXPECT_EQ(issued->token, token);
  EXPECT_EQ(issued->id, "abcdefgh");
  EXPECT_EQ(issued->prefix, "sdb_abcdefgh_");
  EXPECT_EQ(issued->account, "ingest");
}

TEST(AdminCodec, IssueTokenRejectsANegativeExpiryAndAMissingAccount) {
  Frame negative = RoundTrip(EncodeIssueToken(1, {"ingest", -1}));
  EXPECT_FALSE(DecodeIssueToken(MessageOf<wire::IssueToken>(negative)).has_value());
  Frame missing = RoundTrip(EncodeIssueToken(1, {"", 0}));
  EXPECT_FALSE(DecodeIssueToken(MessageOf<wire::IssueToken>(missing)).has_value());
  Frame no_token = RoundTrip(EncodeIssueTokenReply(1, {"", "id", "sdb_id_", "ingest", 0}));
  EXPECT_FALSE(DecodeIssueTokenReply(MessageOf<wire::IssueTokenReply>(no_token)).has_value());
}

TEST(AdminCodec, RevokeAndListTokensRoundTrip) {
  Frame revoke = RoundTrip(EncodeRevokeToken(1, "abcdefgh"));
  EXPECT_EQ(*DecodeRevokeToken(MessageOf<wire::RevokeToken>(revoke)), "abcdefgh");
  Frame revoke_none = RoundTrip(EncodeRevokeToken(1, ""));
  EXPECT_FALSE(DecodeRevokeToken(MessageOf<wire::RevokeToken>(revoke_none)).has_value());

  Frame all = RoundTrip(EncodeListTokens(1, ""));
  EXPECT_EQ(*DecodeListTokens(MessageOf<wire::ListTokens>(all)), "");
  Frame long_account = RoundTrip(EncodeListTokens(1, kLongName));
  EXPECT_FALSE(DecodeListTokens(MessageOf<wire::ListTokens>(long_account)).has_value());

  const std::array<TokenView, 1> tokens = {
      TokenView{"abcdefgh", "sdb_abcdefgh_", "ingest", 1, 2, 3, 4}};
  Frame reply = RoundTrip(EncodeListTokensReply(1, tokens));
  auto r = DecodeListTokensReply(MessageOf<wire::ListTokensReply>(reply));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].prefix, "sdb_abcdefgh_");
  EXPECT_EQ((*r)[0].created_ns, 1);
  EXPECT_EQ((*r)[0].expires_ns, 2);
  EXPECT_EQ((*r)[0].last_used_ns, 3);
  EXPECT_EQ((*r)[0].revoked_ns, 4);
}

// ---- Grants ------------------------------------------------------------------------------------

TEST(AdminCodec, RoleNamesParseBack) {
  for (wire::Role r :
       {wire::Role::Owner, wire::Role::Admin, wire::Role::Writer, wire::Role::Reader}) {
    EXPECT_EQ(*ParseRole(RoleName(r)), r);
  }
  EXPECT_FALSE(ParseRole("none").has_value());
  EXPECT_FALSE(ParseRole("root").has_value());
}

TEST(AdminCodec, GrantRequestsRoundTrip) {
  Frame set = RoundTrip(EncodeSetGrant(1, {"greenhouse", "bob", wire::Role::Writer}));
  auto s = DecodeSetGrant(MessageOf<wire::SetGrant>(set));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->project, "greenhouse");
  EXPECT_EQ(s->account, "bob");
  EXPECT_EQ(s->role, wire::Role::Writer);

  Frame remove = RoundTrip(EncodeRemoveGrant(1, {"greenhouse", "bob"}));
  auto r = DecodeRemoveGrant(MessageOf<wire::RemoveGrant>(remove));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->account, "bob");

  Frame list = RoundTrip(EncodeListGrants(1, "greenhouse"));
  EXPECT_EQ(*DecodeListGrants(MessageOf<wire::ListGrants>(list)), "greenhouse");

  const std::array<GrantView, 2> grants = {GrantView{"alice", wire::Role::Owner, 10, "root"},
                                           GrantView{"bob", wire::Role::Reader, 20, "alice"}};
  Frame reply = RoundTrip(EncodeListGrantsReply(1, grants));
  auto g = DecodeListGrantsReply(MessageOf<wire::ListGrantsReply>(reply));
  ASSERT_TRUE(g.has_value()) << g.error().ToString();
  ASSERT_EQ(g->size(), 2u);
  EXPECT_EQ((*g)[1].role, wire::Role::Reader);
  EXPECT_EQ((*g)[1].granted_by, "alice");
}

TEST(AdminCodec, SetGrantRejectsNoneUnknownRolesAndMissingNames) {
  Frame none = RoundTrip(EncodeSetGrant(1, {"p", "bob", wire::Role::None}));
  EXPECT_FALSE(DecodeSetGrant(MessageOf<wire::SetGrant>(none)).has_value());
  Frame unknown = RoundTrip(EncodeSetGrant(1, {"p", "bob", static_cast<wire::Role>(5)}));
  EXPECT_FALSE(DecodeSetGrant(MessageOf<wire::SetGrant>(unknown)).has_value());
  Frame no_project = RoundTrip(EncodeSetGrant(1, {"", "bob", wire::Role::Reader}));
  EXPECT_FALSE(DecodeSetGrant(MessageOf<wire::SetGrant>(no_project)).has_value());
  Frame long_account = RoundTrip(EncodeRemoveGrant(1, {"p", kLongName}));
  EXPECT_FALSE(DecodeRemoveGrant(MessageOf<wire::RemoveGrant>(long_account)).has_value());
}

// ---- Audit log ---------------------------------------------------------------------------------

TEST(AdminCodec, ReadAuditRoundTripsWithAndWithoutAProject) {
  Frame all = RoundTrip(EncodeReadAudit(1, {5, "", 10}));
  auto r = DecodeReadAudit(MessageOf<wire::ReadAudit>(all));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->from_seq, 5u);
  EXPECT_TRUE(r->project.empty());
  EXPECT_EQ(r->limit, 10u);

  Frame one = RoundTrip(EncodeReadAudit(1, {1, "greenhouse", 0}));
  EXPECT_EQ(DecodeReadAudit(MessageOf<wire::ReadAudit>(one))->project, "greenhouse");
  Frame long_project = RoundTrip(EncodeReadAudit(1, {1, kLongName, 0}));
  EXPECT_FALSE(DecodeReadAudit(MessageOf<wire::ReadAudit>(long_project)).has_value());
}

TEST(AdminCodec, AuditChunksSplitAtTheTargetAndRoundTrip) {
  std::array<uint8_t, kAuditHashBytes> prev{}, hash{};
  hash.fill(0xAB);
  AuditChunkBuilder builder(9, 4096);
  const std::string detail(1000, 'd');
  std::vector<OutFrame> chunks;
  for (uint64_t seq = 1; seq <= 20; ++seq) {
    builder.Add({seq, 100 + int64_t(seq), "alice", "127.0.0.1:5000", "grant-set", 3, "greenhouse",
                 "success", detail, prev, hash});
    if (builder.full()) chunks.push_back(builder.Finish());
  }
  if (!builder.empty()) chunks.push_back(builder.Finish());
  ASSERT_GT(chunks.size(), 1u);

  uint64_t next = 1;
  for (const OutFrame& out : chunks) {
    EXPECT_LT(out.size(), 4096u + 2 * 1100);  // the target plus at most one entry
    Frame frame = RoundTrip(out);
    EXPECT_EQ(frame.request_id(), 9u);
    auto entries = DecodeAuditChunk(MessageOf<wire::AuditChunk>(frame));
    ASSERT_TRUE(entries.has_value()) << entries.error().ToString();
    for (const AuditEntryView& e : *entries) {
      EXPECT_EQ(e.seq, next++);
      EXPECT_EQ(e.principal, "alice");
      EXPECT_EQ(e.action, "grant-set");
      EXPECT_EQ(e.project_id, 3u);
      EXPECT_EQ(e.project, "greenhouse");
      EXPECT_EQ(e.detail.size(), 1000u);
      ASSERT_EQ(e.hash.size(), kAuditHashBytes);
      EXPECT_EQ(e.hash[31], 0xAB);
    }
  }
  EXPECT_EQ(next, 21u);

  Frame end = RoundTrip(EncodeAuditEnd(9, {20, 21}));
  const AuditEndInfo info = DecodeAuditEnd(MessageOf<wire::AuditEnd>(end));
  EXPECT_EQ(info.count, 20u);
  EXPECT_EQ(info.next_seq, 21u);
}

TEST(AdminCodec, AuditChunkRejectsAShortHash) {
  const std::array<uint8_t, 31> short_hash{};
  const std::array<uint8_t, kAuditHashBytes> hash{};
  AuditChunkBuilder builder(1);
  builder.Add({1, 1, "a", "local", "login", 0, "", "success", "", hash, short_hash});
  Frame frame = RoundTrip(builder.Finish());
  auto r = DecodeAuditChunk(MessageOf<wire::AuditChunk>(frame));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "audit hash has 31 bytes, not 32");
}

TEST(AdminCodec, VerifyAuditRoundTripsWithAnAnchorAndProblems) {
  std::array<uint8_t, kAuditHashBytes> anchor{};
  anchor.fill(7);
  Frame request = RoundTrip(EncodeVerifyAudit(1, {12, anchor}));
  auto v = DecodeVerifyAudit(MessageOf<wire::VerifyAudit>(request));
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->anchor_entries, 12u);
  ASSERT_EQ(v->anchor_hash.size(), kAuditHashBytes);
  Frame plain = RoundTrip(EncodeVerifyAudit(1, {}));
  EXPECT_TRUE(DecodeVerifyAudit(MessageOf<wire::VerifyAudit>(plain))->anchor_hash.empty());
  const std::array<uint8_t, 5> short_anchor{};
  Frame bad = RoundTrip(EncodeVerifyAudit(1, {1, short_anchor}));
  EXPECT_FALSE(DecodeVerifyAudit(MessageOf<wire::VerifyAudit>(bad)).has_value());

  VerifyAuditResult result;
  result.entries_checked = 40;
  result.head_entries = 40;
  result.head_hash = anchor;
  result.problems = {"entry 3 altered", "entries 7..9 missing"};
  Frame reply = RoundTrip(EncodeVerifyAuditReply(1, result));
  auto r = DecodeVerifyAuditReply(MessageOf<wire::VerifyAuditReply>(reply));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->entries_checked, 40u);
  ASSERT_EQ(r->problems.size(), 2u);
  EXPECT_EQ(r->problems[1], "entries 7..9 missing");
}

TEST(AdminCodec, VerifyAuditReplyMustNotSayOkWithProblems) {
  std::array<uint8_t, kAuditHashBytes> head{};
  VerifyAuditResult result;
  result.ok = true;
  result.head_hash = head;
  result.problems = {"entry 3 altered"};
  Frame reply = RoundTrip(EncodeVerifyAuditReply(1, result));
  EXPECT_FALSE(DecodeVerifyAuditReply(MessageOf<wire::VerifyAuditReply>(reply)).has_value());
}

// ---- Devices, channels, retention, keys --------------------------------------------------------

TEST(AdminCodec, DeviceRequestsAndRepliesRoundTrip) {
  Frame reg = RoundTrip(EncodeRegisterDevice(1, {"greenhouse", "dl-17", "DL-2", "1.4.2"}));
  auto r = DecodeRegisterDevice(MessageOf<wire::RegisterDevice>(reg));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->project, "greenhouse");
  EXPECT_EQ(r->device, "dl-17");
  EXPECT_EQ(r->model, "DL-2");
  EXPECT_EQ(r->firmware_version, "1.4.2");

  Frame list = RoundTrip(EncodeListDevices(1, "greenhouse"));
  EXPECT_EQ(*DecodeListDevices(MessageOf<wire::ListDevices>(list)), "greenhouse");

  const std::vector<DeviceInfo> devices = {{"dl-17", "DL-2", "1.4.2"}, {"dl-18", "", ""}};
  Frame reply = RoundTrip(EncodeListDevicesReply(1, devices));
  auto d = DecodeListDevicesReply(MessageOf<wire::ListDevicesReply>(reply));
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].firmware_version, "1.4.2");
  EXPECT_EQ((*d)[1].name, "dl-18");
}

TEST(AdminCodec, RegisterDeviceRejectsOversizeAndMissingFields) {
  Frame long_device = RoundTrip(EncodeRegisterDevice(1, {"p", kLongName, "", ""}));
  EXPECT_FALSE(DecodeRegisterDevice(MessageOf<wire::RegisterDevice>(long_device)).has_value());
  const std::string long_model(kMaxTextBytes + 1, 'm');
  Frame model = RoundTrip(EncodeRegisterDevice(1, {"p", "d", long_model, ""}));
  EXPECT_FALSE(DecodeRegisterDevice(MessageOf<wire::RegisterDevice>(model)).has_value());

  flatbuffers::FlatBufferBuilder fbb;
  auto msg = wire::CreateRegisterDevice(fbb, fbb.CreateString("p"));  // no device table
  Frame no_device = RoundTrip(FinishEnvelope(fbb, 1, wire::Message::RegisterDevice, msg.Union()));
  auto r = DecodeRegisterDevice(MessageOf<wire::RegisterDevice>(no_device));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "device is missing");
}

TEST(AdminCodec, ChannelRequestsAndRepliesRoundTrip) {
  Frame reg =
      RoundTrip(EncodeRegisterChannel(1, {"p", "dl-17", "air/temp", ValueType::kInt64, "degC"}));
  auto r = DecodeRegisterChannel(MessageOf<wire::RegisterChannel>(reg));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->channel, "air/temp");
  EXPECT_EQ(r->type, ValueType::kInt64);
  EXPECT_EQ(r->unit, "degC");

  const ChannelInfo channel{42, "dl-17", "air/temp", "degC", ValueType::kBool};
  Frame reg_reply = RoundTrip(EncodeRegisterChannelReply(1, channel));
  auto c = DecodeRegisterChannelReply(MessageOf<wire::RegisterChannelReply>(reg_reply));
  ASSERT_TRUE(c.has_value()) << c.error().ToString();
  EXPECT_EQ(c->series_id, 42u);
  EXPECT_EQ(c->type, ValueType::kBool);

  Frame list = RoundTrip(EncodeListChannels(1, {"p", ""}));
  auto l = DecodeListChannels(MessageOf<wire::ListChannels>(list));
  ASSERT_TRUE(l.has_value());
  EXPECT_TRUE(l->device.empty());

  const std::vector<ChannelInfo> channels = {channel, {43, "dl-17", "rh", "", ValueType::kFloat64}};
  Frame reply = RoundTrip(EncodeListChannelsReply(1, channels));
  auto all = DecodeListChannelsReply(MessageOf<wire::ListChannelsReply>(reply));
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].name, "rh");
}

TEST(AdminCodec, RegisterChannelRejectsAnUnknownType) {
  flatbuffers::FlatBufferBuilder fbb;
  auto msg = wire::CreateRegisterChannel(fbb, fbb.CreateString("p"), fbb.CreateString("d"),
                                         fbb.CreateString("c"), wire::ValueType::Unknown);
  Frame frame = RoundTrip(FinishEnvelope(fbb, 1, wire::Message::RegisterChannel, msg.Union()));
  EXPECT_FALSE(DecodeRegisterChannel(MessageOf<wire::RegisterChannel>(frame)).has_value());
}

TEST(AdminCodec, RetentionAndKeyRotationRoundTrip) {
  Frame ret = RoundTrip(EncodeSetRetention(1, {"greenhouse", 30}));
  auto r = DecodeSetRetention(MessageOf<wire::SetRetention>(ret));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->retention_days, 30u);
  Frame no_project = RoundTrip(EncodeSetRetention(1, {"", 30}));
  EXPECT_FALSE(DecodeSetRetention(MessageOf<wire::SetRetention>(no_project)).has_value());

  Frame rot = RoundTrip(EncodeRotateProjectKey(1, {"greenhouse", true}));
  auto k = DecodeRotateProjectKey(MessageOf<wire::RotateProjectKey>(rot));
  ASSERT_TRUE(k.has_value());
  EXPECT_TRUE(k->reencrypt);
  Frame rot_reply = RoundTrip(EncodeRotateProjectKeyReply(1, {3, true}));
  const RotatedKey v =
      DecodeRotateProjectKeyReply(MessageOf<wire::RotateProjectKeyReply>(rot_reply));
  EXPECT_EQ(v.version, 3u);
  EXPECT_TRUE(v.reencrypted);
}

TEST(AdminCodec, KeyStatusReplyRoundTrips) {
  EXPECT_EQ(RoundTrip(EncodeKeyStatus(1)).type(), wire::Message::KeyStatus);
  KeyStatusReport report;
  report.master_key_fingerprint = "3f9a00aa";
  report.kdf = "key-file";
  report.projects.push_back({"greenhouse", 1, {{1, false, 100, 5, 1, 2, 4096, 7}, {2, true, 200}}});
  Frame frame = RoundTrip(EncodeKeyStatusReply(1, report));
  auto r = DecodeKeyStatusReply(MessageOf<wire::KeyStatusReply>(frame));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->master_key_fingerprint, "3f9a00aa");
  EXPECT_EQ(r->kdf, "key-file");
  ASSERT_EQ(r->projects.size(), 1u);
  ASSERT_EQ(r->projects[0].versions.size(), 2u);
  EXPECT_EQ(r->projects[0].versions[0].bytes, 4096u);
  EXPECT_EQ(r->projects[0].versions[0].file_records, 7u);
  EXPECT_TRUE(r->projects[0].versions[1].active);
}

}  // namespace
}  // namespace sensordb::protocol
