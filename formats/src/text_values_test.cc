#include "sensordb/formats/text_values.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sensordb::formats {
namespace {

TEST(TextValues, ParsesRfc3339WithFractionAndOffset) {
  EXPECT_EQ(*ParseRfc3339("2023-11-14T22:13:20Z"), 1'700'000'000'000'000'000);
  EXPECT_EQ(*ParseRfc3339("2023-11-15T00:13:20.000000001+02:00"), 1'700'000'000'000'000'001);
  EXPECT_EQ(*ParseRfc3339("1970-01-02"), 86'400 * kNanosPerSecond);
  for (std::string_view bad : {"2023-02-29", "2023-11-14T25:00:00Z", "2023-11-14T22:13:20",
                               "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20.1234567890Z", ""}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

TEST(TextValues, ScalesTimestampsAndRefusesOverflow) {
  EXPECT_EQ(*ScaleTimestamp(3, Precision::kMilliseconds), 3'000'000);
  EXPECT_FALSE(ScaleTimestamp(int64_t{1} << 62, Precision::kSeconds).has_value());
  EXPECT_FALSE(ScaleTimestamp(kMaxTimestamp + 1, Precision::kNanoseconds).has_value());
  EXPECT_EQ(*ScaleTimestamp(2, Precision::kMinutes), 120 * kNanosPerSecond);
  EXPECT_EQ(*ScaleTimestamp(472222, Precision::kHours), 472222 * 3600 * kNanosPerSecond);
  EXPECT_FALSE(ScaleTimestamp(int64_t{1} << 50, Precision::kHours).has_value());
}

TEST(TextValues, KnowsThePrecisionsInfluxDbClientsSend) {
  const std::pair<const char*, Precision> known[] = {
      {"n", Precision::kNanoseconds},   {"ns", Precision::kNanoseconds},
      {"u", Precision::kMicroseconds},  {"us", Precision::kMicroseconds},
      {"ms", Precision::kMilliseconds}, {"s", Precision::kSeconds},
      {"m", Precision::kMinutes},       {"h", Precision::kHours},
  };
  for (const auto& [name, want] : known) {
    Precision p = Precision::kSeconds;
    if (want == Precision::kSeconds) p = Precision::kNanoseconds;
    EXPECT_TRUE(ParsePrecision(name, &p)) << name;
    EXPECT_EQ(p, want) << name;
  }
  Precision p{};
  for (const char* bad : {"", "N", "sec", "mn", "d", "µs", "ns "}) {
    EXPECT_FALSE(ParsePrecision(bad, &p)) << bad;
  }
}

TEST(TextValues, ParsesNumbersStrictly) {
  int64_t i = 0;
  EXPECT_TRUE(ParseInt64("+42", &i));
  EXPECT_EQ(i, 42);
  EXPECT_FALSE(ParseInt64("42x", &i));
  EXPECT_FALSE(ParseInt64("99999999999999999999", &i));
  double d = 0;
  EXPECT_TRUE(ParseFloat64("-inf", &d));
  EXPECT_TRUE(std::isinf(d) && d < 0);
  EXPECT_TRUE(ParseFloat64("NaN", &d));
  EXPECT_TRUE(std::isnan(d));
  EXPECT_FALSE(ParseFloat64("1.5.5", &d));
  Value v;
  EXPECT_TRUE(ParseBool("TRUE", &v));
  EXPECT_TRUE(v.b);
  EXPECT_FALSE(ParseBool("yes", &v));
}

}  // namespace
}  // namespace sensordb::formats
