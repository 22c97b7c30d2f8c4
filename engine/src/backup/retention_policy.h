// Retention of backups: which backups a BackupRetention keeps (the public entry point is
// sensordb::BackupsToDelete in sensordb/backup.h). Calendar periods are UTC. Pure functions.
#pragma once

#include <cstdint>

namespace sensordb::backup {

// Days since 1970-01-01 (UTC) of a time, rounding towards the past.
int64_t DayOf(int64_t unix_ns);
// ISO week (Monday to Sunday) as a running number: equal for days of the same week.
int64_t WeekOf(int64_t unix_ns);
// Calendar month as a running number (year * 12 + month - 1).
int64_t MonthOf(int64_t unix_ns);

}  // namespace sensordb::backup
