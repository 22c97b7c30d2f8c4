// The REST listener end to end: real HTTPS on 127.0.0.1 against an in-process RestListener,
// with a small Beast client (every read bounded by a socket receive timeout).
#include <gtest/gtest.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <zlib.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "net/server_fixture.h"
#include "rest/json_text.h"
#include "rest/rest_handler.h"
#include "rest/rest_listener.h"
#include "rest/rest_router.h"

namespace sensordb::server::rest {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

struct Reply {
  unsigned status = 0;
  std::string body;
  bool chunked = false;
  std::string header(http::field f) const { return std::string(headers[f]); }
  http::fields headers;
};

class RestTest : public server::testing::ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    config_.rest.port = 0;
    config_.rest.timeout_ms = 2'000;
    config_.rest.max_body_bytes = 1 << 20;
    ConfigureRest(config_);
    auto l = RestListener::Start(config_, *db_, *auth_, &metrics_);
    ASSERT_TRUE(l.has_value()) << l.error().ToString();
    rest_ = std::move(*l);
    const Actor admin{Admin(), "test", WallClockNs()};
    auto p = db_->CreateProject("plant");
    ASSERT_TRUE(p.has_value());
    ASSERT_TRUE(auth_->ProjectCreated(admin, p->id, "plant").ok());
    auto q = db_->CreateProject("other");
    ASSERT_TRUE(q.has_value());
    ASSERT_TRUE(auth_->ProjectCreated(admin, q->id, "other").ok());
    for (Role role : kAllRoles) {
      const std::string name = "svc-" + std::string(RoleName(role));
      ASSERT_TRUE(auth_->accounts().CreateServiceAccount(admin, name).ok());
      ASSERT_TRUE(auth_->grants().SetGrant(admin, {p->id, "plant"}, name, role).ok());
      auto t = auth_->accounts().IssueToken(admin, name, 0);
      ASSERT_TRUE(t.has_value());
      tokens_[role] = std::string(t->text.view());
    }
  }
  void TearDown() override {
    if (rest_) rest_->Stop();
    ServerFixture::TearDown();
  }
  virtual void ConfigureRest(ServerConfig&) {}
  const Principal& Admin() {
    static Principal p{"admin", PrincipalKind::kServiceAccount, true, {}, 0};
    return p;
  }

  // Connects `s` to the listener and completes the TLS handshake.
  beast::error_code OpenTls(beast::ssl_stream<beast::tcp_stream>& s) {
    beast::error_code ec;
    beast::get_lowest_layer(s).socket().connect(
        {asio::ip::make_address("127.0.0.1"), rest_->port()}, ec);
    if (ec) return ec;
    timeval tv{10, 0};
    setsockopt(beast::get_lowest_layer(s).socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv,
               sizeof tv);
    SSL_set_tlsext_host_name(s.native_handle(), "localhost");
    s.handshake(asio::ssl::stream_base::client, ec);
    return ec;
  }

  Reply Request(http::verb method, std::string target, std::string_view token,
                std::string body = {}, std::vector<std::pair<http::field, std::string>> extra = {}) {
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(config_.tls.ca_file);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> s(io, ctx);
    Reply r;
    beast::error_code ec = OpenTls(s);
    if (ec) return r;
    http::request<http::string_body> req(method, target, 11);
    req.set(http::field::host, "localhost");
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + std::string(token));
    for (auto& [f, v] : extra) req.set(f, v);
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(s, req, ec);
    if (ec) return r;
    beast::flat_buffer buf;
    http::response_parser<http::string_body> p;
    p.body_limit(boost::none);
    http::read(s, buf, p, ec);
    if (ec) return r;
    r.status = p.get().result_int();
    r.chunked = p.get().chunked();
    r.body = p.get().body();
    r.headers = p.get().base();
    return r;
  }
  // `text` (request line, headers and what follows, as written) on a new TLS connection, and
  // the one response read back.
  beast::error_code RawRequest(std::string_view text, http::response<http::string_body>* res) {
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(config_.tls.ca_file);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> s(io, ctx);
    beast::error_code ec = OpenTls(s);
    if (ec) return ec;
    asio::write(s, asio::buffer(text), ec);
    if (ec) return ec;
    beast::flat_buffer buf;
    http::read(s, buf, *res, ec);
    return ec;
  }
  Reply Get(std::string target, std::string_view token) {
    return Request(http::verb::get, std::move(target), token);
  }
  static std::string ErrorCode(const Reply& r) {
    auto v = json::parse(r.body);
    return std::string(v.at("error").at("code").as_string());
  }

  ServerMetrics metrics_;
  std::unique_ptr<RestListener> rest_;
  std::map<Role, std::string> tokens_;
};

TEST_F(RestTest, HealthNeedsAToken) {
  EXPECT_EQ(Get("/api/v1/health", "").status, 401u);
  EXPECT_EQ(Get("/api/v1/health", "sdb_bogus").status, 401u);
  const Reply ok = Get("/api/v1/health", tokens_[Role::kReader]);
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(json::parse(ok.body).at("status").as_string(), "ok");
}

