#include "rest/rest_router.h"

#include <array>
#include <vector>

namespace sensordb::server::rest {

namespace {

constexpr std::array<RestRoute, 13> kRoutes = {{
    {RouteId::kHealth, "GET", "/api/v1/health"},
    {RouteId::kProjects, "GET", "/api/v1/projects"},
    {RouteId::kDevices, "GET", "/api/v1/projects/{project}/devices"},
    {RouteId::kChannels, "GET", "/api/v1/projects/{project}/channels"},
    {RouteId::kQueryRaw, "GET", "/api/v1/projects/{project}/query/raw"},
    {RouteId::kQueryLatest, "GET", "/api/v1/projects/{project}/query/latest"},
    {RouteId::kQueryAggregate, "GET", "/api/v1/projects/{project}/query/aggregate"},
    {RouteId::kWriteV1, "POST", "/write"},
    {RouteId::kWriteV2, "POST", "/api/v2/write"},
    {RouteId::kFlush, "POST", "/api/v1/admin/flush"},
    {RouteId::kCompact, "POST", "/api/v1/admin/compact"},
    {RouteId::kInfluxQuery, "GET", "/query"},
    {RouteId::kInfluxQuery, "POST", "/query"},
}};

constexpr std::array<RestRoute, 3> kOpenRoutes = {{
    {RouteId::kPing, "GET", "/ping"},
    {RouteId::kPing, "HEAD", "/ping"},
    {RouteId::kOpenHealth, "GET", "/health"},
}};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; `plus_is_space` for query components (application/x-www-form-urlencoded).
std::optional<std::string> Decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t at = s.find(sep, start);
    parts.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

// Matches the decoded path against a template; fills `project` for a {project} segment.
bool Matches(std::string_view tmpl, std::string_view path, std::string* project) {
  const auto t = Split(tmpl, '/');
  const auto p = Split(path, '/');
  if (t.size() != p.size()) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == "{project}") {
      if (p[i].empty()) return false;
      *project = std::string(p[i]);
    } else if (t[i] != p[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::span<const RestRoute> RestRoutes() { return kRoutes; }
std::span<const RestRoute> OpenRoutes() { return kOpenRoutes; }

const RestRoute* MatchOpenRoute(std::string_view method, std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  for (const RestRoute& r : kOpenRoutes) {
    if (r.method == method && r.path == path) return &r;
  }
  return nullptr;
}

std::optional<Target> ParseTarget(std::string_view target) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  Target out;
  const size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  // A trailing slash names the same resource ("/api/v1/projects/").
  if (raw_path.size() > 1 && raw_path.back() == '/') raw_path.remove_suffix(1);
  // Segments are split before decoding, so "%2F" stays inside its segment.
  for (std::string_view segment : Split(raw_path.substr(1), '/')) {
    auto decoded = Decode(segment, false);
    if (!decoded || decoded->find('/') != std::string::npos) return std::nullopt;
    out.path += "/" + *decoded;
  }
  if (q == std::string_view::npos) return out;
  for (std::string_view pair : Split(target.substr(q + 1), '&')) {
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto key = Decode(pair.substr(0, eq), true);
    auto value = Decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!key || !value) return std::nullopt;
    out.params.emplace(std::move(*key), std::move(*value));  // the first value wins
  }
  return out;
}

RouteMatch MatchRoute(std::string_view method, std::string_view path) {
  RouteMatch m;
  for (const RestRoute& r : kRoutes) {
    std::string project;
    if (!Matches(r.path, path, &project)) continue;
    if (r.method == method) {
      m.kind = RouteMatch::Kind::kFound;
      m.route = &r;
      m.project = std::move(project);
      return m;
    }
    m.kind = RouteMatch::Kind::kWrongMethod;
    m.allowed += (m.allowed.empty() ? "" : ", ") + std::string(r.method);
  }
  return m;
}

}  // namespace sensordb::server::rest
