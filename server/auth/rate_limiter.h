// RateLimiter: a token bucket per key (a principal's name): `burst` requests at once, refilled
// at `requests_per_s`. Time is passed in (nanoseconds). Memory is bounded by max_tracked keys;
// a bucket idle long enough to be full again is dropped first. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sensordb::server {

struct RateLimit {
  double requests_per_s = 200;
  double burst = 400;
  size_t max_tracked = 100'000;
};

struct RateDecision {
  bool allowed = true;
  int64_t retry_after_ns = 0;  // when refused: how long until `cost` is available
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimit limit) : limit_(limit) {}

  RateDecision Admit(std::string_view key, int64_t now_ns, double cost = 1);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ns = 0;
  };

  const RateLimit limit_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;  // GUARDED_BY(mu_)
};

}  // namespace sensordb::server
