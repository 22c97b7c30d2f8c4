#include "auth/authenticator.h"

#include <sodium.h>

#include "auth/api_token.h"
#include "auth/password.h"

namespace sensordb::server {
namespace {

constexpr std::string_view kBadPassword = "invalid user name or password";
constexpr std::string_view kBadToken = "invalid API token";

// The name a failed login is audited under: only a well-formed account name, so that a
// password typed into the user field by mistake is not copied into the log.
std::string AuditName(std::string_view user) {
  return IsValidAccountName(user) ? std::string(user) : "(invalid name)";
}

}  // namespace

std::string_view RefusalReasonName(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::kNoCredentials:
      return "no-credentials";
    case RefusalReason::kMalformed:
      return "malformed";
    case RefusalReason::kBadCredentials:
      return "bad-credentials";
    case RefusalReason::kExpired:
      return "expired";
    case RefusalReason::kRevoked:
      return "revoked";
    case RefusalReason::kDisabled:
      return "disabled";
    case RefusalReason::kLockedOut:
      return "locked-out";
    case RefusalReason::kUnavailable:
      return "unavailable";
    case RefusalReason::kBusy:
      return "login-busy";
  }
  return "unknown";
}

Status AuthRefusal::ToStatus() const {
  switch (reason) {
    case RefusalReason::kLockedOut:
    case RefusalReason::kBusy:
      return Status::RateLimited(message);
    case RefusalReason::kUnavailable:
      return Status::IOError(message);
    default:
      return Status::PermissionDenied(message);
  }
}

Result<std::unique_ptr<Authenticator>> Authenticator::Create(AccountAdmin& accounts,
                                                             AuditLog& audit,
                                                             const AuthOptions& options) {
  if (sodium_init() < 0) return Err(Status::Internal("libsodium failed to initialise"));
  unsigned char random[32];
  randombytes_buf(random, sizeof random);
  char printable[65];
  sodium_bin2hex(printable, sizeof printable, random, sizeof random);
  auto dummy = HashPassword(std::string_view(printable, 64), options.password_cost);
  sodium_memzero(random, sizeof random);
  sodium_memzero(printable, sizeof printable);
  SENSORDB_RETURN_IF_ERROR(dummy);
  return std::unique_ptr<Authenticator>(
      new Authenticator(accounts, audit, options, std::move(*dummy)));
}

AuthCounters Authenticator::Counters() const {
  AuthCounters c;
  c.successes = successes_.load();
  for (size_t i = 0; i < kRefusalReasonCount; ++i) c.refusals[i] = refusals_[i].load();
  return c;
}

AuthResult Authenticator::Authenticate(const Credentials& credentials,
                                       std::string_view peer_address, int64_t now_ns) {
  switch (credentials.kind) {
    case Credentials::Kind::kPassword:
      if (credentials.user.empty() || credentials.secret.empty()) break;
      return WithPassword(credentials.user, credentials.secret, peer_address, now_ns);
    case Credentials::Kind::kToken:
      if (credentials.secret.empty()) break;
      return WithToken(credentials.secret, peer_address, now_ns);
    case Credentials::Kind::kNone:
      break;
  }
  // Not audited: a client that sends nothing learns nothing and costs nothing.
  return Refuse(RefusalReason::kNoCredentials,
                "authentication required: log in with a user name and password or an API token", {},
                peer_address, now_ns, {}, false);
}

AuthResult Authenticator::Refuse(RefusalReason reason, std::string message,
                                 std::string_view principal, std::string_view peer, int64_t now_ns,
                                 std::string audit_detail, bool audit, int64_t retry_after_ns) {
  refusals_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  if (audit) {
    auto seq = audit_.Append(
        {now_ns, std::string(principal), std::string(peer),
         reason == RefusalReason::kLockedOut ? AuditAction::kLockout : AuditAction::kLoginFailed,
         std::nullopt, AuditOutcome::kFailure,
         std::string(RefusalReasonName(reason)) + ": " + audit_detail});
    if (!seq) seq.error().IgnoreError();  // the refusal stands either way
  }
  return std::unexpected(AuthRefusal{reason, std::move(message), retry_after_ns});
}

