// The client library against a real sensordbd listener started in-process on 127.0.0.1 (a fresh
// `init` directory with its development CA), and against a small fake server for the failures a
// real one cannot be made to produce on demand (silence, a close mid-pipeline). Every wait is
// bounded: futures through Await(), sync calls by the client's request timeout.
#include "sensordb/client/client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <numeric>
#include <set>
#include <thread>

#include "auth/auth_service.h"
#include "config/server_config.h"
#include "net/client_listener.h"
#include "net/request_handler.h"
#include "sensordb/client/async_client.h"
#include "sensordb/protocol/messages.h"
#include "sensordbd/init.h"
#include "test_util.h"
#include "tls/dev_ca.h"

namespace sensordb::client {
namespace {

using server::AuthOptions;
using server::AuthService;
using server::ClientListener;
using server::ServerConfig;

constexpr int64_t kT0 = 1'767'225'600'000'000'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kSecond = kNanosPerSecond;
constexpr uint32_t kMaxWritePoints = 100'000;
constexpr uint32_t kMaxFrameBytes = 1 << 20;
constexpr std::string_view kAlicePassword = "correct horse battery staple";

// The future's value, or a test failure after 20 s instead of a hang.
template <typename T>
T Await(std::future<T> f) {
  if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
    ADD_FAILURE() << "a future was not ready after 20 s";
    if constexpr (std::is_same_v<T, Status>) {
      return Status::Internal("hung");
    } else {
      return Err(Status::Internal("hung"));
    }
  }
  return f.get();
}

bool Contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

AuthOptions FastAuth() {
  AuthOptions o;
  o.password_cost = server::PasswordCost::Minimum();
  o.request_rate = {1e6, 1e6, 1000};  // the tests send thousands of requests at once
  return o;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::InitOptions init;
    init.auth = FastAuth();
    auto report = server::InitServerDir(dir_.Sub("srv"), init);
    ASSERT_TRUE(report.has_value()) << report.error().ToString();
    auto config = server::LoadConfig(report->config_file);
    ASSERT_TRUE(config.has_value()) << config.error().ToString();
    config->client.port = 0;
    config->io_threads = 2;
    config->limits.max_frame_bytes = kMaxFrameBytes;
    config->limits.max_write_points = kMaxWritePoints;
    config_ = *config;
    std::ifstream(report->token_file) >> token_;
    ASSERT_FALSE(token_.empty());

    sensordb::Options options;
    options.create_if_missing = false;
    options.key.key_file = config_.key_file;
    options.maintenance_interval_ms = 0;
    auto db = DB::Open(options, config_.data_dir);
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    auto auth = AuthService::Open(db_->System(), FastAuth());
    ASSERT_TRUE(auth.has_value()) << auth.error().ToString();
    auth_ = std::move(*auth);
    const server::Principal root{"bootstrap-admin", server::PrincipalKind::kServiceAccount, true,
                                 "", 0};
    ASSERT_TRUE(auth_->accounts()
                    .CreateUser({root, "127.0.0.1", server::WallClockNs()}, "alice", kAlicePassword)
                    .ok());
    auto listener = ClientListener::Start(config_, *db_, *auth_);
    ASSERT_TRUE(listener.has_value()) << listener.error().ToString();
    listener_ = std::move(*listener);
  }

  void TearDown() override {
    if (listener_) listener_->Stop();
  }

  ClientOptions Options() const {
    ClientOptions o;
    o.host = "127.0.0.1";
    o.port = listener_->port();
    o.ca_file = config_.tls.ca_file;
    o.credentials = Credentials::Token(token_);
    o.client_name = "client_test/1";
    o.connect_timeout_ms = 10'000;
    o.request_timeout_ms = 15'000;
    return o;
  }

  std::unique_ptr<Client> Connect(ClientOptions o) {
    auto c = Client::Connect(o);
    EXPECT_TRUE(c.has_value()) << c.error().ToString();
    return c ? std::move(*c) : nullptr;
  }
  std::unique_ptr<AsyncClient> ConnectAsync(ClientOptions o) {
    auto c = AsyncClient::Connect(o);
    EXPECT_TRUE(c.has_value()) << c.error().ToString();
    return c ? std::move(*c) : nullptr;
  }

  // `points` float points of dev/temp, one a second from kT0 + first s, value = its second.
  static WriteBatch Seconds(std::string_view device, int64_t first, size_t points) {
    std::vector<int64_t> ts(points);
    std::vector<double> values(points);
    for (size_t i = 0; i < points; ++i) {
      values[i] = static_cast<double>(first + static_cast<int64_t>(i));
      ts[i] = kT0 + (first + static_cast<int64_t>(i)) * kSecond;
    }
    WriteBatch batch;
    batch.AddFloat64(device, "temp", ts, values);
    return batch;
  }

