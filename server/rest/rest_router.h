// The REST API's routes (docs/REST.md, docs/openapi.yaml): the route table, the parsing of a
// request target into a path and its query parameters, and the match of a method and path to
// a route. Pure functions over constants; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sensordb::server::rest {

enum class RouteId : uint8_t {
  kHealth,
  kProjects,
  kDevices,
  kChannels,
  kQueryRaw,
  kQueryLatest,
  kQueryAggregate,
  kWriteV1,      // InfluxDB 1.x: POST /write?db=
  kWriteV2,      // InfluxDB 2.x: POST /api/v2/write?bucket=
  kFlush,        // POST /api/v1/admin/flush (superuser)
  kCompact,      // POST /api/v1/admin/compact (superuser)
  kInfluxQuery,  // InfluxDB 1.x: GET or POST /query?db=&q= (InfluxQL)
  kPing,         // open: GET or HEAD /ping (InfluxDB clients' liveness check)
  kOpenHealth,   // open: GET /health (InfluxDB's readiness check)
};

struct RestRoute {
  RouteId id;
  std::string_view method;  // "GET", "POST"
  std::string_view path;    // a template: "/api/v1/projects/{project}/devices"
};

// Every route the listener serves after authentication; docs/openapi.yaml lists exactly these
// and the open routes (rest_test.cc).
std::span<const RestRoute> RestRoutes();
// The routes answered without a token, before anything else is looked at: constant answers
// that reveal nothing but that the server is up (docs/REST.md "Open routes").
std::span<const RestRoute> OpenRoutes();
// The open route of `method` and the raw request target's path, or nullptr.
const RestRoute* MatchOpenRoute(std::string_view method, std::string_view target);

// A request target split into its percent-decoded path and query parameters (the first value
// of a repeated parameter wins). nullopt when the target is not an origin-form path or its
// percent-encoding is broken.
struct Target {
  std::string path;
  std::map<std::string, std::string, std::less<>> params;
};
std::optional<Target> ParseTarget(std::string_view target);

struct RouteMatch {
  enum class Kind : uint8_t { kFound, kNoSuchPath, kWrongMethod };
  Kind kind = Kind::kNoSuchPath;
  const RestRoute* route = nullptr;
  std::string project;  // the {project} segment, when the template has one
  std::string allowed;  // kWrongMethod: the Allow header ("GET")
};
RouteMatch MatchRoute(std::string_view method, std::string_view path);

}  // namespace sensordb::server::rest
