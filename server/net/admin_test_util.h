// The fixture of the administration tests (admin_test.cc, role_matrix_test.cc): a fresh `init`
// directory, the native protocol listener in-process on an ephemeral 127.0.0.1 port, TLS 1.3
// test clients, and set-up helpers that call the AuthService directly as the bootstrap
// superuser (fast, and outside the per-principal rate limit of the clients under test).
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/auth_service.h"
#include "config/server_config.h"
#include "net/client_listener.h"
#include "net/test_client.h"
#include "sensordb/protocol/admin_codec.h"
#include "sensordb/protocol/messages.h"
#include "sensordbd/init.h"
#include "test_util.h"

namespace sensordb::server::testing {

inline AuthOptions FastAuthOptions() {
  AuthOptions o;
  o.password_cost = PasswordCost::Minimum();
  return o;
}

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitOptions init;
    init.auth = FastAuthOptions();
    auto report = InitServerDir(dir_.Sub("srv"), init);
    ASSERT_TRUE(report.has_value()) << report.error().ToString();
    auto config = LoadConfig(report->config_file);
    ASSERT_TRUE(config.has_value()) << config.error().ToString();
    config->client.port = 0;
    config->io_threads = 2;
    config->limits.max_frame_bytes = 1 << 20;
    config_ = *config;
    std::ifstream(report->token_file) >> token_;
    ASSERT_FALSE(token_.empty());

    Options options;
    options.create_if_missing = false;
    options.key.key_file = config_.key_file;
    options.maintenance_interval_ms = 0;
    auto db = DB::Open(options, config_.data_dir);
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    auto auth = AuthService::Open(db_->System(), FastAuthOptions());
    ASSERT_TRUE(auth.has_value()) << auth.error().ToString();
    auth_ = std::move(*auth);
    auto admin = auth_->Authenticate(Credentials::Token(token_), "local", Now());
    ASSERT_TRUE(admin.has_value());
    admin_ = std::move(*admin);
    auto listener = ClientListener::Start(config_, *db_, *auth_);
    ASSERT_TRUE(listener.has_value()) << listener.error().ToString();
    listener_ = std::move(*listener);
  }

  void TearDown() override {
    if (listener_) listener_->Stop();
  }

  static int64_t Now() { return WallClockNs(); }
  uint64_t NextId() { return ++next_id_; }

  std::unique_ptr<TestClient> Connect() {
    auto c = std::make_unique<TestClient>(config_.tls.ca_file);
    const auto ec = c->Connect(listener_->port());
    EXPECT_FALSE(ec) << ec.message();
    return c;
  }

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

  static Status ErrorOf(const std::optional<protocol::Frame>& f) {
    if (!f) return Status::Internal("no frame");
    if (const auto* e = f->As<wire::Error>()) return protocol::DecodeError(*e);
    return Status::Ok();
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

  sensordb::testing::TempDir dir_;
  ServerConfig config_;
  std::string token_;  // the bootstrap superuser's
  std::unique_ptr<DB> db_;
  std::unique_ptr<AuthService> auth_;
  Principal admin_;
  std::unique_ptr<ClientListener> listener_;
  uint64_t next_id_ = 0;
};

}  // namespace sensordb::server::testing
