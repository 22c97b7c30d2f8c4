// The stored forms of accounts, API tokens and grants (docs/AUTH.md "Stored records"). Each
// record starts with a format version byte and keeps its own name inside, although the
// SystemStore also keys it by (a hash of) that name. Values; thread-safe as values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/api_token.h"
#include "auth/principal.h"
#include "auth/roles.h"
#include "sensordb/status.h"

namespace sensordb::server {

// A user or a service account; one namespace for both (SystemSpace::kUsers, name = account).
struct AccountRecord {
  std::string name;
  PrincipalKind kind = PrincipalKind::kUser;
  bool superuser = false;
  bool disabled = false;
  std::string password_hash;  // Argon2id hash string; empty for service accounts
  int64_t created_ns = 0;
  int64_t updated_ns = 0;
  // When the password was last set by ChangePassword (0: never); sessions that logged in with
  // an older password end (AuthService::Revalidate). A re-hash at a new cost keeps it.
  int64_t password_changed_ns = 0;
};

// An API token (SystemSpace::kTokens, name = token id).
struct TokenRecord {
  std::string id;
  std::string account;
  TokenHash hash{};
  int64_t created_ns = 0;
  int64_t expires_ns = 0;    // 0: never
  int64_t last_used_ns = 0;  // 0: never; updated at most once per AuthOptions resolution
  int64_t revoked_ns = 0;    // 0: not revoked
};

// A role of one account in one project (SystemSpace::kGrants, name = GrantName()).
struct GrantRecord {
  uint32_t project_id = 0;
  std::string account;
  Role role = Role::kReader;
  int64_t granted_ns = 0;
  std::string granted_by;
};

// "<project id>/<account>": one record per (project, account), so a check is one lookup.
std::string GrantName(uint32_t project_id, std::string_view account);

std::string EncodeAccount(const AccountRecord& r);
Result<AccountRecord> DecodeAccount(std::string_view v);
std::string EncodeToken(const TokenRecord& r);
Result<TokenRecord> DecodeToken(std::string_view v);
std::string EncodeGrant(const GrantRecord& r);
Result<GrantRecord> DecodeGrant(std::string_view v);

// "2026-03-01T12:00:00Z" (UTC, seconds), for messages.
std::string FormatTimeUtc(int64_t unix_ns);

// Account names: 1-64 characters of [a-z0-9._-], starting with a letter or digit.
bool IsValidAccountName(std::string_view name);

}  // namespace sensordb::server
