// The embedded engine through its public API: catalog, writes, queries, bad input, isolation,
// recovery of the head, retention.
#include <atomic>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <thread>

#include "test_util.h"

namespace sensordb {
namespace {

using testing::Pt;
using testing::ReadSeries;
using testing::TempDir;
using testing::TestOptions;

constexpr int64_t kSec = kNanosPerSecond;
constexpr int64_t kT0 = 1'767'225'600 * kSec;

std::unique_ptr<DB> OpenDb(const std::string& dir, Options o = TestOptions()) {
  auto db = DB::Open(o, dir);
  EXPECT_TRUE(db.has_value()) << db.error().ToString();
  return db ? std::move(*db) : nullptr;
}

Status WriteF(DB& db, const std::string& project, const std::string& dev, const std::string& ch,
              std::vector<int64_t> ts, std::vector<double> v) {
  WriteBatch b;
  b.AddFloat64(dev, ch, ts, v);
  return db.Write(project, b);
}

TEST(Catalog, CreateListDropProjects) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("alpha", {.retention_days = 30}));
  ASSERT_TRUE(db->CreateProject("beta"));
  auto again = db->CreateProject("alpha");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), StatusCode::kAlreadyExists);
  auto list = db->ListProjects();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "alpha");
  EXPECT_EQ((*list)[0].retention_days, 30u);
  ASSERT_TRUE(db->DropProject("alpha").ok());
  EXPECT_EQ(db->ListProjects()->size(), 1u);
  EXPECT_EQ(db->DropProject("alpha").code(), StatusCode::kNotFound);
}

TEST(Catalog, RejectsBadProjectNames) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  for (const char* bad : {"", "Upper", "has space", "-lead", "x/y",
                          "a-very-long-name-that-goes-past-sixty-four-characters-for-sure-yes"}) {
    auto r = db->CreateProject(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(Catalog, RegistersDevicesAndChannelsAndKeepsThemAcrossReopen) {
  TempDir dir;
  {
    auto db = OpenDb(dir.path());
    ASSERT_TRUE(db->CreateProject("p"));
    ASSERT_TRUE(db->RegisterDevice("p", {"dev-1", "CR1000X", "1.2.3"}).ok());
    auto ch = db->RegisterChannel("p", "dev-1", "tank1/level", ValueType::kInt64, "mm");
    ASSERT_TRUE(ch) << ch.error().ToString();
    auto clash = db->RegisterChannel("p", "dev-1", "tank1/level", ValueType::kFloat64);
    ASSERT_FALSE(clash);
    EXPECT_EQ(clash.error().code(), StatusCode::kInvalidArgument);
  }
  auto db = OpenDb(dir.path());
  auto devices = db->ListDevices("p");
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_EQ((*devices)[0].model, "CR1000X");
  EXPECT_EQ((*devices)[0].firmware_version, "1.2.3");
  auto channels = db->ListChannels("p");
  ASSERT_EQ(channels->size(), 1u);
  EXPECT_EQ((*channels)[0].name, "tank1/level");
  EXPECT_EQ((*channels)[0].unit, "mm");
  EXPECT_EQ((*channels)[0].type, ValueType::kInt64);
}

TEST(Write, ImplicitlyCreatesChannelsOnFirstWrite) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WriteF(*db, "p", "d", "temp", {kT0}, {1.5}).ok());
  auto channels = db->ListChannels("p", "d");
  ASSERT_EQ(channels->size(), 1u);
  EXPECT_EQ((*channels)[0].type, ValueType::kFloat64);
}

