#include "block/block.h"

#include <gtest/gtest.h>

#include <cmath>

#include "block/column_codec.h"
#include "sensordb/coding.h"

namespace sensordb::block {
namespace {

PointColumn Walk(size_t n) {
  PointColumn c;
  c.type = ValueType::kFloat64;
  for (size_t i = 0; i < n; ++i) {
    c.ts.push_back(1'767'225'600'000'000'000 + int64_t(i) * 10'000'000'000);
    c.f64.push_back(std::round(std::sin(double(i) / 50) * 200) / 10);
  }
  return c;
}

size_t FirstVectorPoints(std::string_view body) {
  uint64_t n = 0;
  EXPECT_TRUE(GetVarint64(&body, &n));
  return size_t(n);
}

TEST(CoalesceVectors, HeadVectorsBecomeOneSmallerVector) {
  const PointColumn points = Walk(1000);
  std::string body;
  AppendVectors(points.Run(), 256, &body);
  const size_t before = body.size();
  ASSERT_TRUE(CoalesceVectors(ValueType::kFloat64, 1000, &body).ok());
  EXPECT_EQ(FirstVectorPoints(body), 1000u);
  EXPECT_LT(body.size(), before);  // three vectors' heads fewer
  PointColumn back;
  back.type = ValueType::kFloat64;
  ASSERT_TRUE(DecodeVectors(body, &back).ok());
  EXPECT_EQ(back.ts, points.ts);
  EXPECT_EQ(back.f64, points.f64);
}

TEST(CoalesceVectors, OneVectorIsLeftAsItIs) {
  std::string body;
  AppendVectors(Walk(300).Run(), 1000, &body);
  const std::string before = body;
  ASSERT_TRUE(CoalesceVectors(ValueType::kFloat64, 300, &body).ok());
  EXPECT_EQ(body, before);
}

TEST(CoalesceVectors, MoreThanAVectorHoldsIsSplitAtTheLimit) {
  const PointColumn points = Walk(kMaxVectorValues + 100);
  std::string body;
  AppendVectors(points.Run(), 256, &body);
  ASSERT_TRUE(CoalesceVectors(ValueType::kFloat64, points.size(), &body).ok());
  EXPECT_EQ(FirstVectorPoints(body), kMaxVectorValues);
  PointColumn back;
  back.type = ValueType::kFloat64;
  ASSERT_TRUE(DecodeVectors(body, &back).ok());
  EXPECT_EQ(back.ts, points.ts);
}

TEST(CoalesceVectors, CorruptBodyIsCorruption) {
  std::string body;
  AppendVectors(Walk(600).Run(), 256, &body);
  body.resize(body.size() / 2);
  const std::string cut = body;
  EXPECT_EQ(CoalesceVectors(ValueType::kFloat64, 600, &body).code(), StatusCode::kCorruption);
  EXPECT_EQ(body, cut);  // unchanged on an error
  std::string empty;
  EXPECT_EQ(CoalesceVectors(ValueType::kFloat64, 1, &empty).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace sensordb::block
