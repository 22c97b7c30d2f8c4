#include "backup/retention_policy.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>

#include "backup/scheduler.h"
#include "sensordb/backup.h"

namespace sensordb {
namespace backup {



int64_t DayOf(int64_t unix_ns) {
  return unix_ns >= 0 ? unix_ns / kNsPerDay : -((-unix_ns + kNsPerDay - 1) / kNsPerDay);
}

int64_t WeekOf(int64_t unix_ns) {
  // 1970-01-01 was a Thursday: shifting by 3 days makes weeks start on Monday.
  const int64_t d = DayOf(unix_ns) + 3;
  return d >= 0 ? d / 7 : -((-d + 6) / 7);
}

int64_t MonthOf(int64_t unix_ns) {
  const std::chrono::sys_days day{std::chrono::days{DayOf(unix_ns)}};
  const std::chrono::year_month_day ymd{day};
  return int64_t(int(ymd.year())) * 12 + int64_t(unsigned(ymd.month())) - 1;
}

namespace {

// Keeps the newest backup of each of the `count` most recent periods that have backups.
// `good` is sorted newest first.
void KeepNewestPerPeriod(const std::vector<const BackupInfo*>& good, uint32_t count,
                         const std::function<int64_t(int64_t)>& period_of,
                         std::set<uint32_t>* keep) {
  std::set<int64_t> seen;
  for (const BackupInfo* b : good) {
    if (seen.size() >= count) break;
    if (seen.insert(period_of(b->created_unix_ns)).second) keep->insert(b->id);
  }
}

}  // namespace
}  // namespace backup

std::vector<uint32_t> BackupsToDelete(const std::vector<BackupInfo>& backups,
                                      const BackupRetention& policy, int64_t now_unix_ns) {
  std::vector<const BackupInfo*> good;
  for (const auto& b : backups) {
    if (b.problem.empty()) good.push_back(&b);
  }
  std::sort(good.begin(), good.end(), [](const BackupInfo* a, const BackupInfo* b) {
    return a->created_unix_ns != b->created_unix_ns ? a->created_unix_ns > b->created_unix_ns
                                                    : a->id > b->id;
  });
  std::set<uint32_t> keep;
  if (!good.empty()) keep.insert(good.front()->id);  // never delete the newest good backup
  const int64_t window_start = now_unix_ns - int64_t(policy.keep_days) * backup::kNsPerDay;
  for (const BackupInfo* b : good) {
    if (policy.keep_days > 0 && b->created_unix_ns > window_start) keep.insert(b->id);
  }
  backup::KeepNewestPerPeriod(good, policy.keep_daily, backup::DayOf, &keep);
  backup::KeepNewestPerPeriod(good, policy.keep_weekly, backup::WeekOf, &keep);
  backup::KeepNewestPerPeriod(good, policy.keep_monthly, backup::MonthOf, &keep);
  std::vector<uint32_t> out;
  for (const BackupInfo* b : good) {
    if (!keep.contains(b->id)) out.push_back(b->id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sensordb