TEST(Write, RoundTripsAllThreeTypes) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  WriteBatch b;
  std::vector<int64_t> ts = {kT0, kT0 + kSec, kT0 + 2 * kSec};
  std::vector<int64_t> ints = {std::numeric_limits<int64_t>::min(), 0,
                               std::numeric_limits<int64_t>::max()};
  bool bools[] = {true, false, true};
  b.AddInt64("d", "count", ts, ints);
  b.AddBool("d", "door", ts, bools);
  ASSERT_TRUE(db->Write("p", b).ok());
  for (bool flush : {false, true}) {
    if (flush) {
      ASSERT_TRUE(db->Flush().ok());
    }
    std::vector<int64_t> got_i;
    std::vector<bool> got_b;
    ASSERT_TRUE(db->QueryRaw("p", {"d", ""}, {}, [&](const SeriesRef& s, const PointRun& r) {
                    for (size_t i = 0; i < r.size(); ++i) {
                      if (s.type == ValueType::kInt64) got_i.push_back(r.i64[i]);
                      if (s.type == ValueType::kBool) got_b.push_back(r.b[i] != 0);
                    }
                    return true;
                  }).ok());
    EXPECT_EQ(got_i, ints);
    EXPECT_EQ(got_b, std::vector<bool>({true, false, true}));
  }
}

TEST(Write, CreatesSeveralNewChannelsOfDifferentTypesInOneBatch) {
  // Regression: the batch's new-channel check once kept views into temporaries.
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  WriteBatch b;
  b.Add("d", "temp", kT0, Value::Float64(1.5));
  b.Add("d", "hum", kT0, Value::Int64(40));
  b.Add("d", "door", kT0, Value::Bool(true));
  b.Add("e", "temp", kT0, Value::Float64(2.5));
  ASSERT_TRUE(db->Write("p", b).ok());
  EXPECT_EQ(db->ListChannels("p")->size(), 4u);
}

TEST(Write, StoresNaNInfinitiesAndNegativeZeroFaithfully) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> v = {nan, inf, -inf, -0.0, 5e-324, 1.7976931348623157e308};
  std::vector<int64_t> ts;
  for (size_t i = 0; i < v.size(); ++i) ts.push_back(kT0 + int64_t(i));
  ASSERT_TRUE(WriteF(*db, "p", "d", "x", ts, v).ok());
  ASSERT_TRUE(db->Flush().ok());
  std::vector<double> got;
  ASSERT_TRUE(db->QueryRaw("p", {"d", "x"}, {}, [&](const SeriesRef&, const PointRun& r) {
                  got.insert(got.end(), r.f64.begin(), r.f64.end());
                  return true;
                }).ok());
  ASSERT_EQ(got.size(), v.size());
  EXPECT_TRUE(std::isnan(got[0]));
  for (size_t i = 1; i < v.size(); ++i) {
    EXPECT_EQ(std::signbit(got[i]), std::signbit(v[i]));
    EXPECT_EQ(got[i], v[i]);
  }
}

TEST(Write, LargeColumnSurvivesSealAndReopen) {
  TempDir dir;
  std::vector<int64_t> ts;
  std::vector<double> v;
  for (int i = 0; i < 200'000; ++i) {
    ts.push_back(kT0 + i * kSec);
    v.push_back(i * 0.25);
  }
  {
    auto db = OpenDb(dir.path());
    ASSERT_TRUE(db->CreateProject("p"));
    ASSERT_TRUE(WriteF(*db, "p", "d", "x", ts, v).ok());  // longer than one vector can hold
  }
  auto db = OpenDb(dir.path());  // replays the record
  ASSERT_EQ(ReadSeries(*db, "p", "d", "x").size(), ts.size());
  ASSERT_TRUE(db->Flush().ok());
  auto got = ReadSeries(*db, "p", "d", "x");
  ASSERT_EQ(got.size(), ts.size());
  EXPECT_EQ(got[123'456].t, ts[123'456]);
  EXPECT_EQ(got[123'456].v, v[123'456]);
}

