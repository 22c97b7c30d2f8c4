// Helpers shared by the column codec tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "block/column_codec.h"

namespace sensordb::block::testing {

// Appended after every encoding: decoders must consume exactly their own bytes.
inline constexpr std::string_view kTrailer = "tail";

inline std::string Hex(std::string_view s) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) {
    h.push_back(kDigits[c >> 4]);
    h.push_back(kDigits[c & 15]);
  }
  return h;
}

// Every strict prefix of a valid encoding must be rejected with Corruption.
template <typename T, typename Decode>
void ExpectEveryPrefixIsCorruption(const std::string& enc, size_t n, Decode decode) {
  for (size_t len = 0; len < enc.size(); ++len) {
    std::string prefix = enc.substr(0, len);  // own allocation: ASan catches over-reads
    std::string_view in = prefix;
    std::vector<T> out(n);
    const Status s = decode(&in, std::span<T>(out));
    ASSERT_EQ(s.code(), StatusCode::kCorruption) << "prefix length " << len;
  }
}

}  // namespace sensordb::block::testing
