// Backups over time (issue 4): retention rules, the daily scheduler over 90 simulated days,
// restore by time, and a crash in the middle of a backup.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <set>
#include <thread>

#include "backup_test_util.h"

namespace sensordb {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr int64_t kHourNs = 3600 * kNanosPerSecond;

std::vector<BackupInfo> Daily(int days) {
  std::vector<BackupInfo> out;
  for (int d = 0; d < days; ++d) {
    BackupInfo b;
    b.id = uint32_t(d + 1);
    b.created_unix_ns = kBackupT0 + d * kDayNs + 2 * kHourNs;
    out.push_back(b);
  }
  return out;
}

// Day numbers (0 = 2026-01-01) of the backups a policy keeps.
std::set<int> KeptDays(const std::vector<BackupInfo>& all) {
  std::set<int> days;
  for (const auto& b : all) days.insert(int((b.created_unix_ns - kBackupT0) / kDayNs));
  return days;
}

TEST(BackupRetention, DefaultKeepsEveryBackupOfTheLast35Days) {
  const auto all = Daily(90);
  const int64_t now = kBackupT0 + 89 * kDayNs + 2 * kHourNs;
  const auto doomed = BackupsToDelete(all, {}, now);
  ASSERT_EQ(doomed.size(), 55u);
  EXPECT_EQ(doomed.front(), 1u);
  EXPECT_EQ(doomed.back(), 55u);  // day 54 is exactly 35 days old: gone; day 55 stays
}

TEST(BackupRetention, NeverDeletesTheNewestGoodBackupNorDamagedOnes) {
  auto all = Daily(3);
  all[1].problem = "meta file damaged";
  const int64_t far_future = kBackupT0 + 1000 * kDayNs;
  EXPECT_EQ(BackupsToDelete(all, {}, far_future), std::vector<uint32_t>({1}));
  EXPECT_TRUE(BackupsToDelete({}, {}, far_future).empty());
}

TEST(BackupRetention, GfsKeepsNewestPerDayWeekAndMonth) {
  const auto all = Daily(90);  // 2026-01-01 (Thursday) to 2026-03-31
  const int64_t now = kBackupT0 + 89 * kDayNs + 2 * kHourNs;
  const auto doomed = BackupsToDelete(all, BackupRetention::Gfs(7, 5, 12), now);
  std::set<uint32_t> kept;
  for (const auto& b : all) kept.insert(b.id);
  for (uint32_t id : doomed) kept.erase(id);
  // Days: Mar 25-31 (83-89); weeks ending Sun Mar 8, 15, 22 (66, 73, 80); months Jan 31 (30),
  // Feb 28 (58).
  EXPECT_EQ(kept, (std::set<uint32_t>{31, 59, 67, 74, 81, 84, 85, 86, 87, 88, 89, 90}));
}

// Runs the scheduler at 02:30 on each of `days` days, writing a little every day.
void Simulate(DB& db, FakeClock& clock, BackupScheduler& scheduler, int days) {
  for (int d = 0; d < days; ++d) {
    ASSERT_TRUE(WritePoints(db, "p", "dev", "t", int64_t(d) * 100, 100).ok());
    clock.Set(kBackupT0 + d * kDayNs + 2 * kHourNs + 30 * 60 * kNanosPerSecond);
    Status s = scheduler.RunIfDue();
    ASSERT_TRUE(s.ok()) << "day " << d << ": " << s.ToString();
    ASSERT_TRUE(scheduler.RunIfDue().ok());  // not due again the same day
  }
}

void ExpectAllVerifyAndRestore(const TempDir& dir, const std::vector<BackupInfo>& backups) {
  int n = 0;
  for (const auto& b : backups) {
    auto report = VerifyBackup(dir.Sub("b"), b.id, TestKey());
    ASSERT_TRUE(report) << b.id << ": " << report.error().ToString();
    const int day = int((b.created_unix_ns - kBackupT0) / kDayNs);
    EXPECT_EQ(report->points_counted, uint64_t(day + 1) * 100) << "backup of day " << day;
    if (++n % 5 == 0) {  // a restore of every fifth, to keep the test short
      const std::string target = dir.Sub("r" + std::to_string(b.id));
      ASSERT_TRUE(RestoreBackup(dir.Sub("b"), b.id, target, TestKey()).ok());
      auto restored = OpenTestDb(target);
      EXPECT_EQ(CountPoints(*restored, "p"), uint64_t(day + 1) * 100);
    }
  }
}

TEST(BackupScheduler, NinetyDaysWithTheDefaultPolicyKeep35VerifiedBackups) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  FakeClock clock(kBackupT0);
  BackupScheduleOptions o;
  o.backup_dir = dir.Sub("b");
  o.key = TestKey();
  o.time_of_day_s = 2 * 3600;
  auto scheduler = BackupScheduler::Create(*db, clock, o);
  ASSERT_TRUE(scheduler) << scheduler.error().ToString();
  Simulate(*db, clock, **scheduler, 90);
  const BackupScheduleStatus st = (*scheduler)->status();
  EXPECT_EQ(st.runs, 90u);
  EXPECT_EQ(st.failures, 0u);
  EXPECT_EQ(st.backups_kept, 35u);
  EXPECT_GT(st.backup_bytes, 0u);
  EXPECT_EQ(st.next_due_unix_ns, kBackupT0 + 90 * kDayNs + 2 * kHourNs);
  auto list = ListBackups(dir.Sub("b"));
  ASSERT_TRUE(list);
  std::set<int> want;
  for (int d = 55; d < 90; ++d) want.insert(d);
  EXPECT_EQ(KeptDays(*list), want);
  ExpectAllVerifyAndRestore(dir, *list);
}

