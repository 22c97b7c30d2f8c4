#include "sensordb/formats/json_payload.h"

#include <gtest/gtest.h>

#include <string>

namespace sensordb::formats {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000'000;

PayloadOptions ForDevice(std::string_view device) {
  PayloadOptions o;
  o.device = device;
  o.default_timestamp_ns = kNow;
  return o;
}

// The error of parsing `payload` for device "d" (empty when it parsed).
std::string ErrorOf(std::string_view payload, const PayloadOptions& o = ForDevice("d")) {
  WriteBatch batch;
  const Status s = ParseJsonPayload(payload, o, batch);
  if (!s.ok()) {
    EXPECT_TRUE(batch.empty()) << payload;
  }
  return s.message();
}

TEST(JsonPayload, OneObjectBecomesOnePointPerChannel) {
  WriteBatch batch;
  const Status s = ParseJsonPayload(R"({"ts": 1700000000000000001, "temp": 21.5, "door": true,
                                        "count": 3})",
                                    ForDevice("dev1"), batch);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(batch.columns().size(), 3u);
  const auto& temp = batch.columns()[0];
  EXPECT_EQ(temp.device, "dev1");
  EXPECT_EQ(temp.channel, "temp");
  EXPECT_EQ(temp.timestamps, (std::vector<int64_t>{1700000000000000001}));
  EXPECT_EQ(temp.f64, (std::vector<double>{21.5}));
  EXPECT_EQ(batch.columns()[1].type, ValueType::kBool);
  EXPECT_EQ(batch.columns()[1].b, (std::vector<uint8_t>{1}));
  EXPECT_EQ(batch.columns()[2].type, ValueType::kFloat64);  // JSON numbers are float64
  EXPECT_EQ(batch.columns()[2].f64, (std::vector<double>{3}));
}

TEST(JsonPayload, ArrayOfObjectsGroupsPointsBySeries) {
  WriteBatch batch;
  const Status s = ParseJsonPayload(
      R"([{"ts": 1, "a": 1, "b": false}, {"b": true, "a": 2.5, "ts": 2}, {"ts": 3, "a": -1e3}])",
      ForDevice("d"), batch);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(batch.columns().size(), 2u);
  EXPECT_EQ(batch.columns()[0].timestamps, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(batch.columns()[0].f64, (std::vector<double>{1, 2.5, -1000}));
  EXPECT_EQ(batch.columns()[1].timestamps, (std::vector<int64_t>{1, 2}));
}

TEST(JsonPayload, TsMayBeRfc3339OrAbsent) {
  WriteBatch batch;
  ASSERT_TRUE(ParseJsonPayload(R"([{"ts": "2023-11-14T22:13:20.5Z", "a": 1}, {"a": 2}])",
                               ForDevice("d"), batch)
                  .ok());
  EXPECT_EQ(batch.columns()[0].timestamps, (std::vector<int64_t>{1'700'000'000'500'000'000, kNow}));
}

TEST(JsonPayload, RejectsValuesOfOtherTypes) {
  EXPECT_EQ(ErrorOf(R"({"ts": 1, "a": "x"})"),
            "channel 'a' is a string; values must be numbers or booleans");
  EXPECT_NE(ErrorOf(R"({"a": null})").find("channel 'a' is null"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"a": {"b": 1}})").find("channel 'a' is an object"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"a": [1]})").find("channel 'a' is an array"), std::string::npos);
  EXPECT_NE(ErrorOf(R"([{"a": 1}, {"a": 2, "b": "s"}])").find("object 2: channel 'b'"),
            std::string::npos);
}

TEST(JsonPayload, RejectsBadTimestamps) {
  EXPECT_EQ(ErrorOf(R"({"ts": 1.5, "a": 1})"),
            "\"ts\" must be integer nanoseconds or an RFC 3339 string");
  EXPECT_EQ(ErrorOf(R"({"ts": true, "a": 1})"),
            "\"ts\" must be integer nanoseconds or an RFC 3339 string");
  EXPECT_NE(ErrorOf(R"({"ts": 18446744073709551615, "a": 1})").find("out of range"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"ts": 9223372036854775807, "a": 1})").find("out of range"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"({"ts": "yesterday", "a": 1})").find("bad time 'yesterday'"),
            std::string::npos);
}