TEST_F(RestTest, WritesLineProtocolAndReadsItBack) {
  const std::string lp = "env,device=d1 temp=21.5 1000\nenv,device=d1 temp=22.5 2000\n";
  EXPECT_EQ(Request(http::verb::post, "/write?db=plant&precision=ns", tokens_[Role::kWriter], lp)
                .status,
            204u);
  EXPECT_EQ(Request(http::verb::post, "/api/v2/write?bucket=plant&org=x&precision=s",
                    tokens_[Role::kWriter], "env,device=d2 hum=3i 5\n")
                .status,
            204u);
  const Reply raw = Get("/api/v1/projects/plant/query/raw?device=d1", tokens_[Role::kReader]);
  ASSERT_EQ(raw.status, 200u) << raw.body;
  auto v = json::parse(raw.body);
  EXPECT_EQ(v.at("count").as_int64(), 2);
  EXPECT_EQ(v.at("series").at(0).at("channel").as_string(), "env.temp");
  EXPECT_EQ(v.at("series").at(0).at("points").at(1).at(1).as_double(), 22.5);
  const Reply latest = Get("/api/v1/projects/plant/query/latest?device=d2", tokens_[Role::kReader]);
  ASSERT_EQ(latest.status, 200u) << latest.body;
  EXPECT_EQ(json::parse(latest.body).at("points").at(0).at("time").as_int64(), 5'000'000'000);
  const Reply agg = Get("/api/v1/projects/plant/query/aggregate?device=d1&fn=mean,max,count",
                        tokens_[Role::kReader]);
  ASSERT_EQ(agg.status, 200u) << agg.body;
  auto row = json::parse(agg.body).at("rows").at(0);
  EXPECT_EQ(row.at("mean").as_double(), 22.0);
  EXPECT_EQ(row.at("count").as_int64(), 2);
  const Reply devices = Get("/api/v1/projects/plant/devices", tokens_[Role::kReader]);
  EXPECT_EQ(json::parse(devices.body).at("devices").as_array().size(), 2u);
  const Reply channels = Get("/api/v1/projects/plant/channels?device=d1", tokens_[Role::kReader]);
  EXPECT_EQ(json::parse(channels.body).at("channels").as_array().size(), 1u);
}

// Per-series aggregates: one row per series and bucket, in series order, each naming its device
// and channel (JSON-escaped), with exactly the functions asked for; a non-finite value is null.
TEST_F(RestTest, PerSeriesAggregateRowsNameTheirSeries) {
  std::string lp;
  for (int d = 0; d < 3; ++d) {
    for (int i = 0; i < 4; ++i) {
      lp += "env,device=d" + std::to_string(d) + " temp=" + std::to_string(d * 10 + i) + " " +
            std::to_string(i * 30) + "\n";
    }
  }
  lp += "env,device=d\"q temp=7 0\n";  // device d"q: a name JSON must escape, sorted first
  ASSERT_EQ(
      Request(http::verb::post, "/write?db=plant&precision=s", tokens_[Role::kWriter], lp).status,
      204u);
  const Reply agg =
      Get("/api/v1/projects/plant/query/aggregate?channel=env.temp&every=1m"
          "&fn=mean,count,max,mean&per_series=true",  // a repeated function is answered once
          tokens_[Role::kReader]);
  ASSERT_EQ(agg.status, 200u) << agg.body;
  const auto v = json::parse(agg.body);
  const auto& rows = v.at("rows").as_array();
  ASSERT_EQ(rows.size(), 7u) << agg.body;  // 1 one-minute bucket for d"q, 2 for each of d0..d2
  EXPECT_EQ(v.at("count").as_int64(), 7);
  size_t means = 0;
  for (size_t at = 0; (at = agg.body.find("\"mean\":", at)) != std::string::npos; ++at) ++means;
  EXPECT_EQ(means, 7u) << "one \"mean\" per row, not two";
  EXPECT_EQ(rows[0].at("device").as_string(), "d\"q");
  EXPECT_EQ(rows[0].at("mean").as_double(), 7.0);
  EXPECT_EQ(rows[1].as_object().size(), 6u) << "start, device, channel, count, mean, max";
  EXPECT_EQ(rows[1].at("device").as_string(), "d0");
  EXPECT_EQ(rows[1].at("channel").as_string(), "env.temp");
  EXPECT_EQ(rows[1].at("start").as_int64(), 0);
  EXPECT_EQ(rows[1].at("count").as_int64(), 2);
  EXPECT_EQ(rows[1].at("mean").as_double(), 0.5);
  EXPECT_EQ(rows[2].at("start").as_int64(), 60'000'000'000);
  EXPECT_EQ(rows[2].at("max").as_double(), 3.0);
  EXPECT_EQ(rows[6].at("device").as_string(), "d2");
  EXPECT_EQ(rows[6].at("max").as_double(), 23.0);
}

std::string Gzip(std::string_view in) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST_F(RestTest, GzipBodiesAreInflatedAndBombsRefused) {
  const auto gz = std::vector<std::pair<http::field, std::string>>{
      {http::field::content_encoding, "gzip"}};
  EXPECT_EQ(Request(http::verb::post, "/write?db=plant", tokens_[Role::kWriter],
                    Gzip("env,device=g temp=1 1\n"), gz)
                .status,
            204u);
  std::string bomb(8 << 20, 'a');  // 8 MiB of one byte inflates past the 1 MiB limit
  const Reply r = Request(http::verb::post, "/write?db=plant", tokens_[Role::kWriter], Gzip(bomb), gz);
  EXPECT_EQ(r.status, 413u) << r.body;
  EXPECT_EQ(Request(http::verb::post, "/write?db=plant", tokens_[Role::kWriter], "x",
                    {{http::field::content_encoding, "br"}})
                .status,
            415u);
}

TEST_F(RestTest, BadLineIsNamedAndNothingApplied) {
  const Reply r = Request(http::verb::post, "/write?db=plant", tokens_[Role::kWriter],
                          "env,device=b temp=1 1\nenv,device=b temp=oops 2\n");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("line 2"), std::string::npos) << r.body;
  // Nothing of the request was applied: device b does not even exist.
  const Reply raw = Get("/api/v1/projects/plant/query/raw?device=b", tokens_[Role::kReader]);
  EXPECT_EQ(raw.status, 404u) << raw.body;
  EXPECT_NE(raw.body.find("device 'b'"), std::string::npos) << raw.body;
  EXPECT_EQ(Request(http::verb::post, "/write?db=plant", tokens_[Role::kWriter],
                    "env,device=b temp=1 1\nenv,device=\xff temp=1 2\n")
                .status,
            400u);
  EXPECT_EQ(Request(http::verb::post, "/write?db=plant&precision=d", tokens_[Role::kWriter],
                    "env,device=b temp=1 1\n")
                .status,
            400u);
}

TEST_F(RestTest, RolesAndProjectsAreEnforcedWithoutLeaks) {
  const Reply no_grant = Get("/api/v1/projects/other/devices", tokens_[Role::kReader]);
  const Reply missing = Get("/api/v1/projects/nope/devices", tokens_[Role::kReader]);
  EXPECT_EQ(no_grant.status, 404u);
  EXPECT_EQ(missing.status, 404u);
  auto strip = [](std::string s, std::string_view name) {
    const size_t at = s.find(name);
    if (at != std::string::npos) s.erase(at, name.size());
    return s;
  };
  EXPECT_EQ(strip(no_grant.body, "other"), strip(missing.body, "nope"));
  EXPECT_EQ(Request(http::verb::post, "/write?db=plant", tokens_[Role::kReader], "env,device=r t=1 1\n")
                .status,
            403u);
  EXPECT_EQ(Request(http::verb::post, "/write?db=other", tokens_[Role::kWriter], "env,device=r t=1 1\n")
                .status,
            404u);
  const Reply projects = Get("/api/v1/projects", tokens_[Role::kWriter]);
  ASSERT_EQ(projects.status, 200u);
  EXPECT_EQ(json::parse(projects.body).at("projects").as_array().size(), 1u);
  EXPECT_EQ(Get("/api/v1/nothing", tokens_[Role::kReader]).status, 404u);
  EXPECT_EQ(Request(http::verb::delete_, "/api/v1/health", tokens_[Role::kReader]).status, 405u);
  EXPECT_EQ(ErrorCode(Get("/api/v1/projects/plant/query/raw?start=x", tokens_[Role::kReader])),
            "bad_request");
}

TEST_F(RestTest, LargeRawQueryIsStreamedChunked) {
  WriteBatch batch;
  constexpr int64_t kPoints = 1'000'000;
  for (int64_t i = 0; i < kPoints; ++i) {
    batch.Add("big", "v", i + 1, Value::Float64(double(i)));
  }
  ASSERT_TRUE(db_->Write("plant", batch).ok());
  const Reply r = Get("/api/v1/projects/plant/query/raw?device=big", tokens_[Role::kReader]);
  ASSERT_EQ(r.status, 200u);
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(json::parse(r.body).at("count").as_int64(), kPoints);
}

// The access matrix of the issue: every route the router serves (RestRoutes(), so a new route
// joins the matrix by itself) x no token / a wrong token / an expired token / a revoked token /
// a principal of another project / each role. A refused request is refused before any work and
// says nothing about the route or the project; a project the caller has no grant on answers
// exactly like a project that does not exist.
// docs/openapi.yaml: "METHOD path" of every operation, with the status codes it documents.
std::map<std::string, std::set<unsigned>> DocumentedOperations() {
  std::ifstream in(std::string(SENSORDB_SOURCE_DIR) + "/docs/openapi.yaml");
  EXPECT_TRUE(in.good());
  std::map<std::string, std::set<unsigned>> ops;
  std::string line, path, op;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (line == "paths:") { in_paths = true; continue; }
    if (in_paths && !line.empty() && line[0] != ' ' && line[0] != '#') in_paths = false;
    if (!in_paths) continue;
    if (line.starts_with("  /") && line.back() == ':') path = line.substr(2, line.size() - 3);
    for (std::string m : {"get", "head", "post", "put", "delete", "patch"}) {
      if (line == "    " + m + ":") {
        for (char& c : m) c = char(std::toupper(c));
        op = m + " " + path;
        ops[op];
      }
    }
    // "        '200':" inside the operation's responses
    if (line.size() == 14 && line.starts_with("        '") && line.ends_with("':")) {
      ops[op].insert(unsigned(std::stoul(line.substr(9, 3))));
    }
  }
  return ops;
}

class RestAccessMatrixTest : public RestTest {
 protected:
  // Every wrong token counts against the address; the matrix sends many on purpose.
  AuthOptions AuthConfig() const override {
    AuthOptions o = RestTest::AuthConfig();
    o.address_lockout.free_failures = 1'000;
    return o;
  }
  // A request for `route` in project `project`: the {project} segment or the db=/bucket=
  // parameter, a small valid body for the writes.
  struct Call {
    http::verb method;
    std::string target;
    std::string body;
  };
  Call For(const RestRoute& route, std::string_view project) {
    Call c{route.method == "POST" ? http::verb::post : http::verb::get, std::string(route.path), {}};
    if (const size_t at = c.target.find("{project}"); at != std::string::npos) {
      c.target.replace(at, 9, project);
    }
    switch (route.id) {
      case RouteId::kWriteV1: c.target += "?db=" + std::string(project); break;
      case RouteId::kWriteV2: c.target += "?bucket=" + std::string(project) + "&org=o"; break;
      case RouteId::kQueryRaw:
      case RouteId::kQueryLatest:
      case RouteId::kQueryAggregate:
      case RouteId::kChannels: c.target += "?device=m1"; break;
      case RouteId::kInfluxQuery:
        c.target += "?db=" + std::string(project) + "&q=SHOW+SERIES";
        break;
      default: break;
    }
    if (IsWrite(route)) c.body = "env,device=m1 temp=1 " + std::to_string(++stamp_) + "\n";
    return c;
  }
  static bool IsWrite(const RestRoute& r) {
    return r.id == RouteId::kWriteV1 || r.id == RouteId::kWriteV2;
  }
  static bool HasProject(const RestRoute& r) {
    return r.path.find("{project}") != std::string_view::npos || IsWrite(r) ||
           r.id == RouteId::kInfluxQuery;
  }
  static bool IsSuperuserOnly(const RestRoute& r) {
    return r.id == RouteId::kFlush || r.id == RouteId::kCompact;
  }
  // Every answer is recorded by route, to be checked against docs/openapi.yaml.
  Reply Send(const Call& c, std::string_view token, const RestRoute& route) {
    Reply r = Request(c.method, c.target, token, c.body);
    observed_[std::string(route.method) + " " + std::string(route.path)].insert(r.status);
    return r;
  }
  void SetUp() override {
    RestTest::SetUp();
    if (HasFatalFailure()) return;
    const Actor admin{Admin(), "test", WallClockNs()};
    ASSERT_TRUE(auth_->accounts().CreateServiceAccount(admin, "svc-super", true).ok());
    auto t = auth_->accounts().IssueToken(admin, "svc-super", 0);
    ASSERT_TRUE(t.has_value());
    superuser_ = std::string(t->text.view());
  }
  int64_t stamp_ = 1;
  std::string superuser_;
  std::map<std::string, std::set<unsigned>> observed_;
};

