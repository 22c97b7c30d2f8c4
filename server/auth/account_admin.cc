#include "auth/account_admin.h"

#include <algorithm>

#include "auth/password.h"

namespace sensordb::server {

SystemStore::Op PutOp(SystemSpace space, std::string name, std::string value) {
  return {SystemStore::Op::Kind::kPutNamed, space, std::move(name), 0, std::move(value)};
}
SystemStore::Op DeleteOp(SystemSpace space, std::string name) {
  return {SystemStore::Op::Kind::kDeleteNamed, space, std::move(name), 0, {}};
}

AuditEvent AccountAdmin::Event(const Actor& actor, AuditAction action, AuditOutcome outcome,
                               std::string detail) const {
  return {actor.now_ns, actor.principal.name, std::string(actor.address), action, std::nullopt,
          outcome,      std::move(detail)};
}

Status AccountAdmin::Commit(const Actor& actor, AuditAction action, std::string detail,
                            std::vector<SystemStore::Op> ops) {
  auto seq = audit_.Append(Event(actor, action, AuditOutcome::kSuccess, std::move(detail)), ops);
  return seq ? Status::Ok() : seq.error();
}

void AccountAdmin::AppendBestEffort(AuditEvent event) {
  // A refusal stands even if it cannot be audited; the store error surfaces on the next write.
  auto seq = audit_.Append(std::move(event));
  if (!seq) seq.error().IgnoreError();
}

Status AccountAdmin::RequireManageUsers(const Actor& actor, AuditAction action,
                                        std::string_view what) {
  if (actor.principal.superuser) return Status::Ok();
  AppendBestEffort(Event(actor, action, AuditOutcome::kDenied, "not a superuser"));
  return Status::PermissionDenied(std::string(what) + " needs a superuser; account '" +
                                  actor.principal.name + "' is not one");
}

Status AccountAdmin::CheckPassword(std::string_view password) const {
  if (password.size() < options_.min_password_length) {
    return Status::InvalidArgument("a password needs at least " +
                                   std::to_string(options_.min_password_length) + " characters");
  }
  if (password.size() > kMaxPasswordBytes) {
    return Status::InvalidArgument("a password is at most " + std::to_string(kMaxPasswordBytes) +
                                   " bytes");
  }
  return Status::Ok();
}

Result<std::optional<AccountRecord>> AccountAdmin::GetAccount(std::string_view name) {
  if (!IsValidAccountName(name)) return std::optional<AccountRecord>();
  SENSORDB_ASSIGN_OR_RETURN(auto value, store_.GetNamed(SystemSpace::kUsers, name));
  if (!value) return std::optional<AccountRecord>();
  SENSORDB_ASSIGN_OR_RETURN(AccountRecord r, DecodeAccount(*value));
  return std::optional<AccountRecord>(std::move(r));
}

Result<AccountRecord> AccountAdmin::MustGetAccount(std::string_view name) {
  SENSORDB_ASSIGN_OR_RETURN(auto r, GetAccount(name));
  if (!r) return Err(Status::NotFound("no account named '" + std::string(name) + "'"));
  return std::move(*r);
}

Result<std::optional<TokenRecord>> AccountAdmin::GetToken(std::string_view id) {
  if (!IsValidTokenId(id)) return std::optional<TokenRecord>();
  SENSORDB_ASSIGN_OR_RETURN(auto value, store_.GetNamed(SystemSpace::kTokens, id));
  if (!value) return std::optional<TokenRecord>();
  SENSORDB_ASSIGN_OR_RETURN(TokenRecord r, DecodeToken(*value));
  return std::optional<TokenRecord>(std::move(r));
}

Status AccountAdmin::CreateUser(const Actor& actor, std::string_view name,
                                std::string_view password, bool superuser) {
  SENSORDB_RETURN_IF_ERROR(RequireManageUsers(actor, AuditAction::kUserCreated, "creating users"));
  if (!IsValidAccountName(name)) {
    return Status::InvalidArgument("account name '" + std::string(name) +
                                   "' is invalid: use 1-64 characters of [a-z0-9._-], starting "
                                   "with a letter or digit");
  }
  SENSORDB_RETURN_IF_ERROR(CheckPassword(password));
  SENSORDB_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, options_.password_cost));
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto existing, GetAccount(name));
  if (existing) return Status::AlreadyExists("an account named '" + std::string(name) + "' exists");
  AccountRecord r{std::string(name), PrincipalKind::kUser, superuser,   false,
                  std::move(hash),   actor.now_ns,         actor.now_ns};
  return Commit(actor, AuditAction::kUserCreated,
                "user " + r.name + (superuser ? " (superuser)" : ""),
                {PutOp(SystemSpace::kUsers, r.name, EncodeAccount(r))});
}

