// AccountAdmin, continued: API tokens (issue, revoke, list, last-used, bootstrap).
#include <algorithm>
#include <tuple>

#include "auth/account_admin.h"

namespace sensordb::server {

Result<IssuedToken> AccountAdmin::IssueToken(const Actor& actor, std::string_view account,
                                             int64_t expires_ns) {
  SENSORDB_RETURN_IF_ERROR(
      RequireManageUsers(actor, AuditAction::kTokenIssued, "issuing API tokens"));
  if (expires_ns != 0 && expires_ns <= actor.now_ns) {
    return Err(Status::InvalidArgument("the token's expiry (" + FormatTimeUtc(expires_ns) +
                                       ") is not in the future"));
  }
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(AccountRecord r, MustGetAccount(account));
  if (r.kind != PrincipalKind::kServiceAccount) {
    return Err(Status::InvalidArgument("'" + r.name +
                                       "' is a user; API tokens are issued to "
                                       "service accounts (create one for the program)"));
  }
  SENSORDB_ASSIGN_OR_RETURN(IssuedToken t, GenerateToken());
  SENSORDB_ASSIGN_OR_RETURN(auto clash, GetToken(t.id));
  if (clash) return Err(Status::Internal("token id collision; issue the token again"));
  TokenRecord rec{t.id, r.name, t.hash, actor.now_ns, expires_ns, 0, 0};
  SENSORDB_RETURN_IF_ERROR(
      Commit(actor, AuditAction::kTokenIssued,
             "token sdb_" + t.id + "_ for " + r.name +
                 (expires_ns ? ", expires " + FormatTimeUtc(expires_ns) : ", no expiry"),
             {PutOp(SystemSpace::kTokens, t.id, EncodeToken(rec))}));
  return t;
}

Status AccountAdmin::RevokeToken(const Actor& actor, std::string_view token_id) {
  SENSORDB_RETURN_IF_ERROR(
      RequireManageUsers(actor, AuditAction::kTokenRevoked, "revoking API tokens"));
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto t, GetToken(token_id));
  if (!t) return Status::NotFound("no API token with id '" + std::string(token_id) + "'");
  if (t->revoked_ns != 0) return Status::Ok();  // idempotent
  t->revoked_ns = actor.now_ns;
  return Commit(actor, AuditAction::kTokenRevoked, "token sdb_" + t->id + "_ of " + t->account,
                {PutOp(SystemSpace::kTokens, t->id, EncodeToken(*t))});
}

Result<std::vector<TokenInfo>> AccountAdmin::ListTokens(const Actor& actor,
                                                        std::string_view account) {
  if (!actor.principal.superuser) {
    return Err(Status::PermissionDenied("listing API tokens needs a superuser; account '" +
                                        actor.principal.name + "' is not one"));
  }
  std::vector<TokenInfo> out;
  Status decode;
  SENSORDB_RETURN_IF_ERROR(store_.ScanNamed(SystemSpace::kTokens, [&](auto, std::string_view v) {
    auto t = DecodeToken(v);
    if (!t) decode = t.error();
    if (t && (account.empty() || t->account == account)) {
      out.push_back({t->id, "sdb_" + t->id + "_", t->account, t->created_ns, t->expires_ns,
                     t->last_used_ns, t->revoked_ns});
    }
    return decode.ok();
  }));
  SENSORDB_RETURN_IF_ERROR(decode);
  std::sort(out.begin(), out.end(), [](const TokenInfo& a, const TokenInfo& b) {
    return std::tie(a.account, a.created_ns, a.id) < std::tie(b.account, b.created_ns, b.id);
  });
  return out;
}

Status AccountAdmin::TouchToken(std::string_view id, int64_t now_ns, AuditEvent event) {
  auto recent = [&](const TokenRecord& t) {
    return t.last_used_ns != 0 && now_ns - t.last_used_ns < options_.token_last_used_resolution_ns;
  };
  auto gone = [&](const std::optional<TokenRecord>& t) { return !t || t->revoked_ns != 0; };
  const Status revoked = Status::PermissionDenied("API token sdb_" + std::string(id) +
                                                  "_ was revoked; ask an administrator");
  {  // Most logins need no update: decide without the lock other account changes hold.
    SENSORDB_ASSIGN_OR_RETURN(auto t, GetToken(id));
    if (gone(t)) return revoked;
    if (recent(*t)) return Status::Ok();
  }
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto t, GetToken(id));
  if (gone(t)) return revoked;  // revoked or deleted since the token was checked
  if (recent(*t)) return Status::Ok();
  t->last_used_ns = now_ns;
  auto seq =
      audit_.Append(std::move(event), {{PutOp(SystemSpace::kTokens, t->id, EncodeToken(*t))}});
  return seq ? Status::Ok() : seq.error();
}

Result<IssuedToken> AccountAdmin::CreateBootstrapAccount(std::string_view name, int64_t now_ns,
                                                         int64_t expires_ns,
                                                         std::vector<SystemStore::Op> extra) {
  if (!IsValidAccountName(name)) {
    return Err(Status::InvalidArgument("bootstrap account name '" + std::string(name) +
                                       "' is invalid: use 1-64 characters of [a-z0-9._-]"));
  }
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto existing, GetAccount(name));
  if (existing) {
    return Err(Status::AlreadyExists("an account named '" + std::string(name) +
                                     "' exists but the bootstrap was never recorded; choose "
                                     "another bootstrap account name"));
  }
  SENSORDB_ASSIGN_OR_RETURN(IssuedToken t, GenerateToken());
  AccountRecord acct{
      std::string(name), PrincipalKind::kServiceAccount, true, false, {}, now_ns, now_ns};
  TokenRecord rec{t.id, acct.name, t.hash, now_ns, expires_ns, 0, 0};
  extra.push_back(PutOp(SystemSpace::kUsers, acct.name, EncodeAccount(acct)));
  extra.push_back(PutOp(SystemSpace::kTokens, t.id, EncodeToken(rec)));
  AuditEvent ev{now_ns,
                acct.name,
                "local",
                AuditAction::kBootstrap,
                std::nullopt,
                AuditOutcome::kSuccess,
                "superuser service account " + acct.name + " with token sdb_" + t.id + "_"};
  SENSORDB_ASSIGN_OR_RETURN(uint64_t seq, audit_.Append(std::move(ev), extra));
  (void)seq;
  return t;
}

}  // namespace sensordb::server