TEST(Write, RepeatedSeriesInOneBatchSurvivesConcurrentSeals) {
  // A batch naming a series twice is applied column by column; a seal running meanwhile must
  // not cut the chunk between the two columns (the second would be taken for sealed).
  TempDir dir;
  Options o = TestOptions();
  o.chunk_max_points = 8;
  auto db = OpenDb(dir.path(), o);
  ASSERT_TRUE(db->CreateProject("p"));
  std::atomic<bool> done{false};
  std::thread sealer([&] {
    for (int i = 0; i < 2000 && !done; ++i) ASSERT_TRUE(db->Flush().ok());
  });
  constexpr int kBatches = 150;
  for (int i = 0; i < kBatches; ++i) {
    WriteBatch b;
    std::vector<double> v(5, 1.0);
    std::vector<int64_t> t1, t2, ty(5);
    for (int k = 0; k < 5; ++k) {
      t1.push_back(kT0 + i * 100 + k);
      t2.push_back(kT0 + i * 100 + 50 + k);
      ty[k] = kT0 + i * 100 + k;
    }
    b.AddFloat64("d", "x", t1, v);
    for (int k = 0; k < 400; ++k) {  // keeps the writer between x's two columns a while
      b.AddFloat64("d", "y" + std::to_string(k), ty, v);
    }
    b.AddFloat64("d", "x", t2, v);
    ASSERT_TRUE(db->Write("p", b).ok());
  }
  done = true;
  sealer.join();
  EXPECT_EQ(ReadSeries(*db, "p", "d", "x").size(), size_t(kBatches) * 10);
  EXPECT_EQ(ReadSeries(*db, "p", "d", "y0").size(), size_t(kBatches) * 5);
}

TEST(Write, LastWriteWinsForDuplicateTimestamps) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WriteF(*db, "p", "d", "x", {kT0, kT0 + 1, kT0 + 2}, {1, 2, 3}).ok());
  ASSERT_TRUE(db->Flush().ok());  // the first values are now in a block
  ASSERT_TRUE(WriteF(*db, "p", "d", "x", {kT0 + 1}, {20}).ok());
  EXPECT_EQ(ReadSeries(*db, "p", "d", "x"),
            (std::vector<Pt>{{kT0, 1}, {kT0 + 1, 20}, {kT0 + 2, 3}}));
  ASSERT_TRUE(db->Flush().ok());  // two overlapping blocks now
  ASSERT_TRUE(WriteF(*db, "p", "d", "x", {kT0 + 2, kT0 + 2}, {30, 31}).ok());
  EXPECT_EQ(ReadSeries(*db, "p", "d", "x"),
            (std::vector<Pt>{{kT0, 1}, {kT0 + 1, 20}, {kT0 + 2, 31}}));
}

TEST(Write, AcceptsOutOfOrderAndLatePoints) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WriteF(*db, "p", "d", "x", {kT0 + 30, kT0 + 10, kT0 + 20}, {3, 1, 2}).ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(WriteF(*db, "p", "d", "x", {kT0 + 15, kT0 - 5}, {1.5, -0.5}).ok());
  EXPECT_EQ(ReadSeries(*db, "p", "d", "x"),
            (std::vector<Pt>{{kT0 - 5, -0.5}, {kT0 + 10, 1}, {kT0 + 15, 1.5}, {kT0 + 20, 2},
                             {kT0 + 30, 3}}));
}

TEST(BadInput, MismatchedColumnLengthsApplyNothing) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  WriteBatch b;
  std::vector<int64_t> ts = {kT0, kT0 + 1};
  std::vector<double> good = {1, 2}, bad = {1};
  b.AddFloat64("d", "ok", ts, good);
  b.AddFloat64("d", "short", ts, bad);
  Status s = db->Write("p", b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("2 timestamps but 1 values"), std::string::npos) << s.message();
  EXPECT_TRUE(db->ListChannels("p")->empty());
}

TEST(BadInput, TimestampOutOfRangeAppliesNothing) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  WriteBatch b;
  std::vector<int64_t> ok = {kT0}, bad = {std::numeric_limits<int64_t>::max()};
  std::vector<double> v = {1};
  b.AddFloat64("d", "a", ok, v);
  b.AddFloat64("d", "b", bad, v);
  Status s = db->Write("p", b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("outside the supported range"), std::string::npos);
  EXPECT_TRUE(db->ListChannels("p")->empty());
}