  sensordb::testing::TempDir dir_;
  ServerConfig config_;
  std::string token_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<AuthService> auth_;
  std::unique_ptr<ClientListener> listener_;
};

// ---- Login
// ----------------------------------------------------------------------------------------

TEST_F(ClientTest, LogsInWithATokenAndLearnsTheServerLimits) {
  auto c = Connect(Options());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->session().principal, "bootstrap-admin");
  EXPECT_TRUE(c->session().service_account);
  EXPECT_TRUE(c->session().superuser);
  EXPECT_EQ(c->session().protocol_version, 1);
  EXPECT_EQ(c->session().max_write_points, kMaxWritePoints);
  EXPECT_EQ(c->session().max_frame_bytes, kMaxFrameBytes);
  EXPECT_FALSE(c->session().server_name.empty());
  EXPECT_TRUE(c->Ping().ok());
  EXPECT_TRUE(c->status().ok());
}

TEST_F(ClientTest, LogsInAsAUserWithAPassword) {
  ClientOptions o = Options();
  o.credentials = Credentials::Password("alice", std::string(kAlicePassword));
  auto c = Connect(o);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->session().principal, "alice");
  EXPECT_FALSE(c->session().service_account);
  EXPECT_FALSE(c->session().superuser);
  auto projects = c->ListProjects();
  ASSERT_TRUE(projects.has_value()) << projects.error().ToString();
  EXPECT_TRUE(projects->empty());
}

TEST_F(ClientTest, RefusesAWrongPasswordWithoutQuotingIt) {
  ClientOptions o = Options();
  o.credentials = Credentials::Password("alice", "not alices password");
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Contains(c.error().message(), "login as user 'alice'")) << c.error().message();
  EXPECT_FALSE(Contains(c.error().message(), "not alices password"));
}

TEST_F(ClientTest, RefusesABadTokenWithoutQuotingIt) {
  ClientOptions o = Options();
  std::string wrong = token_;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  o.credentials = Credentials::Token(wrong);
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Contains(c.error().message(), "login with an API token")) << c.error().message();
  EXPECT_FALSE(Contains(c.error().message(), wrong));
}

TEST(ClientOptionsTest, NeedsExactlyOneKindOfCredential) {
  ClientOptions o;
  EXPECT_EQ(ValidateOptions(o).code(), StatusCode::kInvalidArgument);
  o.credentials = {"sdb_token", "alice", "password"};
  EXPECT_EQ(ValidateOptions(o).code(), StatusCode::kInvalidArgument);
  o.credentials = Credentials::Password("alice", "");
  EXPECT_EQ(ValidateOptions(o).code(), StatusCode::kInvalidArgument);
  o.credentials = Credentials::Token("sdb_token");
  EXPECT_TRUE(ValidateOptions(o).ok());
  o.max_in_flight = 0;
  EXPECT_EQ(ValidateOptions(o).code(), StatusCode::kInvalidArgument);
}

// ---- TLS
// ------------------------------------------------------------------------------------------

TEST_F(ClientTest, RefusesAServerCertificateFromAnotherCa) {
  std::filesystem::create_directories(dir_.Sub("other"));
  const std::string other = dir_.Sub("other/");
  ASSERT_TRUE(server::CreateDevCertificates(
                  {other + "ca.crt", other + "ca.key", other + "server.crt", other + "server.key"})
                  .ok());
  ClientOptions o = Options();
  o.ca_file = other + "ca.crt";
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Contains(c.error().message(), "TLS verification of the certificate"))
      << c.error().message();
  EXPECT_TRUE(Contains(c.error().message(), "certificate chain")) << c.error().message();
}

TEST_F(ClientTest, RefusesAServerCertificateForAnotherName) {
  ClientOptions o = Options();
  o.server_name = "db.example.com";
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Contains(c.error().message(), "hostname mismatch")) << c.error().message();
  EXPECT_TRUE(Contains(c.error().message(), "db.example.com")) << c.error().message();

  o.server_name = "localhost";  // the certificate's DNS name, while connecting to 127.0.0.1
  EXPECT_TRUE(Connect(o));
}

TEST_F(ClientTest, SaysWhenTheCaFileOrTheServerIsMissing) {
  ClientOptions o = Options();
  o.ca_file = dir_.Sub("none.crt");
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(c.error().message(), "none.crt")) << c.error().message();

  o = Options();
  listener_->Stop();
  c = Client::Connect(o);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), StatusCode::kIOError);
  EXPECT_TRUE(Contains(c.error().message(), "cannot connect to 127.0.0.1:")) << c.error().message();
}

// ---- Writes and queries
// ---------------------------------------------------------------------------

