#include "auth/password.h"

#include <sodium.h>

#include <array>

namespace sensordb::server {
namespace {

Status InitSodium() {
  static const int rc = sodium_init();
  if (rc < 0) return Status::Internal("libsodium failed to initialise");
  return Status::Ok();
}

}  // namespace

PasswordCost PasswordCost::Minimum() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MIN, crypto_pwhash_argon2id_MEMLIMIT_MIN};
}
PasswordCost PasswordCost::Interactive() {
  return {crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE};
}
PasswordCost PasswordCost::Moderate() {
  return {crypto_pwhash_argon2id_OPSLIMIT_MODERATE, crypto_pwhash_argon2id_MEMLIMIT_MODERATE};
}

Result<std::string> HashPassword(std::string_view password, const PasswordCost& cost) {
  SENSORDB_RETURN_IF_ERROR(InitSodium());
  if (password.size() > kMaxPasswordBytes) {
    return Err(Status::InvalidArgument("a password is at most " +
                                       std::to_string(kMaxPasswordBytes) + " bytes"));
  }
  if (cost.ops_limit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      cost.mem_limit_bytes < crypto_pwhash_argon2id_MEMLIMIT_MIN) {
    return Err(Status::InvalidArgument("Argon2id costs are below libsodium's minimum (ops " +
                                       std::to_string(crypto_pwhash_argon2id_OPSLIMIT_MIN) +
                                       ", memory " +
                                       std::to_string(crypto_pwhash_argon2id_MEMLIMIT_MIN) + ")"));
  }
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), cost.ops_limit,
                            cost.mem_limit_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Err(Status::ResourceExhausted(
        "Argon2id could not allocate " + std::to_string(cost.mem_limit_bytes >> 10) +
        " KiB to hash a password; lower the memory cost or free memory"));
  }
  return std::string(out.data());
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  if (!InitSodium().ok() || password.size() > kMaxPasswordBytes) return false;
  std::array<char, crypto_pwhash_STRBYTES> h{};  // libsodium wants a NUL-terminated string
  if (hash.empty() || hash.size() >= h.size()) return false;
  hash.copy(h.data(), hash.size());
  return crypto_pwhash_str_verify(h.data(), password.data(), password.size()) == 0;
}

bool PasswordNeedsRehash(std::string_view hash, const PasswordCost& cost) {
  std::array<char, crypto_pwhash_STRBYTES> h{};
  if (hash.empty() || hash.size() >= h.size()) return true;
  hash.copy(h.data(), hash.size());
  return crypto_pwhash_str_needs_rehash(h.data(), cost.ops_limit, cost.mem_limit_bytes) != 0;
}

}  // namespace sensordb::server