TEST(BadInput, EmptyBatchUnknownProjectAndTypeClash) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  EXPECT_EQ(db->Write("p", WriteBatch()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteF(*db, "nope", "d", "x", {kT0}, {1}).code(), StatusCode::kNotFound);
  ASSERT_TRUE(WriteF(*db, "p", "d", "x", {kT0}, {1}).ok());
  WriteBatch b;
  std::vector<int64_t> ts = {kT0 + 1};
  std::vector<int64_t> iv = {7};
  b.AddFloat64("d", "y", ts, std::vector<double>{2});
  b.AddInt64("d", "x", ts, iv);  // x holds floats
  EXPECT_EQ(db->Write("p", b).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db->ListChannels("p")->size(), 1u);  // y was not created
  EXPECT_EQ(ReadSeries(*db, "p", "d", "x").size(), 1u);
}

TEST(BadInput, OversizedBatchIsRefused) {
  TempDir dir;
  Options o = TestOptions();
  o.max_batch_points = 10;
  auto db = OpenDb(dir.path(), o);
  ASSERT_TRUE(db->CreateProject("p"));
  std::vector<int64_t> ts(11);
  std::vector<double> v(11);
  for (int i = 0; i < 11; ++i) ts[i] = kT0 + i;
  EXPECT_EQ(WriteF(*db, "p", "d", "x", ts, v).code(), StatusCode::kResourceExhausted);
}

TEST(Isolation, ProjectsNeverSeeEachOthersData) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("a"));
  ASSERT_TRUE(db->CreateProject("b"));
  ASSERT_TRUE(WriteF(*db, "a", "d", "x", {kT0}, {1}).ok());
  ASSERT_TRUE(WriteF(*db, "b", "d", "x", {kT0 + 1}, {2}).ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(WriteF(*db, "a", "d", "x", {kT0 + 2}, {3}).ok());
  EXPECT_EQ(ReadSeries(*db, "a", "d", "x"), (std::vector<Pt>{{kT0, 1}, {kT0 + 2, 3}}));
  EXPECT_EQ(ReadSeries(*db, "b", "d", "x"), (std::vector<Pt>{{kT0 + 1, 2}}));
  uint64_t count = 0;
  ASSERT_TRUE(db->Aggregate("b", {}, [&](const AggregateRow& r) {
                  count += r.count;
                  return true;
                }).ok());
  EXPECT_EQ(count, 1u);
  ASSERT_TRUE(db->DropProject("a").ok());
  ASSERT_TRUE(db->CreateProject("a"));
  EXPECT_EQ(db->QueryRaw("a", {"d", "x"}, {}, [](auto&, auto&) { return true; }).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(ReadSeries(*db, "b", "d", "x").size(), 1u);
}

// A server authorises a write against a project, then reads the body (seconds, for a slow
// client): a write pinned to the id it authorised lands nowhere once that project was dropped,
// even when another of the same name exists by then.
TEST(Isolation, WritePinnedToAProjectIdNeverLandsInItsSuccessor) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  auto first = db->CreateProject("a");
  ASSERT_TRUE(first);
  WriteBatch b;
  const std::vector<int64_t> ts{kT0};
  const std::vector<double> v{1};
  b.AddFloat64("d", "x", ts, v);
  ASSERT_TRUE(db->Write("a", first->id, b).ok());
  ASSERT_TRUE(db->DropProject("a").ok());
  auto second = db->CreateProject("a");
  ASSERT_TRUE(second);
  ASSERT_NE(second->id, first->id);
  const Status s = db->Write("a", first->id, b);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_TRUE(db->ListDevices("a")->empty());
  ASSERT_TRUE(db->Write("a", second->id, b).ok());
  EXPECT_EQ(ReadSeries(*db, "a", "d", "x"), (std::vector<Pt>{{kT0, 1}}));
}