TEST_F(ClientTest, PipelinedWritesAreAllAcknowledgedAndReadBack) {
  ClientOptions o = Options();
  o.max_in_flight = 8;
  auto c = ConnectAsync(o);
  ASSERT_TRUE(c);
  ASSERT_TRUE(Await(c->CreateProject("greenhouse")).has_value());

  constexpr int kBatches = 200;
  constexpr int kPoints = 100;
  std::vector<std::future<Result<WriteAck>>> acks;
  for (int i = 0; i < kBatches; ++i) {
    const WriteBatch batch = Seconds("dev-" + std::to_string(i % 4), i * kPoints, kPoints);
    acks.push_back(c->Write("greenhouse", batch, Durability::kAsync));
  }
  for (auto& f : acks) {
    auto ack = Await(std::move(f));
    ASSERT_TRUE(ack.has_value()) << ack.error().ToString();
    EXPECT_EQ(ack->points, static_cast<uint64_t>(kPoints));
  }

  uint64_t points = 0;
  bool values_match = true;
  auto stats =
      Await(c->QueryRaw("greenhouse", {}, {}, 0, [&](const SeriesRef& series, const PointRun& run) {
        for (size_t i = 0; i < run.size(); ++i) {
          const int64_t s = (run.timestamps[i] - kT0) / kSecond;
          values_match &= run.f64[i] == static_cast<double>(s);
          values_match &= series.device == "dev-" + std::to_string((s / kPoints) % 4);
        }
        points += run.size();
        return true;
      }));
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_EQ(points, uint64_t{kBatches * kPoints});
  EXPECT_EQ(stats->count, points);
  EXPECT_FALSE(stats->truncated);
  EXPECT_TRUE(values_match);
}

TEST_F(ClientTest, WritesFromSeveralThreadsShareOneConnection) {
  auto c = Connect(Options());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->CreateProject("p").has_value());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto ack = c->Write("p", Seconds("dev-" + std::to_string(t), i * 10, 10));
        if (!ack || ack->points != 10) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  uint64_t rows = 0, points = 0;
  AggregateQuery q;
  q.per_series = true;
  auto stats = c->Aggregate("p", q, [&](const AggregateRow& row) {
    ++rows;
    points += row.count;
    return row.series != nullptr;
  });
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_EQ(rows, 4u);
  EXPECT_EQ(points, 4u * 25 * 10);
}

