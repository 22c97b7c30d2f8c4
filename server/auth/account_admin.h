// AccountAdmin: users, service accounts and API tokens — creation, passwords, disabling,
// deletion, token issue, revocation and listing. Every change is checked (server operation
// kManageUsers, except changing one's own password), written and audited in one atomic
// SystemStore::Apply. Thread-safe: read-modify-write of records is serialised by a mutex.
// Borrows the store, the audit log and the grants, which must outlive it.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "auth/api_token.h"
#include "auth/auth_options.h"
#include "auth/principal.h"
#include "auth/records.h"
#include "sensordb/status.h"
#include "sensordb/system_store.h"

namespace sensordb::server {

// Who performs a management call, from where, when. Borrowed for the call.
struct Actor {
  const Principal& principal;
  std::string_view address;
  int64_t now_ns = 0;
};

// What ListTokens shows: never the hash, never the secret.
struct TokenInfo {
  std::string id;
  std::string prefix;  // "sdb_<id>_", the visible part of the printable token
  std::string account;
  int64_t created_ns = 0;
  int64_t expires_ns = 0;
  int64_t last_used_ns = 0;
  int64_t revoked_ns = 0;
};

struct AccountInfo {
  std::string name;
  PrincipalKind kind = PrincipalKind::kUser;
  bool superuser = false;
  bool disabled = false;
  int64_t created_ns = 0;
};

class AccountAdmin {
 public:
  AccountAdmin(SystemStore& store, AuditLog& audit, const AuthOptions& options)
      : store_(store), audit_(audit), options_(options) {}

  Status CreateUser(const Actor& actor, std::string_view name, std::string_view password,
                    bool superuser = false);
  Status CreateServiceAccount(const Actor& actor, std::string_view name, bool superuser = false);
  // Own password: `old_password` must match. Another account's: needs kManageUsers. Every
  // session that logged in with the old password ends (AuthService::Revalidate); the caller's
  // own session goes on if it sets its Principal::password_changed_ns to `*changed_ns`.
  Status ChangePassword(const Actor& actor, std::string_view name, std::string_view old_password,
                        std::string_view new_password, int64_t* changed_ns = nullptr);
  Status SetDisabled(const Actor& actor, std::string_view name, bool disabled);
  // Deletes the account with its tokens and grants.
  Status DeleteAccount(const Actor& actor, std::string_view name);
  Result<std::vector<AccountInfo>> ListAccounts(const Actor& actor);

  // A token for a service account; `expires_ns` 0 for none. The text is shown once.
  Result<IssuedToken> IssueToken(const Actor& actor, std::string_view account, int64_t expires_ns);
  Status RevokeToken(const Actor& actor, std::string_view token_id);
  // Tokens of `account`, or of every account when it is empty.
  Result<std::vector<TokenInfo>> ListTokens(const Actor& actor, std::string_view account = {});

  // --- For the authenticator and the bootstrap (no permission check) -------------------------
  Result<std::optional<AccountRecord>> GetAccount(std::string_view name);
  Result<std::optional<TokenRecord>> GetToken(std::string_view id);
  // Persists the token's last-used time with `event` if the stored one is older than the
  // resolution; a no-op for a revoked or deleted token.
  Status TouchToken(std::string_view id, int64_t now_ns, AuditEvent event);
  // Re-hashes a password with the current costs if its stored hash still equals `old_hash`.
  Status UpgradePasswordHash(std::string_view name, std::string_view old_hash,
                             std::string_view password, int64_t now_ns);
  // Creates a superuser service account and a token in one batch with the audit entry and
  // the `extra` ops (the bootstrap marker).
  Result<IssuedToken> CreateBootstrapAccount(std::string_view name, int64_t now_ns,
                                             int64_t expires_ns,
                                             std::vector<SystemStore::Op> extra);

 private:
  Status RequireManageUsers(const Actor& actor, AuditAction action, std::string_view what);
  Status CheckPassword(std::string_view password) const;
  Result<AccountRecord> MustGetAccount(std::string_view name);
  Status Commit(const Actor& actor, AuditAction action, std::string detail,
                std::vector<SystemStore::Op> ops);
  void AppendBestEffort(AuditEvent event);
  AuditEvent Event(const Actor& actor, AuditAction action, AuditOutcome outcome,
                   std::string detail) const;

  SystemStore& store_;
  AuditLog& audit_;
  const AuthOptions& options_;
  std::mutex mu_;  // serialises read-modify-write of account and token records
};

SystemStore::Op PutOp(SystemSpace space, std::string name, std::string value);
SystemStore::Op DeleteOp(SystemSpace space, std::string name);

}  // namespace sensordb::server