TEST_F(RestAccessMatrixTest, EveryRouteByEveryCredential) {
  const Actor admin{Admin(), "test", WallClockNs()};
  WriteBatch seed;  // a point for the reads to find
  seed.Add("m1", "env.temp", 1, Value::Float64(1));
  ASSERT_TRUE(db_->Write("plant", seed).ok());
  // An owner of "other" only.
  auto other = db_->GetProject("other");
  ASSERT_TRUE(other.has_value());
  ASSERT_TRUE(auth_->accounts().CreateServiceAccount(admin, "svc-elsewhere").ok());
  ASSERT_TRUE(
      auth_->grants().SetGrant(admin, {other->id, "other"}, "svc-elsewhere", Role::kOwner).ok());
  auto elsewhere = auth_->accounts().IssueToken(admin, "svc-elsewhere", 0);
  ASSERT_TRUE(elsewhere.has_value());
  // Tokens of the owner of "plant" that expire and that are revoked.
  const int64_t expiry = WallClockNs() + 3'000'000'000;  // a margin for a loaded machine
  auto expiring = auth_->accounts().IssueToken(admin, "svc-owner", expiry);
  ASSERT_TRUE(expiring.has_value());
  EXPECT_EQ(Get("/api/v1/health", expiring->text.view()).status, 200u);  // valid until then
  auto revoked = auth_->accounts().IssueToken(admin, "svc-owner", 0);
  ASSERT_TRUE(revoked.has_value());
  ASSERT_TRUE(auth_->accounts().RevokeToken(admin, revoked->id).ok());
  std::string wrong_secret = tokens_[Role::kOwner];
  wrong_secret.back() = wrong_secret.back() == 'A' ? 'B' : 'A';
  while (WallClockNs() <= expiry) std::this_thread::sleep_for(std::chrono::milliseconds(50));

  const std::vector<std::pair<std::string, std::string>> refused_tokens = {
      {"no token", ""},
      {"a malformed token", "not-a-token"},
      {"a wrong secret", wrong_secret},
      {"an expired token", std::string(expiring->text.view())},
      {"a revoked token", std::string(revoked->text.view())},
  };
  // By credential and error dialect: the same on every route of the dialect.
  std::map<std::pair<std::string, Dialect>, std::string> unauthorized_body;
  size_t cells = 0;
  for (const RestRoute& route : RestRoutes()) {
    const std::string name = std::string(route.method) + " " + std::string(route.path);
    for (const auto& [what, token] : refused_tokens) {
      const Reply r = Send(For(route, "plant"), token, route);
      EXPECT_EQ(r.status, 401u) << name << " with " << what << ": " << r.body;
      EXPECT_EQ(r.header(http::field::www_authenticate), "Bearer") << name << " with " << what;
      EXPECT_EQ(r.header(http::field::connection), "close") << name << " with " << what;
      auto [it, first] = unauthorized_body.try_emplace({what, DialectOf(route.path)}, r.body);
      EXPECT_EQ(r.body, it->second) << name << " with " << what << " answers unlike other routes";
      EXPECT_EQ(r.body.find("plant"), std::string::npos) << name << " with " << what;
      ++cells;
    }
    for (Role role : kAllRoles) {
      const Reply r = Send(For(route, "plant"), tokens_[role], route);
      const unsigned want = IsSuperuserOnly(route) ? 403u
                            : IsWrite(route)       ? (role == Role::kReader ? 403u : 204u)
                                                   : 200u;
      EXPECT_EQ(r.status, want) << name << " as " << RoleName(role) << ": " << r.body;
      ++cells;
    }
    // A principal of another project, on this project and on one that does not exist.
    const Reply foreign = Send(For(route, "plant"), elsewhere->text.view(), route);
    const Reply missing = Send(For(route, "nope"), elsewhere->text.view(), route);
    if (HasProject(route)) {
      EXPECT_EQ(foreign.status, 404u) << name << " from another project: " << foreign.body;
      EXPECT_EQ(missing.status, 404u) << name << " on a missing project: " << missing.body;
      std::string f = foreign.body, m = missing.body;
      if (size_t at = f.find("plant"); at != std::string::npos) f.replace(at, 5, "X");
      if (size_t at = m.find("nope"); at != std::string::npos) m.replace(at, 4, "X");
      EXPECT_EQ(f, m) << name << ": a foreign project must answer like a missing one";
    } else if (IsSuperuserOnly(route)) {
      EXPECT_EQ(foreign.status, 403u) << name << " from another project: " << foreign.body;
      EXPECT_EQ(missing.status, 403u) << name << " from another project: " << missing.body;
    } else {
      EXPECT_EQ(foreign.status, 200u) << name << " from another project: " << foreign.body;
      EXPECT_EQ(foreign.body.find("plant"), std::string::npos)
          << name << " shows a project without a grant: " << foreign.body;
    }
    cells += 2;
  }
  EXPECT_EQ(cells, RestRoutes().size() * (refused_tokens.size() + kAllRoles.size() + 2));
  // The other answers every route can give: a wrong method, an unknown parameter.
  for (const RestRoute& route : RestRoutes()) {
    Call wrong = For(route, "plant");
    wrong.method = http::verb::delete_;
    EXPECT_EQ(Send(wrong, tokens_[Role::kOwner], route).status, 405u) << route.path;
    Call bad = For(route, "plant");
    bad.target += bad.target.find('?') == std::string::npos ? "?bogus=1" : "&precision=years";
    const std::string& token = IsSuperuserOnly(route) ? superuser_ : tokens_[Role::kOwner];
    const unsigned status = Send(bad, token, route).status;
    EXPECT_EQ(status, 400u) << route.path;
  }
  // Every status a route answered is documented for it.
  const auto documented = DocumentedOperations();
  for (const auto& [op, statuses] : observed_) {
    ASSERT_TRUE(documented.contains(op)) << op;
    for (unsigned status : statuses) {
      EXPECT_TRUE(documented.at(op).contains(status))
          << op << " answered " << status << ", which docs/openapi.yaml does not document";
    }
  }
  // Only the granted writes landed: the seed point and one per write route and writing role.
  const Reply raw = Get("/api/v1/projects/plant/query/raw?device=m1", tokens_[Role::kReader]);
  ASSERT_EQ(raw.status, 200u);
  EXPECT_EQ(json::parse(raw.body).at("count").as_int64(), 1 + 2 * 3);
  EXPECT_EQ(server::testing::MetricValue(metrics_.Render({}),
                                         "sensordb_refusals_total{reason=\"rest-unauthenticated\"}"),
            double(RestRoutes().size() * refused_tokens.size()));
}

// A request refused for its token is answered from its headers: the declared 64 MiB body is
// never sent, and the answer still comes, with Connection: close.
TEST_F(RestTest, UnauthenticatedRequestIsAnsweredWithoutReadingTheBody) {
  const std::string head =
      "POST /write?db=plant HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sdb_wrong\r\n"
      "Content-Length: 67108864\r\n\r\nenv,device=x t=1 1\n";
  http::response<http::string_body> res;
  const beast::error_code ec = RawRequest(head, &res);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(res.result_int(), 401u);
  EXPECT_FALSE(res.keep_alive());
}

