// The native protocol listener end to end: a fresh `init` directory, the server in-process on
// an ephemeral 127.0.0.1 port, and a TLS 1.3 test client that verifies the development CA.
#include "net/client_listener.h"

#include <gtest/gtest.h>

#include <fstream>
#include <numeric>

#include "auth/auth_service.h"
#include "config/server_config.h"
#include "net/test_client.h"
#include "sensordb/protocol/messages.h"
#include "sensordb/protocol/query_codec.h"
#include "sensordb/protocol/write_codec.h"
#include "sensordbd/init.h"
#include "test_util.h"

namespace sensordb::server {
namespace {

using testing::TestClient;

AuthOptions FastAuth() {
  AuthOptions o;
  o.password_cost = PasswordCost::Minimum();
  return o;
}

class ClientListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitOptions init;
    init.auth = FastAuth();
    auto report = InitServerDir(dir_.Sub("srv"), init);
    ASSERT_TRUE(report.has_value()) << report.error().ToString();
    auto config = LoadConfig(report->config_file);
    ASSERT_TRUE(config.has_value()) << config.error().ToString();
    ASSERT_TRUE(CheckStartable(*config).ok());
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
    auto auth = AuthService::Open(db_->System(), FastAuth());
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

TEST_F(ClientListenerTest, WritesAndQueriesTenThousandPointsOverTls13) {
  auto c = Connect();
  auto auth = Login(*c, token_);
  ASSERT_TRUE(auth && auth->type() == wire::Message::AuthReply) << ErrorOf(auth).ToString();

  ASSERT_TRUE(c->Send(protocol::EncodeCreateProject(3, {"greenhouse", {}})));
  auto created = c->Receive();
  ASSERT_TRUE(created && created->type() == wire::Message::CreateProjectReply)
      << ErrorOf(created).ToString();
  EXPECT_EQ(created->request_id(), 3u);

  std::vector<int64_t> ts(10'000);
  std::iota(ts.begin(), ts.end(), int64_t{1'767'225'600'000'000'000});
  std::vector<double> values(ts.size(), 21.5);
  WriteBatch batch;
  batch.AddFloat64("dl-17", "air/temp", ts, values);
  auto write = protocol::EncodeWrite(4, "greenhouse", batch);
  ASSERT_TRUE(write.has_value());
  ASSERT_TRUE(c->Send(*write));
  auto ack = c->Receive();
  ASSERT_TRUE(ack && ack->type() == wire::Message::WriteReply) << ErrorOf(ack).ToString();
  EXPECT_EQ(ack->request_id(), 4u);
  EXPECT_EQ(ack->As<wire::WriteReply>()->points(), 10'000u);

  protocol::QueryRequest query;
  query.project = "greenhouse";
  ASSERT_TRUE(c->Send(protocol::EncodeQuery(5, query)));
  uint64_t points = 0;
  for (int frames = 0; frames < 1000; ++frames) {
    auto f = c->Receive();
    ASSERT_TRUE(f.has_value());
    ASSERT_EQ(f->request_id(), 5u) << ErrorOf(f).ToString();
    if (const auto* chunk = f->As<wire::QueryChunk>()) {
      for (const auto* col : *chunk->raw()) points += col->timestamps()->size();
      continue;
    }
    ASSERT_EQ(f->type(), wire::Message::QueryEnd) << ErrorOf(f).ToString();
    EXPECT_EQ(f->As<wire::QueryEnd>()->count(), 10'000u);
    break;
  }
  EXPECT_EQ(points, 10'000u);

  ASSERT_TRUE(c->Send(protocol::EncodePing(6)));
  auto pong = c->Receive();
  ASSERT_TRUE(pong && pong->type() == wire::Message::Pong);
  EXPECT_EQ(pong->request_id(), 6u);
}

TEST_F(ClientListenerTest, RefusesAWriteBeforeAuthenticationAndCloses) {
  auto c = Connect();
  ASSERT_TRUE(c->Send(protocol::EncodeHello(1, {})));
  ASSERT_TRUE(c->Receive().has_value());
  WriteBatch batch;
  batch.Add("d", "c", 1, Value::Float64(1.0));
  ASSERT_TRUE(c->Send(*protocol::EncodeWrite(2, "greenhouse", batch)));
  auto reply = c->Receive();
  EXPECT_EQ(ErrorOf(reply).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(c->Closed());
}

TEST_F(ClientListenerTest, RefusesAWrongToken) {
  auto c = Connect();
  std::string wrong = token_;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  auto reply = Login(*c, wrong);
  EXPECT_EQ(ErrorOf(reply).code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(c->Send(protocol::EncodeListProjects(3)));
  EXPECT_EQ(ErrorOf(c->Receive()).code(), StatusCode::kPermissionDenied);
}

TEST_F(ClientListenerTest, OversizedAndGarbageFramesCloseOnlyTheirConnection) {
  auto big = Connect();
  ASSERT_TRUE(big->SendBytes({0x7f, 0xff, 0xff, 0xff}));  // 2 GiB announced
  auto reply = big->Receive();
  EXPECT_EQ(ErrorOf(reply).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(reply->request_id(), 0u);
  EXPECT_TRUE(big->Closed());

  auto garbage = Connect();
  std::vector<uint8_t> bytes = {0, 0, 0, 16};
  bytes.resize(20, 0xAB);
  ASSERT_TRUE(garbage->SendBytes(bytes));
  EXPECT_FALSE(ErrorOf(garbage->Receive()).ok());
  EXPECT_TRUE(garbage->Closed());

  auto good = Connect();
  auto auth = Login(*good, token_);
  EXPECT_TRUE(auth && auth->type() == wire::Message::AuthReply);
}

TEST_F(ClientListenerTest, RefusesATls12Client) {
  TestClient old(config_.tls.ca_file, TLS1_2_VERSION);
  EXPECT_TRUE(old.Connect(listener_->port()));
  auto c = Connect();
  EXPECT_TRUE(Login(*c, token_).has_value());
}

TEST(ServerConfig, NamesTheLineOfASyntaxErrorAndBadValues) {
  sensordb::testing::TempDir dir;
  const std::string file = dir.Sub("bad.toml");
  std::ofstream(file) << "data_dir = \"d\"\nkey_file = \"k\"\n[client]\nport = 70000\n"
                         "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\n";
  auto config = LoadConfig(file);
  ASSERT_FALSE(config.has_value());
  EXPECT_NE(config.error().message().find("bad.toml:4: client.port is 70000"), std::string::npos)
      << config.error().message();

  std::ofstream(file) << "data_dir = \"d\"\nkey_file = = \"k\"\n";
  config = LoadConfig(file);
  ASSERT_FALSE(config.has_value());
  EXPECT_NE(config.error().message().find("bad.toml:2:"), std::string::npos)
      << config.error().message();

  EXPECT_EQ(LoadConfig(dir.Sub("none.toml")).error().code(), StatusCode::kNotFound);
}

TEST(ServerConfig, RefusesToStartWithoutItsFiles) {
  ServerConfig c;
  c.data_dir = "/nonexistent/data";
  c.key_file = "/nonexistent/master.key";
  c.tls = {"/nonexistent/server.crt", "/nonexistent/server.key", ""};
  const Status s = CheckStartable(c);
  EXPECT_NE(s.message().find("key_file /nonexistent/master.key does not exist"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("tls.cert_file"), std::string::npos);
  EXPECT_NE(s.message().find("data_dir"), std::string::npos);
}

}  // namespace
}  // namespace sensordb::server