Status AccountAdmin::CreateServiceAccount(const Actor& actor, std::string_view name,
                                          bool superuser) {
  SENSORDB_RETURN_IF_ERROR(
      RequireManageUsers(actor, AuditAction::kServiceAccountCreated, "creating service accounts"));
  if (!IsValidAccountName(name)) {
    return Status::InvalidArgument("account name '" + std::string(name) +
                                   "' is invalid: use 1-64 characters of [a-z0-9._-], starting "
                                   "with a letter or digit");
  }
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(auto existing, GetAccount(name));
  if (existing) return Status::AlreadyExists("an account named '" + std::string(name) + "' exists");
  AccountRecord r{
      std::string(name), PrincipalKind::kServiceAccount, superuser, false, {}, actor.now_ns,
      actor.now_ns};
  return Commit(actor, AuditAction::kServiceAccountCreated,
                "service account " + r.name + (superuser ? " (superuser)" : ""),
                {PutOp(SystemSpace::kUsers, r.name, EncodeAccount(r))});
}

Status AccountAdmin::ChangePassword(const Actor& actor, std::string_view name,
                                    std::string_view old_password, std::string_view new_password,
                                    int64_t* changed_ns) {
  const bool self = actor.principal.name == name;
  if (!self) {
    SENSORDB_RETURN_IF_ERROR(RequireManageUsers(actor, AuditAction::kPasswordChanged,
                                                "changing another account's password"));
  }
  SENSORDB_RETURN_IF_ERROR(CheckPassword(new_password));
  SENSORDB_ASSIGN_OR_RETURN(std::string hash, HashPassword(new_password, options_.password_cost));
  // The slow Argon2id check of the old password runs without the lock that token logins and
  // other account changes need; the record is re-read under the lock and must be unchanged.
  std::string checked_hash;
  if (self) {
    SENSORDB_ASSIGN_OR_RETURN(AccountRecord before, MustGetAccount(name));
    if (before.kind == PrincipalKind::kUser && !VerifyPassword(before.password_hash, old_password)) {
      AppendBestEffort(Event(actor, AuditAction::kPasswordChanged, AuditOutcome::kDenied,
                             "current password did not match"));
      return Status::PermissionDenied(
          "the current password is wrong; the password was not changed");
    }
    checked_hash = before.password_hash;
  }
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(AccountRecord r, MustGetAccount(name));
  if (r.kind != PrincipalKind::kUser) {
    return Status::InvalidArgument("'" + r.name +
                                   "' is a service account: it has API tokens, "
                                   "not a password");
  }
  if (self && r.password_hash != checked_hash) {
    return Status::FailedPrecondition("the password of '" + r.name +
                                      "' changed meanwhile; the password was not changed");
  }
  r.password_hash = std::move(hash);
  r.updated_ns = actor.now_ns;
  // Strictly later than before, whatever the clock does: the account's other sessions end.
  r.password_changed_ns = std::max(actor.now_ns, r.password_changed_ns + 1);
  SENSORDB_RETURN_IF_ERROR(Commit(actor, AuditAction::kPasswordChanged, "account " + r.name,
                                  {PutOp(SystemSpace::kUsers, r.name, EncodeAccount(r))}));
  if (changed_ns != nullptr) *changed_ns = r.password_changed_ns;
  return Status::Ok();
}

