// The printable form of API tokens (docs/AUTH.md "API tokens"), as far as every part that must
// recognise one needs it, without the secret's hashing (server/auth/api_token.h):
//   sdb_<id>_<secret>   id: 8 characters of [a-z2-7] (40 random bits, public, names the token)
//                       secret: 32 random bytes, base64url without padding (43 characters)
// The audit log redacts token-shaped text with it before an entry reaches the disk.
// Thread-safe (pure functions).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sensordb {

inline constexpr std::string_view kTokenPrefix = "sdb_";
inline constexpr std::string_view kTokenIdAlphabet = "abcdefghijklmnopqrstuvwxyz234567";
inline constexpr size_t kTokenIdChars = 8;
inline constexpr size_t kTokenSecretBytes = 32;
inline constexpr size_t kTokenSecretChars = 43;
inline constexpr size_t kTokenChars = 4 + kTokenIdChars + 1 + kTokenSecretChars;

bool IsValidTokenId(std::string_view id);

// `text` with the secret part of anything shaped like a token replaced by "<redacted>", so a
// token pasted into a free-text field (an audit detail, a log line) never reaches the disk.
std::string RedactTokens(std::string_view text);

}  // namespace sensordb
