#include "backup/scheduler.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "backup/backup_manager.h"
#include "backup/retention_policy.h"
#include "sensordb/backup.h"
#include "sensordb/db.h"

namespace sensordb {
namespace backup {

constexpr int64_t kRetryAfterFailureNs = 3600 * int64_t{1'000'000'000};

int64_t LastSlotAtOrBefore(int64_t now_unix_ns, int32_t time_of_day_s) {
  const int64_t slot = DayOf(now_unix_ns) * kNsPerDay + int64_t(time_of_day_s) * 1'000'000'000;
  return slot <= now_unix_ns ? slot : slot - kNsPerDay;
}

int64_t FirstDue(int64_t now_unix_ns, int32_t time_of_day_s, int64_t newest_backup_unix_ns) {
  const int64_t slot = LastSlotAtOrBefore(now_unix_ns, time_of_day_s);
  return newest_backup_unix_ns >= slot ? slot + kNsPerDay : slot;
}

}  // namespace backup

struct BackupScheduler::Rep {
  Rep(DB& d, const Clock& c, BackupScheduleOptions o) : db(d), clock(c), options(std::move(o)) {}
  Status Run(int64_t now);
  void Record(int64_t now, const Status& s, std::string message);

  DB& db;
  const Clock& clock;
  const BackupScheduleOptions options;
  std::mutex run_mu;  // one run at a time
  mutable std::mutex mu;
  BackupScheduleStatus status;  // GUARDED_BY(mu)
  bool stopping = false;        // GUARDED_BY(mu)
  std::condition_variable cv;
  std::thread thread;
};

Result<std::unique_ptr<BackupScheduler>> BackupScheduler::Create(DB& db, const Clock& clock,
                                                                 BackupScheduleOptions options) {
  if (options.time_of_day_s < 0 || options.time_of_day_s >= 86'400) {
    return Err(Status::InvalidArgument("backup time of day must be within 00:00:00-23:59:59"));
  }
  if (options.backup_dir.empty()) return Err(Status::InvalidArgument("no backup directory"));
  auto rep = std::make_unique<Rep>(db, clock, std::move(options));
  int64_t newest = 0;
  if (auto list = ListBackups(rep->options.backup_dir)) {
    for (const auto& b : *list) {
      if (b.problem.empty()) newest = std::max(newest, b.created_unix_ns);
    }
  }
  rep->status.next_due_unix_ns =
      backup::FirstDue(clock.NowUnixNs(), rep->options.time_of_day_s, newest);
  return std::unique_ptr<BackupScheduler>(new BackupScheduler(std::move(rep)));
}

BackupScheduler::BackupScheduler(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}

BackupScheduler::~BackupScheduler() { Stop(); }

void BackupScheduler::Rep::Record(int64_t now, const Status& s, std::string message) {
  std::lock_guard lock(mu);
  ++status.runs;
  if (s.ok()) {
    status.last_success_unix_ns = now;
    status.last_message = std::move(message);
    status.next_due_unix_ns =
        backup::LastSlotAtOrBefore(now, options.time_of_day_s) + backup::kNsPerDay;
  } else {
    ++status.failures;
    status.last_failure_unix_ns = now;
    status.last_message = s.ToString();
    status.next_due_unix_ns =
        std::min(now + backup::kRetryAfterFailureNs,
                 backup::LastSlotAtOrBefore(now, options.time_of_day_s) + backup::kNsPerDay);
  }
}

Status BackupScheduler::Rep::Run(int64_t now) {
  BackupOptions bo;
  bo.label = options.label;
  bo.created_unix_ns = now;
  SENSORDB_ASSIGN_OR_RETURN(const BackupInfo info, db.CreateBackup(options.backup_dir, bo));
  SENSORDB_ASSIGN_OR_RETURN(auto manager,
                            backup::BackupManager::OpenLocal(options.backup_dir, false));
  SENSORDB_ASSIGN_OR_RETURN(const auto deleted, manager->Prune(options.retention, now));
  if (options.verify) {
    SENSORDB_ASSIGN_OR_RETURN(const auto report, manager->Verify(info.id, options.key, {}));
    (void)report;
  }
  SENSORDB_ASSIGN_OR_RETURN(const auto all, manager->List());
  SENSORDB_ASSIGN_OR_RETURN(const uint64_t bytes, manager->TotalBytes());
  uint32_t kept = 0;
  for (const auto& b : all) kept += b.problem.empty() ? 1 : 0;
  {
    std::lock_guard lock(mu);
    status.last_backup_id = info.id;
    status.backups_kept = kept;
    status.backup_bytes = bytes;
  }
  Record(now, Status::Ok(),
         "backup " + std::to_string(info.id) + " taken (" + std::to_string(info.new_bytes) +
             " new bytes)" + (options.verify ? " and verified" : "") + "; " +
             std::to_string(deleted.size()) + " expired backups deleted, " +
             std::to_string(kept) + " kept");
  return Status::Ok();
}

Status BackupScheduler::RunNow() {
  std::lock_guard one(rep_->run_mu);
  const int64_t now = rep_->clock.NowUnixNs();
  Status s = rep_->Run(now);
  if (!s.ok()) rep_->Record(now, s, {});
  return s;
}

Status BackupScheduler::RunIfDue() {
  {
    std::lock_guard lock(rep_->mu);
    if (rep_->clock.NowUnixNs() < rep_->status.next_due_unix_ns) return Status::Ok();
  }
  return RunNow();
}

BackupScheduleStatus BackupScheduler::status() const {
  std::lock_guard lock(rep_->mu);
  return rep_->status;
}

void BackupScheduler::Start() {
  std::lock_guard guard(rep_->mu);
  if (rep_->thread.joinable()) return;
  rep_->stopping = false;
  rep_->thread = std::thread([rep = rep_.get(), this] {
    const auto interval = std::chrono::milliseconds(rep->options.poll_interval_ms);
    std::unique_lock lock(rep->mu);
    while (!rep->cv.wait_for(lock, interval, [rep] { return rep->stopping; })) {
      lock.unlock();
      RunIfDue().IgnoreError();  // failures are in status()
      lock.lock();
    }
  });
}

void BackupScheduler::Stop() {
  std::thread t;
  {
    std::lock_guard lock(rep_->mu);
    rep_->stopping = true;
    t = std::move(rep_->thread);
  }
  rep_->cv.notify_all();
  if (t.joinable()) t.join();
}

}  // namespace sensordb
