// Options::clock: the engine reads the time where the options say, so chunk ageing,
// retention and the dates of key versions and backups follow simulated time, without sleeping
// through an hour or a day.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "test_util.h"

namespace sensordb::testing {
namespace {

constexpr int64_t kT0 = 1'767'225'600 * kNanosPerSecond;  // 2026-01-01T00:00:00Z
constexpr int64_t kHourNs = 3600 * kNanosPerSecond;

// Polls `done` every 5 ms for at most 10 s (maintenance rounds come every few milliseconds).
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 2000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

class ClockTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(ClockOptions()); }

  Options ClockOptions() {
    Options o = TestOptions();
    o.clock = &clock_;
    o.maintenance_interval_ms = 2;
    o.chunk_max_age_s = 3600;
    o.retention_interval_s = 3600;
    return o;
  }
  void Open(const Options& o) {
    db_.reset();
    auto db = DB::Open(o, dir_.path());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    if (!db_->GetProject("p")) {
      ASSERT_TRUE(db_->CreateProject("p").has_value());
    }
  }
  void WriteTen() {
    WriteBatch b;
    for (int i = 0; i < 10; ++i) {
      b.Add("d", "temp", kT0 + i * kNanosPerSecond, Value::Float64(20.0 + i));
    }
    ASSERT_TRUE(db_->Write("p", b).ok());
  }

  DBStats Stats() {
    auto s = db_->Stats();
    EXPECT_TRUE(s.has_value()) << s.error().ToString();
    return s ? *s : DBStats{};
  }

  FakeClock clock_{kT0};
  TempDir dir_;
  std::unique_ptr<DB> db_;
};

TEST_F(ClockTest, AChunkSealsWhenTheClockSaysItIsOld) {
  WriteBatch b;
  for (int i = 0; i < 10; ++i) {
    b.Add("d", "temp", kT0 + i * kNanosPerSecond, Value::Float64(20.0 + i));
  }
  ASSERT_TRUE(db_->Write("p", b).ok());
  // Rounds run, but by the clock the chunk is young: it stays in the head.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Stats().head_points, 10u);
  EXPECT_EQ(Stats().blocks, 0u);

  clock_.Set(kT0 + kHourNs - 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Stats().head_points, 10u) << "sealed before chunk_max_age_s had passed";

  clock_.Set(kT0 + kHourNs);
  ASSERT_TRUE(Eventually([&] { return Stats().head_points == 0; }))
      << "an hour passed on the clock and the chunk was not sealed";
  EXPECT_EQ(Stats().blocks, 1u);
  EXPECT_EQ(ReadSeries(*db_, "p", "d", "temp").size(), 10u);
}

TEST_F(ClockTest, RetentionDropsWhatTheClockSaysHasExpired) {
  ASSERT_TRUE(db_->SetRetention("p", 1).ok());
  WriteBatch b;
  for (int i = 0; i < 10; ++i) b.Add("d", "temp", kT0 + i * kNanosPerSecond, Value::Float64(i));
  ASSERT_TRUE(db_->Write("p", b).ok());
  ASSERT_TRUE(db_->Flush().ok());
  // Half a day later by the clock (and after the next retention round is due): all kept.
  clock_.Set(kT0 + 12 * kHourNs);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(ReadSeries(*db_, "p", "d", "temp").size(), 10u);

  clock_.Set(kT0 + 50 * kHourNs);
  ASSERT_TRUE(Eventually([&] { return ReadSeries(*db_, "p", "d", "temp").empty(); }))
      << "two days passed on the clock and the points past a one-day retention are still read";
}

TEST_F(ClockTest, KeyVersionsAndBackupsAreDatedByTheClock) {
  auto keys = db_->KeyStatus();
  ASSERT_TRUE(keys.has_value()) << keys.error().ToString();
  ASSERT_FALSE(keys->projects.empty());
  for (const auto& p : keys->projects) {
    for (const auto& v : p.versions) {
      EXPECT_EQ(v.created_unix_s, kT0 / kNanosPerSecond) << p.project << " v" << v.version;
    }
  }
  clock_.Set(kT0 + 5 * kHourNs);
  TempDir backups;
  auto b = db_->CreateBackup(backups.path() + "/b", {});
  ASSERT_TRUE(b.has_value()) << b.error().ToString();
  EXPECT_EQ(b->created_unix_ns, kT0 + 5 * kHourNs);
}

