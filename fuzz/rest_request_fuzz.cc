// HTTP requests as the REST listener hands them to RestHandler: Beast parses the bytes (the
// listener's header and body limits), the head is admitted (token, rate limit, route, grant,
// declared size and encoding) and an admitted request runs against a real database in a
// temporary directory, its response discarded. `$OWNER` and `$READER` in the input stand for
// valid tokens of an owner and a reader of project `plant`, so that seeds reach the handlers
// behind authentication; libFuzzer's mutations of them try everything else.
// SENSORDB_FUZZ_VERBOSE=1 prints each request's status (to check that a seed gets through).
#include <unistd.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "auth/auth_service.h"
#include "net/metrics.h"
#include "rest/request_head.h"
#include "rest/rest_handler.h"
#include "sensordb/db.h"
#include "sensordb/keys.h"

namespace sensordb::server::rest {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

const bool kVerbose = std::getenv("SENSORDB_FUZZ_VERBOSE") != nullptr;

void Report(unsigned status, std::string_view body) {
  if (kVerbose) std::fprintf(stderr, "%u %.*s\n", status, int(body.size()), body.data());
}

class DiscardWriter : public ResponseWriter {
 public:
  bool Send(RestResponse r) override {
    Report(r.status, r.body.substr(0, 200));
    return true;
  }
  bool BeginChunked(unsigned status, std::string_view) override {
    Report(status, "(chunked)");
    return true;
  }
  bool Chunk(std::string_view) override { return true; }
  bool EndChunked() override { return true; }
};

[[noreturn]] void Die(const char* what, const Status& s) {
  std::fprintf(stderr, "rest_request_fuzz: %s: %s\n", what, s.ToString().c_str());
  std::abort();
}

std::string& WorldDir() {
  static std::string dir;
  return dir;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A database with project `plant` and two service accounts, in a directory removed at exit
// (under /dev/shm when it exists, so that synced writes cost no disk flush).
struct World {
  World() {
    const std::filesystem::path base = std::filesystem::exists("/dev/shm")
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    std::string tmpl = (base / "sensordb-fuzz-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    WorldDir() = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(WorldDir(), ec);
    });
    const std::string key = tmpl + "/master.key";
    if (Status s = CreateKeyFile(key); !s.ok()) Die("key file", s);
    Options options;
    options.key.key_file = key;
    options.maintenance_interval_ms = 0;
    auto d = DB::Open(options, tmpl + "/data");
    if (!d) Die("open", d.error());
    db = std::move(*d);
    AuthOptions auth_options;
    auth_options.password_cost = PasswordCost::Minimum();
    auth_options.request_rate.requests_per_s = 1e9;  // the fuzzer is one very fast client
    auth_options.request_rate.burst = 1e9;
    auto a = AuthService::Open(db->System(), auth_options);
    if (!a) Die("auth", a.error());
    auth = std::move(*a);
    static const Principal admin{"admin", PrincipalKind::kServiceAccount, true, {}, 0};
    const Actor actor{admin, "fuzz", NowNs()};
    auto p = db->CreateProject("plant");
    if (!p) Die("project", p.error());
    if (Status s = auth->ProjectCreated(actor, p->id, "plant"); !s.ok()) Die("project", s);
    for (auto [role, token] : {std::pair{Role::kOwner, &owner_token},
                               std::pair{Role::kReader, &reader_token}}) {
      const std::string name = "svc-" + std::string(RoleName(role));
      if (Status s = auth->accounts().CreateServiceAccount(actor, name); !s.ok()) Die("account", s);
      if (Status s = auth->grants().SetGrant(actor, {p->id, "plant"}, name, role); !s.ok()) {
        Die("grant", s);
      }
      auto t = auth->accounts().IssueToken(actor, name, 0);
      if (!t) Die("token", t.error());
      *token = std::string(t->text.view());
    }
    handler = std::make_unique<RestHandler>(*db, *auth, metrics, RestLimits{1 << 20, 100'000});
  }

  std::unique_ptr<DB> db;
  std::unique_ptr<AuthService> auth;
  ServerMetrics metrics;
  std::unique_ptr<RestHandler> handler;
  std::string owner_token;
  std::string reader_token;
};

World& TheWorld() {
  static World* world = new World;  // never destroyed: the process exits from libFuzzer
  return *world;
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

void RunRequest(std::string bytes) {
  World& w = TheWorld();
  ReplaceAll(bytes, "$OWNER", w.owner_token);
  ReplaceAll(bytes, "$READER", w.reader_token);
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);  // rest.header_limit_bytes
  parser.body_limit(1 << 20);
  parser.eager(true);
  beast::error_code ec;
  beast::flat_buffer buffer;
  buffer.commit(boost::asio::buffer_copy(buffer.prepare(bytes.size()),
                                         boost::asio::buffer(bytes)));
  while (!ec && !parser.is_done() && buffer.size() > 0) {
    const size_t used = parser.put(buffer.data(), ec);
    if (used == 0 && !ec) break;
    buffer.consume(used);
  }
  if (ec || !parser.is_header_done()) {
    Report(400, ec ? ec.message() : "incomplete head");
    return;
  }
  std::optional<uint64_t> length;
  if (auto n = parser.content_length()) length = *n;
  const RequestHead head = HeadOf(parser.get(), length, "127.0.0.1");
  auto admitted = w.handler->Admit(head);
  if (!admitted) return Report(admitted.error().status, admitted.error().body);
  if (!parser.is_done()) return Report(400, "incomplete body");
  DiscardWriter out;
  w.handler->Handle(*admitted, parser.release().body(), out);
}

}  // namespace
}  // namespace sensordb::server::rest

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)sensordb::server::rest::TheWorld();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sensordb::server::rest::RunRequest(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
