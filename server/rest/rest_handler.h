// RestHandler: what a REST request does, independent of sockets. Admit() runs on the header
// alone — authentication (API tokens only), the per-principal rate limit, the route, the
// project grant and the body's declared size and encoding — so that nothing is read or done
// for a refused request. Handle() runs the admitted request with its body and writes the
// response (whole, or chunked while a query runs) to a ResponseWriter. Borrows the DB, the
// AuthService and the ServerMetrics, which must outlive it. Thread-safe (no mutable state):
// the listener calls it from its worker threads.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "auth/auth_service.h"
#include "net/metrics.h"
#include "rest/rest_router.h"
#include "sensordb/db.h"
#include "sensordb/formats/text_values.h"

namespace sensordb::server::rest {

// A whole response. JSON unless content_type says otherwise.
struct RestResponse {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  bool close = false;             // Connection: close (the request body was left unread)
  int64_t retry_after_s = 0;      // 429: the Retry-After header
  std::string allow;              // 405: the Allow header
  bool influxdb_version = false;  // the X-Influxdb-Version header (/ping)
};

// The version InfluxDB 1.x clients are told they talk to (X-Influxdb-Version): the 1.x API
// whose write and query endpoints sensordb answers (docs/REST.md).
inline constexpr std::string_view kInfluxDbVersion = "1.8.10";

// The error body's shape, by the family of the path (docs/REST.md "Errors"):
//   kSensordb  /api/v1/...     {"error":{"code":"bad_request","message":"..."}}
//   kInfluxV1  /write, /query  {"error":"..."}
//   kInfluxV2  /api/v2/...     {"code":"invalid","message":"..."}
enum class Dialect : uint8_t { kSensordb, kInfluxV1, kInfluxV2 };
Dialect DialectOf(std::string_view path_or_target);

// An error body in `dialect` with `status`.
RestResponse ErrorResponse(unsigned status, std::string_view message,
                           Dialect dialect = Dialect::kSensordb);

// Where a handler writes its response. Each call blocks until the bytes are handed to the
// connection (bounded by the listener's send timeout); false when the connection is gone, and
// the handler then stops.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  virtual bool Send(RestResponse response) = 0;
  virtual bool BeginChunked(unsigned status, std::string_view content_type) = 0;
  virtual bool Chunk(std::string_view data) = 0;
  virtual bool EndChunked() = 0;
};

// What the header of a request says.
struct RequestHead {
  std::string_view method;
  std::string_view target;
  std::string_view authorization;
  std::string_view content_encoding;
  std::string_view content_type;
  std::string_view accept;
  std::optional<uint64_t> content_length;  // absent for chunked bodies
  std::string_view peer;                   // the client's address
  unsigned version = 11;                   // HTTP/1.1 is 11
  size_t hosts = 1;                        // how many Host fields the header has
  bool chunked = false;                    // a Transfer-Encoding (chunked): a body follows
};

struct Admitted {
  Principal principal;
  const RestRoute* route = nullptr;
  Target target;
  std::string peer;         // admin routes: the client's address, for the audit log
  std::string project;      // project routes: the project's name (authorised)
  uint32_t project_id = 0;  // and its id: a write lands in no other of the same name
  Dialect dialect = Dialect::kSensordb;  // of the error bodies
  bool csv = false;                      // /query: Accept asks for CSV
  bool gzip = false;
  formats::Precision precision = formats::Precision::kNanoseconds;  // writes
};

struct RestLimits {
  uint64_t max_body_bytes = 32 * 1024 * 1024;
  uint32_t max_write_points = 1024 * 1024;
};

class RestHandler {
 public:
  RestHandler(DB& db, AuthService& auth, ServerMetrics& metrics, RestLimits limits)
      : db_(db), auth_(auth), metrics_(metrics), limits_(limits) {}

  // The refusal (sent before the body is read; close set when the body must stay unread) or
  // the admitted request.
  std::expected<Admitted, RestResponse> Admit(const RequestHead& head);
  // The admitted request's work; its response goes to `out`. `body` as received (possibly
  // gzip).
  void Handle(const Admitted& request, std::string body, ResponseWriter& out);

 private:
  RestResponse Health(const Admitted& r);
  RestResponse Projects(const Admitted& r);
  RestResponse Devices(const Admitted& r);
  RestResponse Channels(const Admitted& r);
  void QueryRaw(const Admitted& r, ResponseWriter& out);
  RestResponse QueryLatest(const Admitted& r);
  void QueryAggregate(const Admitted& r, ResponseWriter& out);
  RestResponse InfluxQuery(const Admitted& r, const std::string& body);
  RestResponse Write(const Admitted& r, std::string body);
  RestResponse Maintain(const Admitted& r, const std::string& body);

  DB& db_;
  AuthService& auth_;
  ServerMetrics& metrics_;
  const RestLimits limits_;
};

// The HTTP status of an error: 400, 403, 404, 413 (a size limit), 429 (a rate bound), 507 (the
// disk is full), 500.
unsigned HttpStatusOf(const Status& status);
// Retry-After of a 507: the data disk needs an operator, not a quick retry.
inline constexpr int64_t kNoSpaceRetryAfterS = 30;
// Retry-After of a write refused by the new-series rate quota: its window, so an upper bound
// (the message says the exact wait).
inline constexpr int64_t kRateQuotaRetryAfterS = 60;

// Where `text` stops being UTF-8 (its byte offset), or nullopt when it is valid throughout.
std::optional<size_t> InvalidUtf8At(std::string_view text);

}  // namespace sensordb::server::rest