TEST(BackupScheduler, NinetyDaysWithGfsKeepExactlyTheExpectedBackups) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  FakeClock clock(kBackupT0);
  BackupScheduleOptions o;
  o.backup_dir = dir.Sub("b");
  o.key = TestKey();
  o.retention = BackupRetention::Gfs(7, 5, 12);
  o.verify = false;  // verified all at once below
  auto scheduler = BackupScheduler::Create(*db, clock, o);
  ASSERT_TRUE(scheduler);
  Simulate(*db, clock, **scheduler, 90);
  auto list = ListBackups(dir.Sub("b"));
  ASSERT_TRUE(list);
  EXPECT_EQ(KeptDays(*list), (std::set<int>{30, 58, 66, 73, 80, 83, 84, 85, 86, 87, 88, 89}));
  ExpectAllVerifyAndRestore(dir, *list);
}

TEST(BackupScheduler, CatchesUpAMissedBackupAndReportsFailures) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  FakeClock clock(kBackupT0 + 10 * kHourNs);  // started after today's 02:00
  BackupScheduleOptions o;
  o.backup_dir = dir.Sub("missing-parent/b");
  o.key = TestKey();
  auto scheduler = BackupScheduler::Create(*db, clock, o);
  ASSERT_TRUE(scheduler);
  EXPECT_EQ((*scheduler)->status().next_due_unix_ns, kBackupT0 + 2 * kHourNs);
  EXPECT_FALSE((*scheduler)->RunIfDue().ok());
  const auto st = (*scheduler)->status();
  EXPECT_EQ(st.failures, 1u);
  EXPECT_EQ(st.last_failure_unix_ns, kBackupT0 + 10 * kHourNs);
  EXPECT_NE(st.last_message.find("does not exist"), std::string::npos) << st.last_message;
  EXPECT_EQ(st.next_due_unix_ns, kBackupT0 + 11 * kHourNs);  // retried an hour later
}

TEST(BackupRestore, FindsTheLatestBackupBeforeATime) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  for (int d = 0; d < 3; ++d) {
    ASSERT_TRUE(WritePoints(*db, "p", "d", "a", d * 10, 10).ok());
    (void)MustBackup(*db, dir.Sub("b"), Labelled("", kBackupT0 + d * kDayNs));
  }
  auto b = FindBackupBefore(dir.Sub("b"), kBackupT0 + kDayNs + kHourNs);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->created_unix_ns, kBackupT0 + kDayNs);
  ASSERT_TRUE(RestoreBackup(dir.Sub("b"), b->id, dir.Sub("r"), TestKey()).ok());
  EXPECT_EQ(CountPoints(*OpenTestDb(dir.Sub("r")), "p"), 20u);
  EXPECT_FALSE(FindBackupBefore(dir.Sub("b"), kBackupT0 - 1));
}

[[noreturn]] void BackupInChild(const std::string& db_dir, const std::string& backup_dir) {
  auto db = DB::Open(TestOptions(), db_dir);
  if (!db) _exit(3);
  for (int i = 0; i < 1000; ++i) {
    if (!(*db)->CreateBackup(backup_dir)) _exit(4);
  }
  _exit(0);
}

TEST(BackupCrash, AKilledBackupLeavesNoHalfBackupListedAsGood) {
  TempDir dir;
  {
    auto db = OpenTestDb(dir.Sub("db"));
    ASSERT_TRUE(db->CreateProject("p"));
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(WritePoints(*db, "p", "d" + std::to_string(i), "a", 0, 20'000).ok());
      ASSERT_TRUE(db->Flush().ok());  // many files, so a kill lands mid-copy
    }
  }
  for (int delay_ms : {15, 40, 90}) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) BackupInChild(dir.Sub("db"), dir.Sub("b"));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  }
  auto list = ListBackups(dir.Sub("b"));
  if (list) {
    for (const auto& b : *list) {
      if (!b.problem.empty()) continue;
      auto r = VerifyBackup(dir.Sub("b"), b.id, TestKey());
      EXPECT_TRUE(r) << "backup " << b.id << " listed as good: " << r.error().ToString();
    }
  }
  auto db = OpenTestDb(dir.Sub("db"));
  const BackupInfo after = MustBackup(*db, dir.Sub("b"));
  auto r = VerifyBackup(dir.Sub("b"), after.id, TestKey());
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->points_counted, 400'000u);
}

}  // namespace
}  // namespace sensordb
