#include "mqtt/topic.h"

#include <fmt/format.h>

#include "mqtt/wire.h"

namespace sensordb::mqtt {
namespace {

constexpr std::string_view kTopicShape = "sensordb/<project>/<device>/lp or .../json";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool PercentDecode(std::string_view text, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out->push_back(text[i]);
      continue;
    }
    const int hi = i + 1 < text.size() ? HexDigit(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? HexDigit(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
    i += 2;
  }
  return true;
}

Status CheckCommon(std::string_view what, std::string_view text) {
  if (text.empty()) return Status::InvalidArgument(fmt::format("{} is empty", what));
  if (text.size() > wire::kMaxStringBytes) {
    return Status::InvalidArgument(fmt::format("{} is longer than 65535 bytes", what));
  }
  if (!IsMqttUtf8(text)) {
    return Status::InvalidArgument(
        fmt::format("{} is not well-formed UTF-8 without U+0000 (spec 1.5.3)", what));
  }
  return Status::Ok();
}

}  // namespace

bool IsMqttUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned c = *p;
    if (c == 0) return false;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t n = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;  // a continuation byte or 0xf8..0xff where a sequence must start
    }
    if (static_cast<size_t>(end - p) <= n) return false;
    for (size_t i = 1; i <= n; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    p += n + 1;
  }
  return true;
}

Status ValidateTopicName(std::string_view topic) {
  SENSORDB_RETURN_IF_ERROR(CheckCommon("topic name", topic));
  if (topic.find_first_of("+#") != std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("topic name '{}' contains a wildcard (+ or #)", topic));
  }
  return Status::Ok();
}

Status ValidateTopicFilter(std::string_view filter) {
  SENSORDB_RETURN_IF_ERROR(CheckCommon("topic filter", filter));
  size_t level_start = 0;
  for (size_t i = 0; i <= filter.size(); ++i) {
    if (i < filter.size() && filter[i] != '/') continue;
    const std::string_view level = filter.substr(level_start, i - level_start);
    const bool has_wildcard = level.find_first_of("+#") != std::string_view::npos;
    if (has_wildcard && level != "+" && level != "#") {
      return Status::InvalidArgument(
          fmt::format("topic filter '{}': a wildcard must be a whole level (spec 4.7.1)", filter));
    }
    if (level == "#" && i != filter.size()) {
      return Status::InvalidArgument(
          fmt::format("topic filter '{}': '#' must be the last level (spec 4.7.1.2)", filter));
    }
    level_start = i + 1;
  }
  return Status::Ok();
}

Result<DeviceTopic> ParseDeviceTopic(std::string_view topic) {
  const auto bad = [&](std::string_view why) {
    return Err(Status::InvalidArgument(
        fmt::format("topic '{}' {}; expected {}", topic, why, kTopicShape)));
  };
  std::string_view levels[4];
  std::string_view rest = topic;
  for (size_t i = 0; i < 4; ++i) {
    const size_t slash = rest.find('/');
    if ((slash == std::string_view::npos) != (i == 3)) return bad("has not four levels");
    levels[i] = rest.substr(0, slash);
    rest.remove_prefix(i == 3 ? rest.size() : slash + 1);
  }
  if (levels[0] != "sensordb") return bad("does not start with sensordb/");
  DeviceTopic out;
  if (levels[3] == "lp") {
    out.format = PayloadFormat::kLineProtocol;
  } else if (levels[3] == "json") {
    out.format = PayloadFormat::kJson;
  } else {
    return bad("ends in neither /lp nor /json");
  }
  if (levels[1].empty()) return bad("has an empty project");
  for (char c : levels[1]) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return bad("has a project name with characters other than a-z, 0-9, '-' and '_'");
    }
  }
  out.project = levels[1];
  if (levels[2].empty()) return bad("has an empty device");
  if (!PercentDecode(levels[2], &out.device)) return bad("has a bad %XX escape in the device");
  return out;
}

std::string FormatDeviceTopic(std::string_view project, std::string_view device,
                              PayloadFormat format) {
  std::string out = fmt::format("sensordb/{}/", project);
  for (char c : device) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '%' || c == '/' || c == '+' || c == '#' || u < 0x20 || u == 0x7f) {
      out += fmt::format("%{:02X}", u);
    } else {
      out.push_back(c);
    }
  }
  out += format == PayloadFormat::kJson ? "/json" : "/lp";
  return out;
}

}  // namespace sensordb::mqtt
