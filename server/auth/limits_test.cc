// The request-rate limiter and the lockout tracker, with time passed in.
#include <gtest/gtest.h>

#include "auth/lockout.h"
#include "auth/rate_limiter.h"

namespace sensordb::server {
namespace {

constexpr int64_t kS = 1'000'000'000;

TEST(RateLimiter, AllowsABurstThenRefillsAtTheRate) {
  RateLimiter rl({10, 5, 100});
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(rl.Admit("alice", 0).allowed) << i;
  const RateDecision refused = rl.Admit("alice", 0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ns, kS / 10);
  EXPECT_TRUE(rl.Admit("bob", 0).allowed);  // per principal
  EXPECT_FALSE(rl.Admit("alice", kS / 10 - 1).allowed);
  EXPECT_TRUE(rl.Admit("alice", kS / 10).allowed);
  // A long pause refills to the burst, not beyond.
  int allowed = 0;
  for (int i = 0; i < 20; ++i) allowed += rl.Admit("alice", 100 * kS).allowed;
  EXPECT_EQ(allowed, 5);
}

TEST(RateLimiter, CostCountsSeveralRequests) {
  RateLimiter rl({1, 10, 100});
  EXPECT_TRUE(rl.Admit("a", 0, 8).allowed);
  const RateDecision d = rl.Admit("a", 0, 4);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after_ns, 2 * kS);
}

TEST(RateLimiter, MemoryStaysBounded) {
  RateLimiter rl({1, 1, 4});
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(rl.Admit("k" + std::to_string(i), i).allowed);
}

TEST(Lockout, DelaysDoubleUpToTheCap) {
  LockoutTracker t({2, kS, 8 * kS, 3600 * kS, 100});
  EXPECT_EQ(t.RecordFailure("k", 0), 0);
  EXPECT_EQ(t.RecordFailure("k", 0), 0);
  EXPECT_EQ(t.RecordFailure("k", 0), 1 * kS);
  EXPECT_EQ(t.RecordFailure("k", 0), 2 * kS);
  EXPECT_EQ(t.RecordFailure("k", 0), 4 * kS);
  EXPECT_EQ(t.RecordFailure("k", 0), 8 * kS);
  EXPECT_EQ(t.RecordFailure("k", 0), 8 * kS);
  for (int i = 0; i < 100; ++i) t.RecordFailure("k", 0);  // no overflow
  EXPECT_EQ(t.LockedUntil("k", 0), 8 * kS);
  EXPECT_EQ(t.LockedUntil("k", 8 * kS), 0);
}

TEST(Lockout, QuietKeysAreForgottenAndSuccessResets) {
  LockoutTracker t({1, kS, 60 * kS, 100 * kS, 100});
  t.RecordFailure("k", 0);
  EXPECT_EQ(t.RecordFailure("k", 0), kS);
  EXPECT_EQ(t.RecordFailure("k", 200 * kS), 0);  // forgotten after 100 s: first failure again
  t.RecordFailure("j", 0);
  t.RecordSuccess("j");
  EXPECT_EQ(t.RecordFailure("j", 0), 0);
}

TEST(Lockout, TrackedKeysAreBounded) {
  LockoutTracker t({1, kS, 60 * kS, 100 * kS, 16});
  for (int i = 0; i < 1000; ++i) t.RecordFailure("addr" + std::to_string(i), i);
  EXPECT_LE(t.tracked(), 16u);
}

TEST(Lockout, EachLockoutIsReportedOnce) {
  LockoutTracker t({0, kS, 60 * kS, 100 * kS, 16});
  t.RecordFailure("k", 0);
  EXPECT_TRUE(t.FirstRefusalOfLockout("k"));
  EXPECT_FALSE(t.FirstRefusalOfLockout("k"));
  t.RecordFailure("k", 2 * kS);
  EXPECT_TRUE(t.FirstRefusalOfLockout("k"));
}

}  // namespace
}  // namespace sensordb::server
