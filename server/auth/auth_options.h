// AuthOptions: the tunables of authentication, lockout and rate limiting (docs/AUTH.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "auth/lockout.h"
#include "auth/password.h"
#include "auth/rate_limiter.h"

namespace sensordb::server {

struct AuthOptions {
  PasswordCost password_cost = PasswordCost::Interactive();
  // Password logins verified at once (each holds password_cost's memory, 64 MiB by default, and
  // a core for ~0.1 s); a login beyond it is refused at once as busy, before any work.
  size_t max_concurrent_password_checks = 2;
  size_t min_password_length = 12;
  // Per peer address: generous, since many people may share one NAT address.
  LockoutPolicy address_lockout{20, 1'000'000'000, 15 * 60'000'000'000LL, 60 * 60'000'000'000LL,
                                100'000};
  // Per account name (existing or not).
  LockoutPolicy account_lockout{5, 1'000'000'000, 15 * 60'000'000'000LL, 60 * 60'000'000'000LL,
                                100'000};
  RateLimit request_rate;
  // A token's last-used time is persisted (and audited) at most once per this interval.
  int64_t token_last_used_resolution_ns = 60'000'000'000LL;
  // The account EnsureBootstrapAdmin creates; its token's lifetime (0: no expiry).
  std::string bootstrap_account = "bootstrap-admin";
  int64_t bootstrap_token_ttl_ns = 0;
};

}  // namespace sensordb::server
