// Principal: who a request runs as, after authentication; Credentials: what a client presented.
// Values; thread-safe as values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sensordb::server {

enum class PrincipalKind : uint8_t { kUser = 1, kServiceAccount = 2 };

struct Principal {
  std::string name;  // the account name
  PrincipalKind kind = PrincipalKind::kUser;
  bool superuser = false;
  std::string token_id;  // the token used, for service accounts; empty for a password login
  // When the account was created: Revalidate tells a re-created account of the same name apart.
  int64_t account_created_ns = 0;
  // Password logins: the account's password_changed_ns at login; a later change ends the session.
  int64_t password_changed_ns = 0;
};

// Borrowed views of what the client sent; the caller owns (and wipes) the secret's buffer.
struct Credentials {
  enum class Kind : uint8_t { kNone, kPassword, kToken };
  Kind kind = Kind::kNone;
  std::string_view user;    // kPassword
  std::string_view secret;  // the password or the whole printable token

  static Credentials None() { return {}; }
  static Credentials Password(std::string_view user, std::string_view password) {
    return {Kind::kPassword, user, password};
  }
  static Credentials Token(std::string_view token) { return {Kind::kToken, {}, token}; }
};

}  // namespace sensordb::server
