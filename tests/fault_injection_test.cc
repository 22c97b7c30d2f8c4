// Faults at the file-system layer under RocksDB (store/fault_injection.h), switched on while the
// database runs: a failed write, sync or read is an error to its caller, never an
// acknowledgement and never wrong data, and after a reopen every acknowledged point is there by
// value. A failed read clears in place. A failed WAL write or sync does not: RocksDB 7.8 takes
// it for a fatal error and refuses writes until the database is reopened (docs/write_path.md;
// a full disk, by contrast, is resumed in place: tests/disk_full_test.sh).
#include <algorithm>

#include "db/db_impl.h"
#include "store/fault_injection.h"
#include "test_util.h"

namespace sensordb {
namespace {

using testing::Pt;

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = std::make_unique<DBImpl>(testing::TestOptions(), dir_.path());
    db->InjectFaultsForTesting(faults_);
    Status s = db->Init();
    ASSERT_TRUE(s.ok()) << s.ToString();
    db_ = std::move(db);
    ASSERT_TRUE(db_->CreateProject("alpha"));
  }

  // Writes 10 points at second `n`; records them as acknowledged when the write returns OK.
  Status WriteAt(int n) {
    std::vector<int64_t> ts;
    std::vector<double> v;
    for (int i = 0; i < 10; ++i) {
      ts.push_back(kT0 + (n * 10 + i) * kSecond);
      v.push_back(n + i * 0.125);
    }
    WriteBatch b;
    b.AddFloat64("dev1", "temp", ts, v);
    Status s = db_->Write("alpha", b);
    if (s.ok()) {
      for (int i = 0; i < 10; ++i) acked_.push_back({ts[i], v[i]});
    }
    return s;
  }

  // After the fault cleared: writes either fail (the store stays read-only until reopened) or
  // succeed; a few of them, each acknowledged one recorded.
  void WriteAfterFault(int first) {
    for (int n = first; n < first + 3; ++n) WriteAt(n).IgnoreError();
  }

  // Reopens the database: every acknowledged point is there, and it takes writes again.
  void ExpectAckedAfterReopen() {
    db_.reset();
    auto db = DB::Open(testing::TestOptions(), dir_.path());
    ASSERT_TRUE(db) << db.error().ToString();
    db_ = std::move(*db);
    Status s = WriteAt(1000);
    EXPECT_TRUE(s.ok()) << "no writes after the reopen: " << s.ToString();
    const auto got = testing::ReadSeries(*db_, "alpha", "dev1", "temp");
    for (const Pt& p : acked_) {
      EXPECT_NE(std::find(got.begin(), got.end(), p), got.end())
          << "acknowledged point at " << p.t << " is missing";
    }
  }

  testing::TempDir dir_;
  std::shared_ptr<store::FaultInjection> faults_ = std::make_shared<store::FaultInjection>();
  std::unique_ptr<DB> db_;
  std::vector<Pt> acked_;
};

TEST_F(FaultInjectionTest, FailedWalWriteIsAnErrorNeverAnAck) {
  ASSERT_TRUE(WriteAt(0).ok());
  faults_->fail_writes = true;
  for (int n = 1; n <= 3; ++n) {
    Status s = WriteAt(n);
    EXPECT_FALSE(s.ok()) << "a write acknowledged while the disk failed every write";
  }
  EXPECT_GT(faults_->injected.load(), 0u);
  faults_->fail_writes = false;
  WriteAfterFault(4);
  ExpectAckedAfterReopen();
}

TEST_F(FaultInjectionTest, FailedSyncIsAnErrorNeverAnAck) {
  ASSERT_TRUE(WriteAt(0).ok());
  faults_->fail_syncs = true;
  for (int n = 1; n <= 3; ++n) {
    EXPECT_FALSE(WriteAt(n).ok()) << "a synced write acknowledged while fsync failed";
  }
  faults_->fail_syncs = false;
  WriteAfterFault(4);
  ExpectAckedAfterReopen();
}

TEST_F(FaultInjectionTest, FailedReadIsAnErrorNeverFewerPoints) {
  for (int n = 0; n < 5; ++n) ASSERT_TRUE(WriteAt(n).ok());
  ASSERT_TRUE(db_->Flush().ok());  // the points are in blocks, read from SST files
  // A fresh open, so that no block is in the cache yet.
  db_.reset();
  auto db = std::make_unique<DBImpl>(testing::TestOptions(), dir_.path());
  db->InjectFaultsForTesting(faults_);
  ASSERT_TRUE(db->Init().ok());
  db_ = std::move(db);
  faults_->fail_reads = true;
  size_t points = 0;
  Status s = db_->QueryRaw("alpha", {"dev1", "temp"}, {},
                           [&](const SeriesRef&, const PointRun& r) {
                             points += r.size();
                             return true;
                           });
  EXPECT_FALSE(s.ok()) << "a query returned " << points << " points while every read failed";
  faults_->fail_reads = false;
  const auto got = testing::ReadSeries(*db_, "alpha", "dev1", "temp");
  EXPECT_EQ(got, acked_);
}

TEST_F(FaultInjectionTest, FailedFlushLosesNothing) {
  for (int n = 0; n < 5; ++n) ASSERT_TRUE(WriteAt(n).ok());
  faults_->fail_writes = true;
  EXPECT_FALSE(db_->Flush().ok());
  faults_->fail_writes = false;
  WriteAfterFault(5);
  ExpectAckedAfterReopen();
}

}  // namespace
}  // namespace sensordb
