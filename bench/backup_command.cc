// sensordb-bench backup: writes a simulated fleet (10 M points by default), takes a full backup,
// writes more (1 M points), takes an incremental one, then verifies and restores the latter.
// Reports times and bytes copied (docs/BENCHMARKS.md).
#include <fmt/core.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>

#include "bench_commands.h"
#include "fleet.h"
#include "sensordb/backup.h"
#include "sensordb/db.h"

namespace {

using Clock = std::chrono::steady_clock;
using sensordb::bench::Fleet;
namespace fs = std::filesystem;

struct Config {
  int devices = 1000;
  int channels = 10;
  int64_t points = 10'000'000;
  int64_t new_points = 1'000'000;
  std::string dir;
  bool json = false;
};

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Points [first, first + n) of every series, in batches of 100 devices x 60 points.
sensordb::Status WriteRange(sensordb::DB& db, Fleet& fleet, int64_t first, int64_t n) {
  sensordb::WriteBatch batch;
  std::vector<int64_t> ts;
  std::vector<double> vals;
  for (int64_t at = first; at < first + n; at += 60) {
    const int64_t k = std::min<int64_t>(60, first + n - at);
    for (int d = 0; d < fleet.devices(); ++d) {
      for (int c = 0; c < fleet.channels(); ++c) {
        fleet.Points(d, c, at, k, &ts, &vals);
        batch.AddFloat64(fleet.DeviceName(d), fleet.ChannelName(c), ts, vals);
      }
      if ((d + 1) % 100 == 0 || d + 1 == fleet.devices()) {
        SENSORDB_RETURN_IF_ERROR(db.Write("bench", batch));
        batch.Clear();
      }
    }
  }
  return sensordb::Status::Ok();
}

struct Figures {
  double full_s = 0, incremental_s = 0, verify_s = 0, restore_s = 0;
  uint64_t verified_points = 0;  // a count over the restored incremental backup
  sensordb::BackupInfo full, incremental;
};

sensordb::Result<Figures> Run(const Config& cfg, const std::string& key_file) {
  sensordb::Options o;
  o.key.key_file = key_file;
  o.durability = sensordb::Durability::kAsync;
  o.maintenance_interval_ms = 0;
  SENSORDB_ASSIGN_OR_RETURN(auto db, sensordb::DB::Open(o, cfg.dir + "/db"));
  SENSORDB_ASSIGN_OR_RETURN(auto project, db->CreateProject("bench"));
  (void)project;
  Fleet fleet(cfg.devices, cfg.channels);
  const int64_t series = int64_t(cfg.devices) * cfg.channels;
  const int64_t per_series = std::max<int64_t>(1, cfg.points / series);
  SENSORDB_RETURN_IF_ERROR(WriteRange(*db, fleet, 0, per_series));
  SENSORDB_RETURN_IF_ERROR(db->Flush());
  const std::string backups = cfg.dir + "/backups";
  Figures f;
  auto t = Clock::now();
  SENSORDB_ASSIGN_OR_RETURN(f.full, db->CreateBackup(backups));
  f.full_s = Since(t);
  SENSORDB_RETURN_IF_ERROR(
      WriteRange(*db, fleet, per_series, std::max<int64_t>(1, cfg.new_points / series)));
  t = Clock::now();
  SENSORDB_ASSIGN_OR_RETURN(f.incremental, db->CreateBackup(backups));
  f.incremental_s = Since(t);
  db.reset();
  t = Clock::now();
  SENSORDB_ASSIGN_OR_RETURN(auto report, sensordb::VerifyBackup(backups, f.incremental.id, o.key));
  f.verify_s = Since(t);
  f.verified_points = report.points_counted;
  t = Clock::now();
  SENSORDB_RETURN_IF_ERROR(
      sensordb::RestoreBackup(backups, f.incremental.id, cfg.dir + "/restored", o.key));
  f.restore_s = Since(t);
  return f;
}

void Print(const Config& cfg, const Figures& f) {
  if (cfg.json) {
    fmt::print("{{\"points\": {}, \"new_points\": {}, \"full_backup_s\": {:.3f}, "
               "\"full_backup_bytes\": {}, \"incremental_backup_s\": {:.3f}, "
               "\"incremental_new_bytes\": {}, \"incremental_shared_bytes\": {}, "
               "\"verify_s\": {:.3f}, \"verified_points\": {}, \"restore_s\": {:.3f}}}\n",
               cfg.points, cfg.new_points, f.full_s, f.full.new_bytes, f.incremental_s,
               f.incremental.new_bytes, f.incremental.shared_bytes, f.verify_s, f.verified_points,
               f.restore_s);
    return;
  }
  fmt::print("full backup        {:.3f} s, {} bytes ({} points)\n", f.full_s, f.full.new_bytes,
             cfg.points);
  fmt::print("incremental backup {:.3f} s, {} bytes copied, {} shared (+{} points)\n",
             f.incremental_s, f.incremental.new_bytes, f.incremental.shared_bytes,
             cfg.new_points);
  fmt::print("verify             {:.3f} s (checksums, restore, count {} points, read a sample)\n",
             f.verify_s, f.verified_points);
  fmt::print("restore            {:.3f} s\n", f.restore_s);
}

}  // namespace

int RunBackupCommand(int argc, char** argv) {
  Config cfg;
  CLI::App app("sensordb-bench backup: full and incremental backup of a simulated fleet",
               "sensordb-bench backup");
  app.add_option("--devices", cfg.devices)->check(CLI::Range(1, 1'000'000));
  app.add_option("--channels", cfg.channels)->check(CLI::Range(1, 1000));
  app.add_option("--points", cfg.points, "points before the full backup")->check(CLI::PositiveNumber);
  app.add_option("--new-points", cfg.new_points, "points added before the incremental backup");
  app.add_option("--dir", cfg.dir, "work directory (default: a temporary one, removed)");
  app.add_flag("--json", cfg.json, "machine-readable output");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  const bool temp = cfg.dir.empty();
  if (temp) {
    cfg.dir = (fs::temp_directory_path() / ("sensordb-bench-backup-" + std::to_string(getpid())))
                  .string();
  }
  fs::create_directories(cfg.dir);
  const std::string key = cfg.dir + ".key";
  if (auto s = sensordb::CreateKeyFile(key); !s.ok()) {
    return fmt::print(stderr, "sensordb-bench: {}\n", s.ToString()), 1;
  }
  auto figures = Run(cfg, key);
  fs::remove(key);
  if (temp) fs::remove_all(cfg.dir);
  if (!figures) return fmt::print(stderr, "sensordb-bench: {}\n", figures.error().ToString()), 1;
  Print(cfg, *figures);
  return 0;
}
