#include "auth/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace sensordb::server {

RateDecision RateLimiter::Admit(std::string_view key, int64_t now_ns, double cost) {
  std::lock_guard lock(mu_);
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= limit_.max_tracked) {
      // Drop the buckets that have refilled completely: forgetting them changes nothing.
      const double full_after_s = limit_.burst / limit_.requests_per_s;
      std::erase_if(buckets_, [&](const auto& kv) {
        return double(now_ns - kv.second.updated_ns) / 1e9 >= full_after_s;
      });
      if (buckets_.size() >= limit_.max_tracked) buckets_.erase(buckets_.begin());
    }
    it = buckets_.emplace(std::string(key), Bucket{limit_.burst, now_ns}).first;
  }
  Bucket& b = it->second;
  if (now_ns > b.updated_ns) {
    b.tokens = std::min(limit_.burst,
                        b.tokens + double(now_ns - b.updated_ns) / 1e9 * limit_.requests_per_s);
    b.updated_ns = now_ns;
  }
  if (b.tokens >= cost) {
    b.tokens -= cost;
    return {true, 0};
  }
  const double wait_s = (cost - b.tokens) / limit_.requests_per_s;
  return {false, static_cast<int64_t>(std::ceil(wait_s * 1e9))};
}

}  // namespace sensordb::server
