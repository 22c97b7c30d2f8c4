#include "sensordb/protocol/query_codec.h"

#include <gtest/gtest.h>

#include <numeric>

#include "test_util.h"
#include "value_type_wire.h"

namespace sensordb::protocol {
namespace {

using testing::MessageOf;
using testing::RoundTrip;

TEST(QueryMessage, RoundTripsLabelConditionsAndGroups) {
  using Op = LabelFilter::Op;
  QueryRequest in;
  in.kind = QueryKind::kAggregate;
  in.project = "p";
  LabelFilter any{Op::kOr, "", "", {}};
  any.operands.push_back({Op::kEq, "site", "north", {}});
  any.operands.push_back({Op::kNoMatch, "room", "^3", {}});
  in.selector = Selector("", "temp", {any, {Op::kNe, "device", "d2", {}}});
  in.group_by = {"site", "room"};
  Result<QueryRequest> out = DecodeQuery(MessageOf<wire::Query>(RoundTrip(EncodeQuery(3, in))));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  ASSERT_EQ(out->selector.labels.size(), 2u);
  const LabelFilter& a = out->selector.labels[0];
  EXPECT_EQ(a.op, Op::kOr);
  ASSERT_EQ(a.operands.size(), 2u);
  EXPECT_EQ(a.operands[1].op, Op::kNoMatch);
  EXPECT_EQ(a.operands[1].key, "room");
  EXPECT_EQ(a.operands[1].value, "^3");
  EXPECT_EQ(out->selector.labels[1].value, "d2");
  EXPECT_EQ(out->ToAggregateQuery().group_by, in.group_by);
  // Nesting past the bound is refused.
  LabelFilter deep{Op::kEq, "k", "v", {}};
  for (size_t i = 0; i <= kMaxWireLabelDepth; ++i) {
    deep = {Op::kAnd, "", "", {deep, LabelFilter{Op::kEq, "k", "v", {}}}};
  }
  in.selector = Selector("", "", {deep});
  EXPECT_FALSE(DecodeQuery(MessageOf<wire::Query>(RoundTrip(EncodeQuery(4, in)))).has_value());
  // Conditions on a latest query, groups on a raw one: refused, not ignored.
  in.selector = Selector("d", "", {{Op::kEq, "site", "x", {}}});
  in.kind = QueryKind::kLatest;
  EXPECT_FALSE(DecodeQuery(MessageOf<wire::Query>(RoundTrip(EncodeQuery(5, in)))).has_value());
  in.selector = Selector("", "", {});
  in.kind = QueryKind::kRaw;
  EXPECT_FALSE(DecodeQuery(MessageOf<wire::Query>(RoundTrip(EncodeQuery(6, in)))).has_value());
}

TEST(QueryMessage, RoundTripsAnAggregateQuery) {
  QueryRequest in;
  in.kind = QueryKind::kAggregate;
  in.project = "greenhouse";
  in.selector = {"", "temp"};
  in.range = {1000, 2000};
  in.bucket_ns = 60 * kNanosPerSecond;
  in.per_series = true;
  in.limit = 500;
  Frame frame = RoundTrip(EncodeQuery(21, in));
  EXPECT_EQ(frame.request_id(), 21u);
  Result<QueryRequest> out = DecodeQuery(MessageOf<wire::Query>(frame));
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(out->kind, QueryKind::kAggregate);
  EXPECT_EQ(out->project, "greenhouse");
  EXPECT_EQ(out->selector.device, "");
  EXPECT_EQ(out->selector.channel, "temp");
  EXPECT_EQ(out->range.start_ns, 1000);
  EXPECT_EQ(out->range.end_ns, 2000);
  EXPECT_EQ(out->bucket_ns, 60 * kNanosPerSecond);
  EXPECT_TRUE(out->per_series);
  EXPECT_EQ(out->limit, 500u);
  EXPECT_EQ(out->ToAggregateQuery().bucket_ns, in.bucket_ns);
}

TEST(QueryMessage, AbsentRangeMeansAllTime) {
  flatbuffers::FlatBufferBuilder fbb;
  auto q = wire::CreateQuery(fbb, wire::QueryKind::Raw, fbb.CreateString("p"));
  Frame frame = RoundTrip(FinishEnvelope(fbb, 1, wire::Message::Query, q.Union()));
  Result<QueryRequest> out = DecodeQuery(MessageOf<wire::Query>(frame));
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->range.start_ns, TimeRange{}.start_ns);
  EXPECT_EQ(out->range.end_ns, TimeRange{}.end_ns);
}

std::string QueryError(const QueryRequest& q) {
  Frame frame = RoundTrip(EncodeQuery(1, q));
  Result<QueryRequest> out = DecodeQuery(MessageOf<wire::Query>(frame));
  return out.has_value() ? "ok" : out.error().message();
}

TEST(QueryMessage, RejectsBadRequests) {
  QueryRequest q;
  q.project = "p";
  q.range = {5, 4};
  EXPECT_EQ(QueryError(q), "query range starts at 5 after its end 4");
  q.range = {};
  q.bucket_ns = -1;
  EXPECT_EQ(QueryError(q), "bucket_ns -1 is negative");
  q.bucket_ns = 0;
  q.kind = QueryKind::kLatest;
  EXPECT_EQ(QueryError(q), "device name is missing");
  q.project = "";
  EXPECT_EQ(QueryError(q), "project name is missing");
}

TEST(QueryChunkBuilder, SplitsALongRunIntoChunksOfTheTargetSize) {
  std::vector<int64_t> ts(100'000);
  std::iota(ts.begin(), ts.end(), 0);
  std::vector<double> v(ts.begin(), ts.end());
  const SeriesRef series{42, "dev", "temp", ValueType::kFloat64};
  const PointRun run{ValueType::kFloat64, ts, v, {}, {}};
  QueryChunkBuilder builder(7, QueryKind::kRaw, 64 * 1024);
  std::vector<Frame> frames;
  for (size_t offset = 0; offset < run.size();) {
    offset += builder.AddRaw(series, run, offset);
    if (builder.full()) frames.push_back(RoundTrip(builder.Finish()));
  }
  if (!builder.empty()) frames.push_back(RoundTrip(builder.Finish()));
  EXPECT_GT(frames.size(), 20u);
  int64_t expect = 0;
  for (const Frame& f : frames) {
    EXPECT_EQ(f.request_id(), 7u);
    EXPECT_LT(f.payload().size(), 64u * 1024 + 1024);
    const wire::QueryChunk& chunk = MessageOf<wire::QueryChunk>(f);
    ASSERT_NE(chunk.raw(), nullptr);
    for (size_t i = 0; i < chunk.raw()->size(); ++i) {
      Result<ColumnView> col = ViewColumn(*chunk.raw()->Get(i), i);
      ASSERT_TRUE(col.has_value()) << col.error().ToString();
      EXPECT_EQ(col->series_id, 42u);
      EXPECT_EQ(col->device, "dev");
      for (size_t k = 0; k < col->run.size(); ++k, ++expect) {
        ASSERT_EQ(col->run.timestamps[k], expect);
        ASSERT_EQ(col->run.f64[k], double(expect));
      }
    }
  }
  EXPECT_EQ(expect, 100'000);
}

TEST(QueryChunkBuilder, CarriesLatestPointsOfEveryType) {
  QueryChunkBuilder builder(8, QueryKind::kLatest);
  builder.AddLatest("dev", {"temp", 10, Value::Float64(21.5)});
  builder.AddLatest("dev", {"count", 11, Value::Int64(-3)});
  builder.AddLatest("dev", {"door", 12, Value::Bool(true)});
  EXPECT_EQ(builder.items(), 3u);
  Frame frame = RoundTrip(builder.Finish());
  EXPECT_TRUE(builder.empty());
  const wire::QueryChunk& chunk = MessageOf<wire::QueryChunk>(frame);
  ASSERT_NE(chunk.latest(), nullptr);
  ASSERT_EQ(chunk.latest()->size(), 3u);
  std::vector<LatestView> got;
  for (size_t i = 0; i < 3; ++i) got.push_back(*ViewLatest(*chunk.latest()->Get(i), i));
  EXPECT_EQ(got[0].device, "dev");
  EXPECT_EQ(got[0].point.channel, "temp");
  EXPECT_EQ(got[0].point.value.f64, 21.5);
  EXPECT_EQ(got[1].point.value.type, ValueType::kInt64);
  EXPECT_EQ(got[1].point.value.i64, -3);
  EXPECT_EQ(got[2].point.value.type, ValueType::kBool);
  EXPECT_TRUE(got[2].point.value.b);
  EXPECT_EQ(got[2].point.timestamp_ns, 12);
}

TEST(QueryChunkBuilder, GroupsAggregateRowsBySeries) {
  QueryChunkBuilder builder(9, QueryKind::kAggregate);
  const SeriesRef a{1, "d1", "temp", ValueType::kFloat64};
  const SeriesRef b{2, "d2", "temp", ValueType::kInt64};
  for (const SeriesRef* s : {&a, &b}) {
    for (int bucket = 0; bucket < 3; ++bucket) {
      AggregateRow row;
      row.series = s;
      row.bucket_start_ns = bucket * 60;
      row.count = 10 + bucket;
      row.sum = 1.5 * bucket;
      row.min = -1;
      row.max = 99;
      row.first_ns = bucket * 60 + 1;
      row.last_ns = bucket * 60 + 59;
      builder.AddAggregate(row);
    }
  }
  Frame frame = RoundTrip(builder.Finish());
  const wire::QueryChunk& chunk = MessageOf<wire::QueryChunk>(frame);
  ASSERT_NE(chunk.aggregate(), nullptr);
  ASSERT_EQ(chunk.aggregate()->size(), 2u);
  Result<AggregateRunView> run = ViewAggregateRun(*chunk.aggregate()->Get(1), 1);
  ASSERT_TRUE(run.has_value()) << run.error().ToString();
  EXPECT_EQ(run->series_id, 2u);
  EXPECT_EQ(run->device, "d2");
  EXPECT_EQ(run->type, ValueType::kInt64);
  ASSERT_EQ(run->rows.size(), 3u);
  const AggregateRow row = ToAggregateRow(run->rows[2]);
  EXPECT_EQ(row.bucket_start_ns, 120);
  EXPECT_EQ(row.count, 12u);
  EXPECT_EQ(row.sum, 3.0);
  EXPECT_EQ(row.last_ns, 179);
  EXPECT_EQ(row.series, nullptr);
}

TEST(QueryChunkBuilder, MergedAggregateRowsHaveNoSeries) {
  QueryChunkBuilder builder(9, QueryKind::kAggregate);
  AggregateRow row;
  row.count = 5;
  builder.AddAggregate(row);
  builder.AddAggregate(row);
  Frame frame = RoundTrip(builder.Finish());
  const wire::QueryChunk& chunk = MessageOf<wire::QueryChunk>(frame);
  ASSERT_EQ(chunk.aggregate()->size(), 1u);
  Result<AggregateRunView> run = ViewAggregateRun(*chunk.aggregate()->Get(0), 0);
  ASSERT_TRUE(run.has_value());
  EXPECT_TRUE(run->device.empty());
  EXPECT_EQ(run->rows.size(), 2u);
}

TEST(QueryEndMessage, RoundTrips) {
  Frame frame = RoundTrip(EncodeQueryEnd(30, 123456, true));
  EXPECT_EQ(frame.request_id(), 30u);
  const wire::QueryEnd& end = MessageOf<wire::QueryEnd>(frame);
  EXPECT_EQ(end.count(), 123456u);
  EXPECT_TRUE(end.truncated());
}

TEST(ValueTypeWire, EveryTypeMapsBothWaysAndAnUnknownOneIsNamed) {
  for (ValueType t : {ValueType::kFloat64, ValueType::kInt64, ValueType::kBool}) {
    auto back = EngineType(WireType(t), "x");
    ASSERT_TRUE(back.has_value()) << back.error().ToString();
    EXPECT_EQ(*back, t);
  }
  for (uint8_t raw : {uint8_t{0}, uint8_t{9}}) {
    auto r = EngineType(static_cast<wire::ValueType>(raw), "row 3");
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(), "row 3: unknown value type " + std::to_string(raw) +
                                       "; use Float64, Int64 or Bool");
  }
}

}  // namespace
}  // namespace sensordb::protocol
