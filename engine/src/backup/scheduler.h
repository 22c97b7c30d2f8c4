// Time arithmetic of the daily backup schedule (the scheduler itself is sensordb::
// BackupScheduler, sensordb/backup.h). Pure functions, UTC.
#pragma once

#include <cstdint>

namespace sensordb::backup {

inline constexpr int64_t kNsPerDay = 86'400 * int64_t{1'000'000'000};

// The latest instant at or before `now_unix_ns` whose time of day is `time_of_day_s`.
int64_t LastSlotAtOrBefore(int64_t now_unix_ns, int32_t time_of_day_s);
// When the next backup is due, given the newest existing backup's time (0 = none): the
// latest slot if that backup predates it (a missed backup is caught up), else the next slot.
int64_t FirstDue(int64_t now_unix_ns, int32_t time_of_day_s, int64_t newest_backup_unix_ns);

}  // namespace sensordb::backup