class LargeSeriesTest : public ClientTest {
 protected:
  static constexpr int64_t kPoints = 200'000;
  void SetUp() override {
    ClientTest::SetUp();
    if (HasFatalFailure()) return;
    client_ = Connect(Options());
    ASSERT_TRUE(client_);
    ASSERT_TRUE(client_->CreateProject("big").has_value());
    for (int64_t first = 0; first < kPoints; first += 50'000) {
      auto ack = client_->Write("big", Seconds("dl-1", first, 50'000));
      ASSERT_TRUE(ack.has_value()) << ack.error().ToString();
    }
  }
  std::unique_ptr<Client> client_;
};

TEST_F(LargeSeriesTest, StreamsARawQueryAcrossManyChunks) {
  int64_t expected = 0;
  int runs = 0;
  bool in_order = true;
  auto stats = client_->QueryRaw("big", {"dl-1", "temp"}, {}, 0,
                                 [&](const SeriesRef& series, const PointRun& run) {
                                   ++runs;
                                   in_order &= series.device == "dl-1" && series.channel == "temp";
                                   for (size_t i = 0; i < run.size(); ++i, ++expected) {
                                     in_order &= run.timestamps[i] == kT0 + expected * kSecond;
                                     in_order &= run.f64[i] == static_cast<double>(expected);
                                   }
                                   return true;
                                 });
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_EQ(expected, kPoints);
  EXPECT_EQ(stats->count, static_cast<uint64_t>(kPoints));
  EXPECT_TRUE(in_order);
  EXPECT_GT(runs, 5);  // ~256 KiB chunks of 16-byte points: a dozen frames or so
}

TEST_F(LargeSeriesTest, AggregatesMatchWhatWasWritten) {
  constexpr int64_t kBucket = 800;  // seconds; kT0 is a multiple, so buckets start at kT0
  AggregateQuery q;
  q.selector = {"dl-1", "temp"};
  q.bucket_ns = kBucket * kSecond;
  q.per_series = true;
  q.range = {kT0, kT0 + kPoints * kSecond};
  int64_t bucket = 0;
  bool rows_match = true;
  auto stats = client_->Aggregate("big", q, [&](const AggregateRow& row) {
    const double first = static_cast<double>(bucket * kBucket);
    rows_match &= row.bucket_start_ns == kT0 + bucket * kBucket * kSecond;
    rows_match &= row.count == kBucket && row.min == first && row.max == first + kBucket - 1;
    rows_match &= row.sum == kBucket * first + (kBucket - 1) * kBucket / 2;
    rows_match &= row.series != nullptr && row.series->device == "dl-1";
    ++bucket;
    return true;
  });
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_EQ(bucket, kPoints / kBucket);
  EXPECT_EQ(stats->count, static_cast<uint64_t>(bucket));
  EXPECT_TRUE(rows_match);

  auto limited = client_->Aggregate(
      "big", q, [](const AggregateRow&) { return true; }, 3);
  ASSERT_TRUE(limited.has_value());
  EXPECT_EQ(limited->count, 3u);
  EXPECT_TRUE(limited->truncated);
}

TEST_F(LargeSeriesTest, ACallbackStopsAQueryAndTheConnectionCarriesOn) {
  ClientOptions o = Options();
  o.max_in_flight = 1;  // the stopped query's remainder must drain before the next request
  auto c = ConnectAsync(o);
  ASSERT_TRUE(c);
  int calls = 0;
  auto stats = Await(c->QueryRaw("big", {}, {}, 0, [&](const SeriesRef&, const PointRun&) {
    ++calls;
    return false;
  }));
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  EXPECT_TRUE(stats->stopped);
  EXPECT_EQ(calls, 1);
  EXPECT_GT(stats->count, 0u);
  EXPECT_LT(stats->count, static_cast<uint64_t>(kPoints));

  EXPECT_TRUE(Await(c->Ping()).ok());
  uint64_t points = 0;
  auto all = Await(c->QueryRaw("big", {}, {}, 0, [&](const SeriesRef&, const PointRun& run) {
    points += run.size();
    return true;
  }));
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_EQ(points, static_cast<uint64_t>(kPoints));
}

TEST_F(LargeSeriesTest, ACallbackThatThrowsFailsOnlyItsQuery) {
  auto stats = client_->QueryRaw("big", {}, {}, 0, [](const SeriesRef&, const PointRun&) -> bool {
    throw std::runtime_error("boom");
  });
  ASSERT_FALSE(stats.has_value());
  EXPECT_TRUE(Contains(stats.error().message(), "boom")) << stats.error().message();
  EXPECT_TRUE(client_->Ping().ok());
}

TEST_F(ClientTest, LatestReturnsTheNewestPointOfEachChannel) {
  auto c = Connect(Options());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->CreateProject("p").has_value());
  WriteBatch batch;
  batch.Add("dl-1", "temp", kT0, Value::Float64(20.5));
  batch.Add("dl-1", "temp", kT0 + kSecond, Value::Float64(21.5));
  batch.Add("dl-1", "door", kT0, Value::Bool(true));
  ASSERT_TRUE(c->Write("p", batch).has_value());
  std::map<std::string, LatestPoint> latest;
  auto stats = c->Latest("p", "dl-1", "", [&](const LatestPoint& p) {
    latest[p.channel] = p;
    return true;
  });
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest["temp"].timestamp_ns, kT0 + kSecond);
  EXPECT_EQ(latest["temp"].value.f64, 21.5);
  EXPECT_TRUE(latest["door"].value.b);
  EXPECT_EQ(c->Latest("p", "", "", [](const LatestPoint&) { return true; }).error().code(),
            StatusCode::kInvalidArgument);
}

