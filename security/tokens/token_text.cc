#include "tokens/token_text.h"

namespace sensordb {
namespace {

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

bool IsValidTokenId(std::string_view id) {
  if (id.size() != kTokenIdChars) return false;
  for (char c : id) {
    if (kTokenIdAlphabet.find(c) == std::string_view::npos) return false;
  }
  return true;
}

std::string RedactTokens(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t at = text.find(kTokenPrefix, i);
    if (at == std::string_view::npos) break;
    // Keep "sdb_" plus what looks like an id and its separator; drop the run of secret-like
    // characters after it (whatever its length, so a truncated token is redacted too).
    size_t j = at + kTokenPrefix.size();
    size_t id_end = j;
    while (id_end < text.size() && id_end - j < kTokenIdChars && IsBase64UrlChar(text[id_end]) &&
           text[id_end] != '_') {
      ++id_end;
    }
    if (id_end < text.size() && text[id_end] == '_' && id_end + 1 < text.size() &&
        IsBase64UrlChar(text[id_end + 1])) {
      size_t end = id_end + 1;
      while (end < text.size() && IsBase64UrlChar(text[end])) ++end;
      out.append(text.substr(i, id_end + 1 - i));
      out.append("<redacted>");
      i = end;
    } else {
      out.append(text.substr(i, j - i));
      i = j;
    }
  }
  out.append(text.substr(i));
  return out;
}

}  // namespace sensordb
