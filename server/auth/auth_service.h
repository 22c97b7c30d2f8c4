// AuthService: the one object the server uses for "who is this, and may they do that" — the
// bootstrap superuser, authentication, the per-principal rate limit, authorisation, account,
// token and grant management, and the audit log (docs/AUTH.md). Owns its parts; borrows the
// SystemStore (from DB::System()), which must outlive it. Thread-safe.
//
// A request's path through it:
//   auto p = auth.Authenticate(creds, peer, now);        // refusal -> reply, stop
//   auth.AdmitRequest(*p, now);                           // over the rate -> reply, stop
//   auth.Authorize(*p, Operation::kWrite, {id, name});    // NotFound/PermissionDenied -> stop
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "audit/audit_log.h"
#include "auth/account_admin.h"
#include "auth/auth_options.h"
#include "auth/authenticator.h"
#include "auth/grants.h"
#include "auth/rate_limiter.h"
#include "sensordb/status.h"
#include "sensordb/system_store.h"

namespace sensordb::server {

class AuthService {
 public:
  static Result<std::unique_ptr<AuthService>> Open(SystemStore& store, AuthOptions options);

  // The first time (no bootstrap recorded): creates a superuser service account
  // (options.bootstrap_account) and returns its token, for the caller to write to a 0600 file.
  // Afterwards: nullopt. The token is never stored in clear; the bootstrap marker, account,
  // token and audit entry are written in one atomic batch.
  Result<std::optional<IssuedToken>> EnsureBootstrapAdmin(int64_t now_ns);

  AuthResult Authenticate(const Credentials& credentials, std::string_view peer_address,
                          int64_t now_ns) {
    return authenticator_->Authenticate(credentials, peer_address, now_ns);
  }
  // For long-lived sessions: Ok while the principal's account exists and is enabled and its
  // token (if any) is neither revoked nor expired; else PermissionDenied saying which. Two
  // lookups; the server calls it per request or at an interval of its choosing.
  Status Revalidate(const Principal& principal, int64_t now_ns);
  // The per-principal request-rate limit (token bucket); `cost` in requests.
  RateDecision AdmitRequest(const Principal& principal, int64_t now_ns, double cost = 1) {
    return rate_limiter_.Admit(principal.name, now_ns, cost);
  }
  Status Authorize(const Principal& principal, Operation op, const ProjectRef& project) {
    return grants_->Authorize(principal, op, project);
  }
  Status AuthorizeServer(const Principal& principal, Operation op) {
    return grants_->AuthorizeServer(principal, op);
  }

  AccountAdmin& accounts() { return *accounts_; }
  Grants& grants() { return *grants_; }
  AuthCounters Counters() const { return authenticator_->Counters(); }
  ConcurrencyGate& password_checks() { return authenticator_->password_checks(); }

  // --- Project lifecycle and server events (called by the server around engine work) --------
  // After DB::CreateProject: audits it and makes the creator its owner, in one batch.
  Status ProjectCreated(const Actor& actor, uint32_t project_id, std::string_view name);
  // After DB::DropProject: audits it and deletes the project's grants, in one batch.
  Status ProjectDropped(const Actor& actor, uint32_t project_id, std::string_view name);
  // Any other event (key rotations, backups, restores, denied requests).
  Status Record(const Actor& actor, AuditAction action, std::optional<uint32_t> project,
                AuditOutcome outcome, std::string detail);

  // --- Audit log ------------------------------------------------------------------------------
  // Entries from `from_seq` the actor may see: a superuser all; anyone else only entries of
  // projects where they hold kReadAudit (owner, admin). `project` narrows to one project
  // (NotFound, as in Authorize, without the right). At most `limit` entries (0: no limit).
  Status ReadAudit(const Actor& actor, uint64_t from_seq, std::optional<ProjectRef> project,
                   size_t limit, const std::function<bool(const AuditEntry&)>& fn);
  // Superusers only (kReadAllAudit).
  Result<AuditVerifyReport> VerifyAudit(const Actor& actor,
                                        std::optional<AuditAnchor> anchor = std::nullopt);
  AuditLog& audit() { return *audit_; }

 private:
  AuthService(SystemStore& store, AuthOptions options)
      : store_(store), options_(std::move(options)), rate_limiter_(options_.request_rate) {}

  SystemStore& store_;
  const AuthOptions options_;
  RateLimiter rate_limiter_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<AccountAdmin> accounts_;
  std::unique_ptr<Grants> grants_;
  std::unique_ptr<Authenticator> authenticator_;
  std::mutex bootstrap_mu_;
};

}  // namespace sensordb::server