// POST /api/v1/admin/flush and /compact: a superuser's, audited, with no body.
TEST_F(RestAccessMatrixTest, ASuperuserFlushesAndCompactsTheDatabase) {
  WriteBatch b;
  for (int i = 0; i < 10; ++i) b.Add("m1", "env.temp", 1'000 + i, Value::Float64(i));
  ASSERT_TRUE(db_->Write("plant", b).ok());
  ASSERT_EQ(db_->Stats()->head_points, 10u);
  EXPECT_EQ(Request(http::verb::post, "/api/v1/admin/flush", superuser_, "x").status, 400u);
  EXPECT_EQ(db_->Stats()->head_points, 10u);
  const uint64_t before = auth_->audit().Head().entries;
  EXPECT_EQ(Request(http::verb::post, "/api/v1/admin/flush", superuser_).status, 204u);
  auto stats = db_->Stats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->head_points, 0u);
  EXPECT_EQ(stats->points, 10u);
  EXPECT_EQ(Request(http::verb::post, "/api/v1/admin/compact", superuser_).status, 204u);
  EXPECT_EQ(auth_->audit().Head().entries, before + 2) << "one storage-maintained entry each";
  std::vector<std::string> entries;
  const auto collect = [&](const AuditEntry& e) {
    entries.push_back(std::string(AuditActionName(e.event.action)) + " " +
                      std::string(AuditOutcomeName(e.event.outcome)) + " " + e.event.detail);
    return true;
  };
  const Actor admin{Admin(), "test", WallClockNs()};
  ASSERT_TRUE(auth_->ReadAudit(admin, before + 1, std::nullopt, 0, collect).ok());
  EXPECT_EQ(entries, (std::vector<std::string>{"storage-maintained success flush",
                                               "storage-maintained success compact"}));
  const Reply raw = Get("/api/v1/projects/plant/query/raw?device=m1", tokens_[Role::kReader]);
  ASSERT_EQ(raw.status, 200u);
  EXPECT_EQ(json::parse(raw.body).at("count").as_int64(), 10);
}

class RestDeadlineTest : public RestTest {
  void ConfigureRest(ServerConfig& c) override {
    c.limits.handshake_timeout_ms = 300;
    c.rest.timeout_ms = 60'000;
  }
};

// Until a request's credentials are verified, the listener core closes the connection at
// limits.handshake_timeout_ms, however long rest.timeout_ms would wait for the header; after
// that, keep-alive is not cut by it.
TEST_F(RestDeadlineTest, AnUnauthenticatedConnectionIsClosedAtTheHandshakeDeadline) {
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(config_.tls.ca_file);
  {
    beast::ssl_stream<beast::tcp_stream> slow(io, ctx);
    ASSERT_FALSE(OpenTls(slow));
    asio::write(slow, asio::buffer(std::string_view("GET /api/v1/projects HTTP/1.1\r\n")));
    // Asio's blocking reads retry past SO_RCVTIMEO, and TLS 1.3 session tickets arrive first:
    // read without blocking, waiting with poll, for at most 10 s in all.
    auto& socket = beast::get_lowest_layer(slow).socket();
    socket.non_blocking(true);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    beast::error_code ec;
    while (std::chrono::steady_clock::now() < give_up) {
      char byte = 0;
      slow.read_some(asio::buffer(&byte, 1), ec);
      if (ec != asio::error::would_block) break;
      pollfd pfd{socket.native_handle(), POLLIN, 0};
      poll(&pfd, 1, 100);
    }
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
                ec == asio::error::connection_reset)
        << "not closed by the server: " << ec.message();
  }
  beast::ssl_stream<beast::tcp_stream> s(io, ctx);
  ASSERT_FALSE(OpenTls(s));
  beast::flat_buffer buf;
  for (int i = 0; i < 2; ++i) {
    if (i == 1) std::this_thread::sleep_for(std::chrono::milliseconds(600));
    http::request<http::empty_body> req(http::verb::get, "/api/v1/projects", 11);
    req.set(http::field::host, "localhost");
    req.set(http::field::authorization, "Bearer " + tokens_[Role::kReader]);
    http::write(s, req);
    http::response<http::string_body> res;
    beast::error_code ec;
    http::read(s, buf, res, ec);
    ASSERT_FALSE(ec) << "request " << i << ": " << ec.message();
    EXPECT_EQ(res.result_int(), 200u);
  }
}

// A response captured in memory, for the handler without a connection.
class CapturedResponse final : public ResponseWriter {
 public:
  bool Send(RestResponse r) override {
    status = r.status;
    body = std::move(r.body);
    return true;
  }
  bool BeginChunked(unsigned s, std::string_view) override {
    status = s;
    return true;
  }
  bool Chunk(std::string_view data) override {
    body += data;
    return true;
  }
  bool EndChunked() override { return true; }
  unsigned status = 0;
  std::string body;
};

// The body of a write is read after admission, for up to rest.timeout_ms. A project dropped and
// re-created under the same name meanwhile is another project (new id, new key, no grants): the
// write admitted for the first lands in neither.
TEST_F(RestTest, WriteIsPinnedToTheProjectItWasAdmittedFor) {
  RestHandler handler(*db_, *auth_, metrics_, RestLimits{});
  const std::string authorization = "Bearer " + tokens_[Role::kWriter];
  RequestHead head;
  head.method = "POST";
  head.target = "/write?db=plant";
  head.authorization = authorization;
  head.peer = "127.0.0.1";
  auto admitted = handler.Admit(head);
  ASSERT_TRUE(admitted.has_value()) << admitted.error().body;
  ASSERT_TRUE(db_->DropProject("plant").ok());
  ASSERT_TRUE(db_->CreateProject("plant"));
  CapturedResponse out;
  handler.Handle(*admitted, "env,device=d1 t=1 1767225600000000000\n", out);
  EXPECT_EQ(out.status, 404u) << out.body;
  EXPECT_TRUE(db_->ListDevices("plant")->empty());
}

// RFC 9112 section 3.2: a server answers 400 to an HTTP/1.1 request without exactly one Host.
TEST_F(RestTest, Http11WithoutOneHostIsRefused) {
  for (const std::string host : {"", "Host: a\r\nHost: b\r\n"}) {
    http::response<http::string_body> res;
    const beast::error_code ec = RawRequest("GET /api/v1/projects HTTP/1.1\r\n" + host +
                                                "Authorization: Bearer " + tokens_[Role::kReader] +
                                                "\r\n\r\n",
                                            &res);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(res.result_int(), 400u) << host << res.body();
    EXPECT_NE(res.body().find("Host"), std::string::npos) << res.body();
  }
  // With one Host it is served.
  EXPECT_EQ(Request(http::verb::get, "/api/v1/projects", tokens_[Role::kReader]).status, 200u);
}

// A full disk is the server's condition (507, kept and retried by InfluxDB clients) and a rate
// bound passes with time (429): never the 413 of a batch too large (dropped by them).
TEST(HttpStatusOf, NoSpaceIs507ARateIs429AndALimitIs413) {
  EXPECT_EQ(HttpStatusOf(Status::NoSpace("disk full")), 507u);
  EXPECT_EQ(HttpStatusOf(Status::RateLimited("too many new series")), 429u);
  EXPECT_EQ(HttpStatusOf(Status::ResourceExhausted("too many points")), 413u);
  EXPECT_EQ(HttpStatusOf(Status::IOError("read failed")), 500u);
}

// The series quotas over REST: the per-minute bound is a 429 with Retry-After that a client
// retries; a cap on the series a device holds is a 413 it does not.
class RestQuotaTest : public RestTest {
 protected:
  void ConfigureDb(Options& o) override { o.series_quota = {0, 4, 2}; }
};

TEST_F(RestQuotaTest, NewSeriesRateIs429WithRetryAfterAndACapIs413) {
  const std::string& writer = tokens_[Role::kWriter];
  ASSERT_EQ(Request(http::verb::post, "/write?db=plant", writer, "env,device=q a=1,b=2 1\n").status,
            204u);
  const Reply rate = Request(http::verb::post, "/write?db=plant", writer, "env,device=q c=3 2\n");
  EXPECT_EQ(rate.status, 429u) << rate.body;
  EXPECT_EQ(rate.header(http::field::retry_after), std::to_string(kRateQuotaRetryAfterS));
  EXPECT_NE(rate.body.find("max_new_series_per_device_per_minute"), std::string::npos) << rate.body;
  // The InfluxDB 1.x shape on /write, the 2.x code on /api/v2/write.
  EXPECT_TRUE(json::parse(rate.body).at("error").is_string()) << rate.body;
  const Reply rate2 =
      Request(http::verb::post, "/api/v2/write?bucket=plant", writer, "env,device=q c=3 2\n");
  EXPECT_EQ(rate2.status, 429u) << rate2.body;
  EXPECT_EQ(json::parse(rate2.body).at("code").as_string(), "too many requests") << rate2.body;
  // Existing series keep taking points; the cap of 4 per device is a 413 (the rate bound of 2
  // a minute is checked after it).
  EXPECT_EQ(Request(http::verb::post, "/write?db=plant", writer, "env,device=q a=4 3\n").status,
            204u);
  const Reply cap =
      Request(http::verb::post, "/write?db=plant", writer, "env,device=q c=1,d=2,e=3 4\n");
  EXPECT_EQ(cap.status, 413u) << cap.body;
  EXPECT_NE(cap.body.find("max_series_per_device"), std::string::npos) << cap.body;
  EXPECT_EQ(db_->ListChannels("plant", "q")->size(), 2u);
}

