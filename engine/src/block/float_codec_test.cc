#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "block/codec_test_util.h"
#include "block/column_codec.h"

namespace sensordb::block {
namespace {

using testing::ExpectEveryPrefixIsCorruption;
using testing::Hex;
using testing::kTrailer;

std::string EncodeF(const std::vector<double>& v) {
  std::string s;
  EncodeFloat64(v, &s);
  return s;
}

// Encodes, decodes (with trailing bytes that must stay unread) and compares bit patterns.
void ExpectFloatRoundTrip(const std::vector<double>& v) {
  std::string enc = EncodeF(v);
  enc.append(kTrailer);
  std::string_view in = enc;
  std::vector<double> out(v.size(), 1.5);
  ASSERT_TRUE(DecodeFloat64(&in, out).ok());
  EXPECT_EQ(in, kTrailer);
  for (size_t i = 0; i < v.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint64_t>(out[i]), std::bit_cast<uint64_t>(v[i])) << "index " << i;
  }
}

// A sensor-like random walk on a 0.1 grid: steps of 0 or +-1 quanta.
std::vector<double> QuantizedWalk(size_t n, double p_move, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution move(p_move), up(0.5);
  std::vector<double> v;
  int64_t tenths = 215;
  for (size_t i = 0; i < n; ++i) {
    if (move(rng)) tenths += up(rng) ? 1 : -1;
    v.push_back(double(tenths) / 10);
  }
  return v;
}

double BitsPerValue(const std::vector<double>& v) { return 8.0 * EncodeF(v).size() / v.size(); }

TEST(FloatCodec, EmptyEncodesToNothing) {
  EXPECT_TRUE(EncodeF({}).empty());
  std::string_view in = "x";
  EXPECT_TRUE(DecodeFloat64(&in, {}).ok());
  EXPECT_EQ(in, "x");
}

TEST(FloatCodec, RoundTripsSingleValue) {
  ExpectFloatRoundTrip({21.5});
  ExpectFloatRoundTrip({std::nan("")});
}

TEST(FloatCodec, RoundTripsNaNAndInfinities) {
  ExpectFloatRoundTrip({1.0, std::numeric_limits<double>::quiet_NaN(),
                        std::numeric_limits<double>::signaling_NaN(),
                        std::bit_cast<double>(uint64_t{0xfff0000000000123}), INFINITY, -INFINITY,
                        2.0});
}

TEST(FloatCodec, RoundTripsNegativeZero) { ExpectFloatRoundTrip({0.0, -0.0, 0.0, -0.0, 1.5}); }

TEST(FloatCodec, RoundTripsSubnormals) {
  ExpectFloatRoundTrip({std::numeric_limits<double>::denorm_min(), 1e-310, -4.9e-320, 0.1});
}

TEST(FloatCodec, RoundTripsExtremeMagnitudes) {
  ExpectFloatRoundTrip({DBL_MAX, DBL_MIN, -DBL_MAX, DBL_EPSILON, 1e300, 1e-300, 9007199254740993.0});
}

TEST(FloatCodec, RoundTripsDecimalsMixedWithExceptions) {
  std::vector<double> v = QuantizedWalk(1000, 0.5, 3);
  for (size_t i = 0; i < v.size(); i += 37) v[i] = std::sqrt(double(i) + 2);
  v[500] = NAN;
  ExpectFloatRoundTrip(v);
  EXPECT_LT(BitsPerValue(v), 8.0);
}

TEST(FloatCodec, RoundTripsLargeIntegersWithTrailingZeros) {
  ExpectFloatRoundTrip({1.2e6, 1.3e6, -4.5e20, 7e15, 1e22, 3e21});
}

TEST(FloatCodec, AllEqualValuesCostAlmostNothing) {
  const std::vector<double> v(1024, 23.7);
  ExpectFloatRoundTrip(v);
  EXPECT_LT(EncodeF(v).size(), 16u);
}

TEST(FloatCodec, RoundTripsMaxVectorValues) {
  ExpectFloatRoundTrip(QuantizedWalk(kMaxVectorValues, 0.3, 4));
}

TEST(FloatCodec, RoundTripsHighPrecisionDoubles) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0, 1e-3);
  std::vector<double> v;
  for (int i = 0; i < 1024; ++i) v.push_back(100.0 + std::sin(i * 0.01) + noise(rng));
  ExpectFloatRoundTrip(v);
  EXPECT_LT(BitsPerValue(v), 60.0);
}