TEST(JsonPayload, RejectsDuplicateEmptyAndOverlongKeys) {
  EXPECT_EQ(ErrorOf(R"({"a": 1, "a": 2})"), "key 'a' is given twice");
  EXPECT_EQ(ErrorOf(R"({"ts": 1, "ts": 2, "a": 1})"), "key 'ts' is given twice");
  EXPECT_NE(ErrorOf(R"({"": 1})").find("an empty key"), std::string::npos);
  PayloadOptions o = ForDevice("d");
  o.limits.max_name_bytes = 4;
  EXPECT_EQ(ErrorOf(R"({"abcd": 1})", o), "");
  EXPECT_NE(ErrorOf(R"({"abcde": 1})", o).find("longer than 4 bytes"), std::string::npos);
}

TEST(JsonPayload, RejectsNonFiniteNumbersAndNaN) {
  EXPECT_NE(ErrorOf(R"({"a": NaN})").find("malformed JSON"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"a": Infinity})").find("malformed JSON"), std::string::npos);
  EXPECT_FALSE(ErrorOf(R"({"a": 1e999})").empty());
}

TEST(JsonPayload, RejectsShapesOtherThanObjectOrArrayOfObjects) {
  EXPECT_NE(ErrorOf("5").find("the payload is not an object"), std::string::npos);
  EXPECT_NE(ErrorOf(R"("a\n long string with an escape")").find("the payload is not an object"),
            std::string::npos);
  EXPECT_NE(ErrorOf("[1]").find("element 1 of the array is not an object"), std::string::npos);
  EXPECT_NE(ErrorOf("[[{}]]").find("element 1 of the array is an array"), std::string::npos);
  EXPECT_EQ(ErrorOf("[]"), "the payload is an empty array");
  EXPECT_NE(ErrorOf("{}").find("the object has no channels"), std::string::npos);
  EXPECT_NE(ErrorOf(R"([{"a": 1}, {"ts": 1}])").find("object 2: the object has no channels"),
            std::string::npos);
  EXPECT_NE(ErrorOf("").find("the payload is empty"), std::string::npos);
}

TEST(JsonPayload, RejectsMalformedJsonAndTrailingData) {
  for (std::string_view p :
       {R"({"a": 1)", R"({"a": 1,})", R"({"a" 1})", R"({'a': 1})", R"({"a": 1} {"a": 2})",
        R"({"a": 1} x)", "{\"a\xff\": 1}", R"({"a": 01})", R"({/*c*/"a": 1})"}) {
    EXPECT_NE(ErrorOf(p).find("malformed JSON at byte"), std::string::npos) << p;
  }
}

TEST(JsonPayload, AChannelKeepsOneTypeWithinAPayload) {
  EXPECT_EQ(ErrorOf(R"([{"a": 1}, {"a": true}])"),
            "object 2: channel 'a' of device 'd' is bool here but float64 at object 1 (a channel "
            "keeps one type)");
}

TEST(JsonPayload, EnforcesLimitsAndNeedsADevice) {
  PayloadOptions o = ForDevice("d");
  o.limits.max_lines = 2;
  EXPECT_EQ(ErrorOf(R"([{"a": 1}, {"a": 2}])", o), "");
  EXPECT_NE(ErrorOf(R"([{"a": 1}, {"a": 2}, {"a": 3}])", o).find("more than 2 objects"),
            std::string::npos);
  o = ForDevice("d");
  o.limits.max_points = 2;
  EXPECT_NE(ErrorOf(R"({"a": 1, "b": 2, "c": 3})", o).find("more than 2 points"),
            std::string::npos);
  o = ForDevice("d");
  o.limits.max_payload_bytes = 8;
  EXPECT_NE(ErrorOf(R"({"a": 1.25})", o).find("exceeds the limit of 8"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"a": 1})", PayloadOptions{}).find("needs the device"), std::string::npos);
}

TEST(JsonPayload, BadPayloadLeavesTheBatchAsItWas) {
  WriteBatch batch;
  batch.Add("other", "c", 5, Value::Float64(1));
  EXPECT_FALSE(ParseJsonPayload(R"([{"a": 1}, {"a": 2}, {"a": "x"}])", ForDevice("d"), batch).ok());
  EXPECT_EQ(batch.points(), 1u);
  EXPECT_EQ(batch.columns().size(), 1u);
}

}  // namespace
}  // namespace sensordb::formats
