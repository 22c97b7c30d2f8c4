// Random workloads (out of order, duplicates, several projects, seals, reopens) checked against
// a simple reference model: std::map per series, last write wins.
#include <cmath>
#include <map>
#include <random>

#include "test_util.h"

namespace sensordb {
namespace {

using testing::TempDir;

using SeriesKey = std::tuple<std::string, std::string, std::string>;  // project, device, channel
using Model = std::map<SeriesKey, std::map<int64_t, double>>;

constexpr int64_t kT0 = 1'700'000'000'000'000'000;

class ReferenceModelTest : public ::testing::TestWithParam<uint64_t> {
 protected:
  void Open() {
    Options o = testing::TestOptions();
    o.chunk_max_points = 40;  // many seals, many overlapping blocks
    auto db = DB::Open(o, dir_.path());
    ASSERT_TRUE(db) << db.error().ToString();
    db_ = std::move(*db);
  }

  void RandomBatch(std::mt19937_64& rng) {
    const std::string project = projects_[rng() % projects_.size()];
    WriteBatch b;
    const int columns = 1 + int(rng() % 5);
    for (int c = 0; c < columns; ++c) {
      const std::string dev = "d" + std::to_string(rng() % 4);
      const std::string ch = "c" + std::to_string(rng() % 3);
      std::vector<int64_t> ts;
      std::vector<double> v;
      const int n = 1 + int(rng() % 30);
      int64_t t = kT0 + int64_t(rng() % 2000) * 1000;
      for (int i = 0; i < n; ++i) {
        // Mostly forward, sometimes back (late) or equal (duplicate).
        const int move = int(rng() % 10);
        t += move < 7 ? 1000 : move < 9 ? -int64_t(rng() % 50'000) : 0;
        ts.push_back(t);
        v.push_back(double(int64_t(rng() % 2001) - 1000) / 10);
      }
      b.AddFloat64(dev, ch, ts, v);
      pending_.push_back({{project, dev, ch}, ts, v});
    }
    ASSERT_TRUE(db_->Write(project, b).ok());
    for (auto& p : pending_) {
      for (size_t i = 0; i < p.ts.size(); ++i) model_[p.key][p.ts[i]] = p.v[i];
    }
    pending_.clear();
  }

  void CheckRaw() {
    for (const auto& [key, points] : model_) {
      const auto& [project, dev, ch] = key;
      std::vector<std::pair<int64_t, double>> got;
      ASSERT_TRUE(db_->QueryRaw(project, {dev, ch}, {}, [&](const SeriesRef&, const PointRun& r) {
                       for (size_t i = 0; i < r.size(); ++i) got.emplace_back(r.timestamps[i], r.f64[i]);
                       return true;
                     }).ok());
      std::vector<std::pair<int64_t, double>> want(points.begin(), points.end());
      ASSERT_EQ(got, want) << project << "/" << dev << "/" << ch;
    }
  }

  void CheckRangeAndAggregates(std::mt19937_64& rng) {
    for (const std::string& project : projects_) {
      const std::string ch = "c" + std::to_string(rng() % 3);
      const int64_t start = kT0 + int64_t(rng() % 1500) * 1000;
      const TimeRange range{start, start + int64_t(1 + rng() % 1'000'000)};
      const int64_t bucket = int64_t(1 + rng() % 100) * 1000;
      std::map<int64_t, std::vector<std::pair<int64_t, double>>> want;
      for (const auto& [key, points] : model_) {
        if (std::get<0>(key) != project || std::get<2>(key) != ch) continue;
        for (auto it = points.lower_bound(range.start_ns);
             it != points.end() && it->first < range.end_ns; ++it) {
          int64_t b = it->first / bucket * bucket;
          want[b].emplace_back(it->first, it->second);
        }
      }
      AggregateQuery q{{"", ch}, range, bucket, false};
      std::vector<AggregateRow> rows;
      Status s = db_->Aggregate(project, q, [&](const AggregateRow& r) {
        rows.push_back(r);
        return true;
      });
      if (s.code() == StatusCode::kNotFound) {
        ASSERT_TRUE(want.empty());
        continue;
      }
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_EQ(rows.size(), want.size());
      size_t i = 0;
      for (const auto& [b, pts] : want) {
        const AggregateRow& r = rows[i++];
        ASSERT_EQ(r.bucket_start_ns, b);
        ASSERT_EQ(r.count, pts.size());
        double sum = 0, mn = pts[0].second, mx = pts[0].second;
        auto first = pts[0], last = pts[0];
        for (auto& [t, v] : pts) {
          sum += v;
          mn = std::min(mn, v);
          mx = std::max(mx, v);
          if (t < first.first) first = {t, v};
          if (t >= last.first) last = {t, v};
        }
        EXPECT_NEAR(r.sum, sum, 1e-6);
        EXPECT_EQ(r.min, mn);
        EXPECT_EQ(r.max, mx);
        EXPECT_EQ(r.first_ns, first.first);
        EXPECT_EQ(r.last_ns, last.first);
      }
    }
  }

  void CheckLatest() {
    std::map<std::pair<std::string, std::string>, std::map<std::string, std::pair<int64_t, double>>> want;
    for (const auto& [key, points] : model_) {
      const auto& [project, dev, ch] = key;
      want[{project, dev}][ch] = *points.rbegin();
    }
    for (const auto& [pd, chans] : want) {
      auto got = db_->Latest(pd.first, pd.second);
      ASSERT_TRUE(got) << got.error().ToString();
      ASSERT_EQ(got->size(), chans.size());
      for (const auto& lp : *got) {
        EXPECT_EQ(lp.timestamp_ns, chans.at(lp.channel).first);
        EXPECT_EQ(lp.value.f64, chans.at(lp.channel).second);
      }
    }
  }

  struct Pending {
    SeriesKey key;
    std::vector<int64_t> ts;
    std::vector<double> v;
  };
  TempDir dir_;
  std::unique_ptr<DB> db_;
  Model model_;
  std::vector<Pending> pending_;
  const std::vector<std::string> projects_ = {"north", "south", "east"};
};

TEST_P(ReferenceModelTest, RandomWorkloadMatchesModel) {
  std::mt19937_64 rng(GetParam());
  Open();
  for (const auto& p : projects_) ASSERT_TRUE(db_->CreateProject(p));
  for (int round = 0; round < 8; ++round) {
    for (int i = 0; i < 40; ++i) RandomBatch(rng);
    switch (rng() % 3) {
      case 0: ASSERT_TRUE(db_->Flush().ok()); break;
      case 1:
        db_.reset();  // close with an unsealed head: it must replay
        Open();
        break;
      default: break;
    }
    CheckRaw();
    CheckRangeAndAggregates(rng);
    CheckLatest();
  }
  ASSERT_TRUE(db_->Compact().ok());
  CheckRaw();
  CheckLatest();
}

INSTANTIATE_TEST_SUITE_P(Seeds, ReferenceModelTest, ::testing::Values(1, 2, 3, 4, 5, 6));

}  // namespace
}  // namespace sensordb