// A batch's labels travel in the Write, label conditions and groups in the Query, group values
// in the aggregate runs (docs/LABELS.md).
TEST_F(ClientTest, QueriesFilterAndGroupByDeviceLabels) {
  auto c = Connect(Options());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->CreateProject("p").has_value());
  // dl-1 is at north for its first two points, then at south; dl-2 at south; dl-3 has no site.
  WriteBatch batch;
  using Labels = std::vector<std::pair<std::string, std::string>>;
  for (int i = 0; i < 4; ++i) {
    const int64_t t = kT0 + i * kSecond;
    for (int d = 1; d <= 3; ++d) {
      const std::string dev = "dl-" + std::to_string(d);
      batch.Add(dev, "temp", t, Value::Float64(d * 10 + i));
      const std::string site = d == 1 ? (i < 2 ? "north" : "south") : d == 2 ? "south" : "";
      if (!site.empty()) batch.SetLabels(dev, std::span(&t, 1), Labels{{"site", site}});
    }
  }
  auto written = c->Write("p", batch);  // the labels travel with the points
  ASSERT_TRUE(written.has_value()) << written.error().ToString();
  AggregateQuery q({"", "temp"}, {}, 0, false, {"site"});
  std::map<std::string, std::pair<uint64_t, double>> merged;
  auto stats = c->Aggregate("p", q, [&](const AggregateRow& row) {
    EXPECT_EQ(row.group.size(), 1u);
    auto& [n, sum] = merged[row.group.empty() ? "?" : row.group[0]];
    n += row.count;
    sum += row.sum;
    return true;
  });
  ASSERT_TRUE(stats.has_value()) << stats.error().ToString();
  const std::map<std::string, std::pair<uint64_t, double>> want = {
      {"", {4, 30 + 31 + 32 + 33}},
      {"north", {2, 10 + 11}},
      {"south", {6, 12 + 13 + 20 + 21 + 22 + 23}}};
  EXPECT_EQ(merged, want);
  // Per series: dl-1's rows come in two groups.
  q.per_series = true;
  std::set<std::pair<std::string, std::string>> groups;
  ASSERT_TRUE(c->Aggregate("p", q, [&](const AggregateRow& row) {
                 groups.emplace(std::string(row.series->device), row.group[0]);
                 return true;
               }).has_value());
  EXPECT_EQ(groups, (std::set<std::pair<std::string, std::string>>{
                        {"dl-1", "north"}, {"dl-1", "south"}, {"dl-2", "south"}, {"dl-3", ""}}));
  // Raw points under a condition tree: site = south OR device =~ ^dl-3$.
  LabelFilter any{LabelFilter::Op::kOr, "", "", {}};
  any.operands.push_back({LabelFilter::Op::kEq, "site", "south", {}});
  any.operands.push_back({LabelFilter::Op::kMatch, "device", "^dl-3$", {}});
  size_t points = 0;
  ASSERT_TRUE(c->QueryRaw("p", Selector("", "temp", {any}), {}, 0,
                          [&](const SeriesRef&, const PointRun& run) {
                            points += run.size();
                            return true;
                          })
                  .has_value());
  EXPECT_EQ(points, 2u + 4u + 4u);
  // A bad pattern is the server's error, and the connection carries on.
  const auto bad = c->QueryRaw("p", Selector("", "", {{LabelFilter::Op::kMatch, "site", "(", {}}}),
                               {}, 0, [](const SeriesRef&, const PointRun&) { return true; });
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(c->Ping().ok());
}