std::optional<AuthResult> Authenticator::CheckLocked(const std::string& address_key,
                                                     const std::string& account_key,
                                                     std::string_view principal,
                                                     std::string_view peer, int64_t now_ns) {
  const int64_t by_address = address_lockout_.LockedUntil(address_key, now_ns);
  const int64_t by_account =
      account_key.empty() ? 0 : account_lockout_.LockedUntil(account_key, now_ns);
  const int64_t until = std::max(by_address, by_account);
  if (until == 0) return std::nullopt;
  // Audit once per lockout period and key, not each refused attempt (a flood of attempts
  // must not become a flood of durable writes).
  const bool first = by_address >= by_account ? address_lockout_.FirstRefusalOfLockout(address_key)
                                              : account_lockout_.FirstRefusalOfLockout(account_key);
  const int64_t secs = (until - now_ns + 999'999'999) / 1'000'000'000;
  return Refuse(RefusalReason::kLockedOut,
                "too many failed logins; try again in " + std::to_string(secs) + " s", principal,
                peer, now_ns,
                by_address >= by_account ? "address locked out" : "account locked out", first,
                until - now_ns);
}

void Authenticator::RecordFailure(const std::string& address_key, const std::string& account_key,
                                  int64_t now_ns) {
  address_lockout_.RecordFailure(address_key, now_ns);
  if (!account_key.empty()) account_lockout_.RecordFailure(account_key, now_ns);
}

AuthResult Authenticator::Accept(Principal p) {
  successes_.fetch_add(1, std::memory_order_relaxed);
  return p;
}

