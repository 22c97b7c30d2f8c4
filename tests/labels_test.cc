// Device labels through the engine's public API (docs/LABELS.md): labels set by writes and
// directly, their histories across reopen and key rotation, and queries that filter and group by
// the values a device had at each point's time, checked against answers computed here from the
// written points.
#include <map>
#include <set>

#include "test_util.h"

namespace sensordb {
namespace {

using testing::TempDir;
using testing::TestOptions;
using Op = LabelFilter::Op;

constexpr int64_t kSec = kNanosPerSecond;
constexpr int64_t kT0 = 1'767'225'600 * kSec;
constexpr int kPoints = 10;  // per device, every 10 s from kT0
using Labels = std::vector<std::pair<std::string, std::string>>;

std::unique_ptr<DB> OpenDb(const std::string& dir, Options o = TestOptions()) {
  auto db = DB::Open(o, dir);
  EXPECT_TRUE(db.has_value()) << db.error().ToString();
  return db ? std::move(*db) : nullptr;
}

int64_t T(int i) { return kT0 + i * 10 * kSec; }
double V(int device, int i) { return device * 100 + i; }

// The labels the test gives each device at each point: d1 moves from north to south at its
// sixth point, d2 stays south in room 4, d3 has none.
std::string SiteOf(const std::string& device, int i) {
  if (device == "d1") return i < 5 ? "north" : "south";
  if (device == "d2") return "south";
  return "";
}
std::string RoomOf(const std::string& device, int) {
  return device == "d1" ? "3" : device == "d2" ? "4" : "";
}

const std::vector<std::string> kDevices = {"d1", "d2", "d3"};

// All points in one batch, each line's tags as its own label set (as the line protocol does).
Status WriteFleet(DB& db) {
  WriteBatch b;
  for (size_t d = 0; d < kDevices.size(); ++d) {
    const std::string& dev = kDevices[d];
    for (int i = 0; i < kPoints; ++i) {
      b.Add(dev, "t", T(i), Value::Float64(V(int(d) + 1, i)));
      Labels l;
      if (!RoomOf(dev, i).empty()) l.emplace_back("room", RoomOf(dev, i));
      if (!SiteOf(dev, i).empty()) l.emplace_back("site", SiteOf(dev, i));
      const int64_t t = T(i);
      if (!l.empty()) b.SetLabels(dev, std::span(&t, 1), l);
    }
  }
  return db.Write("p", b);
}

struct Sums {
  uint64_t count = 0;
  double sum = 0;
  bool operator==(const Sums&) const = default;
};
using Key = std::pair<std::string, std::string>;  // (device or "", group values joined)

// What an aggregate must answer, computed from the points: `keep` filters, `group` names the
// group of a point, `per_device` keeps devices apart.
std::map<Key, Sums> Expect(const std::function<bool(const std::string&, int)>& keep,
                           const std::function<std::string(const std::string&, int)>& group,
                           bool per_device) {
  std::map<Key, Sums> out;
  for (size_t d = 0; d < kDevices.size(); ++d) {
    for (int i = 0; i < kPoints; ++i) {
      if (!keep(kDevices[d], i)) continue;
      Sums& s = out[{per_device ? kDevices[d] : "", group(kDevices[d], i)}];
      ++s.count;
      s.sum += V(int(d) + 1, i);
    }
  }
  return out;
}

std::map<Key, Sums> Run(DB& db, AggregateQuery q) {
  std::map<Key, Sums> out;
  Status s = db.Aggregate("p", q, [&](const AggregateRow& r) {
    std::string g;
    for (size_t i = 0; i < r.group.size(); ++i) g += (i ? "," : "") + r.group[i];
    Sums& x = out[{r.series ? std::string(r.series->device) : "", g}];
    x.count += r.count;
    x.sum += r.sum;
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

LabelFilter F(Op op, std::string key, std::string value) {
  return {op, std::move(key), std::move(value), {}};
}
LabelFilter Any(std::vector<LabelFilter> f) { return {Op::kOr, "", "", std::move(f)}; }
LabelFilter All(std::vector<LabelFilter> f) { return {Op::kAnd, "", "", std::move(f)}; }

// Points (device, index) a raw query with `filter` returns.
std::set<std::pair<std::string, int>> RawWith(DB& db, std::vector<LabelFilter> filter) {
  std::set<std::pair<std::string, int>> out;
  Status s = db.QueryRaw("p", Selector("", "t", std::move(filter)), {},
                         [&](const SeriesRef& ref, const PointRun& run) {
                           for (int64_t t : run.timestamps) {
                             out.emplace(std::string(ref.device), int((t - kT0) / (10 * kSec)));
                           }
                           return true;
                         });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::set<std::pair<std::string, int>> RawExpect(
    const std::function<bool(const std::string&, int)>& keep) {
  std::set<std::pair<std::string, int>> out;
  for (const std::string& d : kDevices) {
    for (int i = 0; i < kPoints; ++i) {
      if (keep(d, i)) out.emplace(d, i);
    }
  }
  return out;
}

void CheckQueries(DB& db) {
  const auto all = [](const std::string&, int) { return true; };
  const auto site = [](const std::string& d, int i) { return SiteOf(d, i); };
  // Merged, grouped by site: d1's points split at its move.
  AggregateQuery q;
  q.selector = {"", "t"};
  q.group_by = {"site"};
  EXPECT_EQ(Run(db, q), Expect(all, site, false));
  // Per series, by site and room, in 60 s buckets (a bucket holds points of both sites of d1).
  q.per_series = true;
  q.bucket_ns = 60 * kSec;
  q.group_by = {"site", "room"};
  EXPECT_EQ(Run(db, q),
            Expect(
                all, [&](const std::string& d, int i) { return SiteOf(d, i) + "," + RoomOf(d, i); },
                true));
  // Filtered and grouped.
  q.per_series = false;
  q.bucket_ns = 0;
  q.group_by = {"room"};
  q.selector.labels = {F(Op::kEq, "site", "south")};
  EXPECT_EQ(Run(db, q), Expect([](const std::string& d, int i) { return SiteOf(d, i) == "south"; },
                               [](const std::string& d, int i) { return RoomOf(d, i); }, false));

  // Raw points under each operator, compared with the model.
  EXPECT_EQ(RawWith(db, {F(Op::kEq, "site", "south")}),
            RawExpect([](const std::string& d, int i) { return SiteOf(d, i) == "south"; }));
  EXPECT_EQ(RawWith(db, {F(Op::kNe, "site", "north")}),  // d3 has no site: "" != north
            RawExpect([](const std::string& d, int i) { return SiteOf(d, i) != "north"; }));
  EXPECT_EQ(RawWith(db, {F(Op::kMatch, "site", "^no")}),
            RawExpect([](const std::string& d, int i) { return SiteOf(d, i) == "north"; }));
  EXPECT_EQ(RawWith(db, {F(Op::kMatch, "site", "th")}),  // anywhere in the value
            RawExpect([](const std::string& d, int i) { return !SiteOf(d, i).empty(); }));
  EXPECT_EQ(RawWith(db, {F(Op::kNoMatch, "site", "^s")}),
            RawExpect([](const std::string& d, int i) { return SiteOf(d, i) != "south"; }));
  EXPECT_EQ(RawWith(db, {Any({F(Op::kEq, "site", "north"), F(Op::kEq, "room", "4")})}),
            RawExpect([](const std::string& d, int i) {
              return SiteOf(d, i) == "north" || RoomOf(d, i) == "4";
            }));
  EXPECT_EQ(RawWith(db, {All({F(Op::kEq, "device", "d1"), F(Op::kEq, "site", "south")})}),
            RawExpect([](const std::string& d, int i) { return d == "d1" && i >= 5; }));
  EXPECT_EQ(RawWith(db, {F(Op::kMatch, "device", "^d[13]$"), F(Op::kEq, "room", "")}),
            RawExpect([](const std::string& d, int) { return d == "d3"; }));
}

TEST(Labels, WritesSetHistoriesThatQueriesFollowAcrossFlushAndReopen) {
  TempDir dir;
  {
    auto db = OpenDb(dir.path());
    ASSERT_TRUE(db->CreateProject("p"));
    ASSERT_TRUE(WriteFleet(*db).ok());
    auto labels = db->ListDeviceLabels("p", "d1");
    ASSERT_TRUE(labels) << labels.error().ToString();
    ASSERT_EQ(labels->size(), 1u);
    const auto& h = (*labels)[0].labels;
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[0].key, "room");
    ASSERT_EQ(h[1].entries.size(), 2u);
    EXPECT_EQ(h[1].entries[0].from_ns, T(0));
    EXPECT_EQ(h[1].entries[0].value, "north");
    EXPECT_EQ(h[1].entries[1].from_ns, T(5));
    EXPECT_EQ(h[1].entries[1].value, "south");
    CheckQueries(*db);  // head
    ASSERT_TRUE(db->Flush().ok());
    CheckQueries(*db);  // one block per series: its summary spans d1's move
    // The same batch again changes nothing.
    ASSERT_TRUE(WriteFleet(*db).ok());
    EXPECT_EQ((*db->ListDeviceLabels("p", "d1"))[0].labels[1].entries.size(), 2u);
  }
  auto db = OpenDb(dir.path());
  CheckQueries(*db);
  auto values = db->ListLabelValues("p");
  ASSERT_TRUE(values);
  ASSERT_EQ(values->size(), 2u);
  EXPECT_EQ((*values)[0].first, "room");
  EXPECT_EQ((*values)[0].second, (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ((*values)[1].second, (std::vector<std::string>{"north", "south"}));
  auto d3 = db->ListDeviceLabels("p", "d3");
  ASSERT_TRUE(d3);
  EXPECT_TRUE((*d3)[0].labels.empty());
}

TEST(Labels, SetDirectlyRemovedAndKeptThroughKeyRotation) {
  TempDir dir;
  {
    auto db = OpenDb(dir.path());
    ASSERT_TRUE(db->CreateProject("p"));
    ASSERT_TRUE(WriteFleet(*db).ok());
    // d1 leaves room 3 at its eighth point; d3 gets a site from its third.
    ASSERT_TRUE(db->SetDeviceLabels("p", "d1", T(7), Labels{{"room", ""}}).ok());
    ASSERT_TRUE(db->SetDeviceLabels("p", "d3", T(2), Labels{{"site", "west"}}).ok());
    EXPECT_EQ(db->SetDeviceLabels("p", "nope", T(0), Labels{{"site", "x"}}).code(),
              StatusCode::kNotFound);
    ASSERT_TRUE(db->RotateProjectKey("p"));
    ASSERT_TRUE(db->ReencryptProject("p").ok());
  }
  auto db = OpenDb(dir.path());
  EXPECT_EQ(RawWith(*db, {F(Op::kEq, "room", "3")}),
            RawExpect([](const std::string& d, int i) { return d == "d1" && i < 7; }));
  EXPECT_EQ(RawWith(*db, {F(Op::kEq, "site", "west")}),
            RawExpect([](const std::string& d, int i) { return d == "d3" && i >= 2; }));
  // Dropping the project drops its labels with it.
  ASSERT_TRUE(db->DropProject("p").ok());
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(db->ListLabelValues("p")->empty());
}

TEST(Labels, BadLabelsAndBoundsRefuseTheWholeBatch) {
  TempDir dir;
  Options o = TestOptions();
  o.label_limits.max_keys_per_device = 2;
  o.label_limits.max_changes_per_device = 4;
  o.label_limits.max_values_per_key = 3;
  auto db = OpenDb(dir.path(), o);
  ASSERT_TRUE(db->CreateProject("p"));
  auto write = [&](const std::string& dev, int64_t t, Labels l) {
    WriteBatch b;
    b.Add(dev, "t", t, Value::Float64(1));
    b.SetLabels(dev, std::span(&t, 1), l);
    return db->Write("p", b);
  };
  auto points = [&] {
    size_t n = 0;
    EXPECT_TRUE(db->QueryRaw("p", {"", ""}, {}, [&](const SeriesRef&, const PointRun& r) {
                    n += r.size();
                    return true;
                  }).ok());
    return n;
  };
  EXPECT_EQ(write("d", T(0), {{"a", "1"}, {"b", "1"}, {"c", "1"}}).code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(write("d", T(0), {{"_x", "1"}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(write("d", T(0), {{"time", "1"}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(write("d", T(0), {{"a", std::string("x\x01", 2)}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(points(), 0u);  // none of those batches wrote its point
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(write("d", T(i), {{"a", std::to_string(i % 3)}}).ok());
  // A fifth change passes the history bound; a fourth value passes the value bound.
  const Status many = write("d", T(9), {{"a", "1"}});
  EXPECT_EQ(many.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(many.message().find("max_changes_per_device"), std::string::npos) << many.ToString();
  EXPECT_EQ(write("e", T(0), {{"a", "new"}}).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(points(), 4u);
  EXPECT_GE(db->Stats()->label_refusals, 3u);
  // A bad pattern is the query's error.
  const Status bad = db->QueryRaw("p", Selector("", "", {F(Op::kMatch, "a", "(")}), {},
                                  [](const SeriesRef&, const PointRun&) { return true; });
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.message().find("regular expression"), std::string::npos);
}

// Rewrites of one device's labels keep its records bounded (compacted into one record past 64)
// and the history exact across reopen; values overwritten everywhere leave the listings.
TEST(Labels, ManyChangesCompactAndReopenToTheSameHistory) {
  TempDir dir;
  std::vector<LabelHistory> before;
  {
    auto db = OpenDb(dir.path());
    ASSERT_TRUE(db->CreateProject("p"));
    ASSERT_TRUE(WriteFleet(*db).ok());
    for (int i = 0; i < 150; ++i) {  // 150 writes, each one change of d2's line
      const Labels l{{"line", "l" + std::to_string(i % 3)}};
      ASSERT_TRUE(db->SetDeviceLabels("p", "d2", T(0) + i * kSec, l).ok()) << i;
    }
    // Overwritten in place: "gone" is then held by no entry.
    ASSERT_TRUE(db->SetDeviceLabels("p", "d3", T(1), Labels{{"zone", "gone"}}).ok());
    ASSERT_TRUE(db->SetDeviceLabels("p", "d3", T(1), Labels{{"zone", "kept"}}).ok());
    before = (*db->ListDeviceLabels("p", "d2"))[0].labels;
    ASSERT_EQ(before.size(), 3u);
    EXPECT_EQ(before[0].key, "line");
    EXPECT_EQ(before[0].entries.size(), 150u);
  }
  auto db = OpenDb(dir.path());
  // 150 writes of d2's labels left at most 64 of its records (catalog records counted by the
  // key census: projects, devices, channels, labels).
  auto status = db->KeyStatus();
  ASSERT_TRUE(status);
  uint64_t records = 0;
  for (const auto& v : status->projects.at(0).versions) records += v.catalog_records;
  EXPECT_LT(records, 100u);
  const auto after = (*db->ListDeviceLabels("p", "d2"))[0].labels;
  ASSERT_EQ(after.size(), before.size());
  for (size_t k = 0; k < after.size(); ++k) {
    ASSERT_EQ(after[k].entries.size(), before[k].entries.size()) << after[k].key;
    for (size_t i = 0; i < after[k].entries.size(); ++i) {
      EXPECT_EQ(after[k].entries[i].from_ns, before[k].entries[i].from_ns);
      EXPECT_EQ(after[k].entries[i].value, before[k].entries[i].value);
    }
  }
  const auto listed = db->ListLabelValues("p");
  ASSERT_TRUE(listed);
  std::map<std::string, std::vector<std::string>> values(listed->begin(), listed->end());
  EXPECT_EQ(values["zone"], (std::vector<std::string>{"kept"}));
  EXPECT_EQ(values["line"], (std::vector<std::string>{"l0", "l1", "l2"}));
  CheckQueries(*db);  // d2's line changes touch neither site nor room
}

TEST(Labels, ADeviceOfARefusedBatchIsNotLabelledLater) {
  TempDir dir;
  Options o = TestOptions();
  o.label_limits.max_keys_per_device = 1;
  {
    auto db = OpenDb(dir.path(), o);
    ASSERT_TRUE(db->CreateProject("p"));
    WriteBatch b;
    const int64_t t = T(0);
    b.Add("fresh", "t", t, Value::Float64(1));
    b.SetLabels("fresh", std::span(&t, 1), Labels{{"a", "1"}, {"b", "1"}});
    EXPECT_EQ(db->Write("p", b).code(), StatusCode::kResourceExhausted);
    // The device exists only in memory after the refusal: it cannot be labelled alone.
    EXPECT_EQ(db->SetDeviceLabels("p", "fresh", t, Labels{{"a", "1"}}).code(),
              StatusCode::kNotFound);
  }
  auto db = OpenDb(dir.path(), o);  // no label record without its device
  ASSERT_TRUE(db);
  EXPECT_TRUE(db->ListDeviceLabels("p", "")->empty());
}

// Over many series a merged label aggregate runs on several threads (each folds a share into
// its own group aggregators); the answer is the same as the model's.
TEST(Labels, ManySeriesGroupOnThreadsAsOnOne) {
  TempDir dir;
  Options o = TestOptions();
  o.query_threads = 2;
  auto db = OpenDb(dir.path(), o);
  ASSERT_TRUE(db->CreateProject("p"));
  constexpr int kDevices = 600;
  std::map<std::string, Sums> want, want_filtered;  // by site
  WriteBatch b;
  for (int d = 0; d < kDevices; ++d) {
    const std::string dev = "m" + std::to_string(d);
    for (int i = 0; i < 4; ++i) {
      const int64_t t = T(i);
      const double v = d * 10 + i;
      // Every fifth device moves from its site to "moved" at its third point.
      const std::string site = d % 5 == 0 && i >= 2 ? "moved" : "s" + std::to_string(d % 3);
      b.Add(dev, "t", t, Value::Float64(v));
      b.SetLabels(dev, std::span(&t, 1), Labels{{"site", site}});
      want[site].count++;
      want[site].sum += v;
      if (site != "s1") {
        want_filtered[site].count++;
        want_filtered[site].sum += v;
      }
    }
  }
  ASSERT_TRUE(db->Write("p", b).ok());
  ASSERT_TRUE(db->Flush().ok());
  auto run = [&](AggregateQuery q) {
    std::map<std::string, Sums> got;
    EXPECT_TRUE(db->Aggregate("p", q, [&](const AggregateRow& r) {
                    Sums& x = got[r.group[0]];
                    x.count += r.count;
                    x.sum += r.sum;
                    return true;
                  }).ok());
    return got;
  };
  EXPECT_EQ(run(AggregateQuery({"", "t"}, {}, 0, false, {"site"})), want);
  EXPECT_EQ(run(AggregateQuery(Selector("", "t", {F(Op::kNe, "site", "s1")}), {}, 60 * kSec, false,
                               {"site"})),
            want_filtered);
}

TEST(Labels, QueriesAreBounded) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WriteFleet(*db).ok());
  auto run = [&](AggregateQuery q) {
    return db->Aggregate("p", q, [](const AggregateRow&) { return true; });
  };
  AggregateQuery twice({"", "t"}, {}, 0, false, {"site", "site"});
  EXPECT_EQ(run(twice).code(), StatusCode::kInvalidArgument);
  std::vector<LabelFilter> many(300, F(Op::kEq, "site", "x"));
  EXPECT_EQ(run(AggregateQuery(Selector("", "t", many), {})).code(), StatusCode::kInvalidArgument);
  std::vector<LabelFilter> long_patterns(20, F(Op::kMatch, "site", std::string(1000, 'a')));
  EXPECT_EQ(run(AggregateQuery(Selector("", "t", long_patterns), {})).code(),
            StatusCode::kInvalidArgument);
  // Groups count against max_aggregate_buckets.
  Options o = TestOptions();
  o.max_aggregate_buckets = 1;
  db.reset();
  db = OpenDb(dir.path(), o);
  AggregateQuery by_site({"", "t"}, {}, 0, true, {"site"});
  EXPECT_EQ(run(by_site).code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace sensordb