// A bucket costs a 128-byte map node while an aggregate runs; a bucket of 1 ns over a long range
// would hold one per point. Past Options::max_aggregate_buckets the query is refused, whether
// merged on one thread, merged on several (each share under the bound, the merge over it), or
// per series, and a wider bucket answers.
TEST(Query, AggregateBucketsAreBounded) {
  TempDir dir;
  Options o = TestOptions();
  o.max_aggregate_buckets = 100;
  o.query_threads = 2;
  auto db = OpenDb(dir.path(), o);
  ASSERT_TRUE(db->CreateProject("p"));
  // 256 series, two threads' shares of 128: the first share at even nanoseconds, the second at
  // odd ones, 75 points per series. Each share has 75 distinct timestamps, both 150.
  WriteBatch b;
  for (int d = 0; d < 256; ++d) {
    std::vector<int64_t> ts;
    std::vector<double> v;
    for (int i = 0; i < 75; ++i) ts.push_back(kT0 + 2 * i + (d < 128 ? 0 : 1)), v.push_back(i);
    b.AddFloat64("d" + std::to_string(1000 + d), "x", ts, v);  // names sort as numbers
  }
  ASSERT_TRUE(db->Write("p", b).ok());
  const auto count_of = [&](AggregateQuery q) -> Result<uint64_t> {
    uint64_t n = 0;
    const Status s = db->Aggregate("p", q, [&](const AggregateRow& r) {
      n += r.count;
      return true;
    });
    if (!s.ok()) return Err(s);
    return n;
  };
  for (const bool flushed : {false, true}) {
    if (flushed) {
      ASSERT_TRUE(db->Flush().ok());
    }
    AggregateQuery q;
    q.bucket_ns = 1;
    for (const std::string device : {"", "d1000"}) {  // several threads; one series
      q.selector.device = device;
      auto all = count_of(q);
      ASSERT_EQ(device.empty(), !all.has_value()) << flushed << device;
      if (!all) {
        EXPECT_EQ(all.error().code(), StatusCode::kResourceExhausted) << all.error().ToString();
        EXPECT_NE(all.error().message().find("max_aggregate_buckets"), std::string::npos);
      }
    }
    q.selector.device = "";
    q.per_series = true;  // 75 buckets per series: within the bound
    EXPECT_EQ(count_of(q).value_or(0), 256u * 75u) << flushed;
    q.per_series = false;
    q.bucket_ns = 10;
    EXPECT_EQ(count_of(q).value_or(0), 256u * 75u) << flushed;
  }
  // Per series, the bound holds for each series.
  db.reset();
  o.max_aggregate_buckets = 50;
  db = OpenDb(dir.path(), o);
  AggregateQuery q;
  q.bucket_ns = 1;
  q.per_series = true;
  EXPECT_EQ(count_of(q).error().code(), StatusCode::kResourceExhausted);
  q.bucket_ns = 10;
  EXPECT_EQ(count_of(q).value_or(0), 256u * 75u);
}

TEST(Recovery, HeadIsReplayedAfterReopen) {
  TempDir dir;
  {
    auto db = OpenDb(dir.path());
    ASSERT_TRUE(db->CreateProject("p"));
    ASSERT_TRUE(WriteF(*db, "p", "d", "x", {kT0, kT0 + 1}, {1, 2}).ok());
    ASSERT_TRUE(db->Flush().ok());
    ASSERT_TRUE(WriteF(*db, "p", "d", "x", {kT0 + 1, kT0 + 2}, {5, 6}).ok());
  }
  auto db = OpenDb(dir.path());
  EXPECT_EQ(ReadSeries(*db, "p", "d", "x"),
            (std::vector<Pt>{{kT0, 1}, {kT0 + 1, 5}, {kT0 + 2, 6}}));
  auto stats = db->Stats();
  EXPECT_EQ(stats->head_points, 2u);
  EXPECT_EQ(stats->blocks, 1u);
}

TEST(Query, LatestPicksNewestPointPerChannel) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WriteF(*db, "p", "d", "a", {kT0, kT0 + 5}, {1, 2}).ok());
  ASSERT_TRUE(WriteF(*db, "p", "d", "b", {kT0 + 9}, {9}).ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(WriteF(*db, "p", "d", "a", {kT0 + 3}, {3}).ok());  // late: not the latest
  auto latest = db->Latest("p", "d");
  ASSERT_TRUE(latest);
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].channel, "a");
  EXPECT_EQ((*latest)[0].timestamp_ns, kT0 + 5);
  EXPECT_EQ((*latest)[0].value.f64, 2);
  EXPECT_EQ((*latest)[1].value.f64, 9);
  EXPECT_EQ(db->Latest("p", "ghost").error().code(), StatusCode::kNotFound);
}

