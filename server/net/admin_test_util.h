// The fixture of the administration tests (admin_test.cc, role_matrix_test.cc): the in-process
// server of ServerFixture, request/reply helpers, and set-up helpers that call the AuthService directly as the bootstrap
// superuser (fast, and outside the per-principal rate limit of the clients under test).
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net/server_fixture.h"
#include "sensordb/protocol/admin_codec.h"

namespace sensordb::server::testing {

class AdminServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    if (HasFatalFailure()) return;
    auto admin = auth_->Authenticate(Credentials::Token(token_), "local", Now());
    ASSERT_TRUE(admin.has_value());
    admin_ = std::move(*admin);
  }

  static int64_t Now() { return WallClockNs(); }
  uint64_t NextId() { return ++next_id_; }

  // Hello, then Auth with `auth`; the Auth reply (AuthReply or Error).
  std::optional<protocol::Frame> TryLogin(TestClient& c, const protocol::AuthRequest& auth) {
    EXPECT_TRUE(c.Send(protocol::EncodeHello(NextId(), {})));
    auto hello = c.Receive();
    EXPECT_TRUE(hello && hello->type() == wire::Message::HelloReply);
    EXPECT_TRUE(c.Send(protocol::EncodeAuth(NextId(), auth)));
    return c.Receive();
  }

  // A connection authenticated with `auth`; fails the test when the login is refused.
  std::unique_ptr<TestClient> Login(const protocol::AuthRequest& auth) {
    auto c = Connect();
    auto reply = TryLogin(*c, auth);
    EXPECT_TRUE(reply && reply->type() == wire::Message::AuthReply) << ErrorOf(reply).ToString();
    return c;
  }
  std::unique_ptr<TestClient> LoginToken(std::string_view token) { return Login({.token = token}); }

  // Sends `request` and returns its one reply (checked to carry the request's id).
  std::optional<protocol::Frame> Call(TestClient& c, const protocol::OutFrame& request) {
    const uint64_t id = wire::GetEnvelope(request.payload().data())->request_id();
    EXPECT_TRUE(c.Send(request));
    auto reply = c.Receive();
    if (reply) {
      EXPECT_EQ(reply->request_id(), id);
    }
    return reply;
  }

  // Sends `request` and reads its replies up to the last one: a frame of type `last` (Ok) or an
  // Error (its Status). Chunks before them are skipped; anything else fails with kInternal.
  Status Exchange(TestClient& c, const protocol::OutFrame& request, wire::Message last) {
    if (!c.Send(request)) return Status::Internal("send failed");
    for (int frames = 0; frames < 10'000; ++frames) {
      auto f = c.Receive();
      if (!f) return Status::Internal("the connection closed");
      if (f->type() == wire::Message::Error) return ErrorOf(f);
      if (f->type() == last) return Status::Ok();
      if (f->type() != wire::Message::QueryChunk && f->type() != wire::Message::AuditChunk) {
        return Status::Internal("unexpected " + protocol::MessageName(f->type()));
      }
    }
    return Status::Internal("no end of the reply");
  }

  // The connection still answers requests.
  bool StillUsable(TestClient& c) {
    const uint64_t id = NextId();
    auto pong = Call(c, protocol::EncodePing(id));
    return pong && pong->type() == wire::Message::Pong && pong->request_id() == id;
  }

  // ---- Set-up as the bootstrap superuser, in-process -------------------------------------------

  Actor Local() { return Actor{admin_, "local", Now()}; }

  // A service account and a token for it.
  std::string AddServiceAccount(const std::string& name, bool superuser = false) {
    Status s = auth_->accounts().CreateServiceAccount(Local(), name, superuser);
    EXPECT_TRUE(s.ok()) << s.ToString();
    auto token = auth_->accounts().IssueToken(Local(), name, 0);
    EXPECT_TRUE(token.has_value()) << token.error().ToString();
    return token ? std::string(token->text.view()) : std::string();
  }

  // A project owned by the bootstrap superuser.
  ProjectInfo AddProject(const std::string& name) {
    auto p = db_->CreateProject(name);
    EXPECT_TRUE(p.has_value()) << p.error().ToString();
    if (!p) return {};
    Status s = auth_->ProjectCreated(Local(), p->id, p->name);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return *p;
  }

  void Grant(const ProjectInfo& project, const std::string& account, Role role) {
    Status s = auth_->grants().SetGrant(Local(), {project.id, project.name}, account, role);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  Principal admin_;  // the bootstrap superuser (token_), for set-up in-process
  uint64_t next_id_ = 0;
};

}  // namespace sensordb::server::testing