Status AccountAdmin::SetDisabled(const Actor& actor, std::string_view name, bool disabled) {
  const AuditAction action =
      disabled ? AuditAction::kAccountDisabled : AuditAction::kAccountEnabled;
  SENSORDB_RETURN_IF_ERROR(RequireManageUsers(actor, action, "disabling or enabling accounts"));
  if (actor.principal.name == name) {
    return Status::InvalidArgument(
        "an account cannot disable or enable itself; ask another "
        "superuser");
  }
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(AccountRecord r, MustGetAccount(name));
  r.disabled = disabled;
  r.updated_ns = actor.now_ns;
  return Commit(actor, action, "account " + r.name,
                {PutOp(SystemSpace::kUsers, r.name, EncodeAccount(r))});
}

Status AccountAdmin::DeleteAccount(const Actor& actor, std::string_view name) {
  SENSORDB_RETURN_IF_ERROR(
      RequireManageUsers(actor, AuditAction::kAccountDeleted, "deleting accounts"));
  if (actor.principal.name == name) {
    return Status::InvalidArgument("an account cannot delete itself; ask another superuser");
  }
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(AccountRecord r, MustGetAccount(name));
  std::vector<SystemStore::Op> ops{DeleteOp(SystemSpace::kUsers, r.name)};
  Status decode;
  SENSORDB_RETURN_IF_ERROR(store_.ScanNamed(SystemSpace::kTokens, [&](auto, std::string_view v) {
    auto t = DecodeToken(v);
    if (!t) decode = t.error();
    if (t && t->account == r.name) ops.push_back(DeleteOp(SystemSpace::kTokens, t->id));
    return decode.ok();
  }));
  SENSORDB_RETURN_IF_ERROR(store_.ScanNamed(SystemSpace::kGrants, [&](auto, std::string_view v) {
    auto g = DecodeGrant(v);
    if (!g) decode = g.error();
    if (g && g->account == r.name) {
      ops.push_back(DeleteOp(SystemSpace::kGrants, GrantName(g->project_id, g->account)));
    }
    return decode.ok();
  }));
  SENSORDB_RETURN_IF_ERROR(decode);
  const size_t removed = ops.size() - 1;
  return Commit(actor, AuditAction::kAccountDeleted,
                "account " + r.name + " with " + std::to_string(removed) + " token(s)/grant(s)",
                std::move(ops));
}

Result<std::vector<AccountInfo>> AccountAdmin::ListAccounts(const Actor& actor) {
  if (!actor.principal.superuser) {
    return Err(Status::PermissionDenied("listing accounts needs a superuser; account '" +
                                        actor.principal.name + "' is not one"));
  }
  std::vector<AccountInfo> out;
  Status decode;
  SENSORDB_RETURN_IF_ERROR(store_.ScanNamed(SystemSpace::kUsers, [&](auto, std::string_view v) {
    auto r = DecodeAccount(v);
    if (!r) decode = r.error();
    if (r) out.push_back({r->name, r->kind, r->superuser, r->disabled, r->created_ns});
    return decode.ok();
  }));
  SENSORDB_RETURN_IF_ERROR(decode);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

Status AccountAdmin::UpgradePasswordHash(std::string_view name, std::string_view old_hash,
                                         std::string_view password, int64_t now_ns) {
  SENSORDB_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, options_.password_cost));
  std::lock_guard lock(mu_);
  SENSORDB_ASSIGN_OR_RETURN(AccountRecord r, MustGetAccount(name));
  if (r.password_hash != old_hash) return Status::Ok();  // changed meanwhile
  r.password_hash = std::move(hash);
  r.updated_ns = now_ns;
  return store_.PutNamed(SystemSpace::kUsers, r.name, EncodeAccount(r));
}

}  // namespace sensordb::server