TEST(Query, AggregatesBucketsAcrossDevices) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WriteF(*db, "p", "d1", "t", {kT0, kT0 + 30 * kSec, kT0 + 60 * kSec}, {1, 3, 10}).ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(WriteF(*db, "p", "d2", "t", {kT0 + 10 * kSec, kT0 + 70 * kSec}, {5, 20}).ok());
  AggregateQuery q;
  q.selector = {"", "t"};
  q.bucket_ns = 60 * kSec;
  std::vector<AggregateRow> rows;
  ASSERT_TRUE(db->Aggregate("p", q, [&](const AggregateRow& r) {
                  rows.push_back(r);
                  return true;
                }).ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].bucket_start_ns, kT0);
  EXPECT_EQ(rows[0].count, 3u);
  EXPECT_DOUBLE_EQ(rows[0].Get(Aggregation::kMean), 3.0);
  EXPECT_EQ(rows[0].min, 1);
  EXPECT_EQ(rows[0].max, 5);
  EXPECT_EQ(rows[0].first, 1);
  EXPECT_EQ(rows[0].last, 3);
  EXPECT_EQ(rows[1].count, 2u);
  EXPECT_EQ(rows[1].sum, 30);
  EXPECT_EQ(rows[1].last, 20);
}

TEST(Query, SummariesAnswerWholeBlocksInsideABucket) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  std::vector<int64_t> ts;
  std::vector<double> v;
  for (int i = 0; i < 1000; ++i) {
    ts.push_back(kT0 + i * kSec);
    v.push_back(i % 17 * 0.5);
  }
  ASSERT_TRUE(WriteF(*db, "p", "d", "x", ts, v).ok());
  ASSERT_TRUE(db->Flush().ok());
  double sum = 0;
  for (double x : v) sum += x;
  for (int64_t bucket : {int64_t(0), 86400 * kSec, 100 * kSec}) {
    AggregateQuery q;
    q.bucket_ns = bucket;
    uint64_t count = 0;
    double got = 0;
    ASSERT_TRUE(db->Aggregate("p", q, [&](const AggregateRow& r) {
                    count += r.count;
                    got += r.sum;
                    return true;
                  }).ok());
    EXPECT_EQ(count, 1000u) << bucket;
    EXPECT_DOUBLE_EQ(got, sum) << bucket;
  }
}

TEST(Query, ParallelAggregateEqualsSingleThreaded) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  WriteBatch b;
  for (int d = 0; d < 400; ++d) {  // enough series for several query threads
    for (int i = 0; i < 20; ++i) {
      b.Add("dev" + std::to_string(d), "t", kT0 + (d % 7 + i * 50) * kSec,
            Value::Float64(d * 0.5 - i));
    }
  }
  ASSERT_TRUE(db->Write("p", b).ok());
  ASSERT_TRUE(db->Flush().ok());
  auto rows = [&](DB& which) {
    std::vector<std::tuple<int64_t, uint64_t, double, double, double, double, double>> out;
    EXPECT_TRUE(which.Aggregate("p", {{"", "t"}, {}, 60 * kSec, false}, [&](const AggregateRow& r) {
                       out.emplace_back(r.bucket_start_ns, r.count, r.sum, r.min, r.max, r.first,
                                        r.last);
                       return true;
                     }).ok());
    return out;
  };
  const auto parallel = rows(*db);
  db.reset();
  Options o = TestOptions();
  o.query_threads = 1;
  auto single = OpenDb(dir.path(), o);
  EXPECT_EQ(parallel, rows(*single));
  EXPECT_EQ(parallel.size(), 16u);  // 956 s of data in 60 s buckets
}

