// Series quotas (Options::series_quota, docs/SERVER.md "Limits"): a batch that would create
// series beyond a project's or a device's bound, or faster than a device's rate, is refused
// whole and creates nothing; series that exist keep taking points.
#include <string>
#include <vector>

#include "test_util.h"

namespace sensordb {
namespace {

using testing::TempDir;
using testing::TestOptions;

constexpr int64_t kT0 = 1'767'225'600 * kNanosPerSecond;

Options WithQuota(uint32_t per_project, uint32_t per_device, uint32_t per_minute) {
  Options o = TestOptions();
  o.series_quota = {per_project, per_device, per_minute};
  return o;
}

// One point on each (device, channel).
Status WritePoints(DB& db, const std::vector<std::pair<std::string, std::string>>& series,
                   int64_t t = kT0) {
  WriteBatch b;
  for (const auto& [device, channel] : series) {
    const int64_t ts[] = {t};
    const double v[] = {1.5};
    b.AddFloat64(device, channel, ts, v);
  }
  return db.Write("plant", b);
}

size_t Channels(DB& db, const std::string& device = "") {
  auto c = db.ListChannels("plant", device);
  EXPECT_TRUE(c.has_value());
  return c ? c->size() : 0;
}

class SeriesQuotaTest : public ::testing::Test {
 protected:
  void Open(const Options& o) {
    db_.reset();
    auto db = DB::Open(o, dir_.path());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    if (!db_->GetProject("plant")) {
      ASSERT_TRUE(db_->CreateProject("plant"));
    }
  }
  TempDir dir_;
  std::unique_ptr<DB> db_;
};

TEST_F(SeriesQuotaTest, ProjectBoundRefusesTheWholeBatchAndCreatesNothing) {
  Open(WithQuota(3, 0, 0));
  ASSERT_TRUE(WritePoints(*db_, {{"a", "t"}, {"a", "h"}}).ok());
  // One existing series and two new ones: 4 > 3, so not even the existing one's point lands.
  const Status s = WritePoints(*db_, {{"a", "t"}, {"b", "t"}, {"b", "h"}}, kT0 + 1);
  ASSERT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("max_series_per_project"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'plant' holds 2 series"), std::string::npos) << s.message();
  EXPECT_EQ(Channels(*db_), 2u);
  EXPECT_FALSE(db_->ListChannels("plant", "b").has_value() &&
               !db_->ListChannels("plant", "b")->empty());
  auto raw = testing::ReadSeries(*db_, "plant", "a", "t");
  EXPECT_EQ(raw.size(), 1u);
  // Existing series keep taking points, and one more new series fits.
  EXPECT_TRUE(WritePoints(*db_, {{"a", "t"}, {"a", "h"}}, kT0 + 2).ok());
  EXPECT_TRUE(WritePoints(*db_, {{"c", "t"}}).ok());
  EXPECT_EQ(WritePoints(*db_, {{"d", "t"}}).code(), StatusCode::kResourceExhausted);
  auto stats = db_->Stats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->quota_refusals_project, 2u);
  EXPECT_EQ(stats->quota_refusals_device, 0u);
}

TEST_F(SeriesQuotaTest, DeviceBoundHoldsForWritesAndRegistration) {
  Open(WithQuota(0, 2, 0));
  ASSERT_TRUE(WritePoints(*db_, {{"a", "t"}, {"a", "h"}}).ok());
  const Status s = WritePoints(*db_, {{"a", "p"}});
  ASSERT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("device 'a'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("max_series_per_device"), std::string::npos) << s.message();
  auto reg = db_->RegisterChannel("plant", "a", "p", ValueType::kFloat64, "kPa");
  ASSERT_FALSE(reg.has_value());
  EXPECT_EQ(reg.error().code(), StatusCode::kResourceExhausted);
  // Another device has its own bound; a batch with too many new channels of one device fails.
  EXPECT_TRUE(WritePoints(*db_, {{"b", "t"}, {"b", "h"}}).ok());
  EXPECT_EQ(WritePoints(*db_, {{"c", "1"}, {"c", "2"}, {"c", "3"}}).code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(Channels(*db_), 4u);
  EXPECT_EQ(db_->Stats()->quota_refusals_device, 3u);
}

TEST_F(SeriesQuotaTest, NewSeriesPerMinuteIsBoundedPerDevice) {
  Open(WithQuota(0, 0, 3));
  ASSERT_TRUE(WritePoints(*db_, {{"a", "1"}, {"a", "2"}}).ok());
  const Status s = WritePoints(*db_, {{"a", "3"}, {"a", "4"}});
  ASSERT_EQ(s.code(), StatusCode::kRateLimited) << s.ToString();
  EXPECT_NE(s.message().find("max_new_series_per_device_per_minute"), std::string::npos);
  EXPECT_NE(s.message().find("retry in"), std::string::npos) << s.message();
  EXPECT_TRUE(WritePoints(*db_, {{"a", "3"}}).ok());  // exactly the rest of the minute's 3
  EXPECT_EQ(WritePoints(*db_, {{"a", "4"}}).code(), StatusCode::kRateLimited);
  // Other devices are not slowed by this one; existing series still take points.
  EXPECT_TRUE(WritePoints(*db_, {{"b", "1"}, {"b", "2"}, {"b", "3"}}).ok());
  EXPECT_TRUE(WritePoints(*db_, {{"a", "1"}, {"a", "2"}, {"a", "3"}}, kT0 + 1).ok());
  // Registration by an administrator is deliberate: not rate-bounded.
  EXPECT_TRUE(db_->RegisterChannel("plant", "a", "4", ValueType::kFloat64, "").has_value());
  EXPECT_EQ(db_->Stats()->quota_refusals_rate, 2u);
}

TEST_F(SeriesQuotaTest, BoundsCountWhatIsStoredAfterAReopen) {
  Open(WithQuota(0, 0, 0));
  ASSERT_TRUE(WritePoints(*db_, {{"a", "1"}, {"a", "2"}, {"a", "3"}}).ok());
  // Lowered below what the project holds: the stored series stay writable, none is added.
  Open(WithQuota(2, 0, 0));
  EXPECT_TRUE(WritePoints(*db_, {{"a", "1"}, {"a", "2"}, {"a", "3"}}, kT0 + 1).ok());
  EXPECT_EQ(WritePoints(*db_, {{"a", "4"}}).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(Channels(*db_), 3u);
}

TEST_F(SeriesQuotaTest, DefaultsAreGenerousForARealDevice) {
  Open(TestOptions());
  const SeriesQuota q;
  EXPECT_GE(q.max_series_per_device, 1000u);
  EXPECT_GE(q.max_new_series_per_device_per_minute, 500u);
  // A datalogger's first batch with 500 channels is one batch, not refused.
  std::vector<std::pair<std::string, std::string>> series;
  for (int i = 0; i < 500; ++i) series.emplace_back("logger-1", "ch" + std::to_string(i));
  EXPECT_TRUE(WritePoints(*db_, series).ok());
}

}  // namespace
}  // namespace sensordb
