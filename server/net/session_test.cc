// Connection handling of the native protocol listener: pipelining, streamed query results and
// their back-pressure, graceful stop, deadlines, refusals of what is not TLS 1.3, certificate
// reload, and the counters every refusal leaves in the metrics.
#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <numeric>
#include <thread>

#include "net/server_fixture.h"
#include "sensordb/protocol/query_codec.h"
#include "sensordb/protocol/write_codec.h"
#include "tls/dev_ca.h"

namespace sensordb::server {
namespace {

using testing::MetricValue;
using testing::ServerFixture;
using testing::TestClient;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr int64_t kT0 = 1'767'225'600'000'000'000;

double Refusals(ClientListener& l, const std::string& reason) {
  const ListenerCounters lc = l.Counters();
  ServerMetrics::Sources src;
  src.listener = &lc;
  return MetricValue(l.metrics().Render(src), "sensordb_refusals_total{reason=\"" + reason + "\"}");
}

// A plain TCP connection (no TLS) with bounded reads.
class RawClient {
 public:
  explicit RawClient(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{5, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  void Send(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }
  // True when the server closed the connection (EOF or reset) within the read timeout.
  bool ClosedByServer() {
    std::array<char, 4096> buf{};
    for (int i = 0; i < 100; ++i) {
      boost::system::error_code ec;
      socket_.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::eof || ec == asio::error::connection_reset) return true;
      if (ec) return false;  // timeout
    }
    return false;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
};

WriteBatch Batch(size_t n, int64_t start, const std::string& device = "dl-1") {
  std::vector<int64_t> ts(n);
  std::iota(ts.begin(), ts.end(), start);
  std::vector<double> values(n);
  for (size_t i = 0; i < n; ++i) values[i] = double(i % 1000) / 10;
  WriteBatch b;
  b.AddFloat64(device, "air/temp", ts, values);
  return b;
}

class SessionTest : public ServerFixture {
 protected:
  void Configure(ServerConfig& c) override { c.limits.max_frame_bytes = 16 << 20; }
  void CreateProject(TestClient& c, const std::string& name) {
    ASSERT_TRUE(c.Send(protocol::EncodeCreateProject(3, {name, {}})));
    auto created = c.Receive();
    ASSERT_TRUE(created && created->type() == wire::Message::CreateProjectReply)
        << ErrorOf(created).ToString();
  }
  uint64_t CountInDb(const std::string& project) {
    uint64_t n = 0;
    const Status s = db_->QueryRaw(project, {}, {}, [&](const SeriesRef&, const PointRun& run) {
      n += run.size();
      return true;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return n;
  }
};

// Issue 13, defect 4: before authentication the client port read frames up to
// limits.max_frame_bytes (16 MiB here), so connections that never sent Hello could make the
// server hold hundreds of MiB. Now a frame over 64 KiB before Auth is refused from its header.
TEST_F(SessionTest, ALargeFrameBeforeAuthenticationIsRefusedFromItsHeader) {
  auto c = Connect();
  auto w = protocol::EncodeWrite(7, "any", Batch(20'000, kT0));
  ASSERT_TRUE(w.has_value());
  ASSERT_GT(w->size(), size_t(64 * 1024));
  // Only the header and a few bytes: the server refuses and closes at the header, so sending
  // the rest could fail on a closed connection.
  std::vector<uint8_t> start = w->ToBytes();
  start.resize(64);
  ASSERT_TRUE(c->SendBytes(start));
  auto f = c->Receive();
  ASSERT_TRUE(f.has_value());
  const Status s = ErrorOf(f);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("exceeds the maximum of 65536 bytes"), std::string::npos)
      << s.ToString();
  // Once authenticated, the configured limit applies: the same frame is a write.
  auto a = Admin();
  CreateProject(*a, "any");
  auto again = protocol::EncodeWrite(8, "any", Batch(20'000, kT0));
  ASSERT_TRUE(a->Send(*again));
  auto ack = a->Receive();
  ASSERT_TRUE(ack && ack->type() == wire::Message::WriteReply) << ErrorOf(ack).ToString();
}

TEST_F(SessionTest, PipelinedRequestsAreAnsweredInOrder) {
  auto c = Admin();
  CreateProject(*c, "pipe");
  // 40 writes and pings sent back to back before reading anything: more than the session
  // queues (kMaxQueuedRequests), so reading pauses and resumes.
  constexpr uint64_t kRequests = 40;
  for (uint64_t i = 0; i < kRequests; ++i) {
    const uint64_t id = 100 + i;
    if (i % 4 == 3) {
      ASSERT_TRUE(c->Send(protocol::EncodePing(id)));
    } else {
      auto w = protocol::EncodeWrite(id, "pipe", Batch(1000, kT0 + int64_t(i) * 1000));
      ASSERT_TRUE(w.has_value());
      ASSERT_TRUE(c->Send(*w));
    }
  }
  for (uint64_t i = 0; i < kRequests; ++i) {
    auto f = c->Receive();
    ASSERT_TRUE(f.has_value()) << "reply " << i;
    EXPECT_EQ(f->request_id(), 100 + i) << ErrorOf(f).ToString();
    EXPECT_EQ(f->type(), i % 4 == 3 ? wire::Message::Pong : wire::Message::WriteReply);
  }
  EXPECT_EQ(CountInDb("pipe"), 30u * 1000);
}

TEST_F(SessionTest, ALargeQueryStreamsToASlowReaderAndStopsWhenItLeaves) {
  auto c = Admin();
  CreateProject(*c, "big");
  constexpr size_t kPoints = 400'000;
  for (size_t part = 0; part < 4; ++part) {
    auto w = protocol::EncodeWrite(10 + part, "big", Batch(kPoints / 4, kT0 + int64_t(part * kPoints / 4)));
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE(c->Send(*w));
    auto ack = c->Receive();
    ASSERT_TRUE(ack && ack->type() == wire::Message::WriteReply) << ErrorOf(ack).ToString();
  }

  // A reader that pauses now and then gets every point, in order, in many frames.
  protocol::QueryRequest q;
  q.project = "big";
  ASSERT_TRUE(c->Send(protocol::EncodeQuery(20, q)));
  uint64_t points = 0, frames = 0;
  int64_t last = 0;
  for (;;) {
    auto f = c->Receive();
    ASSERT_TRUE(f.has_value());
    ASSERT_EQ(f->request_id(), 20u) << ErrorOf(f).ToString();
    if (f->type() == wire::Message::QueryEnd) {
      EXPECT_EQ(f->As<wire::QueryEnd>()->count(), kPoints);
      break;
    }
    ASSERT_EQ(f->type(), wire::Message::QueryChunk);
    for (const auto* col : *f->As<wire::QueryChunk>()->raw()) {
      for (int64_t t : *col->timestamps()) {
        ASSERT_GT(t, last);
        last = t;
        ++points;
      }
    }
    if (++frames % 8 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_LT(frames, 100'000u);
  }
  EXPECT_EQ(points, kPoints);
  EXPECT_GT(frames, 4u);

  // A client that asks for everything and hangs up after one frame: the server stops the
  // query and keeps serving others.
  for (int round = 0; round < 3; ++round) {
    auto quitter = Admin();
    ASSERT_TRUE(quitter->Send(protocol::EncodeQuery(30, q)));
    ASSERT_TRUE(quitter->Receive().has_value());
  }
  auto other = Admin();
  ASSERT_TRUE(other->Send(protocol::EncodePing(40)));
  auto pong = other->Receive();
  ASSERT_TRUE(pong && pong->type() == wire::Message::Pong);
}

class ShortSendTimeout : public SessionTest {
 protected:
  void Configure(ServerConfig& c) override {
    SessionTest::Configure(c);
    c.limits.send_timeout_ms = 300;
  }
};

TEST_F(ShortSendTimeout, AClientThatStopsReadingIsDisconnectedAndFreesItsWorker) {
  auto c = Admin();
  CreateProject(*c, "flood");
  // 1.2 M points: about 19 MB of raw results, more than the 8 MiB the server queues plus what
  // the sockets buffer.
  for (int part = 0; part < 6; ++part) {
    auto w = protocol::EncodeWrite(10 + part, "flood", Batch(200'000, kT0 + part * 200'000));
    ASSERT_TRUE(w.has_value());
    ASSERT_TRUE(c->Send(*w));
    auto ack = c->Receive();
    ASSERT_TRUE(ack && ack->type() == wire::Message::WriteReply) << ErrorOf(ack).ToString();
  }
  protocol::QueryRequest q;
  q.project = "flood";
  ASSERT_TRUE(c->Send(protocol::EncodeQuery(20, q)));  // and never read the answer
  for (int i = 0; i < 500 && Refusals(*listener_, "slow-reader") < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Refusals(*listener_, "slow-reader"), 1);
  auto other = Admin();
  ASSERT_TRUE(other->Send(protocol::EncodePing(21)));
  auto pong = other->Receive();
  EXPECT_TRUE(pong && pong->type() == wire::Message::Pong);
}

TEST_F(SessionTest, StopFinishesTheWriteInFlight) {
  auto c = Admin();
  CreateProject(*c, "stop");
  constexpr size_t kPoints = 200'000;
  auto w = protocol::EncodeWrite(50, "stop", Batch(kPoints, kT0));
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(c->Send(*w));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // usually mid-request
  listener_->Stop();
  auto ack = c->Receive();
  const uint64_t stored = CountInDb("stop");
  // Whole or not at all; and an acknowledged write is stored.
  EXPECT_TRUE(stored == 0 || stored == kPoints) << stored;
  if (ack && ack->type() == wire::Message::WriteReply) {
    EXPECT_EQ(stored, kPoints);
  }
}

class ShortDeadlines : public SessionTest {
 protected:
  void Configure(ServerConfig& c) override {
    SessionTest::Configure(c);
    c.limits.handshake_timeout_ms = 300;
    c.limits.idle_timeout_ms = 300;
  }
};

TEST_F(ShortDeadlines, ASilentPeerIsCutAtTheHandshakeDeadline) {
  RawClient silent(listener_->port());  // connects, sends nothing
  EXPECT_TRUE(silent.ClosedByServer());
  // TLS done, but no Hello: the same deadline.
  auto c = Connect();
  EXPECT_TRUE(c->Closed());
  EXPECT_EQ(Refusals(*listener_, "handshake-timeout"), 2);
}

TEST_F(ShortDeadlines, AnIdleSessionIsClosed) {
  auto c = Admin();
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_FALSE(c->Send(protocol::EncodePing(60)) && c->Receive().has_value());
  EXPECT_EQ(Refusals(*listener_, "idle-timeout"), 1);
}

TEST_F(SessionTest, PlaintextIsRefusedAndCountedAndOthersAreServed) {
  RawClient http(listener_->port());
  http.Send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_TRUE(http.ClosedByServer());
  TestClient old(config_.tls.ca_file, TLS1_2_VERSION);
  EXPECT_TRUE(old.Connect(listener_->port()));  // a handshake error
  for (int i = 0; i < 50 && Refusals(*listener_, "tls-handshake-failed") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Refusals(*listener_, "tls-handshake-failed"), 2);
  auto c = Admin();
  ASSERT_TRUE(c->Send(protocol::EncodePing(70)));
  EXPECT_TRUE(c->Receive().has_value());
}

TEST_F(SessionTest, RequestsBeforeAuthAndBadFramesAreCounted) {
  auto c = Connect();
  ASSERT_TRUE(c->Send(protocol::EncodePing(1)));  // no Hello, no Auth
  auto reply = c->Receive();
  EXPECT_EQ(ErrorOf(reply).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(c->Closed());
  auto g = Admin();
  ASSERT_TRUE(g->SendBytes({0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8}));  // not a FlatBuffer
  EXPECT_FALSE(ErrorOf(g->Receive()).ok());
  EXPECT_TRUE(g->Closed());
  EXPECT_EQ(Refusals(*listener_, "protocol-violation"), 1);
  EXPECT_EQ(Refusals(*listener_, "bad-frame"), 1);
}

TEST_F(SessionTest, ExpiredTokensAndWrongPasswordsAreRefusedAndCounted) {
  auto admin = auth_->Authenticate(Credentials::Token(token_), "local", WallClockNs());
  ASSERT_TRUE(admin.has_value());
  const Actor actor{*admin, "local", WallClockNs()};
  ASSERT_TRUE(auth_->accounts().CreateServiceAccount(actor, "short-lived").ok());
  auto token = auth_->accounts().IssueToken(actor, "short-lived", WallClockNs() + 400'000'000);
  ASSERT_TRUE(token.has_value()) << token.error().ToString();
  ASSERT_TRUE(auth_->accounts().CreateUser(actor, "alice", "a long enough password").ok());

  auto live = Connect();
  auto ok = Login(*live, token->text.view());
  ASSERT_TRUE(ok && ok->type() == wire::Message::AuthReply) << ErrorOf(ok).ToString();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // The live session's next request, and a new login, are both refused as expired.
  ASSERT_TRUE(live->Send(protocol::EncodePing(90)));
  const Status on_live = ErrorOf(live->Receive());
  EXPECT_EQ(on_live.code(), StatusCode::kPermissionDenied) << on_live.ToString();
  EXPECT_NE(on_live.message().find("expired"), std::string::npos) << on_live.ToString();
  auto fresh = Connect();
  const Status on_new = ErrorOf(Login(*fresh, token->text.view()));
  EXPECT_EQ(on_new.code(), StatusCode::kPermissionDenied) << on_new.ToString();
  EXPECT_NE(on_new.message().find("expired"), std::string::npos) << on_new.ToString();

  auto user = Connect();
  ASSERT_TRUE(user->Send(protocol::EncodeHello(1, {})));
  ASSERT_TRUE(user->Receive().has_value());
  ASSERT_TRUE(user->Send(protocol::EncodeAuth(2, {.user = "alice", .password = "not the password"})));
  const Status wrong = ErrorOf(user->Receive());
  EXPECT_EQ(wrong.code(), StatusCode::kPermissionDenied) << wrong.ToString();
  EXPECT_EQ(wrong.message().find("not the password"), std::string::npos);
  // The same connection may retry with the right password.
  ASSERT_TRUE(user->Send(protocol::EncodeAuth(3, {.user = "alice", .password = "a long enough password"})));
  auto right = user->Receive();
  EXPECT_TRUE(right && right->type() == wire::Message::AuthReply) << ErrorOf(right).ToString();

  const AuthCounters ac = auth_->Counters();
  EXPECT_EQ(ac.refused(RefusalReason::kExpired), 1u);  // the login; the live refusal is a request error
  EXPECT_EQ(ac.refused(RefusalReason::kBadCredentials), 1u);
}

TEST_F(SessionTest, ReloadedCertificatesServeNewConnections) {
  // A second CA and server certificate replace the files the config names.
  const std::string other = dir_.Sub("other");
  std::filesystem::create_directories(other);
  const DevCertificateFiles next{other + "/ca.crt", other + "/ca.key", other + "/server.crt",
                                 other + "/server.key"};
  ASSERT_TRUE(CreateDevCertificates(next).ok());
  auto before = Admin();  // keeps its session across the reload

  // A broken file is refused and the old certificate stays.
  std::filesystem::copy_file(config_.tls.cert_file, dir_.Sub("old.crt"));
  { std::ofstream(config_.tls.cert_file, std::ios::trunc) << "not a certificate\n"; }
  EXPECT_FALSE(listener_->ReloadCertificates().ok());
  {
    TestClient still(config_.tls.ca_file);
    EXPECT_FALSE(still.Connect(listener_->port()));
  }

  const auto over = std::filesystem::copy_options::overwrite_existing;
  std::filesystem::copy_file(next.server_cert, config_.tls.cert_file, over);
  std::filesystem::copy_file(next.server_key, config_.tls.key_file, over);
  ASSERT_TRUE(listener_->ReloadCertificates().ok());
  TestClient old_ca(config_.tls.ca_file);
  EXPECT_TRUE(old_ca.Connect(listener_->port()));  // verification fails: a new certificate
  TestClient new_ca(next.ca_cert);
  EXPECT_FALSE(new_ca.Connect(listener_->port()));

  ASSERT_TRUE(before->Send(protocol::EncodePing(80)));
  auto pong = before->Receive();
  EXPECT_TRUE(pong && pong->type() == wire::Message::Pong);
}

}  // namespace
}  // namespace sensordb::server
