#include "block/column_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "block/bit_stream.h"
#include "block/codec_test_util.h"
#include "sensordb/coding.h"

namespace sensordb::block {
namespace {

using testing::ExpectEveryPrefixIsCorruption;
using testing::Hex;
using testing::kTrailer;

void ExpectIntRoundTrip(const std::vector<int64_t>& v, bool timestamps) {
  std::string enc;
  timestamps ? EncodeTimestamps(v, &enc) : EncodeInt64(v, &enc);
  enc.append(kTrailer);
  std::string_view in = enc;
  std::vector<int64_t> out(v.size(), 7);
  ASSERT_TRUE((timestamps ? DecodeTimestamps(&in, out) : DecodeInt64(&in, out)).ok());
  EXPECT_EQ(in, kTrailer);
  EXPECT_EQ(out, v);
}

std::vector<int64_t> Int64Extremes() {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  return {kMin, kMax, kMin + 1, kMax - 1, 0, -1, kMax, kMin, kMin, kMax - 2, 1, kMin + 2};
}

std::vector<int64_t> RegularTimestamps(size_t n, int64_t start_ns, int64_t step_ns) {
  std::vector<int64_t> ts;
  for (size_t i = 0; i < n; ++i) ts.push_back(start_ns + int64_t(i) * step_ns);
  return ts;
}

std::string EncodeTs(const std::vector<int64_t>& ts) {
  std::string s;
  EncodeTimestamps(ts, &s);
  return s;
}

std::string EncodeI(const std::vector<int64_t>& v) {
  std::string s;
  EncodeInt64(v, &s);
  return s;
}

std::vector<int64_t> RandomInts(std::mt19937_64& rng) {
  std::vector<int64_t> v(rng() % 400);
  const int shift = int(rng() % 64);
  int64_t acc = int64_t(rng());
  for (int64_t& x : v) {
    if (rng() % 2) acc = int64_t(uint64_t(acc) + (rng() >> shift));
    x = rng() % 8 == 0 ? int64_t(rng()) : acc;
  }
  return v;
}

TEST(TimestampCodec, EmptyEncodesToNothing) {
  EXPECT_TRUE(EncodeTs({}).empty());
  std::string_view in;
  EXPECT_TRUE(DecodeTimestamps(&in, {}).ok());
}

TEST(TimestampCodec, RoundTripsSingleTimestamp) { ExpectIntRoundTrip({1700000000123456789}, true); }

TEST(TimestampCodec, RegularSamplingCostsNoBitsPerPoint) {
  const int64_t start = 1700000000000000000;
  EXPECT_EQ(EncodeTs(RegularTimestamps(10, start, 1000000000)).size(),
            EncodeTs(RegularTimestamps(kMaxVectorValues, start, 1000000000)).size());
  ExpectIntRoundTrip(RegularTimestamps(kMaxVectorValues, start, 1000000000), true);
}

TEST(TimestampCodec, RareJitterCostsUnderOneBitPerPoint) {
  std::vector<int64_t> ts = RegularTimestamps(1024, 1700000000000000000, 10000000000);
  std::mt19937_64 rng(1);
  for (int i = 0; i < 10; ++i) ts[rng() % ts.size()] += int64_t(rng() % 2000000) - 1000000;
  ExpectIntRoundTrip(ts, true);
  EXPECT_LT(8.0 * EncodeTs(ts).size() / ts.size(), 1.0);
}

TEST(TimestampCodec, RoundTripsInt64Extremes) { ExpectIntRoundTrip(Int64Extremes(), true); }

TEST(TimestampCodec, RoundTripsNegativeAndUnsorted) {
  ExpectIntRoundTrip({-5, 1000, -3000000000000, 7, 7, 6, std::numeric_limits<int64_t>::min()},
                     true);
}

TEST(TimestampCodec, RoundTripsRandomSequences) {
  std::mt19937_64 rng(2);
  for (int iter = 0; iter < 3000; ++iter) ExpectIntRoundTrip(RandomInts(rng), true);
}

TEST(TimestampCodec, TruncatedInputIsCorruption) {
  std::vector<int64_t> ts = RegularTimestamps(200, 1700000000000000000, 1000);
  ts[50] += 3;
  ExpectEveryPrefixIsCorruption<int64_t>(EncodeTs(ts), ts.size(), DecodeTimestamps);
  ExpectEveryPrefixIsCorruption<int64_t>(EncodeTs(Int64Extremes()), 12, DecodeTimestamps);
}

TEST(TimestampCodec, GoldenEncoding) {
  EXPECT_EQ(Hex(EncodeTs({1000, 2000, 3000, 4001, 5000, 6000})), "01d00fce0f022501");
}

TEST(IntCodec, RoundTripsInt64Extremes) { ExpectIntRoundTrip(Int64Extremes(), false); }

TEST(IntCodec, RoundTripsRandomSequences) {
  std::mt19937_64 rng(3);
  for (int iter = 0; iter < 3000; ++iter) ExpectIntRoundTrip(RandomInts(rng), false);
}

TEST(IntCodec, CounterPacksToFewBitsPerValue) {
  std::vector<int64_t> v;
  std::mt19937_64 rng(4);
  for (int64_t c = 1 << 30; v.size() < 1024; c += int64_t(rng() % 16)) v.push_back(c);
  ExpectIntRoundTrip(v, false);
  EXPECT_LT(8.0 * EncodeI(v).size() / v.size(), 4.2);
}

TEST(IntCodec, TruncatedInputIsCorruption) {
  std::mt19937_64 rng(5);
  std::vector<int64_t> v(150);
  for (int64_t& x : v) x = int64_t(rng() % 1000) - 500;
  ExpectEveryPrefixIsCorruption<int64_t>(EncodeI(v), v.size(), DecodeInt64);
}

TEST(IntCodec, DecodesGarbageWithoutCrashing) {
  std::mt19937_64 rng(6);
  for (int iter = 0; iter < 20000; ++iter) {
    std::string junk(rng() % 48, '\0');
    for (char& c : junk) c = char(rng() % 3 == 0 ? rng() % 8 : rng());
    std::string_view in = junk;
    std::vector<int64_t> out(1 + rng() % 100);
    DecodeInt64(&in, out).IgnoreError();
  }
}

// A random walk with Gaussian steps (sigma 1.5, as sensor readings at their resolution): its
// deltas are small and peaked, so Rice codes of every residual (packing 2) beat packing them
// all at the width of the largest.
std::vector<int64_t> GaussianWalk(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> step(0, 1.5);
  std::vector<int64_t> v;
  int64_t x = 2150;
  for (size_t i = 0; i < n; ++i) v.push_back(x += std::llround(step(rng)));
  return v;
}

TEST(IntCodec, GaussianWalkIsRiceCoded) {
  const std::vector<int64_t> v = GaussianWalk(1000, 11);
  const std::string enc = EncodeI(v);
  EXPECT_EQ(uint8_t(enc[0]) >> 2, 2) << "packing";
  EXPECT_EQ(uint8_t(enc[0]) & 3, 1) << "order";
  ExpectIntRoundTrip(v, false);
  // Entropy of the steps is about 2.6 bits; frame of reference needs 4 or 5.
  EXPECT_LT(8.0 * enc.size() / v.size(), 3.2);
}

// Large jumps in a walk whose jumps set the frame's width: Rice codes still win, with codes
// of many lengths crossing the decoder's 57-bit windows.
TEST(IntCodec, RiceCodesWithLargeJumpsRoundTrip) {
  std::vector<int64_t> v = GaussianWalk(1000, 13);
  for (size_t at : {100u, 101u, 517u, 998u}) {
    for (size_t i = at; i < v.size(); ++i) v[i] += at == 101u ? -400 : 300;
  }
  const std::string enc = EncodeI(v);
  EXPECT_EQ(uint8_t(enc[0]) >> 2, 2);
  ExpectIntRoundTrip(v, false);
}

// Values of -1, 0 and 1 with two spikes, k = 0: the spikes' codes (121 and 181 bits) are longer
// than the decoder's window and than one 64-bit write, so both slow paths run.
TEST(IntCodec, RiceCodesLongerThanAWindowRoundTrip) {
  std::mt19937_64 rng(14);
  std::vector<int64_t> v(1000);
  for (int64_t& x : v) x = int64_t(rng() % 3) - 1;
  v[300] = 60;
  v[700] = -91;
  const std::string enc = EncodeI(v);
  ASSERT_EQ(uint8_t(enc[0]), 0x08) << "order 0, Rice";
  ASSERT_EQ(uint8_t(enc[1]), 0) << "k";
  ExpectIntRoundTrip(v, false);
}

// A hand-made Rice column: order 0, k = 0, one code of 60 zero bits and a one bit (bit 60 of the
// stream, bit 4 of its eighth byte): zigzag 60, the value 30.
TEST(IntCodec, RiceDecodesAHandMadeLongCode) {
  const std::string enc = std::string("\x08\x00", 2) + std::string(7, '\0') + "\x10";
  std::string_view in = enc;
  std::vector<int64_t> out(1);
  ASSERT_TRUE(DecodeInt64(&in, out).ok());
  EXPECT_EQ(out[0], 30);
  EXPECT_TRUE(in.empty());
}

TEST(IntCodec, RiceTruncatedOrMalformedIsCorruption) {
  const std::vector<int64_t> v = GaussianWalk(200, 12);
  const std::string enc = EncodeI(v);
  ASSERT_EQ(uint8_t(enc[0]) >> 2, 2);
  ExpectEveryPrefixIsCorruption<int64_t>(enc, v.size(), DecodeInt64);
  // The Rice parameter follows the head values (one per difference order); past 31 it is
  // refused.
  std::string bad = enc;
  std::string_view heads = std::string_view(enc).substr(1);
  for (int i = 0; i < (uint8_t(enc[0]) & 3); ++i) {
    uint64_t ignored;
    ASSERT_TRUE(GetVarint64(&heads, &ignored));
  }
  bad[enc.size() - heads.size()] = char(32);
  std::string_view in = bad;
  std::vector<int64_t> out(v.size());
  EXPECT_EQ(DecodeInt64(&in, out).code(), StatusCode::kCorruption);
  // A unary run that never ends (zero bits to the end of the input) is refused.
  std::string run = "\x08";  // order 0, packing 2
  run += char(0);             // k = 0
  run += std::string(10, '\0');
  in = run;
  std::vector<int64_t> one(1);
  EXPECT_EQ(DecodeInt64(&in, one).code(), StatusCode::kCorruption);
}

// Order 0, Rice k = 0: residuals 0 1 0 -1 0 0 1 0 0 -1 0 0 1 0 0 0 -> zigzag 0 2 0 1 0 0 2 0 0 1 0
// 0 2 0 0 0, each as that many 0 bits and a 1 bit, LSB first.
TEST(IntCodec, RiceGoldenEncoding) {
  EXPECT_EQ(Hex(EncodeI({0, 1, 0, -1, 0, 0, 1, 0, 0, -1, 0, 0, 1, 0, 0, 0})), "0800d9b9f3");
}

TEST(IntCodec, GoldenEncoding) { EXPECT_EQ(Hex(EncodeI({-3, 0, 5, 5, 5, 2})), "000504308858"); }

std::string EncodeB(const std::vector<uint8_t>& v) {
  std::string s;
  EncodeBool(v, &s);
  return s;
}

TEST(BoolCodec, RoundTripsRuns) {
  const std::vector<uint8_t> v = {1, 1, 0, 0, 0, 1, 0, 1, 1, 1};
  std::string enc = EncodeB(v);
  enc.append(kTrailer);
  std::string_view in = enc;
  std::vector<uint8_t> out(v.size());
  ASSERT_TRUE(DecodeBool(&in, out).ok());
  EXPECT_EQ(in, kTrailer);
  EXPECT_EQ(out, v);
}

TEST(BoolCodec, EmptyEncodesToNothing) { EXPECT_TRUE(EncodeB({}).empty()); }

TEST(BoolCodec, ConstantColumnTakesFewBytes) {
  EXPECT_EQ(EncodeB(std::vector<uint8_t>(kMaxVectorValues, 1)).size(), 4u);
}

TEST(BoolCodec, RejectsRunPastTheEnd) {
  std::string_view in("\x00\x02\x05", 3);
  std::vector<uint8_t> out(3);
  EXPECT_EQ(DecodeBool(&in, out).code(), StatusCode::kCorruption);
}

TEST(BoolCodec, RejectsEmptyRun) {
  std::string_view in("\x01\x00\x03", 3);
  std::vector<uint8_t> out(3);
  EXPECT_EQ(DecodeBool(&in, out).code(), StatusCode::kCorruption);
}

TEST(BoolCodec, TruncatedInputIsCorruption) {
  ExpectEveryPrefixIsCorruption<uint8_t>(EncodeB({0, 1, 1, 0, 0, 0}), 6, DecodeBool);
}

TEST(BoolCodec, GoldenEncoding) { EXPECT_EQ(Hex(EncodeB({0, 0, 1, 1, 1, 0})), "00020301"); }

TEST(BitStream, RoundTripsRandomWidths) {
  std::mt19937_64 rng(1);
  std::vector<std::pair<uint64_t, int>> items;
  std::string buf;
  BitWriter w(&buf);
  for (int i = 0; i < 5000; ++i) {
    const int width = int(rng() % 65);
    const uint64_t v = rng() & LowMask(width);
    items.emplace_back(v, width);
    w.Write(v, width);
  }
  w.Finish();
  BitReader r(buf);
  for (auto [v, width] : items) {
    uint64_t got;
    ASSERT_TRUE(r.Read(width, &got));
    ASSERT_EQ(got, v);
  }
  EXPECT_EQ(r.BytesConsumed(), buf.size());
}

TEST(BitStream, ReaderReportsTruncation) {
  const std::string buf(3, '\xff');
  BitReader r(buf);
  uint64_t v;
  EXPECT_TRUE(r.Read(20, &v));
  EXPECT_FALSE(r.Read(5, &v));
  EXPECT_TRUE(r.Read(4, &v));
  EXPECT_FALSE(r.Read(1, &v));
}

TEST(BitStream, UnpackMatchesPackForEveryWidth) {
  std::mt19937_64 rng(2);
  for (int width = 0; width <= 64; ++width) {
    std::vector<uint64_t> v(37);
    for (uint64_t& x : v) x = rng() & LowMask(width);
    std::string buf;
    PackBits(v, width, &buf);
    ASSERT_EQ(buf.size(), PackedBytes(v.size(), width));
    std::string_view in = buf;
    std::vector<uint64_t> out(v.size());
    ASSERT_TRUE(UnpackBits(&in, width, out));
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(out, v) << "width " << width;
  }
}

}  // namespace
}  // namespace sensordb::block
