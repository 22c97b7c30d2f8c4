// LockoutTracker: exponential back-off after repeated authentication failures for one key (a
// peer address or an account name, existing or not, so that lockout reveals nothing about
// which accounts exist). After `free_failures` failures within `forget_after_ns`, each further
// failure locks the key for base_delay * 2^k, capped at max_delay. State is in memory only and
// bounded by max_tracked keys. Time is passed in (nanoseconds), so tests need no real clock.
// Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sensordb::server {

struct LockoutPolicy {
  uint32_t free_failures = 5;
  int64_t base_delay_ns = 1'000'000'000;            // 1 s
  int64_t max_delay_ns = 15 * 60'000'000'000LL;     // 15 min
  int64_t forget_after_ns = 60 * 60'000'000'000LL;  // a key quiet for 1 h starts afresh
  size_t max_tracked = 100'000;
};

class LockoutTracker {
 public:
  explicit LockoutTracker(LockoutPolicy policy) : policy_(policy) {}

  // 0 when `key` may try now, else the time (ns) from which it may.
  int64_t LockedUntil(std::string_view key, int64_t now_ns) const;
  // Records a failure; returns the new LockedUntil (0 if the key is not locked).
  int64_t RecordFailure(std::string_view key, int64_t now_ns);
  // Forgets the key's failures (a successful login for an account).
  void RecordSuccess(std::string_view key);
  // Marks that the current lockout of `key` was reported (audited) once; true the first time.
  bool FirstRefusalOfLockout(std::string_view key);

  size_t tracked() const;
  const LockoutPolicy& policy() const { return policy_; }

 private:
  struct Entry {
    uint32_t failures = 0;
    int64_t last_failure_ns = 0;
    int64_t locked_until_ns = 0;
    bool refusal_reported = false;
  };
  void MakeRoom(int64_t now_ns);  // REQUIRES(mu_)

  const LockoutPolicy policy_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
  int64_t last_sweep_ns_ = 0;                       // GUARDED_BY(mu_)
};

}  // namespace sensordb::server