TEST_F(ClockTest, AnIdleDatabaseCheckpointsItsHead) {
  Options o = ClockOptions();
  o.head_checkpoint_bytes = 0;  // only idleness
  o.head_idle_checkpoint_s = 10;
  o.head_idle_checkpoint_min_bytes = 1;
  Open(o);
  WriteTen();
  // Rounds run, but by the clock nobody has been idle yet.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Stats().head_points, 10u);
  EXPECT_EQ(Stats().head_checkpoints, 0u);

  clock_.Set(kT0 + 11 * kNanosPerSecond);
  ASSERT_TRUE(Eventually([&] { return Stats().head_checkpoints >= 1; }));
  EXPECT_EQ(Stats().head_points, 0u);
  EXPECT_GE(Stats().blocks, 1u);
  EXPECT_EQ(ReadSeries(*db_, "p", "d", "temp").size(), 10u);
  // Idle again with nothing new: no second checkpoint.
  clock_.Set(kT0 + 60 * kNanosPerSecond);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Stats().head_checkpoints, 1u);

  // Reopened, nothing is left to replay and every point is in a block.
  Open(o);
  EXPECT_EQ(Stats().head_points, 0u);
  EXPECT_EQ(ReadSeries(*db_, "p", "d", "temp").size(), 10u);
}

TEST_F(ClockTest, APauseWithALittleHeadIsNoCheckpoint) {
  Options o = ClockOptions();
  o.head_checkpoint_bytes = 0;
  o.head_idle_checkpoint_s = 10;
  o.head_idle_checkpoint_min_bytes = 1 << 20;  // ten points are far less
  Open(o);
  WriteTen();
  clock_.Set(kT0 + 20 * kNanosPerSecond);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Stats().head_checkpoints, 0u);
  EXPECT_EQ(Stats().head_points, 10u);
}

TEST_F(ClockTest, AHeadPastItsBytesIsCheckpointedWithoutWaiting) {
  Options o = ClockOptions();
  o.head_checkpoint_bytes = 1;  // any write passes it
  o.head_idle_checkpoint_s = 0;
  Open(o);
  WriteTen();
  ASSERT_TRUE(Eventually([&] { return Stats().head_checkpoints >= 1; }));
  EXPECT_EQ(Stats().head_points, 0u);
  EXPECT_EQ(ReadSeries(*db_, "p", "d", "temp").size(), 10u);
}

// Options::head_memory_bytes: past it, the maintenance round seals the largest open chunks
// (without waiting for age, size or a checkpoint) until they hold three quarters of the bound;
// the small chunks stay open, and every point is still read.
TEST_F(ClockTest, AHeadPastItsMemorySealsItsLargestChunks) {
  Options o = ClockOptions();
  o.head_checkpoint_bytes = 0;
  o.head_idle_checkpoint_s = 0;
  o.head_memory_bytes = 32 * 1024;
  Open(o);
  WriteBatch b;
  for (int d = 0; d < 10; ++d) {  // 250 raw points each: about 4 KB of tail
    for (int i = 0; i < 250; ++i) {
      b.Add("big" + std::to_string(d), "temp", kT0 + i * kNanosPerSecond, Value::Float64(i));
    }
  }
  for (int d = 0; d < 50; ++d) {  // 5 points each
    for (int i = 0; i < 5; ++i) {
      b.Add("small" + std::to_string(d), "temp", kT0 + i * kNanosPerSecond, Value::Float64(i));
    }
  }
  ASSERT_TRUE(db_->Write("p", b).ok());
  ASSERT_TRUE(Eventually([&] {
    const DBStats st = Stats();
    return st.head_memory_seals >= 1 && st.head_chunk_bytes <= o.head_memory_bytes / 4 * 3;
  }));
  const DBStats st = Stats();
  EXPECT_LE(st.head_chunk_bytes, o.head_memory_bytes / 4 * 3);
  EXPECT_GE(st.blocks, 1u);
  EXPECT_LT(st.blocks, 10u) << "only as many large chunks as needed are sealed";
  EXPECT_EQ(st.head_points, 10 * 250 - st.blocks * 250 + 50 * 5) << "the small chunks stay open";
  EXPECT_EQ(st.head_checkpoints, 0u);
  EXPECT_EQ(st.points, 10u * 250 + 50 * 5);
  for (int d = 0; d < 10; ++d) {
    EXPECT_EQ(ReadSeries(*db_, "p", "big" + std::to_string(d), "temp").size(), 250u) << d;
  }
  // Under the bound nothing more is sealed.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(Stats().blocks, st.blocks);
}

}  // namespace
}  // namespace sensordb::testing
