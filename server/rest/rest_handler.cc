// Every JSON value is produced by Boost.JSON; streamed responses only add the punctuation
// between serialized values, so that a result of any size is never held whole.
#include "rest/rest_handler.h"

#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "auth/secret_string.h"
#include "net/request_handler.h"
#include "rest/gzip.h"
#include "rest/influxql.h"
#include "rest/json_text.h"
#include "rest/rest_util.h"
#include "sensordb/formats/line_protocol.h"
#include "sensordb/formats/text_values.h"

namespace sensordb::server::rest {

namespace json = boost::json;

namespace {

constexpr size_t kChunkBytes = 64 * 1024;

std::string_view CodeName(unsigned status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 413: return "payload_too_large";
    case 415: return "unsupported_media_type";
    case 429: return "too_many_requests";
    case 507: return "insufficient_storage";
    default: return "internal_error";
  }
}

// The "code" of InfluxDB 2's error body.
std::string_view InfluxV2Code(unsigned status) {
  switch (status) {
    case 400:
      return "invalid";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not found";
    case 405:
      return "method not allowed";
    case 413:
      return "request too large";
    case 415:
      return "unsupported media type";
    case 429:
      return "too many requests";
    case 507:
      return "unavailable";
    default:
      return "internal error";
  }
}

// 204: done, nothing to say.
RestResponse NoContent() {
  RestResponse r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

// GET /health, answered without a token: InfluxDB's readiness body, without a version.
RestResponse OpenHealth() {
  return Json(json::object{{"name", "sensordb"},
                           {"message", "ready for queries and writes"},
                           {"status", "pass"},
                           {"checks", json::array{}}});
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) ==
                  std::tolower(static_cast<unsigned char>(b));
         });
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The token of an Authorization header: "Bearer T" or "Token T" (any case), or "Basic
// base64(name:T)" with any name, as InfluxDB 2's 1.x compatibility takes it. Empty when the
// header carries none of these. A Basic credential is decoded into `basic`, which the caller
// owns and which wipes it.
std::string_view TokenFromHeader(std::string_view auth, SecretString* basic) {
  constexpr size_t kMaxBasicBytes = 1024;  // base64 of a name and a token, with room to spare
  if (StartsWithIgnoreCase(auth, "Bearer ")) return TrimSpaces(auth.substr(7));
  if (StartsWithIgnoreCase(auth, "Token ")) return TrimSpaces(auth.substr(6));
  if (!StartsWithIgnoreCase(auth, "Basic ")) return {};
  const std::string_view b64 = TrimSpaces(auth.substr(6));
  if (b64.empty() || b64.size() > kMaxBasicBytes) return {};
  unsigned char buf[kMaxBasicBytes];
  size_t n = 0;
  if (sodium_base642bin(buf, sizeof buf, b64.data(), b64.size(), nullptr, &n, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) == 0) {
    const std::string_view decoded(reinterpret_cast<const char*>(buf), n);
    const size_t colon = decoded.find(':');
    if (colon != std::string_view::npos) *basic = SecretString(decoded.substr(colon + 1));
  }
  sodium_memzero(buf, sizeof buf);
  return TrimSpaces(basic->view());
}

Status BadParam(std::string_view name, std::string_view why) {
  return Status::InvalidArgument("parameter '" + std::string(name) + "': " + std::string(why));
}

// Integer nanoseconds or RFC 3339.
Status TimeParam(const Target& t, std::string_view name, int64_t* out) {
  const std::string_view text = Param(t, name);
  if (text.empty()) return Status::Ok();
  int64_t ns = 0;
  if (formats::ParseInt64(text, &ns)) {
    if (ns < kMinTimestamp || ns > kMaxTimestamp + 1) return BadParam(name, "out of range");
    *out = ns;
    return Status::Ok();
  }
  auto parsed = formats::ParseRfc3339(text);
  if (!parsed) {
    return BadParam(name, "expected integer nanoseconds or RFC 3339 (2024-01-01T00:00:00Z), got '" +
                              std::string(text) + "'");
  }
  *out = *parsed;
  return Status::Ok();
}

