#include "sensordb/protocol/messages.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace sensordb::protocol {
namespace {

using testing::MessageOf;
using testing::RoundTrip;

TEST(ErrorMessage, CodesMirrorStatusCodes) {
  for (uint8_t c = 0; c <= static_cast<uint8_t>(kLastStatusCode); ++c) {
    const auto code = static_cast<StatusCode>(c);
    const std::string_view wire_name = wire::EnumNameErrorCode(ToWire(code));
    EXPECT_EQ(StatusCodeName(code), wire_name == "Ok" ? "OK" : wire_name);
  }
  EXPECT_EQ(wire::ErrorCode::MAX, ToWire(kLastStatusCode));
}

TEST(ErrorMessage, RoundTripsEveryCodeAndEchoesTheRequestId) {
  for (uint8_t c = 1; c <= static_cast<uint8_t>(kLastStatusCode); ++c) {
    const Status in(static_cast<StatusCode>(c), "project greenhouse not found");
    Frame frame = RoundTrip(EncodeError(1000 + c, in));
    EXPECT_EQ(frame.request_id(), 1000u + c);
    Status out = DecodeError(MessageOf<wire::Error>(frame));
    EXPECT_EQ(out.code(), in.code());
    EXPECT_EQ(out.message(), in.message());
  }
}

// A full disk is its own code on the wire, not ResourceExhausted (a batch too large): a client
// keeps the batch and retries later.
TEST(ErrorMessage, NoSpaceIsItsOwnCode) {
  EXPECT_EQ(ToWire(StatusCode::kNoSpace), wire::ErrorCode::NoSpace);
  const Frame frame = RoundTrip(EncodeError(7, Status::NoSpace("no space left on the data disk")));
  EXPECT_EQ(DecodeError(MessageOf<wire::Error>(frame)).code(), StatusCode::kNoSpace);
}

TEST(ErrorMessage, UnknownCodeBecomesInternalAndSaysSo) {
  flatbuffers::FlatBufferBuilder fbb;
  auto e = wire::CreateError(fbb, static_cast<wire::ErrorCode>(77), fbb.CreateString("later"));
  Frame frame = RoundTrip(FinishEnvelope(fbb, 1, wire::Message::Error, e.Union()));
  Status s = DecodeError(MessageOf<wire::Error>(frame));
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "peer sent an error with code 77 (unknown to this version): later");
}

TEST(HelloMessage, RoundTrips) {
  Frame frame = RoundTrip(EncodeHello(1, {1, 3, "sensordb-cli/0.1.0"}));
  Result<HelloRequest> hello = DecodeHello(MessageOf<wire::Hello>(frame));
  ASSERT_TRUE(hello.has_value()) << hello.error().ToString();
  EXPECT_EQ(hello->min_version, 1);
  EXPECT_EQ(hello->max_version, 3);
  EXPECT_EQ(hello->client_name, "sensordb-cli/0.1.0");
  EXPECT_EQ(*NegotiateVersion(*hello, 1, 2), 2);
}

TEST(HelloMessage, RejectsAnInvertedVersionRange) {
  Frame frame = RoundTrip(EncodeHello(1, {3, 2, "x"}));
  EXPECT_FALSE(DecodeHello(MessageOf<wire::Hello>(frame)).has_value());
}

TEST(HelloMessage, NegotiationFailsWithoutACommonVersion) {
  Result<uint16_t> v = NegotiateVersion({4, 5, "future"}, 1, 2);
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code(), StatusCode::kNotSupported);
  EXPECT_EQ(v.error().message(),
            "no common protocol version: the client speaks 4-5, the server 1-2; upgrade the "
            "older side");
}

TEST(HelloReplyMessage, RoundTrips) {
  Frame frame = RoundTrip(EncodeHelloReply(1, {1, "sensordbd/0.1.0", 8 << 20, 500000}));
  Result<HelloReplyInfo> r = DecodeHelloReply(MessageOf<wire::HelloReply>(frame));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->server_name, "sensordbd/0.1.0");
  EXPECT_EQ(r->max_frame_bytes, 8u << 20);
  EXPECT_EQ(r->max_write_points, 500000u);
}

TEST(HelloReplyMessage, RejectsAVersionThisLibraryDoesNotSpeak) {
  Frame frame = RoundTrip(EncodeHelloReply(1, {9, "s", 1 << 20, 1}));
  Result<HelloReplyInfo> r = DecodeHelloReply(MessageOf<wire::HelloReply>(frame));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kNotSupported);
}

TEST(AuthMessage, RoundTripsAToken) {
  Frame frame = RoundTrip(EncodeAuth(2, {.token = "sdb_abc123"}));
  Result<AuthRequest> a = DecodeAuth(MessageOf<wire::Auth>(frame));
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->is_token());
  EXPECT_EQ(a->token, "sdb_abc123");
}

