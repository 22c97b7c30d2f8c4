#include "sensordb/protocol/write_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "test_util.h"

namespace sensordb::protocol {
namespace {

using testing::MessageOf;
using testing::RoundTrip;

constexpr double kInf = std::numeric_limits<double>::infinity();

WriteBatch MixedBatch() {
  WriteBatch batch;
  const int64_t ts[] = {kMinTimestamp, -1, 0, 1, kMaxTimestamp};
  const double f[] = {std::nan(""), kInf, -kInf, -0.0, 1e-300};
  const int64_t i[] = {INT64_MIN, -1, 0, 1, INT64_MAX};
  const bool b[] = {true, false, true, true, false};
  batch.AddFloat64("dev-1", "temp", ts, f);
  batch.AddInt64("dev-1", "count", ts, i);
  batch.AddBool("dev-2", "door/open", ts, b);
  return batch;
}

// Bitwise equality, so that NaN equals NaN and -0.0 differs from 0.0.
void ExpectSameBatch(const WriteBatch& a, const WriteBatch& b) {
  ASSERT_EQ(a.columns().size(), b.columns().size());
  EXPECT_EQ(a.points(), b.points());
  for (size_t k = 0; k < a.columns().size(); ++k) {
    const WriteBatch::Column& x = a.columns()[k];
    const WriteBatch::Column& y = b.columns()[k];
    EXPECT_EQ(x.device, y.device);
    EXPECT_EQ(x.channel, y.channel);
    EXPECT_EQ(x.type, y.type);
    EXPECT_EQ(x.timestamps, y.timestamps);
    ASSERT_EQ(x.f64.size(), y.f64.size());
    if (!x.f64.empty()) {
      EXPECT_EQ(0, std::memcmp(x.f64.data(), y.f64.data(), x.f64.size() * sizeof(double)));
    }
    EXPECT_EQ(x.i64, y.i64);
    EXPECT_EQ(x.b, y.b);
  }
}

Result<WriteRequest> Decode(const Frame& frame, WriteBatch& out, WriteLimits limits = {}) {
  return DecodeWrite(MessageOf<wire::Write>(frame), limits, out);
}

TEST(WriteCodec, RoundTripsAllValueTypesWithNaNAndInfinities) {
  const WriteBatch in = MixedBatch();
  Result<OutFrame> out = EncodeWrite(9, "greenhouse", in, Durability::kAsync);
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  Frame frame = RoundTrip(*out);
  EXPECT_EQ(frame.request_id(), 9u);
  WriteBatch decoded;
  Result<WriteRequest> req = Decode(frame, decoded);
  ASSERT_TRUE(req.has_value()) << req.error().ToString();
  EXPECT_EQ(req->project, "greenhouse");
  EXPECT_EQ(req->durability, Durability::kAsync);
  ExpectSameBatch(in, decoded);
  EXPECT_TRUE(std::isnan(decoded.columns()[0].f64[0]));
  EXPECT_TRUE(std::signbit(decoded.columns()[0].f64[3]));
}

TEST(WriteCodec, RoundTripsLabelSets) {
  WriteBatch in = MixedBatch();
  const int64_t ts[] = {5, 7};
  in.SetLabels("dev-1", ts,
               std::vector<std::pair<std::string, std::string>>{{"room", "3"}, {"site", ""}});
  Result<OutFrame> out = EncodeWrite(2, "p", in, Durability::kSync);
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  WriteBatch decoded;
  ASSERT_TRUE(Decode(RoundTrip(*out), decoded).has_value());
  ExpectSameBatch(in, decoded);
  ASSERT_EQ(decoded.label_sets().size(), 1u);
  const WriteBatch::LabelSet& l = decoded.label_sets()[0];
  EXPECT_EQ(l.device, "dev-1");
  EXPECT_EQ(l.timestamps, (std::vector<int64_t>{5, 7}));
  EXPECT_EQ(l.labels, in.label_sets()[0].labels);
  // More label times than points a Write may carry: refused.
  WriteLimits tight;
  tight.max_points = 16;
  std::vector<int64_t> many(20, 1);
  in.SetLabels("dev-2", many, std::vector<std::pair<std::string, std::string>>{{"a", "b"}});
  WriteBatch refused;
  EXPECT_FALSE(
      Decode(RoundTrip(*EncodeWrite(3, "p", in, Durability::kSync)), refused, tight).has_value());
  // Labels whose decoded form passes the memory bound: refused before anything is copied.
  WriteLimits small;
  small.max_label_bytes = 1000;
  WriteBatch wide = MixedBatch();
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int k = 0; k < 20; ++k) pairs.emplace_back("k" + std::to_string(k), std::string(40, 'v'));
  wide.SetLabels("dev-1", ts, pairs);
  WriteBatch none;
  const auto e = Decode(RoundTrip(*EncodeWrite(4, "p", wide, Durability::kSync)), none, small);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(none.empty());
}

TEST(WriteCodec, RoundTripsTenThousandPointsInOneFrame) {
  std::vector<int64_t> ts(10'000);
  std::vector<double> v(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) ts[i] = int64_t(i) * 1'000'000, v[i] = 20 + 0.01 * i;
  WriteBatch in;
  in.AddFloat64("dev", "temp", ts, v);
  Result<OutFrame> out = EncodeWrite(1, "p", in);
  ASSERT_TRUE(out.has_value());
  EXPECT_LT(out->size(), 10'000u * 16 + 512);  // no per-point overhead on the wire
  Frame frame = RoundTrip(*out);
  WriteBatch decoded;
  ASSERT_TRUE(Decode(frame, decoded).has_value());
  ExpectSameBatch(in, decoded);
}

TEST(WriteCodec, DecodingReusesTheBatch) {
  Frame frame = RoundTrip(*EncodeWrite(1, "p", MixedBatch()));
  WriteBatch decoded;
  ASSERT_TRUE(Decode(frame, decoded).has_value());
  ASSERT_TRUE(Decode(frame, decoded).has_value());
  ExpectSameBatch(MixedBatch(), decoded);
}

TEST(WriteCodec, EncodeRefusesABatchWithALengthMismatch) {
  WriteBatch batch;
  const int64_t ts[] = {1, 2, 3};
  const double v[] = {1, 2};
  batch.AddFloat64("d", "c", ts, v);
  Result<OutFrame> out = EncodeWrite(1, "p", batch);
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code(), StatusCode::kInvalidArgument);
}

TEST(WriteCodec, EncodeRefusesABatchOverTheFrameLimit) {
  std::vector<int64_t> ts(100'000);
  std::vector<int64_t> v(ts.size());
  WriteBatch batch;
  batch.AddInt64("d", "c", ts, v);
  Result<OutFrame> out = EncodeWrite(1, "p", batch, Durability::kSync, 1 << 20);
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(out.error().message().find("split the batch"), std::string::npos);
}

// A Write built by hand, as a foreign or hostile client could send it.
Frame HandWrite(size_t timestamps, size_t f64_values, size_t i64_values, wire::ValueType type,
                const char* device = "d") {
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<int64_t> ts(timestamps), i(i64_values);
  std::vector<double> f(f64_values);
  auto dev = device ? fbb.CreateString(device) : 0;
  auto col = wire::CreateSeriesColumn(fbb, dev, fbb.CreateString("c"), type, fbb.CreateVector(ts),
                                      f64_values ? fbb.CreateVector(f) : 0,
                                      i64_values ? fbb.CreateVector(i) : 0);
  std::vector<flatbuffers::Offset<wire::SeriesColumn>> cols = {col};
  auto w = wire::CreateWrite(fbb, fbb.CreateString("p"), fbb.CreateVector(cols));
  return RoundTrip(FinishEnvelope(fbb, 1, wire::Message::Write, w.Union()));
}

std::string DecodeError(const Frame& frame, WriteLimits limits = {}) {
  WriteBatch batch;
  Result<WriteRequest> r = Decode(frame, batch, limits);
  if (r.has_value()) return "ok";
  EXPECT_TRUE(batch.empty());
  return r.error().message();
}

TEST(WriteCodec, DecodeRejectsMismatchedColumnLengths) {
  EXPECT_EQ(DecodeError(HandWrite(3, 2, 0, wire::ValueType::Float64)),
            "column 0 (d/c) has 3 timestamps but 2 float64 values");
}

TEST(WriteCodec, DecodeRejectsValuesOfAnotherType) {
  EXPECT_EQ(DecodeError(HandWrite(2, 2, 2, wire::ValueType::Float64)),
            "column 0 (d/c) is of type float64 but carries values of another type");
  EXPECT_EQ(DecodeError(HandWrite(2, 2, 0, wire::ValueType::Int64)),
            "column 0 (d/c) has 2 timestamps but 0 int64 values");
}

TEST(WriteCodec, DecodeRejectsAnUnknownValueType) {
  EXPECT_EQ(DecodeError(HandWrite(1, 1, 0, static_cast<wire::ValueType>(9))),
            "column 0 (d/c) has unknown value type 9 (float64 1, int64 2, bool 3)");
}

TEST(WriteCodec, DecodeRejectsAMissingDevice) {
  EXPECT_EQ(DecodeError(HandWrite(1, 1, 0, wire::ValueType::Float64, nullptr)),
            "device name is missing");
}

TEST(WriteCodec, DecodeRejectsBoolsOtherThanZeroAndOne) {
  flatbuffers::FlatBufferBuilder fbb;
  const int64_t ts[] = {1, 2};
  const uint8_t b[] = {1, 7};
  auto col = wire::CreateSeriesColumn(fbb, fbb.CreateString("d"), fbb.CreateString("c"),
                                      wire::ValueType::Bool, fbb.CreateVector(ts, 2), 0, 0,
                                      fbb.CreateVector(b, 2));
  std::vector<flatbuffers::Offset<wire::SeriesColumn>> cols = {col};
  auto w = wire::CreateWrite(fbb, fbb.CreateString("p"), fbb.CreateVector(cols));
  Frame frame = RoundTrip(FinishEnvelope(fbb, 1, wire::Message::Write, w.Union()));
  EXPECT_EQ(DecodeError(frame), "column 0 (d/c): bool value 7 at position 1 is not 0 or 1");
}

TEST(WriteCodec, DecodeEnforcesThePointLimit) {
  Frame frame = HandWrite(100, 100, 0, wire::ValueType::Float64);
  EXPECT_EQ(DecodeError(frame, {.max_points = 99}),
            "write of more than 99 points exceeds the maximum per write; split the batch");
  EXPECT_EQ(DecodeError(frame, {.max_points = 100}), "ok");
}

TEST(WriteCodec, DecodeBoundsColumnsThatShareOneVector) {
  // 1000 columns all pointing at one 10k-point vector: 10M points from a 100 KB frame. The
  // limit is checked before anything is copied.
  flatbuffers::FlatBufferBuilder fbb;
  std::vector<int64_t> ts(10'000);
  auto tsv = fbb.CreateVector(ts);
  auto vals = fbb.CreateVector(std::vector<double>(10'000));
  auto col = wire::CreateSeriesColumn(fbb, fbb.CreateString("d"), fbb.CreateString("c"),
                                      wire::ValueType::Float64, tsv, vals);
  std::vector<flatbuffers::Offset<wire::SeriesColumn>> cols(1000, col);
  auto w = wire::CreateWrite(fbb, fbb.CreateString("p"), fbb.CreateVector(cols));
  Frame frame = RoundTrip(FinishEnvelope(fbb, 1, wire::Message::Write, w.Union()));
  EXPECT_EQ(DecodeError(frame),
            "write of more than 1048576 points exceeds the maximum per "
            "write; split the batch");
}

TEST(WriteCodec, DecodeRejectsAnEmptyWrite) {
  flatbuffers::FlatBufferBuilder fbb;
  auto w = wire::CreateWrite(fbb, fbb.CreateString("p"));
  Frame frame = RoundTrip(FinishEnvelope(fbb, 1, wire::Message::Write, w.Union()));
  EXPECT_EQ(DecodeError(frame), "write carries no columns");
}

TEST(WriteCodec, WriteReplyRoundTrips) {
  Frame frame = RoundTrip(EncodeWriteReply(12, 10'000, Durability::kSync));
  EXPECT_EQ(frame.request_id(), 12u);
  Result<WriteAck> ack = DecodeWriteReply(MessageOf<wire::WriteReply>(frame));
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->points, 10'000u);
  EXPECT_EQ(ack->ack, Durability::kSync);
}

}  // namespace
}  // namespace sensordb::protocol
