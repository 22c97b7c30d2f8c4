// API tokens of service accounts (docs/AUTH.md "API tokens"): issuing and checking them. Their
// printable form and its redaction are in security/tokens/token_text.h. The secret is shown
// once, when the token is issued; the server keeps only BLAKE2b-256(id ‖ secret) under a fixed
// domain-separation key. Thread-safe (stateless).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/secret_string.h"
#include "sensordb/status.h"
#include "tokens/token_text.h"

namespace sensordb::server {

using TokenHash = std::array<uint8_t, 32>;

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

}  // namespace sensordb::server
