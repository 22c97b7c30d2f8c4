// The native protocol listener end to end: a fresh `init` directory, the server in-process on
// an ephemeral 127.0.0.1 port, and a TLS 1.3 test client that verifies the development CA.
#include <sys/stat.h>

#include <cstdlib>
#include <numeric>
#include <thread>

#include "net/server_fixture.h"
#include "sensordb/protocol/query_codec.h"
#include "sensordb/protocol/write_codec.h"

namespace sensordb::server {
namespace {

using testing::ServerFixture;
using testing::TestClient;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class ClientListenerTest : public ServerFixture {};

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

TEST(ServerConfig, KeySourcesMetricsAndBackupAreChecked) {
  sensordb::testing::TempDir dir;
  const std::string file = dir.Sub("c.toml");
  const std::string tls = "[tls]\ncert_file = \"c\"\nkey_file = \"k\"\n";
  // Two key sources, a metrics listener off loopback, a bad time of day, a backup keeping nothing.
  std::ofstream(file) << "data_dir = \"d\"\nkey_file = \"k\"\npassphrase_env = \"P\"\n" << tls
                      << "[metrics]\naddress = \"0.0.0.0\"\n[backup]\ndir = \"b\"\n"
                         "time_of_day = \"25:00\"\nkeep_days = 0\n";
  auto config = LoadConfig(file);
  ASSERT_FALSE(config.has_value());
  const std::string m = config.error().message();
  EXPECT_NE(m.find("set exactly one of key_file, passphrase_file, passphrase_env (2 set)"),
            std::string::npos) << m;
  EXPECT_NE(m.find("metrics.address '0.0.0.0' must be a loopback address"), std::string::npos) << m;
  EXPECT_NE(m.find("backup.time_of_day must be a time of day"), std::string::npos) << m;
  EXPECT_NE(m.find("keeps nothing"), std::string::npos) << m;

  // A passphrase file: its first line, relative to the config's directory.
  std::ofstream(file) << "data_dir = \"d\"\npassphrase_file = \"pass\"\n" << tls
                      << "[metrics]\naddress = \"::1\"\n[backup]\ndir = \"b\"\n"
                         "time_of_day = \"03:30\"\n";
  std::ofstream(dir.Sub("pass")) << "correct horse battery staple\nignored\n";
  config = LoadConfig(file);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->backup.time_of_day_s, 3 * 3600 + 30 * 60);
  EXPECT_EQ(config->backup.dir, dir.Sub("b"));
  auto phrase = ReadPassphrase(*config);
  ASSERT_TRUE(phrase.has_value()) << phrase.error().ToString();
  EXPECT_EQ(*phrase, "correct horse battery staple");
  // A passphrase file readable by others is refused at start.
  ::chmod(dir.Sub("pass").c_str(), 0644);
  EXPECT_NE(CheckStartable(*config).message().find("passphrase_file"), std::string::npos);

  // From the environment.
  config->passphrase_file.clear();
  config->passphrase_env = "SENSORDB_TEST_PASSPHRASE_UNSET_X";
  EXPECT_FALSE(ReadPassphrase(*config).has_value());
  ::setenv("SENSORDB_TEST_PASSPHRASE_SET_X", "from env", 1);
  config->passphrase_env = "SENSORDB_TEST_PASSPHRASE_SET_X";
  EXPECT_EQ(ReadPassphrase(*config).value_or(""), "from env");
}

TEST(ServerConfig, InitWritesAConfigThatLoadsBack) {
  sensordb::testing::TempDir dir;
  InitOptions init;
  init.auth = testing::FastAuth();
  auto report = InitServerDir(dir.Sub("srv"), init);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  auto config = LoadConfig(report->config_file);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_TRUE(CheckStartable(*config).ok());
  EXPECT_EQ(config->backup.dir, dir.Sub("srv/backups"));
  EXPECT_EQ(config->metrics.accounts, std::vector<std::string>{"metrics"});
  struct stat st{};
  ASSERT_EQ(::stat(report->metrics_token_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(config->client.port, 7070);
  EXPECT_EQ(config->rest.port, 8086);

  // --ephemeral-ports: every listener on port 0.
  init.ephemeral_ports = true;
  auto ephemeral = InitServerDir(dir.Sub("srv2"), init);
  ASSERT_TRUE(ephemeral.has_value()) << ephemeral.error().ToString();
  auto loaded = LoadConfig(ephemeral->config_file);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().ToString();
  for (uint16_t port : {loaded->client.port, loaded->metrics.port, loaded->devices.port,
                        loaded->devices.mqtt_port, loaded->rest.port}) {
    EXPECT_EQ(port, 0);
  }
}

// Issue 13, defect 3: idle unauthenticated connections beyond the pre-auth pool. An
// authenticated client keeps writing, and a new client still logs in (the longest-waiting idle
// peer is closed for it once it has waited 1 s). Bounded: 40 idle sockets, about 2 s.
class SmallPreauthPoolTest : public ServerFixture {
  void Configure(ServerConfig& c) override {
    c.limits.max_preauth_connections = 4;
    c.limits.max_preauth_per_address = 4;
  }
};

TEST_F(SmallPreauthPoolTest, IdlePeersBeyondThePoolNeitherStopNorKeepOutAuthenticatedClients) {
  auto a = Admin();
  ASSERT_TRUE(a->Send(protocol::EncodeCreateProject(3, {"p", {}})));
  auto created = a->Receive();
  ASSERT_TRUE(created && created->type() == wire::Message::CreateProjectReply);
  asio::io_context io;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 40; ++i) {
    tcp::socket s(io);
    boost::system::error_code ec;
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), listener_->port()), ec);
    if (!ec) idle.push_back(std::move(s));
  }
  auto write = [&](uint32_t id) {
    WriteBatch batch;
    const std::vector<int64_t> ts = {int64_t{1'767'225'600'000'000'000} + id};
    const std::vector<double> v = {1.0};
    batch.AddFloat64("d", "t", ts, v);
    auto w = protocol::EncodeWrite(id, "p", batch);
    EXPECT_TRUE(w && a->Send(*w));
    auto ack = a->Receive();
    EXPECT_TRUE(ack && ack->type() == wire::Message::WriteReply) << ErrorOf(ack).ToString();
  };
  for (uint32_t id = 10; id < 15; ++id) write(id);
  for (int i = 0; i < 50 && listener_->Counters().preauth_active < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ListenerCounters c = listener_->Counters();
  EXPECT_EQ(c.preauth_active, 4u);
  EXPECT_GT(c.refused_preauth_address_cap + c.refused_preauth_cap, 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the idle ones age past 1 s
  auto b = Admin();  // EXPECTs inside: the handshake and the login succeed
  EXPECT_GE(listener_->Counters().evicted_preauth, 1u);
  for (uint32_t id = 20; id < 25; ++id) write(id);
}

}  // namespace
}  // namespace sensordb::server
