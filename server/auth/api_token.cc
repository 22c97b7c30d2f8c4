#include "auth/api_token.h"

#include <sodium.h>

namespace sensordb::server {
namespace {

// Domain separation: a token hash cannot be mistaken for any other BLAKE2b use of the server.
constexpr std::string_view kHashKey = "sensordb/api-token/v1/blake2b-256";

TokenHash HashSecret(std::string_view id, const uint8_t* secret) {
  TokenHash out{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, reinterpret_cast<const unsigned char*>(kHashKey.data()),
                          kHashKey.size(), out.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(id.data()), id.size());
  crypto_generichash_update(&st, secret, kTokenSecretBytes);
  crypto_generichash_final(&st, out.data(), out.size());
  sodium_memzero(&st, sizeof st);
  return out;
}

}  // namespace

Result<IssuedToken> GenerateToken() {
  if (sodium_init() < 0) return Err(Status::Internal("libsodium failed to initialise"));
  IssuedToken t;
  uint8_t id_bytes[5];
  randombytes_buf(id_bytes, sizeof id_bytes);
  uint64_t bits = 0;
  for (uint8_t b : id_bytes) bits = (bits << 8) | b;
  for (size_t i = 0; i < kTokenIdChars; ++i) {
    t.id.push_back(kTokenIdAlphabet[(bits >> (35 - 5 * i)) & 31]);
  }
  uint8_t secret[kTokenSecretBytes];
  randombytes_buf(secret, sizeof secret);
  char encoded[kTokenSecretChars + 1];
  sodium_bin2base64(encoded, sizeof encoded, secret, sizeof secret,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  t.hash = HashSecret(t.id, secret);
  t.text.Reserve(kTokenChars);
  t.text.Append(kTokenPrefix);
  t.text.Append(t.id);
  t.text.Append("_");
  t.text.Append({encoded, kTokenSecretChars});
  sodium_memzero(secret, sizeof secret);
  sodium_memzero(encoded, sizeof encoded);
  return t;
}

Result<PresentedToken> ParseToken(std::string_view text) {
  const auto malformed = [] {
    return Err(Status::InvalidArgument(
        "the API token is malformed: expected sdb_<8-character id>_<43-character secret>"));
  };
  if (sodium_init() < 0) return Err(Status::Internal("libsodium failed to initialise"));
  if (text.size() != kTokenChars || !text.starts_with(kTokenPrefix) || text[12] != '_') {
    return malformed();
  }
  PresentedToken p;
  p.id = std::string(text.substr(4, kTokenIdChars));
  if (!IsValidTokenId(p.id)) return malformed();
  const std::string_view encoded = text.substr(13);
  uint8_t secret[kTokenSecretBytes];
  size_t len = 0;
  const int rc = sodium_base642bin(secret, sizeof secret, encoded.data(), encoded.size(), nullptr,
                                   &len, nullptr, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  if (rc != 0 || len != kTokenSecretBytes) {
    sodium_memzero(secret, sizeof secret);
    return malformed();
  }
  p.hash = HashSecret(p.id, secret);
  sodium_memzero(secret, sizeof secret);
  return p;
}

bool TokenHashEquals(const TokenHash& a, const TokenHash& b) {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sensordb::server