Result<TimeRange> RangeParams(const Target& t) {
  TimeRange range;
  SENSORDB_RETURN_IF_ERROR(TimeParam(t, "start", &range.start_ns));
  SENSORDB_RETURN_IF_ERROR(TimeParam(t, "end", &range.end_ns));
  if (range.start_ns >= range.end_ns) return Err(BadParam("end", "must be after start"));
  return range;
}

Result<bool> BoolParam(const Target& t, std::string_view name) {
  const std::string_view v = Param(t, name);
  if (v.empty() || v == "false" || v == "0") return false;
  if (v == "true" || v == "1") return true;
  return Err(BadParam(name, "expected true or false, got '" + std::string(v) + "'"));
}

// Buffers JSON text and sends it as chunks of about kChunkBytes; the chunked response starts
// with the first chunk, so that an error before any data still gets its own status.
class JsonStream {
 public:
  explicit JsonStream(ResponseWriter& out) : out_(out) { buf_.reserve(kChunkBytes + 1024); }
  void Raw(std::string_view s) { buf_ += s; }
  void Add(const json::value& v) { AppendJsonText(v, &buf_); }
  bool MaybeFlush() { return buf_.size() < kChunkBytes ? ok_ : Flush(); }
  bool Flush() {
    if (!ok_ || buf_.empty()) return ok_;
    if (!started_) {
      started_ = true;
      ok_ = out_.BeginChunked(200, "application/json");
    }
    if (ok_) ok_ = out_.Chunk(buf_);
    buf_.clear();
    return ok_;
  }
  // Ends the response: `closing` closes every open structure but the outermost object. On an
  // error before anything was sent, the error response replaces the body; after data, the
  // error goes into the body ("error" beside the partial result) and the status stays 200.
  void Finish(const Status& s, std::string_view closing) {
    if (!ok_) return;
    if (!s.ok() && !started_) {
      out_.Send(ErrorResponse(HttpStatusOf(s), s.message()));
      return;
    }
    buf_ += closing;
    if (!s.ok()) {
      json::object e{{"code", CodeName(HttpStatusOf(s))}, {"message", s.message()}};
      buf_ += ",\"error\":" + JsonText(e);
    }
    buf_ += "}\n";
    if (!started_) {
      RestResponse r;
      r.body = std::move(buf_);
      out_.Send(std::move(r));
      return;
    }
    if (Flush()) out_.EndChunked();
  }
  bool ok() const { return ok_; }

 private:
  ResponseWriter& out_;
  std::string buf_;
  bool started_ = false;
  bool ok_ = true;
};

}  // namespace

RestResponse Json(const json::value& v) {
  RestResponse r;
  r.body = JsonText(v);
  r.body += '\n';
  return r;
}

json::value ValueJson(const Value& v) {
  switch (v.type) {
    case ValueType::kInt64:
      return v.i64;
    case ValueType::kBool:
      return v.b;
    case ValueType::kFloat64:
      if (!std::isfinite(v.f64)) return nullptr;  // JSON has no NaN or infinities
      return v.f64;
  }
  return nullptr;
}

json::value NumberJson(double d) {
  if (!std::isfinite(d)) return nullptr;
  return d;
}

// The query parameters a route takes; any other one is a mistake worth a 400.
Status CheckParams(const Target& t, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : t.params) {
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || key == a;
    if (!ok) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return Status::InvalidArgument("unknown parameter '" + key + "' (this route takes: " +
                                     (list.empty() ? "none" : list) + ")");
    }
  }
  return Status::Ok();
}

Result<std::vector<LabelFilter>> WhereParam(const Target& t) {
  const std::string_view where = Param(t, "where");
  if (where.empty()) return std::vector<LabelFilter>();
  auto filters = influxql::ParseTagConditions(where);
  if (!filters) {
    return Err(Status::InvalidArgument("parameter 'where': " + filters.error().message()));
  }
  return filters;
}

Result<bool> StringTimesParam(const Target& t) {
  const std::string_view times = Param(t, "times");
  if (times.empty() || times == "number") return false;
  if (times == "string") return true;
  return Err(Status::InvalidArgument("parameter 'times': expected number or string"));
}

json::value NanosJson(int64_t ns, bool as_string) {
  return as_string ? json::value(std::to_string(ns)) : json::value(ns);
}

std::string_view Param(const Target& t, std::string_view name) {
  auto it = t.params.find(name);
  return it == t.params.end() ? std::string_view() : std::string_view(it->second);
}

