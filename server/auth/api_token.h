// API tokens of service accounts (docs/AUTH.md "API tokens"). Printable form:
//   sdb_<id>_<secret>   id: 8 characters of [a-z2-7] (40 random bits, public, names the token)
//                       secret: 32 random bytes, base64url without padding (43 characters)
// The secret is shown once, when the token is issued; the server keeps only
// BLAKE2b-256(id ‖ secret) under a fixed domain-separation key. Thread-safe (stateless).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/secret_string.h"
#include "sensordb/status.h"

namespace sensordb::server {

using TokenHash = std::array<uint8_t, 32>;

inline constexpr std::string_view kTokenPrefix = "sdb_";
inline constexpr size_t kTokenIdChars = 8;
inline constexpr size_t kTokenSecretBytes = 32;
inline constexpr size_t kTokenSecretChars = 43;
inline constexpr size_t kTokenChars = 4 + kTokenIdChars + 1 + kTokenSecretChars;

struct IssuedToken {
  std::string id;     // public
  SecretString text;  // the whole printable token; wiped when this object dies
  TokenHash hash{};   // what the server stores
};

// A new token with a random id and secret.
Result<IssuedToken> GenerateToken();

struct PresentedToken {
  std::string id;
  TokenHash hash{};  // of the presented secret, to compare with the stored one
};

// Parses a presented token and hashes its secret; the decoded secret is wiped before returning.
// The error says only that the token is malformed, never echoing it.
Result<PresentedToken> ParseToken(std::string_view text);

// Constant-time comparison (sodium_memcmp).
bool TokenHashEquals(const TokenHash& a, const TokenHash& b);

bool IsValidTokenId(std::string_view id);

// `text` with the secret part of anything shaped like a token replaced by "<redacted>", so a
// token pasted into a free-text field (an audit detail, a log line) never reaches the disk.
std::string RedactTokens(std::string_view text);

}  // namespace sensordb::server
