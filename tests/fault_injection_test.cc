// Faults at the file-system layer under RocksDB (store/fault_injection.h), switched on while the
// database runs: a failed write, sync or read is an error to its caller, never an
// acknowledgement and never wrong data, and after a reopen every acknowledged point is there by
// value. Once the fault clears the same open database takes writes again, without a reopen
// (docs/write_path.md, "Fail closed"; a full disk: tests/disk_full_test.sh), except in the
// one case RocksDB 7.8 cannot recover in place (FailedFirstWriteOfANewLogRefusesUntilReopen).
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

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
  void SetUp() override { Open(testing::TestOptions()); }

  void Open(const Options& options) {
    db_.reset();
    auto db = std::make_unique<DBImpl>(options, dir_.path());
    db->InjectFaultsForTesting(faults_);
    Status s = db->Init();
    ASSERT_TRUE(s.ok()) << s.ToString();
    db_ = std::move(db);
    auto projects = db_->ListProjects();
    ASSERT_TRUE(projects) << projects.error().ToString();
    if (!projects->empty()) return;
    ASSERT_TRUE(db_->CreateProject("alpha"));
  }

  // Writes `points` points from second n * points on; records them as acknowledged when the
  // write returns OK.
  Status WriteAt(int n, int points = 10) {
    std::vector<int64_t> ts;
    std::vector<double> v;
    for (int i = 0; i < points; ++i) {
      ts.push_back(kT0 + (int64_t{n} * points + i) * kSecond);
      v.push_back(n + i * 0.125);
    }
    WriteBatch b;
    b.AddFloat64("dev1", "temp", ts, v);
    Status s = db_->Write("alpha", b);
    if (s.ok()) {
      for (int i = 0; i < points; ++i) acked_.push_back({ts[i], v[i]});
    }
    return s;
  }

  // After the fault cleared: the same open database takes writes again. The first write
  // resumes it (at most one try per 500 ms), so writes are tried until one succeeds, bounded
  // at 50 tries 100 ms apart; then two more must succeed at once.
  void ExpectWritesResumeInPlace(int first) {
    Status s;
    int n = first;
    for (int tries = 0; tries < 50; ++tries, ++n) {
      s = WriteAt(n);
      if (s.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(s.ok()) << "no write succeeded after the fault cleared: " << s.ToString();
    EXPECT_TRUE(WriteAt(n + 1).ok());
    EXPECT_TRUE(WriteAt(n + 2).ok());
  }

  // A flush (a new log, every memtable empty, the log's directory entry not yet synced), then
  // `fault` for one write: an error, never an ack; then writes resume in place, and a reopen
  // has every acknowledged point.
  void ExpectAFaultRightAfterAFlushRecoversInPlace(std::atomic<bool>& fault) {
    ASSERT_TRUE(WriteAt(0).ok());
    ASSERT_TRUE(db_->Flush().ok());
    fault = true;
    EXPECT_FALSE(WriteAt(1).ok()) << "a write acknowledged while the fault was on";
    fault = false;
    ExpectWritesResumeInPlace(2);
    ExpectAckedAfterReopen();
  }

  // Reopens the database: every acknowledged point is there, and it takes writes again.
  void ExpectAckedAfterReopen() {
    db_.reset();
    auto db = DB::Open(testing::TestOptions(), dir_.path());
    ASSERT_TRUE(db) << db.error().ToString();
    db_ = std::move(*db);
    Status s = WriteAt(1'000'000);  // after every other test's timestamps
    EXPECT_TRUE(s.ok()) << "no writes after the reopen: " << s.ToString();
    std::map<int64_t, double> got;
    for (const Pt& p : testing::ReadSeries(*db_, "alpha", "dev1", "temp")) got[p.t] = p.v;
    size_t missing = 0;
    int64_t first_missing = 0;
    for (const Pt& p : acked_) {
      auto it = got.find(p.t);
      if (it != got.end() && Pt{p.t, it->second} == p) continue;
      if (missing++ == 0) first_missing = p.t;
    }
    EXPECT_EQ(missing, 0u) << "of " << acked_.size() << " acknowledged points, the first "
                           << "missing at " << first_missing;
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
  ExpectWritesResumeInPlace(4);
  ExpectAckedAfterReopen();
}

// Right after a flush (or an open, a backup, a recovery) every memtable is empty, and RocksDB
// 7.8's recovery then starts no new log: the store keeps one entry in a memtable for it.
TEST_F(FaultInjectionTest, FailedWalWriteRightAfterAFlushRecoversInPlace) {
  ExpectAFaultRightAfterAFlushRecoversInPlace(faults_->fail_writes);
}

// The one case RocksDB 7.8 cannot recover in place: the write that fills the memtables switches
// them (all empty) to a new log, and its own append to that log fails. Every later write is
// refused with an error that says a reopen is needed, none reaches the log that failed, and
// the reopen has every acknowledged point.
TEST_F(FaultInjectionTest, FailedFirstWriteOfANewLogRefusesUntilReopen) {
  Options small = testing::TestOptions();
  small.write_buffer_bytes = 1 << 20;  // a memtable switch every few hundred kilobytes
  Open(small);
  faults_->fail_new_log_writes = true;
  Status failed;
  for (int n = 0; n < 2000 && failed.ok(); ++n) failed = WriteAt(n, 500);
  ASSERT_FALSE(failed.ok()) << "no memtable switch in 2000 writes of 500 points";
  faults_->fail_new_log_writes = false;
  for (int n = 100'000; n < 100'005; ++n) {
    Status s = WriteAt(n);
    EXPECT_FALSE(s.ok()) << "a write acknowledged into the log that failed";
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
  }
  Status s = WriteAt(100'005);
  EXPECT_NE(s.ToString().find("reopened"), std::string::npos) << s.ToString();
  ExpectAckedAfterReopen();
}

// The first synced write to a new log also syncs the directory.
TEST_F(FaultInjectionTest, FailedDirectorySyncIsAnErrorNeverAnAck) {
  ExpectAFaultRightAfterAFlushRecoversInPlace(faults_->fail_dir_syncs);
}

// A backup (or flush) while a failed write is not yet recovered from would have RocksDB switch
// away from the failed log outside a recovery, which it takes for fatal: the store recovers
// first. The backup comes right after the fault, before any write could resume the database.
TEST_F(FaultInjectionTest, BackupAfterAFailedWriteRecoversFirst) {
  ASSERT_TRUE(WriteAt(0).ok());
  faults_->fail_writes = true;
  EXPECT_FALSE(WriteAt(1).ok());
  faults_->fail_writes = false;
  auto backup = db_->CreateBackup(dir_.path() + "-backup");
  EXPECT_TRUE(backup) << backup.error().ToString();
  ExpectWritesResumeInPlace(2);
  ExpectAckedAfterReopen();
  std::filesystem::remove_all(dir_.path() + "-backup");
}

TEST_F(FaultInjectionTest, FailedSyncIsAnErrorNeverAnAck) {
  ASSERT_TRUE(WriteAt(0).ok());
  faults_->fail_syncs = true;
  for (int n = 1; n <= 3; ++n) {
    EXPECT_FALSE(WriteAt(n).ok()) << "a synced write acknowledged while fsync failed";
  }
  faults_->fail_syncs = false;
  ExpectWritesResumeInPlace(4);
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
  ExpectWritesResumeInPlace(5);
  ExpectAckedAfterReopen();
}

}  // namespace
}  // namespace sensordb