TEST_F(ClientTest, ServerErrorsArriveAsStatusAndTheConnectionCarriesOn) {
  auto c = Connect(Options());
  ASSERT_TRUE(c);
  auto ack = c->Write("nowhere", Seconds("d", 0, 3));
  ASSERT_FALSE(ack.has_value());
  EXPECT_NE(ack.error().code(), StatusCode::kOk);
  EXPECT_FALSE(ack.error().message().empty());
  ASSERT_TRUE(c->CreateProject("p").has_value());
  EXPECT_EQ(c->CreateProject("p").error().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(c->Write("p", WriteBatch()).error().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(c->DropProject("p").ok());
  EXPECT_TRUE(c->Ping().ok());
}

TEST_F(ClientTest, RefusesABatchOverTheServerLimitsBeforeSendingIt) {
  auto c = Connect(Options());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->CreateProject("p").has_value());
  auto too_many = c->Write("p", Seconds("d", 0, kMaxWritePoints + 1));
  ASSERT_FALSE(too_many.has_value());
  EXPECT_EQ(too_many.error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(too_many.error().message(), "100000 points per Write"))
      << too_many.error().message();

  // Under the point limit, over the 1 MiB frame limit (16 bytes a point).
  auto too_big = c->Write("p", Seconds("d", 0, 90'000));
  ASSERT_FALSE(too_big.has_value());
  EXPECT_EQ(too_big.error().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(too_big.error().message(), "too large for one frame"))
      << too_big.error().message();

  auto fits = c->Write("p", Seconds("d", 0, 50'000));
  ASSERT_TRUE(fits.has_value()) << fits.error().ToString();
  EXPECT_EQ(fits->points, 50'000u);
}

// ---- Administration
// -------------------------------------------------------------------------------

TEST_F(ClientTest, IssuesATokenThatLogsInUntilItIsRevoked) {
  auto c = Connect(Options());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->CreateServiceAccount("ingest").ok());
  EXPECT_EQ(c->CreateServiceAccount("ingest").code(), StatusCode::kAlreadyExists);
  auto issued = c->IssueToken("ingest");
  ASSERT_TRUE(issued.has_value()) << issued.error().ToString();
  EXPECT_EQ(issued->account, "ingest");
  EXPECT_EQ(issued->id.size(), 8u);
  EXPECT_TRUE(issued->token.starts_with(issued->prefix)) << issued->prefix;

  auto tokens = c->ListTokens("ingest");
  ASSERT_TRUE(tokens.has_value()) << tokens.error().ToString();
  ASSERT_EQ(tokens->size(), 1u);
  EXPECT_EQ((*tokens)[0].id, issued->id);
  EXPECT_EQ((*tokens)[0].revoked_ns, 0);

  ClientOptions o = Options();
  o.credentials = Credentials::Token(issued->token);
  auto ingest = Connect(o);
  ASSERT_TRUE(ingest);
  EXPECT_EQ(ingest->session().principal, "ingest");
  EXPECT_TRUE(ingest->session().service_account);

  ASSERT_TRUE(c->RevokeToken(issued->id).ok());
  EXPECT_FALSE(ingest->Ping().ok());  // a live session is refused from its next request
  auto again = Client::Connect(o);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(Contains(again.error().message(), issued->token));
  issued->Wipe();
  EXPECT_TRUE(issued->token.empty());
}

TEST_F(ClientTest, ManagesUsersAndTheirPasswords) {
  auto c = Connect(Options());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->CreateUser("bob", "first password of bob", /*superuser=*/false).ok());
  ASSERT_TRUE(c->CreateServiceAccount("robot").ok());
  auto accounts = c->ListAccounts();
  ASSERT_TRUE(accounts.has_value()) << accounts.error().ToString();
  std::map<std::string, AccountInfo> by_name;
  for (const AccountInfo& a : *accounts) by_name[a.name] = a;
  ASSERT_TRUE(by_name.contains("bob") && by_name.contains("robot") && by_name.contains("alice"));
  EXPECT_EQ(by_name["bob"].kind, AccountKind::kUser);
  EXPECT_EQ(by_name["robot"].kind, AccountKind::kServiceAccount);
  EXPECT_TRUE(by_name["bootstrap-admin"].superuser);
  EXPECT_GT(by_name["bob"].created_ns, 0);

  ClientOptions o = Options();
  o.credentials = Credentials::Password("bob", "first password of bob");
  auto bob = Connect(o);
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->ChangePassword("bob", "not the old one!", "second password of bob").code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(bob->ChangePassword("bob", "first password of bob", "second password of bob").ok());
  EXPECT_EQ(bob->ListAccounts().error().code(), StatusCode::kPermissionDenied);  // not superuser
  bob.reset();
  EXPECT_FALSE(Client::Connect(o).has_value());
  o.credentials = Credentials::Password("bob", "second password of bob");
  ASSERT_TRUE(Connect(o));

  ASSERT_TRUE(c->SetAccountDisabled("bob", true).ok());
  EXPECT_EQ(Client::Connect(o).error().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(c->SetAccountDisabled("bob", false).ok());
  ASSERT_TRUE(Connect(o));
  ASSERT_TRUE(c->DeleteAccount("bob").ok());
  EXPECT_EQ(c->DeleteAccount("bob").code(), StatusCode::kNotFound);
}

TEST_F(ClientTest, GrantsDecideWhoMayWrite) {
  auto c = Connect(Options());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->CreateProject("p").has_value());
  ASSERT_TRUE(c->SetGrant("p", "alice", Role::kReader).ok());
  auto grants = c->ListGrants("p");
  ASSERT_TRUE(grants.has_value()) << grants.error().ToString();
  ASSERT_EQ(grants->size(), 2u);  // sorted by account: alice, then the creator (owner)
  EXPECT_EQ((*grants)[0].account, "alice");
  EXPECT_EQ((*grants)[0].role, Role::kReader);
  EXPECT_EQ((*grants)[0].granted_by, "bootstrap-admin");
  EXPECT_EQ((*grants)[1].role, Role::kOwner);

  ClientOptions o = Options();
  o.credentials = Credentials::Password("alice", std::string(kAlicePassword));
  auto alice = Connect(o);
  ASSERT_TRUE(alice);
  auto refused = alice->Write("p", Seconds("d", 0, 3));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(c->SetGrant("p", "alice", Role::kWriter).ok());
  EXPECT_TRUE(alice->Write("p", Seconds("d", 0, 3)).has_value());
  ASSERT_TRUE(c->RemoveGrant("p", "alice").ok());
  EXPECT_EQ(alice->Write("p", Seconds("d", 0, 3)).error().code(), StatusCode::kNotFound);
  EXPECT_EQ(c->RemoveGrant("p", "alice").code(), StatusCode::kNotFound);
  EXPECT_EQ(ParseRole("writer").value(), Role::kWriter);
  EXPECT_FALSE(ParseRole("boss").has_value());
  EXPECT_EQ(RoleName(Role::kAdmin), "admin");
}

TEST_F(ClientTest, StreamsTheAuditLogAndVerifiesItsChain) {
  auto c = Connect(Options());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->CreateProject("p").has_value());
  ASSERT_TRUE(c->SetGrant("p", "alice", Role::kReader).ok());
  std::vector<AuditEntry> entries;
  auto read = c->ReadAudit(1, "", 0, [&](const AuditEntry& e) {
    entries.push_back(e);
    return true;
  });
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_EQ(read->count, entries.size());
  ASSERT_GE(entries.size(), 3u);
  EXPECT_EQ(read->next_seq, entries.back().seq + 1);
  for (size_t i = 1; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].seq, entries[i - 1].seq + 1);
    EXPECT_EQ(entries[i].prev_hash, entries[i - 1].hash);
  }
  const auto grant = std::find_if(entries.begin(), entries.end(),
                                  [](const AuditEntry& e) { return e.action == "grant-set"; });
  ASSERT_NE(grant, entries.end());
  EXPECT_EQ(grant->project, "p");
  EXPECT_EQ(grant->outcome, "success");

  size_t seen = 0;
  auto stopped = c->ReadAudit(1, "p", 0, [&](const AuditEntry& e) {
    EXPECT_EQ(e.project, "p");
    return ++seen < 1;
  });
  ASSERT_TRUE(stopped.has_value()) << stopped.error().ToString();
  EXPECT_TRUE(stopped->stopped);
  EXPECT_EQ(stopped->count, 1u);
  EXPECT_TRUE(c->Ping().ok());  // the rest of the stream was drained

  auto report = c->VerifyAudit();
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_TRUE(report->ok);
  EXPECT_TRUE(report->problems.empty());
  EXPECT_GE(report->head.entries, entries.size());
  auto anchored = c->VerifyAudit(&report->head);
  ASSERT_TRUE(anchored.has_value()) << anchored.error().ToString();
  EXPECT_TRUE(anchored->ok);
}

TEST_F(ClientTest, RegistersDevicesAndChannelsAndRotatesAProjectKey) {
  auto c = Connect(Options());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->CreateProject("p").has_value());
  ASSERT_TRUE(c->RegisterDevice("p", {"dl-1", "X1", "1.2.3"}).ok());
  auto channel = c->RegisterChannel("p", "dl-1", "temp", ValueType::kFloat64, "degC");
  ASSERT_TRUE(channel.has_value()) << channel.error().ToString();
  EXPECT_EQ(channel->unit, "degC");
  EXPECT_EQ(c->RegisterChannel("p", "dl-1", "temp", ValueType::kBool).error().code(),
            StatusCode::kInvalidArgument);
  auto devices = c->ListDevices("p");
  ASSERT_TRUE(devices.has_value()) << devices.error().ToString();
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_EQ((*devices)[0].model, "X1");
  EXPECT_EQ((*devices)[0].firmware_version, "1.2.3");
  auto channels = c->ListChannels("p", "dl-1");
  ASSERT_TRUE(channels.has_value()) << channels.error().ToString();
  ASSERT_EQ(channels->size(), 1u);
  EXPECT_EQ((*channels)[0].series_id, channel->series_id);

  ASSERT_TRUE(c->SetRetention("p", 30).ok());
  auto projects = c->ListProjects();
  ASSERT_TRUE(projects.has_value() && projects->size() == 1u);
  EXPECT_EQ((*projects)[0].retention_days, 30u);

  ASSERT_TRUE(c->Write("p", Seconds("dl-1", 0, 10)).has_value());
  auto rotated = c->RotateProjectKey("p", /*reencrypt=*/true);
  ASSERT_TRUE(rotated.has_value()) << rotated.error().ToString();
  EXPECT_EQ(rotated->version, 2u);
  EXPECT_TRUE(rotated->reencrypted);
  auto keys = c->KeyStatus();
  ASSERT_TRUE(keys.has_value()) << keys.error().ToString();
  EXPECT_FALSE(keys->master_key_fingerprint.empty());
  const auto p = std::find_if(keys->projects.begin(), keys->projects.end(),
                              [](const ProjectKeyStatus& k) { return k.project == "p"; });
  ASSERT_NE(p, keys->projects.end());
  ASSERT_FALSE(p->versions.empty());
  EXPECT_EQ(p->versions.back().version, 2u);
  EXPECT_TRUE(p->versions.back().active);
}