// Per-series aggregates over many series run on several threads, each folding a share of the
// series into a queue of at most 64 Ki rows that the caller drains in series order. The rows,
// their order and an early stop by the caller are those of one thread. 300 series x 600
// one-nanosecond buckets on two threads: each share of 150 series holds 90 000 rows, so each
// queue fills and waits for the caller at least once.
TEST(Query, PerSeriesOnSeveralThreadsEqualsOneThread) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  for (int part = 0; part < 2; ++part) {  // the first half sealed into blocks, the rest in the head
    WriteBatch b;
    for (int d = 0; d < 300; ++d) {
      std::vector<int64_t> ts;
      std::vector<double> v;
      for (int i = part * 300; i < part * 300 + 300; ++i) ts.push_back(kT0 + i), v.push_back(d - i);
      b.AddFloat64("d" + std::to_string(1000 + d), "x", ts, v);
    }
    ASSERT_TRUE(db->Write("p", b).ok());
    if (part == 0) {
      ASSERT_TRUE(db->Flush().ok());
    }
  }
  using Row = std::tuple<std::string, int64_t, uint64_t, double, double, double>;
  auto rows = [&](DB& which, size_t stop_after) {
    std::vector<Row> out;
    const AggregateQuery q{{"", "x"}, {}, 1, true};
    const Status s = which.Aggregate("p", q, [&](const AggregateRow& r) {
      out.emplace_back(std::string(r.series->device), r.bucket_start_ns, r.count, r.sum, r.first,
                       r.last);
      return out.size() < stop_after;
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  };
  const auto parallel = rows(*db, SIZE_MAX);
  const auto stopped = rows(*db, 100'000);
  db.reset();
  Options o = TestOptions();
  o.query_threads = 1;
  auto single = OpenDb(dir.path(), o);
  ASSERT_EQ(parallel.size(), 300u * 600u);
  EXPECT_EQ(parallel, rows(*single, SIZE_MAX));
  ASSERT_EQ(stopped.size(), 100'000u);
  EXPECT_EQ(stopped, rows(*single, 100'000));
  EXPECT_EQ(std::get<0>(parallel.front()), "d1000");
  EXPECT_EQ(std::get<0>(parallel.back()), "d1299");
  // A callback that throws (a full disk under a REST response, say) leaves through the query
  // after the threads are joined, not through std::terminate; the database answers after.
  size_t seen = 0;
  EXPECT_THROW((void)single->Aggregate("p", {{"", "x"}, {}, 1, true},
                                       [&](const AggregateRow&) -> bool {
                                         if (++seen == 1000) throw std::runtime_error("callback");
                                         return true;
                                       }),
               std::runtime_error);
  single.reset();
  db = OpenDb(dir.path());
  seen = 0;
  EXPECT_THROW((void)db->Aggregate("p", {{"", "x"}, {}, 1, true},
                                   [&](const AggregateRow&) -> bool {
                                     if (++seen == 1000) throw std::runtime_error("callback");
                                     return true;
                                   }),
               std::runtime_error);
  EXPECT_EQ(rows(*db, 10).size(), 10u);
}

// Short blocks (here: three flushes of 50 points per series) are merged per series by
// DB::Compact into one block each, atomically, with every point and value kept; a block that
// overlaps another of its series (a late write) stays apart with the blocks it overlaps, so
// the last write still wins.
TEST(Compaction, MergesEachSeriesShortBlocksAndKeepsEveryPoint) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  std::map<std::string, std::map<int64_t, double>> model;  // device -> time -> value
  auto write = [&](int device, int64_t first, int n, double base) {
    std::vector<int64_t> ts;
    std::vector<double> v;
    const std::string name = "d" + std::to_string(100 + device);
    for (int i = 0; i < n; ++i) {
      ts.push_back(kT0 + (first + i) * kSec);
      v.push_back(base + i);
      model[name][ts.back()] = v.back();
    }
    WriteBatch b;
    b.AddFloat64(name, "x", ts, v);
    ASSERT_TRUE(db->Write("p", b).ok());
  };
  // d101..d119: three short blocks each, in time order. d100, in three flushes: [50, 100)
  // (block_seq lowest), late points [60, 66) over it, then a backfill [0, 50) (highest). The
  // backfill and [50, 100) do not overlap, but merged they would take the backfill's block_seq
  // and win over the late points: so [50, 100) stays apart, and the backfill alone has nothing
  // to merge with.
  const std::vector<std::pair<int64_t, int>> d100 = {{50, 50}, {60, 6}, {0, 50}};
  for (int part = 0; part < 3; ++part) {
    for (int d = 1; d < 20; ++d) write(d, part * 50, 50, d * 1000 + part * 100);
    write(0, d100[part].first, d100[part].second, -100.0 * (part + 1));
    // d120: [50, 100), then a backfill [0, 50): the earlier block is the later write, and the
    // merged block would take its key (summaries are cached by key): left as it is.
    if (part < 2) write(20, 50 - part * 50, 50, 7);
    // d121: two 10-second blocks two hours apart. Merged they would span 2 h, more than any
    // block of the project or an aged chunk (1 h), and every query would seek back that far.
    if (part < 2) write(21, part * 7200, 10, 3);
    ASSERT_TRUE(db->Flush().ok());
  }
  ASSERT_EQ(db->Stats()->blocks, 64u);
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(db->Stats()->blocks, 19u + 3u + 2u + 2u);
  EXPECT_EQ(db->Stats()->blocks_merged, 19u * 3u);
  auto check = [&](DB& which) {
    for (const auto& [device, points] : model) {
      std::vector<Pt> want;
      for (const auto& [t, v] : points) want.push_back({t, v});
      EXPECT_EQ(ReadSeries(which, "p", device, "x"), want) << device;
    }
  };
  check(*db);
  ASSERT_TRUE(db->Compact().ok());  // nothing left to merge
  EXPECT_EQ(db->Stats()->blocks, 26u);
  db.reset();
  db = OpenDb(dir.path());
  check(*db);
  EXPECT_EQ(db->Stats()->blocks, 26u);
  // Options::merge_block_bytes = 0 turns merging off.
  db.reset();
  TempDir dir2;
  Options off = TestOptions();
  off.merge_block_bytes = 0;
  db = OpenDb(dir2.path(), off);
  ASSERT_TRUE(db->CreateProject("p"));
  for (int part = 0; part < 3; ++part) {
    write(0, part * 50, 50, 0);
    ASSERT_TRUE(db->Flush().ok());
  }
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(db->Stats()->blocks, 3u);
}

TEST(Query, RejectsEmptyRangeAndUnknownSelections) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WriteF(*db, "p", "d", "x", {kT0}, {1}).ok());
  auto cb = [](const SeriesRef&, const PointRun&) { return true; };
  EXPECT_EQ(db->QueryRaw("p", {}, {kT0, kT0}, cb).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(db->QueryRaw("p", {"d", "nope"}, {}, cb).code(), StatusCode::kNotFound);
  EXPECT_EQ(db->QueryRaw("p", {"", "nope"}, {}, cb).code(), StatusCode::kNotFound);
  EXPECT_EQ(db->QueryRaw("q", {}, {}, cb).code(), StatusCode::kNotFound);
}

TEST(Retention, DropsExpiredBlocksOnly) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p", {.retention_days = 10}));
  ASSERT_TRUE(db->CreateProject("keep"));
  const int64_t day = 86400 * kSec;
  ASSERT_TRUE(WriteF(*db, "p", "d", "x", {kT0, kT0 + 1}, {1, 2}).ok());
  ASSERT_TRUE(WriteF(*db, "keep", "d", "x", {kT0}, {1}).ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(WriteF(*db, "p", "d", "x", {kT0 + 20 * day}, {3}).ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->EnforceRetention(kT0 + 25 * day).ok());
  EXPECT_EQ(ReadSeries(*db, "p", "d", "x"), (std::vector<Pt>{{kT0 + 20 * day, 3}}));
  EXPECT_EQ(ReadSeries(*db, "keep", "d", "x").size(), 1u);
  EXPECT_EQ(db->Stats()->blocks, 2u);
}

TEST(Open, RefusesMissingDirectoryWithoutCreate) {
  TempDir dir;
  Options o = TestOptions();
  o.create_if_missing = false;
  auto db = DB::Open(o, dir.Sub("absent"));
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("absent")));
}

TEST(Open, SecondOpenOfSameDirectoryFailsClearly) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  auto second = DB::Open(TestOptions(), dir.path());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("in use"), std::string::npos)
      << second.error().ToString();
}

}  // namespace
}  // namespace sensordb
