#include "mqtt/topic.h"

#include <gtest/gtest.h>

namespace sensordb::mqtt {
namespace {

TEST(MqttUtf8, AcceptsWellFormedText) {
  for (std::string_view s : {"", "plain", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x8c\xa1",
                             "\xef\xbb\xbf"
                             "bom",
                             "\xf4\x8f\xbf\xbf"}) {
    EXPECT_TRUE(IsMqttUtf8(s)) << s;
  }
}

TEST(MqttUtf8, RejectsNulOverlongsSurrogatesAndBrokenSequences) {
  for (std::string_view s :
       {std::string_view("a\0b", 3), std::string_view("\xc0\x80"), std::string_view("\xe0\x80\xaf"),
        std::string_view("\xed\xa0\x80"), std::string_view("\xed\xbf\xbf"),
        std::string_view("\xf4\x90\x80\x80"), std::string_view("\x80"), std::string_view("\xc3"),
        std::string_view("\xe2\x82"), std::string_view("\xf8\x88\x80\x80\x80"),
        std::string_view("\xff"), std::string_view("\xc3\x28")}) {
    EXPECT_FALSE(IsMqttUtf8(s)) << testing::PrintToString(std::string(s));
  }
}

TEST(MqttTopic, NamesHaveNoWildcards) {
  EXPECT_TRUE(ValidateTopicName("a/b").ok());
  EXPECT_TRUE(ValidateTopicName("/").ok());
  EXPECT_FALSE(ValidateTopicName("").ok());
  EXPECT_FALSE(ValidateTopicName("a/+").ok());
  EXPECT_FALSE(ValidateTopicName("a/#").ok());
  EXPECT_FALSE(ValidateTopicName(std::string(65'536, 'a')).ok());
}

TEST(MqttTopic, FiltersUseWildcardsAsWholeLevels) {
  for (std::string_view ok : {"#", "+", "a/#", "+/+", "/+", "a/+/b", "sport/tennis/#"}) {
    EXPECT_TRUE(ValidateTopicFilter(ok).ok()) << ok;
  }
  for (std::string_view bad : {"", "a#", "a/#/b", "a+", "+a/b", "a/b#", "##"}) {
    EXPECT_FALSE(ValidateTopicFilter(bad).ok()) << bad;
  }
}

TEST(MqttDeviceTopic, ParsesProjectDeviceAndFormat) {
  Result<DeviceTopic> t = ParseDeviceTopic("sensordb/greenhouse/dev-17/lp");
  ASSERT_TRUE(t.has_value()) << t.error().message();
  EXPECT_EQ(t->project, "greenhouse");
  EXPECT_EQ(t->device, "dev-17");
  EXPECT_EQ(t->format, PayloadFormat::kLineProtocol);
  t = ParseDeviceTopic("sensordb/p_1/d/json");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->format, PayloadFormat::kJson);
}

TEST(MqttDeviceTopic, PercentDecodesTheDevice) {
  Result<DeviceTopic> t = ParseDeviceTopic("sensordb/p/rack%2F3%20a%25/lp");
  ASSERT_TRUE(t.has_value()) << t.error().message();
  EXPECT_EQ(t->device, "rack/3 a%");
  EXPECT_FALSE(ParseDeviceTopic("sensordb/p/a%2/lp").has_value());
  EXPECT_FALSE(ParseDeviceTopic("sensordb/p/a%zz/lp").has_value());
  EXPECT_FALSE(ParseDeviceTopic("sensordb/p/a%/lp").has_value());
}

TEST(MqttDeviceTopic, RejectsOtherShapes) {
  for (std::string_view bad :
       {"sensordb/p/d", "sensordb/p/d/csv", "other/p/d/lp", "sensordb//d/lp", "sensordb/p//lp",
        "sensordb/P/d/lp", "sensordb/p/d/lp/x", "/sensordb/p/d/lp", "sensordb/p/d/lp/"}) {
    Result<DeviceTopic> t = ParseDeviceTopic(bad);
    ASSERT_FALSE(t.has_value()) << bad;
    EXPECT_NE(t.error().message().find("expected sensordb/<project>/<device>/lp"),
              std::string::npos);
  }
}

TEST(MqttDeviceTopic, FormatIsTheInverseOfParse) {
  for (std::string_view device : {"dev1", "a/b", "50%", "x+y#z", "caf\xc3\xa9", "tab\there"}) {
    const std::string topic = FormatDeviceTopic("proj", device, PayloadFormat::kJson);
    EXPECT_TRUE(ValidateTopicName(topic).ok()) << topic;
    Result<DeviceTopic> t = ParseDeviceTopic(topic);
    ASSERT_TRUE(t.has_value()) << topic;
    EXPECT_EQ(t->device, device);
    EXPECT_EQ(t->format, PayloadFormat::kJson);
  }
  EXPECT_EQ(FormatDeviceTopic("p", "a/b", PayloadFormat::kLineProtocol), "sensordb/p/a%2Fb/lp");
}

}  // namespace
}  // namespace sensordb::mqtt