// ---- Connection loss
// ------------------------------------------------------------------------------

TEST_F(ClientTest, StoppingTheServerFailsEveryPendingAndLaterRequest) {
  ClientOptions o = Options();
  o.max_in_flight = 4;
  auto c = ConnectAsync(o);
  ASSERT_TRUE(c);
  ASSERT_TRUE(Await(c->CreateProject("p")).has_value());
  std::vector<std::future<Result<WriteAck>>> acks;
  std::thread writer([&] {
    for (int i = 0; i < 100; ++i) acks.push_back(c->Write("p", Seconds("d", i * 1000, 1000)));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  listener_->Stop();
  writer.join();
  int ok = 0, failed = 0;
  for (auto& f : acks) {
    auto ack = Await(std::move(f));
    if (ack) {
      ++ok;
    } else {
      ++failed;
      EXPECT_FALSE(ack.error().message().empty());
    }
  }
  EXPECT_EQ(ok + failed, 100);
  const Status later = Await(c->Ping());
  EXPECT_EQ(later.code(), StatusCode::kIOError);
  EXPECT_TRUE(Contains(later.message(), "closed the connection")) << later.message();
  EXPECT_FALSE(c->status().ok());
}

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A TLS server that logs anyone in, then answers nothing and closes the connection once it has
// read `close_after` requests (never when 0). The certificate is the test server's.
class FakeServer {
 public:
  FakeServer(const ServerConfig& config, int close_after)
      : close_after_(close_after),
        ssl_(asio::ssl::context::tls_server),
        acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    ssl_.use_certificate_chain_file(config.tls.cert_file);
    ssl_.use_private_key_file(config.tls.key_file, asio::ssl::context::pem);
    port_ = acceptor_.local_endpoint().port();
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (ec) return;
      stream_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(s), ssl_);
      stream_->async_handshake(asio::ssl::stream_base::server,
                               [this](const boost::system::error_code& e) {
                                 if (!e) Read();
                               });
    });
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeServer() {
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int requests() const { return requests_.load(); }

 private:
  void Read() {
    stream_->async_read_some(
        asio::buffer(buf_), [this](const boost::system::error_code& ec, size_t n) {
          if (ec || !decoder_.Feed(std::span<const uint8_t>(buf_.data(), n)).ok()) return;
          while (auto f = decoder_.Next()) {
            if (f->type() == wire::Message::Hello) {
              Send(protocol::EncodeHelloReply(f->request_id(), {}));
            } else if (f->type() == wire::Message::Auth) {
              Send(protocol::EncodeAuthReply(f->request_id(), {"fake", {}, false}));
            } else if (++requests_ == close_after_) {
              boost::system::error_code ignored;
              stream_->lowest_layer().close(ignored);
              return;
            }
          }
          Read();
        });
  }
  void Send(const protocol::OutFrame& frame) {
    auto bytes = std::make_shared<std::vector<uint8_t>>(frame.ToBytes());
    asio::async_write(*stream_, asio::buffer(*bytes),
                      [bytes](const boost::system::error_code&, size_t) {});
  }

  const int close_after_;
  std::atomic<int> requests_{0};
  asio::io_context io_;
  asio::ssl::context ssl_;
  tcp::acceptor acceptor_;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> stream_;
  protocol::FrameDecoder decoder_;
  std::array<uint8_t, 64 * 1024> buf_{};
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(ClientTest, AConnectionLossFailsEveryPendingRequest) {
  FakeServer fake(config_, 5);
  ClientOptions o = Options();
  o.port = fake.port();
  auto c = ConnectAsync(o);
  ASSERT_TRUE(c);
  std::vector<std::future<Status>> pings;
  for (int i = 0; i < 5; ++i) pings.push_back(c->Ping());  // the fake closes on reading the 5th
  for (auto& f : pings) {
    const Status s = Await(std::move(f));
    EXPECT_EQ(s.code(), StatusCode::kIOError);
    EXPECT_TRUE(Contains(s.message(), "closed the connection")) << s.message();
    EXPECT_TRUE(Contains(s.message(), "Ping (request")) << s.message();
  }
  EXPECT_EQ(fake.requests(), 5);
  EXPECT_EQ(Await(c->Ping()).code(), StatusCode::kIOError);
}

TEST_F(ClientTest, ARequestTimesOutWhenTheServerDoesNotAnswer) {
  FakeServer fake(config_, 0);
  ClientOptions o = Options();
  o.port = fake.port();
  o.request_timeout_ms = 300;
  o.max_in_flight = 1;
  auto c = ConnectAsync(o);
  ASSERT_TRUE(c);
  auto first = c->Ping();
  auto second = c->Ping();  // waits for the slot the first one holds until it times out
  const Status s = Await(std::move(first));
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_TRUE(Contains(s.message(), "timed out after 300 ms")) << s.message();
  EXPECT_FALSE(Await(std::move(second)).ok());
  EXPECT_TRUE(c->status().ok());  // a timeout leaves the connection open
}

TEST_F(ClientTest, ClosingTheClientFailsItsPendingRequests) {
  FakeServer fake(config_, 0);
  ClientOptions o = Options();
  o.port = fake.port();
  auto c = ConnectAsync(o);
  ASSERT_TRUE(c);
  auto pending = c->Ping();
  c->Close();
  const Status s = Await(std::move(pending));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(s.message(), "client was closed")) << s.message();
  EXPECT_EQ(Await(c->Ping()).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace sensordb::client