TEST(FloatCodec, QuantizedRandomWalkTakesUnderTwoBitsPerValue) {
  EXPECT_LT(BitsPerValue(QuantizedWalk(1024, 0.5, 6)), 2.0);
}

TEST(FloatCodec, MostlyConstantWalkTakesUnderOneBitPerValue) {
  EXPECT_LT(BitsPerValue(QuantizedWalk(1024, 0.1, 7)), 1.0);
}

TEST(FloatCodec, RoundTripsRandomBitPatterns) {
  std::mt19937_64 rng(8);
  for (int iter = 0; iter < 2000; ++iter) {
    std::vector<double> v(rng() % 300);
    for (double& x : v) x = std::bit_cast<double>(rng() >> (rng() % 4 == 0 ? rng() % 64 : 0));
    ExpectFloatRoundTrip(v);
  }
}

TEST(FloatCodec, RoundTripsRandomDecimals) {
  std::mt19937_64 rng(9);
  for (int iter = 0; iter < 2000; ++iter) {
    std::vector<double> v(1 + rng() % 1500);
    const int scale = int(rng() % 9);
    const int64_t range = int64_t(1) << (rng() % 50);
    for (double& x : v) x = double(int64_t(rng() % uint64_t(range)) - range / 2) / std::pow(10, scale);
    if (rng() % 3 == 0) v[rng() % v.size()] = -0.0;
    ExpectFloatRoundTrip(v);
  }
}

TEST(FloatCodec, DecodesGarbageWithoutCrashing) {
  std::mt19937_64 rng(10);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = char(rng() % 4 == 0 ? rng() % 4 : rng());
    std::string_view in = junk;
    std::vector<double> out(1 + rng() % 100);
    DecodeFloat64(&in, out).IgnoreError();
  }
}

TEST(FloatCodec, TruncatedDecimalInputIsCorruption) {
  std::vector<double> v = QuantizedWalk(300, 0.5, 11);
  v[7] = NAN;
  ExpectEveryPrefixIsCorruption<double>(EncodeF(v), v.size(), DecodeFloat64);
}

TEST(FloatCodec, TruncatedRdInputIsCorruption) {
  std::vector<double> v;
  for (int i = 0; i < 200; ++i) v.push_back(std::sqrt(i + 0.5) * (i % 50 == 0 ? 1e200 : 1));
  const std::string enc = EncodeF(v);
  ASSERT_EQ(enc[0], 1) << "expected the ALP-RD scheme";
  ExpectEveryPrefixIsCorruption<double>(enc, v.size(), DecodeFloat64);
}

TEST(FloatCodec, TruncatedRawInputIsCorruption) {
  std::mt19937_64 rng(12);
  std::vector<double> v(100);
  for (double& x : v) x = std::bit_cast<double>(rng());
  const std::string enc = EncodeF(v);
  ASSERT_EQ(enc[0], 2) << "expected the raw scheme";
  ExpectEveryPrefixIsCorruption<double>(enc, v.size(), DecodeFloat64);
}

std::vector<double> Sqrts(int n) {
  std::vector<double> v;
  for (int i = 2; i < n + 2; ++i) v.push_back(std::sqrt(double(i)));
  return v;
}

TEST(FloatCodec, GoldenDecimalEncoding) {
  EXPECT_EQ(Hex(EncodeF({21.5, 21.6, 21.6, 21.5, NAN, 21.7})), "00010100ae0302140804000000000000f87f");
}

TEST(FloatCodec, GoldenRdEncoding) {
  EXPECT_EQ(Hex(EncodeF(Sqrts(12))), "010c020004ff0300cd3b7f669ea0a6ca8485ae67bb000000000000804a7fb979371e2e2109148e98a3"
            "8e2f9dfaa752cd3b7f669ea006000000000080535bda3a584c49f3d63f2987a8aa4c58e87ab63b9f15"
            "46b482cd0300");
}

}  // namespace
}  // namespace sensordb::block