// The UTF-8 check skips ASCII eight bytes at a time: a bad byte is found at every offset
// relative to those words, and good multi-byte characters across a word boundary pass.
TEST(InvalidUtf8At, FindsTheFirstBadByteAtAnyOffset) {
  for (size_t at = 0; at < 24; ++at) {
    std::string text(24, 'a');
    for (std::string_view bad : {"\xff", "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
      std::string t = text.substr(0, at) + std::string(bad);
      if (bad != "\xe2\x82") t += text.substr(at);  // a cut sequence only at the end
      EXPECT_EQ(InvalidUtf8At(t), std::optional<size_t>(at)) << at;
    }
    for (std::string_view good : {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x8c\xa1"}) {
      EXPECT_EQ(InvalidUtf8At(text.substr(0, at) + std::string(good) + text.substr(at)),
                std::nullopt)
          << at;
    }
  }
  EXPECT_EQ(InvalidUtf8At(""), std::nullopt);
}

// Numbers print as the shortest decimal that reads back to the same double (21.43, never
// Boost.JSON's 2.143E1), and the text is JSON that parses back to the same value.
TEST(JsonText, ShortestRoundTripNumbers) {
  EXPECT_EQ(JsonText(json::value(21.43)), "21.43");
  EXPECT_EQ(JsonText(json::value(0.1)), "0.1");
  EXPECT_EQ(JsonText(json::value(22.0)), "22.0");
  EXPECT_EQ(JsonText(json::value(1e21)), "1e+21");
  EXPECT_EQ(JsonText(json::value(-1.5e-7)), "-1.5e-07");
  EXPECT_EQ(JsonText(json::value(std::numeric_limits<double>::quiet_NaN())), "null");
  for (double d : {21.43, 0.1, 1.0 / 3, 1e300, -4.9e-324, 123456789.125, 2.0, -0.0,
                   std::numeric_limits<double>::max(), std::numeric_limits<double>::min()}) {
    const std::string text = JsonText(json::value(d));
    EXPECT_EQ(text.find('E'), std::string::npos) << text;
    EXPECT_NO_THROW(json::parse(text)) << text;
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), d) << text;
  }
  const json::value v = json::parse(R"({"a":[1,-2,3.25,true,null,"x\"y"],"b":{"c":18446744073709551615}})");
  EXPECT_EQ(json::parse(JsonText(v)), v);
  EXPECT_EQ(JsonText(v), R"({"a":[1,-2,3.25,true,null,"x\"y"],"b":{"c":18446744073709551615}})");
}

// Through the API: a float written as 21.43 reads back as 21.43.
TEST_F(RestTest, FloatsReadBackAsTheyWereWritten) {
  ASSERT_EQ(Request(http::verb::post, "/write?db=plant", tokens_[Role::kWriter],
                    "env,device=d1 t=21.43 1767225600000000000\n")
                .status,
            204u);
  const Reply r = Get("/api/v1/projects/plant/query/latest?device=d1", tokens_[Role::kReader]);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_NE(r.body.find("\"value\":21.43}"), std::string::npos) << r.body;
}

// Every byte but letters and digits as %XX, for a query parameter.
std::string PercentEncoded(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
      out += hex;
    }
  }
  return out;
}

