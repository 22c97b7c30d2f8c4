#include "sensordb/names.h"

#include <cstdint>
#include <string>

namespace sensordb {

bool IsUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80           ? 1
                     : (c >> 5) == 0x6  ? 2
                     : (c >> 4) == 0xe  ? 3
                     : (c >> 3) == 0x1e ? 4
                                        : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

Status ValidateProjectName(std::string_view name) {
  if (name.empty() || name.size() > kMaxProjectNameBytes) {
    return Status::InvalidArgument("project name must be 1-64 characters, got " +
                                   std::to_string(name.size()));
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) {
      return Status::InvalidArgument("project name '" + std::string(name) +
                                     "' may only use a-z, 0-9, '-' and '_'");
    }
  }
  if (name[0] == '-' || name[0] == '_') {
    return Status::InvalidArgument("project name '" + std::string(name) +
                                   "' must start with a letter or digit");
  }
  return Status::Ok();
}

Status ValidateObjectName(std::string_view what, std::string_view name) {
  if (name.empty() || name.size() > kMaxObjectNameBytes) {
    return Status::InvalidArgument(std::string(what) + " name must be 1-255 bytes, got " +
                                   std::to_string(name.size()));
  }
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Status::InvalidArgument(std::string(what) + " name contains a control character");
    }
  }
  if (!IsUtf8(name)) return Status::InvalidArgument(std::string(what) + " name is not UTF-8");
  return Status::Ok();
}

}  // namespace sensordb
