// Password hashing with Argon2id (libsodium crypto_pwhash_str): the only form in which a user's
// password is stored. The hash string carries its own salt and costs, so hashes made with older
// costs keep verifying and are upgraded at the next successful login. Thread-safe (stateless).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sensordb/status.h"

namespace sensordb::server {

// Argon2id costs. Interactive() is the default for a server that checks logins online;
// Minimum() is for tests only (it offers no protection against offline guessing).
struct PasswordCost {
  uint64_t ops_limit = 0;
  size_t mem_limit_bytes = 0;

  static PasswordCost Minimum();
  static PasswordCost Interactive();
  static PasswordCost Moderate();
};

// Longest password accepted: Argon2id reads all of it, so an unbounded input is a CPU lever.
inline constexpr size_t kMaxPasswordBytes = 1024;

// The Argon2id hash string ("$argon2id$v=19$m=...,t=...,p=1$salt$hash") of `password`.
Result<std::string> HashPassword(std::string_view password, const PasswordCost& cost);

// True when `password` matches `hash`. Constant-time in the password for a given hash;
// a malformed hash is simply "no match".
bool VerifyPassword(std::string_view hash, std::string_view password);

// True when `hash` was made with costs other than `cost` (the caller re-hashes after a
// successful verification).
bool PasswordNeedsRehash(std::string_view hash, const PasswordCost& cost);

}  // namespace sensordb::server
