// Authenticator: turns presented credentials into a Principal or a typed refusal, before any
// data work. Unknown accounts and wrong passwords get the same reply and cost the same Argon2id
// verification; a disabled, expired or revoked state is told only to someone who proved the
// secret. Repeated failures back off exponentially per peer address and per account name
// (LockoutTracker); every refusal is counted by reason. Logins and failures are audited
// (token uses once per last-used interval; lockouts once per lockout period). Thread-safe.
// Borrows the account admin, audit log and options, which must outlive it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "audit/audit_log.h"
#include "auth/account_admin.h"
#include "auth/auth_options.h"
#include "auth/concurrency_gate.h"
#include "auth/lockout.h"
#include "auth/principal.h"

namespace sensordb::server {

enum class RefusalReason : uint8_t {
  kNoCredentials = 0,
  kMalformed,       // a token that is not shaped like one
  kBadCredentials,  // unknown account, wrong password, unknown or wrong token: one reply
  kExpired,
  kRevoked,
  kDisabled,
  kLockedOut,
  kUnavailable,  // the account store failed; nothing about the credentials is known
  kBusy,         // AuthOptions::max_concurrent_password_checks are running; not checked
};
inline constexpr size_t kRefusalReasonCount = 9;
std::string_view RefusalReasonName(RefusalReason reason);  // "bad-credentials", ... (metrics)

struct AuthRefusal {
  RefusalReason reason = RefusalReason::kBadCredentials;
  std::string message;         // for the client; never contains the secret
  int64_t retry_after_ns = 0;  // kLockedOut: when the next attempt may come

  // PermissionDenied, or ResourceExhausted for kLockedOut, or IOError for kUnavailable.
  Status ToStatus() const;
};

using AuthResult = std::expected<Principal, AuthRefusal>;

struct AuthCounters {
  uint64_t successes = 0;
  std::array<uint64_t, kRefusalReasonCount> refusals{};  // indexed by RefusalReason
  uint64_t refused(RefusalReason r) const { return refusals[static_cast<size_t>(r)]; }
};

class Authenticator {
 public:
  // Fails only if the dummy hash (for unknown accounts) cannot be made.
  static Result<std::unique_ptr<Authenticator>> Create(AccountAdmin& accounts, AuditLog& audit,
                                                       const AuthOptions& options);

  AuthResult Authenticate(const Credentials& credentials, std::string_view peer_address,
                          int64_t now_ns);

  AuthCounters Counters() const;
  // The password checks running now (AuthOptions::max_concurrent_password_checks at most).
  ConcurrencyGate& password_checks() { return password_checks_; }

 private:
  Authenticator(AccountAdmin& accounts, AuditLog& audit, const AuthOptions& options,
                std::string dummy_hash)
      : accounts_(accounts),
        audit_(audit),
        options_(options),
        address_lockout_(options.address_lockout),
        account_lockout_(options.account_lockout),
        dummy_hash_(std::move(dummy_hash)),
        password_checks_(options.max_concurrent_password_checks) {}

  AuthResult WithPassword(std::string_view user, std::string_view password, std::string_view peer,
                          int64_t now_ns);
  AuthResult WithToken(std::string_view token, std::string_view peer, int64_t now_ns);
  // Counts, audits (unless `audit` is false) and returns the refusal.
  AuthResult Refuse(RefusalReason reason, std::string message, std::string_view principal,
                    std::string_view peer, int64_t now_ns, std::string audit_detail,
                    bool audit = true, int64_t retry_after_ns = 0);
  // Checks both lockouts; a refusal if either key is locked.
  std::optional<AuthResult> CheckLocked(const std::string& address_key,
                                        const std::string& account_key, std::string_view principal,
                                        std::string_view peer, int64_t now_ns);
  void RecordFailure(const std::string& address_key, const std::string& account_key,
                     int64_t now_ns);
  AuthResult Accept(Principal p);

  AccountAdmin& accounts_;
  AuditLog& audit_;
  const AuthOptions& options_;
  LockoutTracker address_lockout_;
  LockoutTracker account_lockout_;
  const std::string dummy_hash_;  // Argon2id hash of a random password, same costs
  ConcurrencyGate password_checks_;
  std::atomic<uint64_t> successes_{0};
  std::array<std::atomic<uint64_t>, kRefusalReasonCount> refusals_{};
};

}  // namespace sensordb::server