TEST(AuthMessage, RoundTripsAUserAndPassword) {
  Frame frame = RoundTrip(EncodeAuth(2, {.user = "ada", .password = "s3cret"}));
  Result<AuthRequest> a = DecodeAuth(MessageOf<wire::Auth>(frame));
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(a->is_token());
  EXPECT_EQ(a->user, "ada");
  EXPECT_EQ(a->password, "s3cret");
}

TEST(AuthMessage, RejectsAnEmptyPassword) {
  Frame frame = RoundTrip(EncodeAuth(2, {.user = "ada"}));
  Result<AuthRequest> a = DecodeAuth(MessageOf<wire::Auth>(frame));
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().message(), "password is missing");
}

TEST(AuthMessage, RejectsAMissingCredential) {
  flatbuffers::FlatBufferBuilder fbb;
  auto auth = wire::CreateAuth(fbb);
  Frame frame = RoundTrip(FinishEnvelope(fbb, 1, wire::Message::Auth, auth.Union()));
  EXPECT_FALSE(DecodeAuth(MessageOf<wire::Auth>(frame)).has_value());
}

TEST(AuthReplyMessage, RoundTrips) {
  Frame frame =
      RoundTrip(EncodeAuthReply(2, {"ingest-bot", wire::PrincipalKind::ServiceAccount, false}));
  Result<AuthReplyInfo> r = DecodeAuthReply(MessageOf<wire::AuthReply>(frame));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->principal, "ingest-bot");
  EXPECT_EQ(r->kind, wire::PrincipalKind::ServiceAccount);
  EXPECT_FALSE(r->superuser);
}

TEST(AdminMessages, CreateProjectRoundTrips) {
  Frame frame = RoundTrip(EncodeCreateProject(3, {"greenhouse", {.retention_days = 90}}));
  Result<CreateProjectRequest> r = DecodeCreateProject(MessageOf<wire::CreateProject>(frame));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->name, "greenhouse");
  EXPECT_EQ(r->options.retention_days, 90u);

  Frame reply = RoundTrip(EncodeCreateProjectReply(3, {7, "greenhouse", 90}));
  EXPECT_EQ(reply.request_id(), 3u);
  Result<ProjectInfo> p = DecodeCreateProjectReply(MessageOf<wire::CreateProjectReply>(reply));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->id, 7u);
  EXPECT_EQ(p->name, "greenhouse");
  EXPECT_EQ(p->retention_days, 90u);
}

TEST(AdminMessages, ListProjectsRoundTrips) {
  Frame request = RoundTrip(EncodeListProjects(4));
  EXPECT_NE(request.As<wire::ListProjects>(), nullptr);
  const std::vector<ProjectInfo> projects = {{1, "a", 0}, {2, "b", 30}};
  Frame reply = RoundTrip(EncodeListProjectsReply(4, projects));
  Result<std::vector<ProjectInfo>> out =
      DecodeListProjectsReply(MessageOf<wire::ListProjectsReply>(reply));
  ASSERT_TRUE(out.has_value());
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[1].name, "b");
  EXPECT_EQ((*out)[1].retention_days, 30u);
}

TEST(AdminMessages, DropProjectRoundTrips) {
  Frame frame = RoundTrip(EncodeDropProject(5, "old"));
  EXPECT_EQ(*DecodeDropProject(MessageOf<wire::DropProject>(frame)), "old");
  Frame reply = RoundTrip(EncodeDropProjectReply(5));
  EXPECT_NE(reply.As<wire::DropProjectReply>(), nullptr);
  EXPECT_EQ(reply.request_id(), 5u);
}

TEST(AdminMessages, RejectsAnOverlongProjectName) {
  Frame frame = RoundTrip(EncodeDropProject(5, std::string(300, 'p')));
  Result<std::string_view> name = DecodeDropProject(MessageOf<wire::DropProject>(frame));
  ASSERT_FALSE(name.has_value());
  EXPECT_EQ(name.error().message(), "project name of 300 bytes is longer than the maximum of 255");
}

TEST(PingMessage, PingAndPongEchoTheRequestId) {
  Frame ping = RoundTrip(EncodePing(UINT64_MAX));
  EXPECT_EQ(ping.type(), wire::Message::Ping);
  EXPECT_EQ(ping.request_id(), UINT64_MAX);
  Frame pong = RoundTrip(EncodePong(ping.request_id()));
  EXPECT_EQ(pong.type(), wire::Message::Pong);
  EXPECT_EQ(pong.request_id(), UINT64_MAX);
}

}  // namespace
}  // namespace sensordb::protocol
