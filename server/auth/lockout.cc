#include "auth/lockout.h"

#include <algorithm>

namespace sensordb::server {

int64_t LockoutTracker::LockedUntil(std::string_view key, int64_t now_ns) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(key));
  if (it == entries_.end() || it->second.locked_until_ns <= now_ns) return 0;
  return it->second.locked_until_ns;
}

int64_t LockoutTracker::RecordFailure(std::string_view key, int64_t now_ns) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) {
    MakeRoom(now_ns);
    it = entries_.emplace(std::string(key), Entry{}).first;
  }
  Entry& e = it->second;
  if (e.failures > 0 && now_ns - e.last_failure_ns >= policy_.forget_after_ns) e = Entry{};
  ++e.failures;
  e.last_failure_ns = now_ns;
  if (e.failures <= policy_.free_failures) return 0;
  // Delay doubles with each failure past the free ones: base, 2 base, 4 base ... max.
  const uint32_t doublings = std::min<uint32_t>(e.failures - policy_.free_failures - 1, 62);
  int64_t delay = policy_.max_delay_ns;
  if (doublings < 62 && policy_.base_delay_ns <= (policy_.max_delay_ns >> doublings)) {
    delay = policy_.base_delay_ns << doublings;
  }
  e.locked_until_ns = now_ns + delay;
  e.refusal_reported = false;
  return e.locked_until_ns;
}

void LockoutTracker::RecordSuccess(std::string_view key) {
  std::lock_guard lock(mu_);
  entries_.erase(std::string(key));
}

bool LockoutTracker::FirstRefusalOfLockout(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(std::string(key));
  if (it == entries_.end() || it->second.refusal_reported) return false;
  it->second.refusal_reported = true;
  return true;
}

size_t LockoutTracker::tracked() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void LockoutTracker::MakeRoom(int64_t now_ns) {
  if (entries_.size() < policy_.max_tracked) return;
  // Sweep the forgotten keys, at most a few times per forget period (a sweep is O(n)).
  if (now_ns - last_sweep_ns_ >= policy_.forget_after_ns / 16) {
    last_sweep_ns_ = now_ns;
    std::erase_if(entries_, [&](const auto& kv) {
      return now_ns - kv.second.last_failure_ns >= policy_.forget_after_ns &&
             kv.second.locked_until_ns <= now_ns;
    });
  }
  // Still full (a flood of distinct keys): evict one that is not locked, else any one.
  if (entries_.size() >= policy_.max_tracked) {
    auto victim = entries_.begin();
    for (auto it = entries_.begin();
         it != entries_.end() && std::distance(entries_.begin(), it) < 8; ++it) {
      if (it->second.locked_until_ns <= now_ns) {
        victim = it;
        break;
      }
    }
    entries_.erase(victim);
  }
}

}  // namespace sensordb::server
