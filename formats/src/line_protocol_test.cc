#include "sensordb/formats/line_protocol.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sensordb::formats {
namespace {

constexpr int64_t kNow = 1'700'000'000'000'000'000;

Result<LpLine> Parse(std::string_view line, Precision p = Precision::kNanoseconds) {
  LineProtocolParser parser(p, kNow);
  LpLine out;
  Status s = parser.Parse(line, &out);
  if (!s.ok()) return Err(s);
  return out;
}

TEST(LineProtocol, MapsDeviceTagAndMeasurementDotField) {
  auto l = Parse("env,site=a,device=dev1 temp=21.5,hum=40i 1700000000000000001");
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->device, "dev1");
  ASSERT_EQ(l->field_count, 2u);
  EXPECT_EQ(l->fields[0].channel, "env.temp");
  EXPECT_EQ(l->fields[0].value.type, ValueType::kFloat64);
  EXPECT_EQ(l->fields[0].value.f64, 21.5);
  EXPECT_EQ(l->fields[1].channel, "env.hum");
  EXPECT_EQ(l->fields[1].value.type, ValueType::kInt64);
  EXPECT_EQ(l->fields[1].value.i64, 40);
  EXPECT_EQ(l->timestamp_ns, 1700000000000000001);
}

TEST(LineProtocol, SkipsWhitespaceBeforeTheMeasurement) {
  for (const char* line : {" env,device=d t=1 5", "\t  env,device=d t=1 5"}) {
    auto l = Parse(line);
    ASSERT_TRUE(l) << line << ": " << l.error().message();
    EXPECT_EQ(l->device, "d");
    ASSERT_EQ(l->field_count, 1u);
    EXPECT_EQ(l->fields[0].channel, "env.t");
    EXPECT_EQ(l->timestamp_ns, 5);
  }
}

TEST(LineProtocol, ParsesValueTypes) {
  auto l = Parse("m,device=d a=-3i,b=7u,c=t,d=FALSE,e=True,f=1e3,g=-0.25,h=5 1");
  ASSERT_TRUE(l) << l.error().message();
  ASSERT_EQ(l->field_count, 8u);
  EXPECT_EQ(l->fields[0].value.i64, -3);
  EXPECT_EQ(l->fields[1].value.i64, 7);
  EXPECT_TRUE(l->fields[2].value.b);
  EXPECT_EQ(l->fields[3].value.type, ValueType::kBool);
  EXPECT_FALSE(l->fields[3].value.b);
  EXPECT_TRUE(l->fields[4].value.b);
  EXPECT_EQ(l->fields[5].value.f64, 1000.0);
  EXPECT_EQ(l->fields[6].value.f64, -0.25);
  EXPECT_EQ(l->fields[7].value.type, ValueType::kFloat64);
  EXPECT_EQ(l->fields[7].value.f64, 5.0);
}

TEST(LineProtocol, UnescapesCommasSpacesAndEquals) {
  auto l = Parse(R"(my\ meas\,x,device=dev\ 1\,b\=c fi\=e\ ld\,2=1 5)");
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->device, "dev 1,b=c");
  EXPECT_EQ(l->fields[0].channel, "my meas,x.fi=e ld,2");
}

TEST(LineProtocol, KeepsOtherBackslashesAndUnescapesDoubleBackslash) {
  auto l = Parse(R"(m\x,device=a\\b f=1 5)");
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->device, R"(a\b)");
  EXPECT_EQ(l->fields[0].channel, R"(m\x.f)");
}

TEST(LineProtocol, MissingTimestampTakesDefault) {
  auto l = Parse("m,device=d f=1  ");
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->timestamp_ns, kNow);
}

TEST(LineProtocol, ScalesTimestampByPrecision) {
  auto l = Parse("m,device=d f=1 1700000000", Precision::kSeconds);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->timestamp_ns, 1'700'000'000'000'000'000);
  auto ms = Parse("m,device=d f=1 1700000000123", Precision::kMilliseconds);
  ASSERT_TRUE(ms);
  EXPECT_EQ(ms->timestamp_ns, 1'700'000'000'123'000'000);
}

TEST(LineProtocol, RejectsTimestampOutOfRange) {
  auto l = Parse("m,device=d f=1 1700000000000000000", Precision::kSeconds);
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("out of range"), std::string::npos);
}

TEST(LineProtocol, RejectsMissingDevice) {
  auto l = Parse("m,site=a f=1 1");
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("missing tag 'device'"), std::string::npos);
}

TEST(LineProtocol, RejectsStringFields) {
  auto l = Parse(R"(m,device=d s="a b, c" 1)");
  ASSERT_FALSE(l);
  EXPECT_NE(l.error().message().find("field 's' is a string"), std::string::npos);
}

TEST(LineProtocol, RejectsBadValues) {
  for (const char* line : {"m,device=d f=abc 1", "m,device=d f=1.5i 1", "m,device=d f= 1",
                           "m,device=d f=-1u 1", "m,device=d f=1x 1"}) {
    EXPECT_FALSE(Parse(line)) << line;
  }
}

TEST(LineProtocol, RejectsMalformedLines) {
  for (const char* line :
       {"m,device=d", "m,device=d ", ",device=d f=1", "m,device f=1", "m,device= f=1",
        "m,device=d f=1 12x", "m,device=d f=1 1 2", "m,device=a,device=b f=1", "m,device=d f"}) {
    EXPECT_FALSE(Parse(line)) << line;
  }
}

TEST(LineProtocol, SkipsBlankAndCommentLines) {
  EXPECT_TRUE(LineProtocolParser::IsSkippable(""));
  EXPECT_TRUE(LineProtocolParser::IsSkippable("   "));
  EXPECT_TRUE(LineProtocolParser::IsSkippable("# comment"));
  EXPECT_FALSE(LineProtocolParser::IsSkippable("m,device=d f=1"));
}

}  // namespace
}  // namespace sensordb::formats
