#include "line_protocol_bodies.h"

#include <fmt/compile.h>
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>

#include "fleet.h"

namespace sensordb::bench {
namespace {

// Timestamps are generated this many at a time, so the values held stay bounded by
// devices x channels x kBlockPoints whatever the number of points.
constexpr int64_t kBlockPoints = 1000;
// The longest text of a double fmt prints ("-2.2250738585072014e-308").
constexpr size_t kMaxNumberChars = 32;

}  // namespace

std::vector<LineProtocolBody> FormatLineProtocolBodies(const LineProtocolPlan& plan) {
  Fleet fleet(plan.devices, plan.channels);
  std::vector<int> devices;
  std::vector<std::string> prefixes;  // "env,device=logger-00007 "
  for (int d = plan.slice; d < plan.devices; d += plan.slices) {
    devices.push_back(d);
    std::string tags;
    if (plan.labels)
      tags = ",room=" + std::to_string(d % 50) + ",site=site-" + std::to_string(d % 10);
    prefixes.push_back(plan.measurement + ",device=" + fleet.DeviceName(d) + tags + " ");
  }
  std::vector<std::string> keys;  // "temperature=", ",humidity=", ...
  size_t max_line = 1 + 20 + 1;   // ' ', timestamp, '\n'
  for (int c = 0; c < plan.channels; ++c) {
    keys.push_back((c ? "," : "") + fleet.ChannelName(c) + "=");
    max_line += keys.back().size() + kMaxNumberChars;
  }
  size_t longest_prefix = 0;
  for (const auto& p : prefixes) longest_prefix = std::max(longest_prefix, p.size());
  std::vector<char> line(max_line + longest_prefix);

  std::vector<LineProtocolBody> bodies;
  LineProtocolBody body;
  size_t body_reserve = 0;  // the size of the first full body, once known
  auto cut = [&] {
    body_reserve = std::max(body_reserve, body.data.size() + body.data.size() / 16);
    bodies.push_back(std::move(body));
    body = LineProtocolBody{};
    body.data.reserve(body_reserve);
  };

  const size_t series = devices.size() * size_t(plan.channels);
  std::vector<std::vector<double>> values(series);
  std::vector<int64_t> ts;
  for (int64_t first = 0; first < plan.points_per_series; first += kBlockPoints) {
    const int64_t n = std::min(kBlockPoints, plan.points_per_series - first);
    for (size_t k = 0; k < devices.size(); ++k) {
      for (int c = 0; c < plan.channels; ++c) {
        fleet.Points(devices[k], c, first, n, &ts, &values[k * plan.channels + c]);
      }
    }
    for (int64_t i = 0; i < n; ++i) {
      const fmt::format_int ts_text(ts[size_t(i)]);  // the same instants for every series
      for (size_t k = 0; k < devices.size(); ++k) {
        char* p = std::copy(prefixes[k].begin(), prefixes[k].end(), line.data());
        for (int c = 0; c < plan.channels; ++c) {
          p = std::copy(keys[size_t(c)].begin(), keys[size_t(c)].end(), p);
          p = fmt::format_to(p, FMT_COMPILE("{}"), values[k * plan.channels + c][size_t(i)]);
        }
        *p++ = ' ';
        p = std::copy(ts_text.data(), ts_text.data() + ts_text.size(), p);
        *p++ = '\n';
        body.data.append(line.data(), size_t(p - line.data()));
        if (++body.lines == uint32_t(plan.lines_per_body)) cut();
      }
    }
  }
  if (body.lines > 0) bodies.push_back(std::move(body));
  return bodies;
}

Result<std::string> GzipCompress(std::string_view data, int level) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Err(Status::Internal(fmt::format("zlib deflateInit2 failed at level {}", level)));
  }
  std::string out(deflateBound(&z, uLong(data.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = uInt(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    return Err(Status::Internal(fmt::format("zlib deflate did not finish (code {})", rc)));
  }
  return out;
}

}  // namespace sensordb::bench
