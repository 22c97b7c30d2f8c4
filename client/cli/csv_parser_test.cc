#include "csv_parser.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sensordb::cli {
namespace {

struct Point {
  std::string device, channel;
  int64_t ts;
  Value value;
};

class CsvParserTest : public ::testing::Test {
 protected:
  Status Row(std::string_view line) {
    return parser_.ParseRow(
        line, [this](std::string_view d, std::string_view c, int64_t ts, const Value& v) {
          points_.push_back({std::string(d), std::string(c), ts, v});
          return Status::Ok();
        });
  }

  ValueType type_ = ValueType::kFloat64;
  CsvParser::TypeOf type_of_ = [this](std::string_view, std::string_view c) {
    return c == "count" ? ValueType::kInt64 : type_;
  };
  CsvParser parser_{Precision::kNanoseconds, type_of_};
  std::vector<Point> points_;
};

TEST(SplitCsvLine, HandlesQuotesAndEmptyFields) {
  std::vector<std::string> f;
  ASSERT_TRUE(SplitCsvLine(R"(1,"a,b","say ""hi""",,x)", &f).ok());
  EXPECT_EQ(f, (std::vector<std::string>{"1", "a,b", R"(say "hi")", "", "x"}));
  EXPECT_FALSE(SplitCsvLine(R"(1,"open)", &f).ok());
  EXPECT_FALSE(SplitCsvLine(R"(1,"a"b)", &f).ok());
}

TEST_F(CsvParserTest, DetectsLongLayout) {
  ASSERT_TRUE(parser_.ParseHeader("timestamp,device,channel,value").ok());
  EXPECT_FALSE(parser_.wide());
  ASSERT_TRUE(Row("1700000000000000000,dev1,temp,21.5").ok());
  ASSERT_EQ(points_.size(), 1u);
  EXPECT_EQ(points_[0].device, "dev1");
  EXPECT_EQ(points_[0].channel, "temp");
  EXPECT_EQ(points_[0].ts, 1700000000000000000);
  EXPECT_EQ(points_[0].value.f64, 21.5);
}

TEST_F(CsvParserTest, DetectsWideLayoutAndSkipsEmptyCells) {
  ASSERT_TRUE(parser_.ParseHeader("Timestamp,Device,temp,count").ok());
  EXPECT_TRUE(parser_.wide());
  ASSERT_TRUE(Row("2024-01-01T00:00:00Z,dev1,1.25,7").ok());
  ASSERT_TRUE(Row("2024-01-01T00:00:01.5Z,dev1,,8").ok());
  ASSERT_EQ(points_.size(), 3u);
  EXPECT_EQ(points_[0].ts, 1704067200 * kNanosPerSecond);
  EXPECT_EQ(points_[1].channel, "count");
  EXPECT_EQ(points_[1].value.type, ValueType::kInt64);
  EXPECT_EQ(points_[1].value.i64, 7);
  EXPECT_EQ(points_[2].ts, 1704067201 * kNanosPerSecond + 500'000'000);
}

TEST_F(CsvParserTest, ParsesValuesAsTheChannelType) {
  type_ = ValueType::kBool;
  ASSERT_TRUE(parser_.ParseHeader("timestamp,device,channel,value").ok());
  ASSERT_TRUE(Row("1,d,door,true").ok());
  ASSERT_TRUE(Row("2,d,door,0").ok());
  EXPECT_FALSE(Row("3,d,door,2.5").ok());
  EXPECT_FALSE(Row("4,d,count,2.5").ok());
  ASSERT_EQ(points_.size(), 2u);
  EXPECT_TRUE(points_[0].value.b);
  EXPECT_FALSE(points_[1].value.b);
}

TEST_F(CsvParserTest, AcceptsSpecialFloats) {
  ASSERT_TRUE(parser_.ParseHeader("timestamp,device,channel,value").ok());
  ASSERT_TRUE(Row("1,d,x,NaN").ok());
  ASSERT_TRUE(Row("2,d,x,+Inf").ok());
  ASSERT_TRUE(Row("3,d,x,-Inf").ok());
  EXPECT_TRUE(std::isnan(points_[0].value.f64));
  EXPECT_TRUE(std::isinf(points_[1].value.f64) && points_[1].value.f64 > 0);
  EXPECT_TRUE(std::isinf(points_[2].value.f64) && points_[2].value.f64 < 0);
}

TEST_F(CsvParserTest, RejectsBadRows) {
  ASSERT_TRUE(parser_.ParseHeader("timestamp,device,channel,value").ok());
  EXPECT_FALSE(Row("1,d,x").ok());
  EXPECT_FALSE(Row("1,d,x,1,2").ok());
  EXPECT_FALSE(Row(",d,x,1").ok());
  EXPECT_FALSE(Row("yesterday,d,x,1").ok());
  EXPECT_FALSE(Row("1,,x,1").ok());
  EXPECT_FALSE(Row("1,d,,1").ok());
  EXPECT_FALSE(Row("1,d,x,").ok());
  EXPECT_FALSE(Row("1,d,x,abc").ok());
  EXPECT_TRUE(points_.empty());
}

TEST_F(CsvParserTest, RejectsBadHeaders) {
  EXPECT_FALSE(parser_.ParseHeader("time,value").ok());
  EXPECT_FALSE(parser_.ParseHeader("device,timestamp,x").ok());
  EXPECT_FALSE(parser_.ParseHeader("timestamp,device,,x").ok());
  EXPECT_TRUE(CsvParser::LooksLikeHeader("timestamp,device,channel,value"));
  EXPECT_FALSE(CsvParser::LooksLikeHeader("m,device=d f=1"));
}

}  // namespace
}  // namespace sensordb::cli