AuthResult Authenticator::WithPassword(std::string_view user, std::string_view password,
                                       std::string_view peer, int64_t now_ns) {
  const std::string address_key(peer);
  // Names are capped so that absurdly long ones cannot bloat the tracker.
  const std::string account_key(user.substr(0, 64));
  const std::string who = AuditName(user);
  if (auto locked = CheckLocked(address_key, account_key, who, peer, now_ns)) return *locked;
  // Not audited and not a failure of the account: a flood of logins must not become a flood of
  // durable writes, nor lock out the account's owner.
  auto pass = password_checks_.TryEnter();
  if (!pass) {
    return Refuse(RefusalReason::kBusy,
                  "the server is checking " + std::to_string(password_checks_.limit()) +
                      " other password logins; try again in a second (API tokens are not "
                      "limited this way)",
                  who, peer, now_ns, {}, false, 1'000'000'000);
  }

  auto account = accounts_.GetAccount(user);
  if (!account) {
    return Refuse(RefusalReason::kUnavailable,
                  "authentication is unavailable (the account store failed); try again later", who,
                  peer, now_ns, "account store error", false);
  }
  const AccountRecord* r = account->has_value() ? &**account : nullptr;
  const bool has_password = r && r->kind == PrincipalKind::kUser && !r->password_hash.empty();
  // Unknown accounts verify against a dummy hash of the same cost: same work, same reply.
  const bool ok =
      VerifyPassword(has_password ? r->password_hash : dummy_hash_, password) && has_password;
  if (!ok) {
    RecordFailure(address_key, account_key, now_ns);
    return Refuse(RefusalReason::kBadCredentials, std::string(kBadPassword), who, peer, now_ns,
                  r ? "wrong password" : "unknown account");
  }
  account_lockout_.RecordSuccess(account_key);
  if (r->disabled) {
    return Refuse(RefusalReason::kDisabled,
                  "account '" + r->name + "' is disabled; ask an administrator to enable it", who,
                  peer, now_ns, "account disabled");
  }
  if (PasswordNeedsRehash(r->password_hash, options_.password_cost)) {
    accounts_.UpgradePasswordHash(r->name, r->password_hash, password, now_ns).IgnoreError();
  }
  auto seq = audit_.Append({now_ns, r->name, std::string(peer), AuditAction::kLogin, std::nullopt,
                            AuditOutcome::kSuccess, "password"});
  if (!seq) {
    // Fail closed: a login that cannot be audited does not happen.
    return Refuse(RefusalReason::kUnavailable,
                  "authentication is unavailable (the audit log cannot be written); try again "
                  "later",
                  who, peer, now_ns, {}, false);
  }
  return Accept({r->name, PrincipalKind::kUser, r->superuser, {}, r->created_ns,
                 r->password_changed_ns});
}

AuthResult Authenticator::WithToken(std::string_view token, std::string_view peer, int64_t now_ns) {
  const std::string address_key(peer);
  if (auto locked = CheckLocked(address_key, {}, "(token)", peer, now_ns)) return *locked;
  auto presented = ParseToken(token);
  if (!presented) {
    RecordFailure(address_key, {}, now_ns);
    return Refuse(RefusalReason::kMalformed, presented.error().message(), "(token)", peer, now_ns,
                  "malformed token");
  }
  const std::string label = "sdb_" + presented->id + "_";
  auto stored = accounts_.GetToken(presented->id);
  if (!stored) {
    return Refuse(RefusalReason::kUnavailable,
                  "authentication is unavailable (the token store failed); try again later", label,
                  peer, now_ns, {}, false);
  }
  // An unknown id is compared against a zero hash, so both paths do the same work.
  const TokenHash expected = stored->has_value() ? (*stored)->hash : TokenHash{};
  const bool match = TokenHashEquals(expected, presented->hash) && stored->has_value();
  if (!match) {
    RecordFailure(address_key, {}, now_ns);
    return Refuse(RefusalReason::kBadCredentials, std::string(kBadToken), label, peer, now_ns,
                  stored->has_value() ? "wrong secret" : "unknown token id");
  }
  const TokenRecord& t = **stored;
  if (t.revoked_ns != 0) {
    return Refuse(RefusalReason::kRevoked,
                  "API token " + label + " was revoked on " + FormatTimeUtc(t.revoked_ns) +
                      "; ask an administrator for a new one",
                  t.account, peer, now_ns, "token " + label + " revoked");
  }
  if (t.expires_ns != 0 && now_ns >= t.expires_ns) {
    return Refuse(RefusalReason::kExpired,
                  "API token " + label + " expired on " + FormatTimeUtc(t.expires_ns) +
                      "; ask an administrator for a new one",
                  t.account, peer, now_ns, "token " + label + " expired");
  }
  auto account = accounts_.GetAccount(t.account);
  if (!account || !account->has_value()) {
    return Refuse(account ? RefusalReason::kRevoked : RefusalReason::kUnavailable,
                  account ? "API token " + label + " belongs to a deleted account"
                          : "authentication is unavailable (the account store failed)",
                  t.account, peer, now_ns, "account of token " + label + " missing", !!account);
  }
  const AccountRecord& r = **account;
  if (r.disabled) {
    return Refuse(RefusalReason::kDisabled,
                  "account '" + r.name + "' is disabled; ask an administrator to enable it", r.name,
                  peer, now_ns, "account disabled (token " + label + ")");
  }
  // Token uses are audited with the (rate-limited) last-used update, not per request.
  Status touched = accounts_.TouchToken(t.id, now_ns,
                                        {now_ns, r.name, std::string(peer), AuditAction::kLogin,
                                         std::nullopt, AuditOutcome::kSuccess, "token " + label});
  if (touched.code() == StatusCode::kPermissionDenied) {  // revoked since it was checked
    return Refuse(RefusalReason::kRevoked, "API token " + label + " was revoked", r.name, peer,
                  now_ns, "token " + label + " revoked during login", true);
  }
  if (!touched.ok()) {
    return Refuse(RefusalReason::kUnavailable,
                  "authentication is unavailable (the audit log cannot be written); try again "
                  "later",
                  r.name, peer, now_ns, {}, false);
  }
  return Accept({r.name, r.kind, r.superuser, t.id, r.created_ns});
}

}  // namespace sensordb::server
