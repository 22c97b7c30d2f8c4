#include "time_util.h"

#include <gtest/gtest.h>

#include "sensordb/types.h"

namespace sensordb::cli {
namespace {

constexpr int64_t kSec = kNanosPerSecond;

TEST(ParseDuration, AcceptsUnitsAndCombinations) {
  EXPECT_EQ(*ParseDuration("30s"), 30 * kSec);
  EXPECT_EQ(*ParseDuration("5m"), 300 * kSec);
  EXPECT_EQ(*ParseDuration("1h"), 3600 * kSec);
  EXPECT_EQ(*ParseDuration("1d"), 86400 * kSec);
  EXPECT_EQ(*ParseDuration("1w"), 7 * 86400 * kSec);
  EXPECT_EQ(*ParseDuration("1h30m"), 5400 * kSec);
  EXPECT_EQ(*ParseDuration("250ms"), 250'000'000);
  EXPECT_EQ(*ParseDuration("3us"), 3'000);
  EXPECT_EQ(*ParseDuration("7ns"), 7);
  EXPECT_EQ(*ParseDuration("1000"), 1000);  // bare integer: nanoseconds
}

TEST(ParseDuration, RejectsBadInput) {
  for (const char* s : {"", "0", "0s", "-1h", "1x", "h", "1.5h", "1h30", "99999999999999d"}) {
    EXPECT_FALSE(ParseDuration(s)) << s;
  }
}

TEST(ParseRfc3339, ParsesUtcFractionsAndOffsets) {
  EXPECT_EQ(*ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseRfc3339("2024-01-01T00:00:00Z"), 1704067200 * kSec);
  EXPECT_EQ(*ParseRfc3339("2024-01-01T00:00:00.123456789Z"), 1704067200 * kSec + 123456789);
  EXPECT_EQ(*ParseRfc3339("2024-01-01T00:00:00.5Z"), 1704067200 * kSec + 500'000'000);
  EXPECT_EQ(*ParseRfc3339("2024-01-01T02:00:00+02:00"), 1704067200 * kSec);
  EXPECT_EQ(*ParseRfc3339("2023-12-31T19:00:00-05:00"), 1704067200 * kSec);
  EXPECT_EQ(*ParseRfc3339("2024-01-01 00:00:00z"), 1704067200 * kSec);
  EXPECT_EQ(*ParseRfc3339("2024-01-01"), 1704067200 * kSec);
  EXPECT_EQ(*ParseRfc3339("1969-12-31T23:59:59Z"), -kSec);
  EXPECT_EQ(*ParseRfc3339("2024-02-29T00:00:00Z"), 1709164800 * kSec);
}

TEST(ParseRfc3339, RejectsMalformedTimes) {
  for (const char* s :
       {"2024-01-01T00:00:00", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
        "2024-01-01T24:00:00Z", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.1234567890Z",
        "2024-1-1", "yesterday", "2024-01-01T00:00:00Zjunk", "2200-01-01T00:00:00Z"}) {
    EXPECT_FALSE(ParseRfc3339(s)) << s;
  }
}

TEST(FormatRfc3339, PrintsShortestFraction) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1704067200 * kSec + 500'000'000), "2024-01-01T00:00:00.5Z");
  EXPECT_EQ(FormatRfc3339(1704067200 * kSec + 1), "2024-01-01T00:00:00.000000001Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999999Z");
}

TEST(FormatRfc3339, RoundTripsThroughParse) {
  for (int64_t ns : {int64_t{0}, int64_t{-1}, int64_t{1'700'000'000'123'456'789}, kMinTimestamp + 7,
                     kMaxTimestamp}) {
    EXPECT_EQ(*ParseRfc3339(FormatRfc3339(ns)), ns) << ns;
  }
}

TEST(ParseTimePoint, AcceptsNowRelativeIntegerAndRfc3339) {
  const int64_t now = 1'000'000 * kSec;
  EXPECT_EQ(*ParseTimePoint("now", now), now);
  EXPECT_EQ(*ParseTimePoint("-1h", now), now - 3600 * kSec);
  EXPECT_EQ(*ParseTimePoint("now-30m", now), now - 1800 * kSec);
  EXPECT_EQ(*ParseTimePoint("+1d", now), now + 86400 * kSec);
  EXPECT_EQ(*ParseTimePoint("now+5s", now), now + 5 * kSec);
  EXPECT_EQ(*ParseTimePoint("123", now), 123);
  EXPECT_EQ(*ParseTimePoint("-5", now), -5);  // a plain negative integer is absolute
  EXPECT_EQ(*ParseTimePoint("2024-01-01T00:00:00Z", now), 1704067200 * kSec);
  EXPECT_FALSE(ParseTimePoint("now-", now));
  EXPECT_FALSE(ParseTimePoint("later", now));
}

TEST(ScaleTimestamp, MultipliesAndChecksRange) {
  EXPECT_EQ(*ScaleTimestamp(5, Precision::kMicroseconds), 5'000);
  EXPECT_EQ(*ScaleTimestamp(-5, Precision::kSeconds), -5 * kSec);
  EXPECT_FALSE(ScaleTimestamp(int64_t{1} << 62, Precision::kNanoseconds));
  EXPECT_FALSE(ScaleTimestamp(int64_t{1} << 60, Precision::kMilliseconds));
}

}  // namespace
}  // namespace sensordb::cli