Dialect DialectOf(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path.starts_with("/api/v2/")) return Dialect::kInfluxV2;
  if (path == "/write" || path == "/query" || path == "/write/" || path == "/query/") {
    return Dialect::kInfluxV1;
  }
  return Dialect::kSensordb;
}

RestResponse ErrorResponse(unsigned status, std::string_view message, Dialect dialect) {
  RestResponse r;
  switch (dialect) {
    case Dialect::kSensordb:
      r = Json(
          json::object{{"error", json::object{{"code", CodeName(status)}, {"message", message}}}});
      break;
    case Dialect::kInfluxV1:
      r = Json(json::object{{"error", message}});
      break;
    case Dialect::kInfluxV2:
      r = Json(json::object{{"code", InfluxV2Code(status)}, {"message", message}});
      break;
  }
  r.status = status;
  return r;
}

unsigned HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kAlreadyExists:
    case StatusCode::kNotSupported: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kResourceExhausted: return 413;
    // Not 413: an InfluxDB client drops a batch "too large"; a 5xx it keeps and retries.
    case StatusCode::kNoSpace: return 507;
    case StatusCode::kRateLimited: return 429;
    default: return 500;
  }
}

std::optional<size_t> InvalidUtf8At(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    // ASCII, 8 bytes at a time: a line-protocol body is nearly all ASCII.
    if (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlong forms
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
    } else {
      return i;
    }
    if (i + len > n || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (p[i + k] < 0x80 || p[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::nullopt;
}

std::expected<Admitted, RestResponse> RestHandler::Admit(const RequestHead& head) {
  const Dialect dialect = DialectOf(head.target);
  const auto refuse = [&](unsigned status, std::string_view message, RestRefusal why) {
    metrics_.RecordRestRefusal(why);
    RestResponse r = ErrorResponse(status, message, dialect);
    r.close = true;
    return std::unexpected(std::move(r));
  };
  const auto fail = [&](unsigned status, std::string_view message) {
    RestResponse r = ErrorResponse(status, message, dialect);
    r.close = true;
    return std::unexpected(std::move(r));
  };

  // 0. A well-formed request: HTTP/1.1 requires exactly one Host (RFC 9112 section 3.2).
  if (head.version >= 11 && head.hosts != 1) {
    return refuse(400,
                  head.hosts == 0 ? "an HTTP/1.1 request needs a Host header"
                                  : "an HTTP/1.1 request needs exactly one Host header, not " +
                                        std::to_string(head.hosts),
                  RestRefusal::kMalformed);
  }

  // The open routes: a constant answer from the header alone (the connection stays in the
  // pre-authentication pool, a body is never read).
  if (const RestRoute* open = MatchOpenRoute(head.method, head.target)) {
    RestResponse r = open->id == RouteId::kPing ? NoContent() : OpenHealth();
    r.influxdb_version = open->id == RouteId::kPing;
    r.close = head.chunked || head.content_length.value_or(0) > 0;
    return std::unexpected(std::move(r));
  }

  // 1. Who: a token, before anything about the request is looked at, in any of the forms
  // InfluxDB clients send it (docs/REST.md "Listener").
  SecretString basic;  // a decoded Basic credential, wiped when Admit returns
  std::optional<Target> early_target;
  // A token of the p= parameter is wiped when Admit returns (moved into the admitted request,
  // which wipes it there, or refused).
  struct WipeTokenParam {
    std::optional<Target>& target;
    ~WipeTokenParam() {
      if (!target) return;
      if (auto p = target->params.find("p"); p != target->params.end()) {
        sodium_memzero(p->second.data(), p->second.size());
      }
    }
  } wipe_token_param{early_target};
  std::string_view token = TokenFromHeader(head.authorization, &basic);
  if (token.empty() && head.authorization.empty()) {
    early_target = ParseTarget(head.target);
    if (early_target) token = Param(*early_target, "p");  // InfluxDB 1.x: ?u=name&p=token
  }
  if (token.empty()) {
    return refuse(401,
                  "an API token is required: Authorization: Bearer <token> (or Token <token>, "
                  "or HTTP Basic with the token as password)",
                  RestRefusal::kUnauthenticated);
  }
  const int64_t now = WallClockNs();
  AuthResult who = auth_.Authenticate(Credentials::Token(token), head.peer, now);
  if (!who) {
    if (who.error().reason == RefusalReason::kLockedOut) {
      auto r = refuse(429, who.error().message, RestRefusal::kRateLimited);
      r.error().retry_after_s = (who.error().retry_after_ns + 999'999'999) / 1'000'000'000;
      return r;
    }
    if (who.error().reason == RefusalReason::kUnavailable) return fail(500, who.error().message);
    return refuse(401, who.error().message, RestRefusal::kUnauthenticated);
  }
  if (Status s = auth_.Revalidate(*who, now); !s.ok()) {
    return refuse(401, s.message(), RestRefusal::kUnauthenticated);
  }
  const RateDecision rate = auth_.AdmitRequest(*who, now);
  if (!rate.allowed) {
    auto r = refuse(429,
                    "request rate limit of account " + who->name + " exceeded; retry in " +
                        std::to_string((rate.retry_after_ns + 999'999) / 1'000'000) + " ms",
                    RestRefusal::kRateLimited);
    r.error().retry_after_s = std::max<int64_t>(1, (rate.retry_after_ns + 999'999'999) / 1'000'000'000);
    return r;
  }

  // 2. What: the route.
  Admitted a;
  a.principal = std::move(*who);
  auto target = early_target ? std::move(early_target) : ParseTarget(head.target);
  if (!target) return refuse(400, "malformed request target", RestRefusal::kMalformed);
  a.target = std::move(*target);
  // The credential parameters are spent: no route sees them, no error message quotes them.
  a.target.params.erase("u");
  if (auto p = a.target.params.find("p"); p != a.target.params.end()) {
    sodium_memzero(p->second.data(), p->second.size());
    a.target.params.erase(p);
  }
  a.dialect = dialect;
  RouteMatch m = MatchRoute(head.method, a.target.path);
  if (m.kind == RouteMatch::Kind::kNoSuchPath) {
    return fail(404, "no such route: " + a.target.path + " (docs/REST.md lists the routes)");
  }
  if (m.kind == RouteMatch::Kind::kWrongMethod) {
    auto r = fail(405, std::string(head.method) + " is not allowed on " + a.target.path +
                           "; use " + m.allowed);
    r.error().allow = m.allowed;
    return r;
  }
  a.route = m.route;
  const bool write = a.route->id == RouteId::kWriteV1 || a.route->id == RouteId::kWriteV2;
  if (a.route->id == RouteId::kFlush || a.route->id == RouteId::kCompact) {
    if (Status s = auth_.AuthorizeServer(a.principal, Operation::kMaintainStorage); !s.ok()) {
      return fail(HttpStatusOf(s), s.message());
    }
    if (head.content_length.value_or(0) > 0) return fail(400, "this route takes no body");
    a.peer = std::string(head.peer);  // for the audit entry
  }

  // 3. The body's declared size and encoding.
  if (head.content_length && *head.content_length > limits_.max_body_bytes) {
    return refuse(413, "the body of " + std::to_string(*head.content_length) +
                           " bytes exceeds rest.max_body_bytes (" +
                           std::to_string(limits_.max_body_bytes) + ")",
                  RestRefusal::kTooLarge);
  }
  if (write) {
    if (head.content_encoding == "gzip" || head.content_encoding == "x-gzip") {
      a.gzip = true;
    } else if (!head.content_encoding.empty() && head.content_encoding != "identity") {
      return fail(415, "Content-Encoding '" + std::string(head.content_encoding) +
                           "' is not supported (use gzip or none)");
    }
    const std::string_view type = head.content_type.substr(0, head.content_type.find(';'));
    if (!type.empty() && type != "text/plain" && type != "application/octet-stream" &&
        type != "application/x-www-form-urlencoded") {  // curl --data-binary's default
      return fail(415, "Content-Type '" + std::string(type) +
                           "' is not supported (line protocol: text/plain)");
    }
    const std::string_view precision = Param(a.target, "precision");
    if (!precision.empty() && !formats::ParsePrecision(precision, &a.precision)) {
      return fail(400, "parameter 'precision': '" + std::string(precision) +
                           "' is not one of n, ns, u, us, ms, s, m, h");
    }
  }

  // 4. Where: the project, and the caller's right in it. No grant and no project are one 404.
  Operation op = Operation::kQuery;
  if (write) {
    op = Operation::kWrite;
    const std::string_view key = a.route->id == RouteId::kWriteV1 ? "db" : "bucket";
    a.project = std::string(Param(a.target, key));
    if (a.project.empty()) {
      return fail(400, "parameter '" + std::string(key) + "' is required (the project)");
    }
  } else if (a.route->id == RouteId::kInfluxQuery) {
    a.project = std::string(Param(a.target, "db"));  // optional: SHOW DATABASES needs none
    a.csv = head.accept.find("application/csv") != std::string_view::npos ||
            head.accept.find("text/csv") != std::string_view::npos;
  } else {
    a.project = std::move(m.project);
  }
  if (!a.project.empty()) {
    auto project = db_.GetProject(a.project);
    if (!project && project.error().code() != StatusCode::kNotFound) {
      return fail(500, project.error().message());
    }
    const ProjectRef ref{project ? std::optional<uint32_t>(project->id) : std::nullopt,
                         a.project};
    if (Status s = auth_.Authorize(a.principal, op, ref); !s.ok()) {
      return fail(HttpStatusOf(s), s.message());
    }
    if (!project) return fail(404, project.error().message());
    a.project_id = project->id;
  }
  return a;
}

void RestHandler::Handle(const Admitted& r, std::string body, ResponseWriter& out) {
  switch (r.route->id) {
    case RouteId::kHealth: out.Send(Health(r)); return;
    case RouteId::kProjects: out.Send(Projects(r)); return;
    case RouteId::kDevices: out.Send(Devices(r)); return;
    case RouteId::kChannels: out.Send(Channels(r)); return;
    case RouteId::kQueryRaw: QueryRaw(r, out); return;
    case RouteId::kQueryLatest: out.Send(QueryLatest(r)); return;
    case RouteId::kQueryAggregate: QueryAggregate(r, out); return;
    case RouteId::kWriteV1:
    case RouteId::kWriteV2: out.Send(Write(r, std::move(body))); return;
    case RouteId::kFlush:
    case RouteId::kCompact: out.Send(Maintain(r, body)); return;
    case RouteId::kInfluxQuery:
      out.Send(InfluxQuery(r, body));
      return;
    case RouteId::kPing:
    case RouteId::kOpenHealth:
      break;  // answered by Admit
  }
  out.Send(ErrorResponse(500, "unhandled route", r.dialect));
}

RestResponse RestHandler::Maintain(const Admitted& r, const std::string& body) {
  if (Status s = CheckParams(r.target, {}); !s.ok()) return ErrorResponse(400, s.message());
  if (!body.empty()) return ErrorResponse(400, "this route takes no body");
  const Actor actor{r.principal, r.peer, WallClockNs()};
  if (Status s = MaintainStorage(db_, auth_, actor, r.route->id == RouteId::kCompact); !s.ok()) {
    return ErrorResponse(HttpStatusOf(s), s.message());
  }
  return NoContent();
}

RestResponse RestHandler::Health(const Admitted& r) {
  if (Status s = CheckParams(r.target, {}); !s.ok()) return ErrorResponse(400, s.message());
  return Json(json::object{{"status", "ok"}, {"version", SENSORDB_VERSION_STRING}});
}

RestResponse RestHandler::Projects(const Admitted& r) {
  if (Status s = CheckParams(r.target, {}); !s.ok()) return ErrorResponse(400, s.message());
  auto all = db_.ListProjects();
  if (!all) return ErrorResponse(HttpStatusOf(all.error()), all.error().message());
  json::array list;
  for (const ProjectInfo& p : *all) {
    auto role = auth_.grants().RoleOf(r.principal.name, p.id);
    if (!role) return ErrorResponse(500, role.error().message());
    if (!role->has_value()) continue;  // only projects the caller has a grant in
    list.push_back(json::object{{"name", p.name},
                                {"id", p.id},
                                {"role", RoleName(**role)},
                                {"retention_days", p.retention_days}});
  }
  return Json(json::object{{"projects", std::move(list)}});
}

RestResponse RestHandler::Devices(const Admitted& r) {
  if (Status s = CheckParams(r.target, {}); !s.ok()) return ErrorResponse(400, s.message());
  auto devices = db_.ListDevices(r.project);
  if (!devices) return ErrorResponse(HttpStatusOf(devices.error()), devices.error().message());
  json::array list;
  for (const DeviceInfo& d : *devices) {
    list.push_back(json::object{
        {"name", d.name}, {"model", d.model}, {"firmware_version", d.firmware_version}});
  }
  return Json(json::object{{"project", r.project}, {"devices", std::move(list)}});
}

RestResponse RestHandler::Channels(const Admitted& r) {
  if (Status s = CheckParams(r.target, {"device"}); !s.ok()) return ErrorResponse(400, s.message());
  auto channels = db_.ListChannels(r.project, Param(r.target, "device"));
  if (!channels) return ErrorResponse(HttpStatusOf(channels.error()), channels.error().message());
  json::array list;
  for (const ChannelInfo& c : *channels) {
    list.push_back(json::object{{"device", c.device},
                                {"name", c.name},
                                {"unit", c.unit},
                                {"type", ValueTypeName(c.type)}});
  }
  return Json(json::object{{"project", r.project}, {"channels", std::move(list)}});
}

void RestHandler::QueryRaw(const Admitted& r, ResponseWriter& out) {
  Status s =
      CheckParams(r.target, {"device", "channel", "start", "end", "limit", "where", "times"});
  auto range = s.ok() ? RangeParams(r.target) : Result<TimeRange>(Err(s));
  if (!range) {
    out.Send(ErrorResponse(HttpStatusOf(range.error()), range.error().message()));
    return;
  }
  auto where = WhereParam(r.target);
  auto string_times = StringTimesParam(r.target);
  if (!where || !string_times) {
    out.Send(ErrorResponse(400, (!where ? where.error() : string_times.error()).message()));
    return;
  }
  uint64_t limit = 0;
  if (const std::string_view l = Param(r.target, "limit"); !l.empty()) {
    int64_t v = 0;
    if (!formats::ParseInt64(l, &v) || v < 0) {
      out.Send(ErrorResponse(400, "parameter 'limit': expected a non-negative integer"));
      return;
    }
    limit = static_cast<uint64_t>(v);
  }
  const Selector selector{std::string(Param(r.target, "device")),
                          std::string(Param(r.target, "channel")), std::move(*where)};
  // {"project":P,"series":[{"device":D,"channel":C,"type":T,"points":[[t,v],...]},...],
  //  "count":N,"truncated":B}
  JsonStream js(out);
  js.Raw("{\"project\":");
  js.Add(json::value(r.project));
  js.Raw(",\"series\":[");
  uint64_t count = 0;
  bool truncated = false;
  bool in_series = false;
  bool first_point = true;
  uint64_t current = 0;
  s = db_.QueryRaw(r.project, selector, *range, [&](const SeriesRef& series, const PointRun& run) {
    if (!in_series || series.series_id != current) {
      js.Raw(in_series ? "]},{\"device\":" : "{\"device\":");
      in_series = true;
      first_point = true;
      current = series.series_id;
      js.Add(json::value(series.device));
      js.Raw(",\"channel\":");
      js.Add(json::value(series.channel));
      js.Raw(",\"type\":");
      js.Add(json::value(ValueTypeName(series.type)));
      js.Raw(",\"points\":[");
    }
    for (size_t i = 0; i < run.size(); ++i) {
      if (limit != 0 && count >= limit) {
        truncated = true;
        return false;
      }
      js.Raw(first_point ? "[" : ",[");
      first_point = false;
      js.Add(NanosJson(run.timestamps[i], *string_times));
      js.Raw(",");
      js.Add(ValueJson(run.value(i)));
      js.Raw("]");
      ++count;
      if (!js.MaybeFlush()) return false;
    }
    return true;
  });
  std::string closing = in_series ? "]}]" : "]";
  closing += ",\"count\":" + JsonText(json::value(count));
  closing += ",\"truncated\":" + JsonText(json::value(truncated));
  js.Finish(s, closing);
}

RestResponse RestHandler::QueryLatest(const Admitted& r) {
  if (Status s = CheckParams(r.target, {"device", "channel"}); !s.ok()) {
    return ErrorResponse(400, s.message());
  }
  std::vector<std::string> devices;
  if (const std::string_view d = Param(r.target, "device"); !d.empty()) {
    devices.emplace_back(d);
  } else {
    auto all = db_.ListDevices(r.project);
    if (!all) return ErrorResponse(HttpStatusOf(all.error()), all.error().message());
    for (DeviceInfo& info : *all) devices.push_back(std::move(info.name));
  }
  const std::string_view channel = Param(r.target, "channel");
  json::array points;
  for (const std::string& device : devices) {
    auto latest = db_.Latest(r.project, device);
    if (!latest) return ErrorResponse(HttpStatusOf(latest.error()), latest.error().message());
    for (const LatestPoint& p : *latest) {
      if (!channel.empty() && p.channel != channel) continue;
      points.push_back(json::object{{"device", device},
                                    {"channel", p.channel},
                                    {"type", ValueTypeName(p.value.type)},
                                    {"time", p.timestamp_ns},
                                    {"value", ValueJson(p.value)}});
    }
  }
  return Json(json::object{{"project", r.project}, {"points", std::move(points)}});
}

void RestHandler::QueryAggregate(const Admitted& r, ResponseWriter& out) {
  Status s = CheckParams(r.target, {"device", "channel", "start", "end", "every", "fn",
                                    "per_series", "where", "group_by", "times"});
  auto range = s.ok() ? RangeParams(r.target) : Result<TimeRange>(Err(s));
  if (!range) {
    out.Send(ErrorResponse(HttpStatusOf(range.error()), range.error().message()));
    return;
  }
  auto where = WhereParam(r.target);
  auto string_times = StringTimesParam(r.target);
  if (!where || !string_times) {
    out.Send(ErrorResponse(400, (!where ? where.error() : string_times.error()).message()));
    return;
  }
  AggregateQuery q;
  q.selector = {std::string(Param(r.target, "device")), std::string(Param(r.target, "channel")),
                std::move(*where)};
  q.range = *range;
  // group_by=site,room: label keys (docs/LABELS.md).
  for (std::string_view keys = Param(r.target, "group_by"); !keys.empty();) {
    const size_t comma = keys.find(',');
    const std::string_view key = keys.substr(0, comma);
    if (key.empty()) {
      out.Send(ErrorResponse(400, "parameter 'group_by': an empty label key"));
      return;
    }
    q.group_by.emplace_back(key);
    keys = comma == std::string_view::npos ? std::string_view() : keys.substr(comma + 1);
  }
  if (const std::string_view every = Param(r.target, "every"); !every.empty()) {
    auto ns = formats::ParseDuration(every);
    if (!ns) {
      out.Send(ErrorResponse(400, "parameter 'every': " + ns.error().message()));
      return;
    }
    q.bucket_ns = *ns;
  }
  auto per_series = BoolParam(r.target, "per_series");
  if (!per_series) {
    out.Send(ErrorResponse(400, per_series.error().message()));
    return;
  }
  q.per_series = *per_series;
  std::vector<Aggregation> fns;
  std::string_view list = Param(r.target, "fn");
  if (list.empty()) list = "mean";
  for (size_t start = 0; start <= list.size();) {
    size_t end = list.find(',', start);
    if (end == std::string_view::npos) end = list.size();
    const std::string_view name = list.substr(start, end - start);
    Aggregation a{};
    if (!ParseAggregation(name, &a)) {
      out.Send(ErrorResponse(400, "parameter 'fn': unknown function '" + std::string(name) +
                                      "' (use count, sum, mean, min, max, first, last)"));
      return;
    }
    if (std::find(fns.begin(), fns.end(), a) == fns.end()) fns.push_back(a);  // fn=mean,mean
    start = end + 1;
  }
  // {"project":P,"every":ns,"fn":[...],"rows":[{"start":t,["device","channel",]"count":n,
  //  "<fn>":x,...},...],"count":N}
  JsonStream js(out);
  json::array fn_names;
  for (Aggregation a : fns) fn_names.push_back(json::value(AggregationName(a)));
  js.Raw("{\"project\":");
  js.Add(json::value(r.project));
  js.Raw(",\"every\":");
  js.Add(json::value(q.bucket_ns));
  js.Raw(",\"fn\":");
  js.Add(fn_names);
  js.Raw(",\"rows\":[");
  // Rows are written as text, not built as objects (3000 per-series rows cost 4 ms as objects);
  // a series' "device" and "channel" are escaped once for all its rows.
  std::vector<std::string> fn_keys;
  for (Aggregation a : fns) {
    if (a == Aggregation::kCount) continue;
    fn_keys.push_back(",\"" + std::string(AggregationName(a)) + "\":");
  }
  uint64_t rows = 0;
  std::optional<uint64_t> series_id;
  std::string series_text;
  // One bucket over a range without a start begins nowhere: "start" is null.
  const bool unbounded =
      q.bucket_ns == 0 && q.range.start_ns == std::numeric_limits<int64_t>::min();
  s = db_.Aggregate(r.project, q, [&](const AggregateRow& row) {
    js.Raw(rows++ == 0 ? "{\"start\":" : ",{\"start\":");
    js.Add(unbounded ? json::value(nullptr) : NanosJson(row.bucket_start_ns, *string_times));
    if (!q.group_by.empty()) {
      json::object labels;
      for (size_t i = 0; i < q.group_by.size() && i < row.group.size(); ++i) {
        labels[q.group_by[i]] = row.group[i];
      }
      js.Raw(",\"labels\":");
      js.Add(labels);
    }
    if (row.series != nullptr) {
      if (series_id != row.series->series_id) {
        series_id = row.series->series_id;
        series_text = ",\"device\":" + JsonText(json::value(row.series->device)) +
                      ",\"channel\":" + JsonText(json::value(row.series->channel));
      }
      js.Raw(series_text);
    }
    js.Raw(",\"count\":");
    js.Add(json::value(row.count));
    size_t k = 0;
    for (Aggregation a : fns) {
      if (a == Aggregation::kCount) continue;
      js.Raw(fn_keys[k++]);
      js.Add(NumberJson(row.Get(a)));
    }
    js.Raw("}");
    return js.MaybeFlush();
  });
  js.Finish(s, "],\"count\":" + JsonText(json::value(rows)));
}

RestResponse RestHandler::Write(const Admitted& r, std::string body) {
  const size_t received = body.size();
  if (r.gzip) {
    auto inflated = Gunzip(body, limits_.max_body_bytes);
    if (!inflated) {
      const bool big = inflated.error().code() == StatusCode::kResourceExhausted;
      metrics_.RecordRestRefusal(big ? RestRefusal::kTooLarge : RestRefusal::kMalformed);
      return ErrorResponse(big ? 413 : 400, inflated.error().message(), r.dialect);
    }
    body = std::move(*inflated);
  }
  if (auto bad = InvalidUtf8At(body)) {
    size_t line = 1;
    for (size_t i = 0; i < *bad; ++i) line += body[i] == '\n';
    metrics_.RecordRestRefusal(RestRefusal::kMalformed);
    return ErrorResponse(400,
                         "line " + std::to_string(line) + ": not valid UTF-8 (byte " +
                             std::to_string(*bad) + " of the body)",
                         r.dialect);
  }
  formats::PayloadOptions options;
  options.default_timestamp_ns = WallClockNs();
  options.precision = r.precision;
  options.limits.max_payload_bytes = limits_.max_body_bytes;
  options.limits.max_points = limits_.max_write_points;
  options.limits.max_lines = limits_.max_write_points;
  WriteBatch batch;
  if (Status s = formats::ParseLineProtocolPayload(body, options, batch); !s.ok()) {
    if (s.code() == StatusCode::kResourceExhausted) {
      metrics_.RecordRestRefusal(RestRefusal::kTooLarge);
    }
    return ErrorResponse(HttpStatusOf(s), s.message(), r.dialect);
  }
  if (Status s = db_.Write(r.project, r.project_id, batch); !s.ok()) {
    metrics_.RecordWriteError(s);
    RestResponse refused = ErrorResponse(HttpStatusOf(s), s.message(), r.dialect);
    if (s.code() == StatusCode::kNoSpace) refused.retry_after_s = kNoSpaceRetryAfterS;
    if (s.code() == StatusCode::kRateLimited) refused.retry_after_s = kRateQuotaRetryAfterS;
    return refused;
  }
  metrics_.RecordRestWrite(batch.points(), received);
  return NoContent();
}

}  // namespace sensordb::server::rest