std::string Base64(std::string_view s) {
  std::string out(sodium_base64_encoded_len(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// The logins of InfluxDB clients: HTTP Basic with the token as password and any user name
// (python-influxdb, the influx CLI, Grafana), u/p parameters, and the Token scheme.
TEST_F(RestTest, InfluxDbClientsLogInAsTheySendIt) {
  const std::string& token = tokens_[Role::kWriter];
  const auto basic = [](std::string_view user_colon_password) {
    return std::vector<std::pair<http::field, std::string>>{
        {http::field::authorization, "Basic " + Base64(user_colon_password)}};
  };
  EXPECT_EQ(Request(http::verb::post, "/write?db=plant", "", "env,device=b t=1 1\n",
                    basic("anyone:" + token))
                .status,
            204u);
  EXPECT_EQ(Request(http::verb::post, "/write?db=plant&u=x&p=" + token, "", "env,device=b t=1 2\n")
                .status,
            204u);
  EXPECT_EQ(Request(http::verb::post, "/write?db=plant", "", "env,device=b t=1 3\n",
                    {{http::field::authorization, "Token " + token}})
                .status,
            204u);
  // The credential parameters are taken off before the route looks at its parameters.
  EXPECT_EQ(Get("/api/v1/projects?u=x&p=" + tokens_[Role::kReader], "").status, 200u);
  // Wrong or malformed credentials in each form are a 401 that quotes none of them.
  for (const auto& extra : {basic("anyone:sdb_wrong"), basic(token), basic(""),
                            decltype(basic("")){{http::field::authorization, "Basic %%%"}}}) {
    const Reply r = Request(http::verb::post, "/write?db=plant", "", "env,device=b t=1 4\n", extra);
    EXPECT_EQ(r.status, 401u) << extra.front().second;
    EXPECT_EQ(r.body.find(token), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("sdb_wrong"), std::string::npos) << r.body;
  }
  const Reply wrong_p = Get("/api/v1/projects?u=x&p=sdb_wrong", "");
  EXPECT_EQ(wrong_p.status, 401u);
  EXPECT_EQ(wrong_p.body.find("sdb_wrong"), std::string::npos) << wrong_p.body;
  const Reply raw = Get("/api/v1/projects/plant/query/raw?device=b", tokens_[Role::kReader]);
  EXPECT_EQ(json::parse(raw.body).at("count").as_int64(), 3);
}

// /ping and /health answer without a token, reveal no version of sensordb, and never read a
// body (a connection that sent one is closed).
TEST_F(RestTest, PingAndHealthAnswerWithoutAToken) {
  const Reply ping = Get("/ping", "");
  EXPECT_EQ(ping.status, 204u);
  EXPECT_EQ(std::string(ping.headers["X-Influxdb-Version"]), std::string(kInfluxDbVersion));
  EXPECT_EQ(Request(http::verb::head, "/ping", "").status, 204u);
  const Reply health = Get("/health", "");
  ASSERT_EQ(health.status, 200u);
  EXPECT_EQ(json::parse(health.body).at("status").as_string(), "pass");
  EXPECT_EQ(health.body.find(SENSORDB_VERSION_STRING), std::string::npos) << health.body;
  const Reply with_body = Request(http::verb::get, "/ping", "", "ignored");
  EXPECT_EQ(with_body.status, 204u);
  EXPECT_EQ(with_body.header(http::field::connection), "close");
  EXPECT_EQ(Request(http::verb::post, "/ping", "").status, 401u);  // not an open route
}

// Errors come in the shape of the endpoint's family, with the same detail.
TEST_F(RestTest, ErrorsSpeakTheDialectOfTheEndpoint) {
  const std::string& token = tokens_[Role::kWriter];
  const Reply v1 = Request(http::verb::post, "/write?db=plant", token, "env,device=b t=1 1\nbad");
  ASSERT_EQ(v1.status, 400u);
  EXPECT_NE(std::string(json::parse(v1.body).at("error").as_string()).find("line 2"),
            std::string::npos)
      << v1.body;
  const Reply v2 = Request(http::verb::post, "/api/v2/write?bucket=plant&org=o", token, "bad");
  ASSERT_EQ(v2.status, 400u);
  const auto o = json::parse(v2.body).as_object();
  EXPECT_EQ(o.at("code").as_string(), "invalid") << v2.body;
  EXPECT_NE(std::string(o.at("message").as_string()).find("line 1"), std::string::npos);
  const Reply unauth = Request(http::verb::post, "/api/v2/write?bucket=plant", "", "x");
  EXPECT_EQ(json::parse(unauth.body).at("code").as_string(), "unauthorized") << unauth.body;
  const Reply own = Get("/api/v1/projects/plant/query/raw?start=x", tokens_[Role::kReader]);
  EXPECT_EQ(ErrorCode(own), "bad_request");
}

// Every precision InfluxDB clients send, a line with leading whitespace (the influx CLI's
// INSERT), and the points counted in sensordb_ingest_points_total.
TEST_F(RestTest, WritesTakeEveryInfluxPrecisionAndCountTheirPoints) {
  const std::string& token = tokens_[Role::kWriter];
  const std::vector<std::pair<std::string, int64_t>> cases = {{"n", 1'700'000'000'000'000'001},
                                                              {"u", 1'700'000'000'000'001'000},
                                                              {"m", 28'333'334LL * 60'000'000'000},
                                                              {"h", 472'223LL * 3'600'000'000'000}};
  for (const auto& [precision, want] : cases) {
    const int64_t value = precision == "n"   ? want
                          : precision == "u" ? want / 1000
                          : precision == "m" ? want / 60'000'000'000
                                             : want / 3'600'000'000'000;
    const std::string lp = "  env,device=p" + precision + " t=1 " + std::to_string(value) + "\n";
    ASSERT_EQ(Request(http::verb::post, "/write?db=plant&precision=" + precision, token, lp).status,
              204u)
        << precision;
    const Reply raw =
        Get("/api/v1/projects/plant/query/raw?device=p" + precision, tokens_[Role::kReader]);
    const auto points = json::parse(raw.body).at("series").at(0).at("points");
    EXPECT_EQ(points.at(0).at(0).as_int64(), want) << precision;
  }
  EXPECT_EQ(server::testing::MetricValue(metrics_.Render({}), "sensordb_ingest_points_total"), 4.0);
}

// InfluxQL's SHOW statements over the catalog, as clients and Grafana send them.
TEST_F(RestTest, InfluxQueryAnswersTheShowStatements) {
  const std::string& token = tokens_[Role::kWriter];
  ASSERT_EQ(
      Request(http::verb::post, "/write?db=plant", token,
              "env,device=d1 temp=1,ok=t 1\nenv,device=d2 temp=2,n=3i 1\npower,device=d1 w=5 1\n")
          .status,
      204u);
  const std::string& reader = tokens_[Role::kReader];
  const auto query = [&](const std::string& q, std::string db = "plant") {
    std::string target = "/query?q=" + PercentEncoded(q);
    if (!db.empty()) target += "&db=" + db;
    return Get(target, reader);
  };
  const auto values = [](const Reply& r, size_t statement = 0, size_t series = 0) {
    return JsonText(
        json::parse(r.body).at("results").at(statement).at("series").at(series).at("values"));
  };
  // Only the projects the caller has a grant in.
  Reply r = query("SHOW DATABASES", "");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(values(r), R"([["plant"]])");
  r = query("SHOW MEASUREMENTS");
  EXPECT_EQ(values(r), R"([["env"],["power"]])") << r.body;
  r = query("SHOW FIELD KEYS FROM env");
  EXPECT_EQ(values(r), R"([["n","integer"],["ok","boolean"],["temp","float"]])") << r.body;
  r = query("SHOW TAG KEYS; SHOW TAG VALUES FROM env WITH KEY = \"device\"");
  EXPECT_EQ(values(r, 0, 0), R"([["device"]])") << r.body;
  EXPECT_EQ(values(r, 1), R"([["device","d1"],["device","d2"]])") << r.body;
  r = query("SHOW SERIES LIMIT 2 OFFSET 1");
  EXPECT_EQ(values(r), R"([["env,device=d2"],["power,device=d1"]])") << r.body;
  r = query("SHOW RETENTION POLICIES ON plant", "");
  EXPECT_NE(values(r).find("autogen"), std::string::npos) << r.body;
  // A statement's failure is its result's error; a project without a grant reads as missing.
  r = query("SHOW MEASUREMENTS ON other; SHOW MEASUREMENTS ON nope; SHOW MEASUREMENTS", "");
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto results = json::parse(r.body).at("results");
  EXPECT_EQ(results.at(0).at("error").as_string(), "database not found: other");
  EXPECT_EQ(results.at(1).at("error").as_string(), "database not found: nope");
  EXPECT_EQ(results.at(2).at("error").as_string(), "database name required");
  // A query that does not parse, or that sensordb does not answer: 400 {"error": ...}.
  r = query("SHOW DATABASE");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(std::string(json::parse(r.body).at("error").as_string()).find("expected DATABASES"),
            std::string::npos);
  r = query("DROP DATABASE plant");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.body.find("not supported"), std::string::npos) << r.body;
  EXPECT_EQ(Get("/query?db=plant", reader).status, 400u);  // no q
  // POST with a form body, as Grafana sends it; CSV when asked.
  r = Request(http::verb::post, "/query?db=plant", reader, "q=SHOW+MEASUREMENTS",
              {{http::field::content_type, "application/x-www-form-urlencoded"}});
  EXPECT_EQ(values(r), R"([["env"],["power"]])") << r.body;
  r = Request(http::verb::get, "/query?db=plant&q=SHOW+MEASUREMENTS", reader, "",
              {{http::field::accept, "application/csv"}});
  EXPECT_EQ(r.header(http::field::content_type), "application/csv");
  EXPECT_EQ(r.body, "name,tags,name\nmeasurements,,env\nmeasurements,,power\n");
}

// InfluxQL SELECT against answers computed here from the written points.
TEST_F(RestTest, InfluxQuerySelectsAggregatesAndRawPoints) {
  constexpr int64_t kBase = 1'699'999'200;  // 2023-11-14T22:00:00Z, a whole hour (seconds)
  std::string lp;
  for (int i = 0; i < 18; ++i) {  // every 10 minutes for 3 hours
    const int64_t t = kBase + i * 600;
    lp += "env,device=d1 temp=" + std::to_string(i) + ",n=" + std::to_string(i) + "i " +
          std::to_string(t) + "\n";
    lp += "env,device=d2 temp=" + std::to_string(100 + i) + " " + std::to_string(t) + "\n";
  }
  lp += "env,device=d3 temp=0 " + std::to_string(kBase) + "\n";
  lp += "env,device=d3 temp=20 " + std::to_string(kBase + 7200) + "\n";
  ASSERT_EQ(
      Request(http::verb::post, "/write?db=plant&precision=s", tokens_[Role::kWriter], lp).status,
      204u);
  const auto select = [&](std::string q, std::string epoch = "s") {
    std::string target = "/query?db=plant&q=" + PercentEncoded(q);
    if (!epoch.empty()) target += "&epoch=" + epoch;
    const Reply r = Get(target, tokens_[Role::kReader]);
    EXPECT_EQ(r.status, 200u) << r.body;
    return json::parse(r.body).at("results").at(0);
  };
  const std::string range = " WHERE time >= " + std::to_string(kBase) + "s AND time < " +
                            std::to_string(kBase + 3 * 3600) + "s";
  // Per device and hour: mean and count.
  auto res = select("SELECT mean(temp), count(temp) FROM env" + range +
                    " AND device = 'd1' GROUP BY time(1h), device");
  auto series = res.at("series").at(0);
  EXPECT_EQ(JsonText(series.at("tags")), R"({"device":"d1"})");
  EXPECT_EQ(JsonText(series.at("columns")), R"(["time","mean","count"])");
  for (int h = 0; h < 3; ++h) {
    const auto row = series.at("values").at(h);
    EXPECT_EQ(row.at(0).as_int64(), kBase + h * 3600);
    EXPECT_DOUBLE_EQ(row.at(1).to_number<double>(), 6 * h + 2.5);  // mean of 6h .. 6h+5
    EXPECT_EQ(row.at(2).as_int64(), 6);
  }
  // median and percentile per hour, from the values themselves (6 points an hour: 6h .. 6h+5).
  res = select(
      "SELECT median(temp), percentile(temp, 50), percentile(temp, 95), "
      "percentile(temp, 1) FROM env" +
      range + " AND device = 'd1' GROUP BY time(1h)");
  series = res.at("series").at(0);
  EXPECT_EQ(JsonText(series.at("columns")),
            R"(["time","median","percentile","percentile_1","percentile_2"])");
  for (int h = 0; h < 3; ++h) {
    const auto row = series.at("values").at(h);
    EXPECT_DOUBLE_EQ(row.at(1).to_number<double>(), 6 * h + 2.5);
    EXPECT_DOUBLE_EQ(row.at(2).to_number<double>(), 6 * h + 2);  // rank floor(3 + 0.5) = 3
    EXPECT_DOUBLE_EQ(row.at(3).to_number<double>(), 6 * h + 5);  // rank floor(5.7 + 0.5) = 6
    EXPECT_TRUE(row.at(4).is_null());                            // rank floor(0.06 + 0.5) = 0
  }
  // GROUP BY time with an offset: buckets start at 30m past each hour; the engine's 30-minute
  // buckets merge into them (mean, count, first, median all from the same buckets).
  {
    std::map<int64_t, std::vector<double>> want;  // bucket start (s) -> d1's values
    for (int i = 0; i < 18; ++i) {
      const int64_t t = kBase + i * 600, o = 1800;
      int64_t q = (t - o) / 3600;
      if ((t - o) % 3600 != 0 && t - o < 0) --q;
      want[q * 3600 + o].push_back(i);
    }
    res = select("SELECT mean(temp), count(temp), first(temp), median(temp) FROM env" + range +
                 " AND device = 'd1' GROUP BY time(1h, 30m) fill(none)");
    const auto& values = res.at("series").at(0).at("values").as_array();
    ASSERT_EQ(values.size(), want.size());
    size_t k = 0;
    for (const auto& [t, vs] : want) {
      const auto& row = values.at(k++);
      EXPECT_EQ(row.at(0).as_int64(), t);
      double sum = 0;
      for (double v : vs) sum += v;
      EXPECT_DOUBLE_EQ(row.at(1).to_number<double>(), sum / double(vs.size())) << t;
      EXPECT_EQ(row.at(2).as_int64(), int64_t(vs.size())) << t;
      EXPECT_DOUBLE_EQ(row.at(3).to_number<double>(), vs.front()) << t;
      const size_t n = vs.size();
      EXPECT_DOUBLE_EQ(row.at(4).to_number<double>(),
                       n % 2 ? vs[n / 2] : (vs[n / 2 - 1] + vs[n / 2]) / 2)
          << t;
    }
  }
  // Merged over the devices: max and spread; d3's points count too.
  res = select("SELECT max(temp) AS hi, spread(temp) FROM env" + range + " GROUP BY time(1h)");
  series = res.at("series").at(0);
  EXPECT_FALSE(series.as_object().contains("tags"));
  EXPECT_EQ(JsonText(series.at("columns")), R"(["time","hi","spread"])");
  for (int h = 0; h < 3; ++h) {
    const auto row = series.at("values").at(h);
    EXPECT_DOUBLE_EQ(row.at(1).to_number<double>(), 100 + 6 * h + 5);
    EXPECT_DOUBLE_EQ(row.at(2).to_number<double>(), 100 + 6 * h + 5 - 6 * h);
  }
  // Several functions of one field (one scan) answer as each asked alone.
  res = select("SELECT min(temp), mean(temp), last(temp), count(temp) FROM env" + range);
  const auto together = res.at("series").at(0).at("values").at(0);
  int k = 1;
  for (const char* fn : {"min", "mean", "last", "count"}) {
    const auto alone = select("SELECT " + std::string(fn) + "(temp) FROM env" + range)
                           .at("series")
                           .at(0)
                           .at("values")
                           .at(0);
    EXPECT_EQ(JsonText(together.at(k++)), JsonText(alone.at(1))) << fn;
  }
  // fill over d3, which has points in hours 0 and 2 only, on a range of 4 hours.
  const std::string d3 = " WHERE device = 'd3' AND time >= " + std::to_string(kBase) +
                         "s AND time < " + std::to_string(kBase + 4 * 3600) + "s GROUP BY time(1h)";
  const auto column = [&](const std::string& fill) {
    std::vector<std::string> out;
    const json::value result = select("SELECT mean(temp) FROM env" + d3 + " " + fill);
    for (const auto& row : result.at("series").at(0).at("values").as_array()) {
      out.push_back(JsonText(row.at(1)));
    }
    return out;
  };
  using Column = std::vector<std::string>;
  EXPECT_EQ(column("fill(null)"), (Column{"0.0", "null", "20.0", "null"}));
  EXPECT_EQ(column("fill(none)"), (Column{"0.0", "20.0"}));
  EXPECT_EQ(column("fill(-1)"), (Column{"0.0", "-1.0", "20.0", "-1.0"}));
  EXPECT_EQ(column("fill(previous)"), (Column{"0.0", "0.0", "20.0", "20.0"}));
  EXPECT_EQ(column("fill(linear)"), (Column{"0.0", "10.0", "20.0", "null"}));
  // count() of an empty bucket is 0 under fill(null), as in InfluxDB.
  res = select("SELECT count(temp) FROM env" + d3);
  EXPECT_EQ(JsonText(res.at("series").at(0).at("values")),
            "[[" + std::to_string(kBase) + ",1],[" + std::to_string(kBase + 3600) + ",0],[" +
                std::to_string(kBase + 7200) + ",1],[" + std::to_string(kBase + 10800) + ",0]]");
  // The database of FROM "db"."rp"."m" is authorised like db=.
  res = select("SELECT temp FROM \"other\".\"autogen\".\"env\"");
  EXPECT_EQ(res.at("error").as_string(), "database not found: other");
  {
    const Reply r = Get("/query?q=" + PercentEncoded("SELECT count(temp) FROM plant.autogen.env"),
                        tokens_[Role::kReader]);
    EXPECT_NE(r.body.find("\"count\"],\"values\":[["), std::string::npos) << r.body;
  }
  // Too many fields; credentials in a form body.
  std::string wide = "SELECT temp";
  for (int i = 0; i < 64; ++i) wide += ",temp";
  EXPECT_EQ(
      Get("/query?db=plant&q=" + PercentEncoded(wide + " FROM env"), tokens_[Role::kReader]).status,
      400u);
  EXPECT_EQ(Request(http::verb::post, "/query?db=plant", tokens_[Role::kReader],
                    "q=SHOW+DATABASES&p=" + tokens_[Role::kReader])
                .status,
            400u);
  // Without GROUP BY time: one row at the range's start.
  res = select("SELECT count(temp), sum(n) FROM env" + range);
  const auto row = res.at("series").at(0).at("values").at(0);
  EXPECT_EQ(row.at(0).as_int64(), kBase);
  EXPECT_EQ(row.at(1).as_int64(), 18 + 18 + 2);
  EXPECT_DOUBLE_EQ(row.at(2).to_number<double>(), 17 * 18 / 2);
  // Raw points: RFC 3339 times by default, newest first with ORDER BY time DESC, LIMIT.
  res = select("SELECT temp FROM env WHERE device = 'd1' ORDER BY time DESC LIMIT 2", "");
  EXPECT_EQ(JsonText(res.at("series").at(0).at("values")),
            R"([["2023-11-15T00:50:00Z",17.0],["2023-11-15T00:40:00Z",16.0]])");
  // SELECT *: the device as a column, then the fields; SLIMIT over GROUP BY device.
  res = select("SELECT * FROM env WHERE time = " + std::to_string(kBase) + "s", "s");
  series = res.at("series").at(0);
  EXPECT_EQ(JsonText(series.at("columns")), R"(["time","device","n","temp"])");
  EXPECT_EQ(JsonText(series.at("values")), "[[" + std::to_string(kBase) + ",\"d1\",0,0.0],[" +
                                               std::to_string(kBase) + ",\"d2\",null,100.0],[" +
                                               std::to_string(kBase) + ",\"d3\",null,0.0]]");
  res = select("SELECT temp FROM env GROUP BY device LIMIT 1 SLIMIT 2");
  ASSERT_EQ(res.at("series").as_array().size(), 2u);
  EXPECT_EQ(JsonText(res.at("series").at(1).at("tags")), R"({"device":"d2"})");
  EXPECT_EQ(res.at("series").at(1).at("values").as_array().size(), 1u);
  // A range that would make too many buckets is refused (by the statement, or as a duration
  // out of range when parsed), near int64's ends too.
  for (const std::string q :
       {"SELECT mean(temp) FROM env WHERE time >= now() - 5000w GROUP BY time(1s)",
        "SELECT mean(temp) FROM env WHERE time >= now() - 15000000w AND time < "
        "9223372036854775807 GROUP BY time(1000000w)",
        "SELECT mean(temp) FROM env WHERE time >= 1ns AND time < 9223372036854775807 "
        "GROUP BY time(5000w)"}) {
    const Reply r = Get("/query?db=plant&q=" + PercentEncoded(q), tokens_[Role::kReader]);
    if (r.status == 400 && q.find("15000000w") != std::string::npos) {
      continue;  // the duration itself overflows: refused before it runs
    }
    ASSERT_EQ(r.status, 200u) << q << ": " << r.body;
    const auto result = json::parse(r.body).at("results").at(0);
    if (q.find("time(1s)") != std::string::npos) {  // 3e9 buckets: the statement is refused
      ASSERT_TRUE(result.as_object().contains("error")) << r.body;
    }
    if (result.as_object().contains("error")) {
      EXPECT_NE(std::string(result.at("error").as_string()).find("buckets"), std::string::npos)
          << r.body;
    } else {
      EXPECT_LE(result.at("series").at(0).at("values").as_array().size(), 100'000u) << q;
    }
  }
  // An unknown field or a device without points answers no series.
  EXPECT_FALSE(select("SELECT nope FROM env").as_object().contains("series"));
  EXPECT_FALSE(select("SELECT temp FROM env WHERE device = 'zz'").as_object().contains("series"));
}

// Tags become device labels (docs/LABELS.md): InfluxQL filters and groups by the values each
// device had at each point's time, against answers computed here from the written lines.
TEST_F(RestTest, InfluxQueryFiltersAndGroupsByTagsAsLabels) {
  constexpr int64_t kBase = 1'699'999'200;  // a whole hour (seconds)
  // d1 hangs in room 3 at north for its first 9 points, then moves to south; d2 is in room 4
  // at south; d3 has no tags. One point every 10 minutes for 3 hours.
  struct Point {
    std::string device, site, room;
    int64_t t;
    double v;
  };
  std::vector<Point> points;
  std::string lp;
  for (int i = 0; i < 18; ++i) {
    const int64_t t = kBase + i * 600;
    points.push_back({"d1", i < 9 ? "north" : "south", "3", t, double(i)});
    points.push_back({"d2", "south", "4", t, double(100 + i)});
    points.push_back({"d3", "", "", t, double(200 + i)});
  }
  for (const Point& p : points) {
    lp += "env,device=" + p.device + (p.site.empty() ? "" : ",site=" + p.site) +
          (p.room.empty() ? "" : ",room=" + p.room) + " temp=" + std::to_string(p.v) + " " +
          std::to_string(p.t) + "\n";
  }
  ASSERT_EQ(
      Request(http::verb::post, "/write?db=plant&precision=s", tokens_[Role::kWriter], lp).status,
      204u);
  const auto query = [&](const std::string& q) {
    const Reply r = Get("/query?db=plant&epoch=s&q=" + PercentEncoded(q), tokens_[Role::kReader]);
    EXPECT_EQ(r.status, 200u) << r.body;
    return json::parse(r.body).at("results").at(0);
  };
  const std::string range = " time >= " + std::to_string(kBase) + "s AND time < " +
                            std::to_string(kBase + 3 * 3600) + "s";
  // count and sum per site, merged over devices.
  std::map<std::string, std::pair<int64_t, double>> want;
  for (const Point& p : points) {
    auto& [n, sum] = want["{\"site\":\"" + p.site + "\"}"];
    ++n;
    sum += p.v;
  }
  auto res = query("SELECT count(temp), sum(temp) FROM env WHERE" + range + " GROUP BY site");
  std::map<std::string, std::pair<int64_t, double>> got;
  for (const auto& series : res.at("series").as_array()) {
    const auto row = series.at("values").at(0);
    got[JsonText(series.at("tags"))] = {row.at(1).as_int64(), row.at(2).to_number<double>()};
  }
  EXPECT_EQ(got, want);
  // Hourly mean per device and site where the site starts with "so" (d1 only after its move).
  std::map<std::string, std::map<int64_t, std::pair<double, int>>> means;
  for (const Point& p : points) {
    if (!p.site.starts_with("so")) continue;
    auto& [sum, n] = means["{\"device\":\"" + p.device + "\",\"site\":\"" + p.site + "\"}"]
                          [p.t - (p.t - kBase) % 3600];
    sum += p.v;
    ++n;
  }
  res = query("SELECT mean(temp) FROM env WHERE site =~ /^so/ AND" + range +
              " GROUP BY time(1h), device, \"site\" fill(none)");
  std::map<std::string, std::map<int64_t, std::pair<double, int>>> got_means;
  for (const auto& series : res.at("series").as_array()) {
    for (const auto& row : series.at("values").as_array()) {
      got_means[JsonText(series.at("tags"))][row.at(0).as_int64()] = {row.at(1).to_number<double>(),
                                                                      0};
    }
  }
  ASSERT_EQ(got_means.size(), means.size());
  for (const auto& [tags, buckets] : means) {
    ASSERT_EQ(got_means[tags].size(), buckets.size()) << tags;
    for (const auto& [t, sn] : buckets) {
      EXPECT_DOUBLE_EQ(got_means[tags][t].first, sn.first / sn.second) << tags << " " << t;
    }
  }
  // Raw points with OR and !=: d1 before its move, and every point of a device not in room 4.
  res = query("SELECT temp FROM env WHERE (site = 'north' OR room != '4') AND device <> 'd3'");
  size_t want_raw = 0;
  for (const Point& p : points)
    want_raw += (p.site == "north" || p.room != "4") && p.device != "d3";
  EXPECT_EQ(res.at("series").at(0).at("values").as_array().size(), want_raw);
  // The listings know the labels.
  EXPECT_EQ(JsonText(query("SHOW TAG KEYS FROM env").at("series").at(0).at("values")),
            R"([["device"],["room"],["site"]])");
  EXPECT_EQ(
      JsonText(
          query("SHOW TAG VALUES FROM env WITH KEY = \"site\"").at("series").at(0).at("values")),
      R"([["site","north"],["site","south"]])");
  // Grafana's filters of its lists: a regex on measurement names and on tag keys.
  EXPECT_EQ(
      JsonText(query("SHOW MEASUREMENTS WITH MEASUREMENT =~ /nv/").at("series").at(0).at("values")),
      R"([["env"]])");
  EXPECT_FALSE(query("SHOW MEASUREMENTS WITH MEASUREMENT !~ /^e/").as_object().contains("series"));
  EXPECT_EQ(
      JsonText(query("SHOW TAG VALUES FROM env WITH KEY =~ /^r/").at("series").at(0).at("values")),
      R"([["room","3"],["room","4"]])");
  EXPECT_EQ(JsonText(query("SHOW SERIES").at("series").at(0).at("values")),
            R"([["env,device=d1,room=3,site=south"],["env,device=d2,room=4,site=south"],)"
            R"(["env,device=d3"]])");
  // A field in WHERE is refused by name; GROUP BY a tag on raw points too.
  EXPECT_NE(std::string(query("SELECT temp FROM env WHERE temp = '1'").at("error").as_string())
                .find("WHERE on the field 'temp'"),
            std::string::npos);
  EXPECT_NE(std::string(query("SELECT temp FROM env GROUP BY site").at("error").as_string())
                .find("on raw points"),
            std::string::npos);
  // A bad regex is the statement's error.
  EXPECT_NE(
      std::string(query("SELECT count(temp) FROM env WHERE site =~ /(/").at("error").as_string())
          .find("regular expression"),
      std::string::npos);

  // /api/v1 takes the same conditions in `where` and label keys in `group_by`; times may come
  // as strings, and a bucket without a start is null.
  Reply r =
      Get("/api/v1/projects/plant/query/aggregate?channel=env.temp&fn=count&group_by=site&"
          "times=string&where=" +
              PercentEncoded("room != '4'"),
          tokens_[Role::kReader]);
  ASSERT_EQ(r.status, 200u) << r.body;
  std::map<std::string, int64_t> counts;
  for (const Point& p : points) counts[p.site] += p.room != "4";
  std::string rows;
  for (const auto& [site, n] : counts) {
    if (n == 0) continue;
    rows += std::string(rows.empty() ? "" : ",") + R"({"start":null,"labels":{"site":")" + site +
            R"("},"count":)" + std::to_string(n) + "}";
  }
  EXPECT_NE(r.body.find("\"rows\":[" + rows + "]"), std::string::npos) << r.body;
  r = Get("/api/v1/projects/plant/query/raw?channel=env.temp&times=string&where=" +
              PercentEncoded("site = 'north'"),
          tokens_[Role::kReader]);
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto raw = json::parse(r.body);
  ASSERT_EQ(raw.at("series").as_array().size(), 1u);
  EXPECT_EQ(raw.at("series").at(0).at("device").as_string(), "d1");
  EXPECT_EQ(raw.at("series").at(0).at("points").as_array().size(), 9u);
  EXPECT_EQ(raw.at("series").at(0).at("points").at(0).at(0).as_string(),
            std::to_string(kBase * 1'000'000'000));
  for (const char* bad : {"where=time+%3E+0", "where=site+%3D", "group_by=a,,b", "times=iso"}) {
    EXPECT_EQ(
        Get(std::string("/api/v1/projects/plant/query/aggregate?") + bad, tokens_[Role::kReader])
            .status,
        400u)
        << bad;
  }
}

// docs/openapi.yaml lists exactly the routes the router serves, each with an operationId.
TEST(RestRoutes, MatchTheOpenApiDocument) {
  std::set<std::string> documented;
  for (const auto& [op, codes] : DocumentedOperations()) documented.insert(op);
  std::set<std::string> served;
  for (const RestRoute& r : RestRoutes()) served.insert(std::string(r.method) + " " + std::string(r.path));
  for (const RestRoute& r : OpenRoutes())
    served.insert(std::string(r.method) + " " + std::string(r.path));
  EXPECT_EQ(documented, served);
}

}  // namespace
}  // namespace sensordb::server::rest
