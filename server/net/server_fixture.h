// A sensordbd in-process for the server tests: a fresh `init` directory, the database, the
// AuthService (cheap password hashing) and a ClientListener on an ephemeral 127.0.0.1 port.
// Tests adjust `config_` in Configure() before the listener starts.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "auth/auth_service.h"
#include "config/server_config.h"
#include "net/client_listener.h"
#include "net/test_client.h"
#include "sensordb/protocol/messages.h"
#include "sensordbd/init.h"
#include "test_util.h"

namespace sensordb::server::testing {

// The value of one sample line `series` (name{labels}) of a metrics exposition; -1 when absent.
inline double MetricValue(const std::string& text, const std::string& series) {
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

inline AuthOptions FastAuth() {
  AuthOptions o;
  o.password_cost = PasswordCost::Minimum();
  return o;
}

class ServerFixture : public ::testing::Test {
 protected:
  virtual void Configure(ServerConfig&) {}
  // The engine options of db_ (e.g. a small series quota).
  virtual void ConfigureDb(Options&) {}
  // The authentication options of auth_ (lockout, rate limits).
  virtual AuthOptions AuthConfig() const { return FastAuth(); }

  void SetUp() override {
    InitOptions init;
    init.auth = FastAuth();
    init.metrics_port = 0;
    auto report = InitServerDir(dir_.Sub("srv"), init);
    ASSERT_TRUE(report.has_value()) << report.error().ToString();
    auto config = LoadConfig(report->config_file);
    ASSERT_TRUE(config.has_value()) << config.error().ToString();
    ASSERT_TRUE(CheckStartable(*config).ok());
    config->client.port = 0;
    config->io_threads = 2;
    config->limits.max_frame_bytes = 1 << 20;
    Configure(*config);
    config_ = *config;
    std::ifstream(report->token_file) >> token_;
    ASSERT_FALSE(token_.empty());

    Options options;
    options.create_if_missing = false;
    options.key.key_file = config_.key_file;
    options.maintenance_interval_ms = 0;
    ConfigureDb(options);
    auto db = DB::Open(options, config_.data_dir);
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    auto auth = AuthService::Open(db_->System(), AuthConfig());
    ASSERT_TRUE(auth.has_value()) << auth.error().ToString();
    auth_ = std::move(*auth);
    auto listener = ClientListener::Start(config_, *db_, *auth_);
    ASSERT_TRUE(listener.has_value()) << listener.error().ToString();
    listener_ = std::move(*listener);
  }

  void TearDown() override {
    if (listener_) listener_->Stop();
  }

  std::unique_ptr<TestClient> Connect() {
    auto c = std::make_unique<TestClient>(config_.tls.ca_file);
    const auto ec = c->Connect(listener_->port());
    EXPECT_FALSE(ec) << ec.message();
    return c;
  }

  // Hello and Auth with `token`; the Auth reply frame.
  std::optional<protocol::Frame> Login(TestClient& c, std::string_view token) {
    EXPECT_TRUE(c.Send(protocol::EncodeHello(1, {})));
    auto hello = c.Receive();
    EXPECT_TRUE(hello && hello->type() == wire::Message::HelloReply);
    EXPECT_TRUE(c.Send(protocol::EncodeAuth(2, {.token = token})));
    return c.Receive();
  }

  // A connection logged in with the bootstrap superuser's token.
  std::unique_ptr<TestClient> Admin() {
    auto c = Connect();
    auto reply = Login(*c, token_);
    EXPECT_TRUE(reply && reply->type() == wire::Message::AuthReply) << ErrorOf(reply).ToString();
    return c;
  }

  static Status ErrorOf(const std::optional<protocol::Frame>& f) {
    if (!f) return Status::Internal("no frame");
    if (const auto* e = f->As<wire::Error>()) return protocol::DecodeError(*e);
    return Status::Ok();
  }

  sensordb::testing::TempDir dir_;
  ServerConfig config_;
  std::string token_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<ClientListener> listener_;
};

}  // namespace sensordb::server::testing
