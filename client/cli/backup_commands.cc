// `sensordb backup create|list|verify|restore|prune` (docs/BACKUP.md). Only `create` opens the
// database; the others work on the backup directory alone (restore writes a new database into
// --target, by default --data-dir, which must not exist or be empty).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "cli_common.h"
#include "output.h"
#include "sensordb/backup.h"
#include "time_util.h"

namespace sensordb::cli {
namespace {

struct BackupArgs {
  std::string backup_dir;
  std::string label;
  std::string target;
  std::string before;
  int64_t id = -1;
  bool all = false;
  bool json = false;
  bool dry_run = false;
  int64_t keep_days = -1;
  uint32_t keep_daily = 0, keep_weekly = 0, keep_monthly = 0;
};

Result<KeySource> KeyOf(const GlobalArgs& global) {
  KeySource k;
  if (!global.key_file.empty()) {
    k.key_file = global.key_file;
  } else if (const char* p = std::getenv("SENSORDB_PASSPHRASE"); p && *p) {
    k.passphrase = p;
  } else {
    return Err(Status::InvalidArgument(
        "no master key: pass --key-file FILE (or set SENSORDB_KEY_FILE), or set "
        "SENSORDB_PASSPHRASE"));
  }
  return k;
}

// A byte-progress bar on stderr, redrawn at most ten times a second; silent when disabled.
class ByteBar {
 public:
  ByteBar(bool enabled, std::string label) : enabled_(enabled), label_(std::move(label)) {}
  ~ByteBar() {
    if (drawn_) fmt::print(stderr, "\r\x1b[K");
  }
  ProgressCallback Callback() {
    if (!enabled_) return {};
    return [this](uint64_t done, uint64_t total) {
      const auto now = std::chrono::steady_clock::now();
      if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
      last_ = now;
      const double f = total ? std::min(1.0, double(done) / double(total)) : 0;
      const int filled = int(f * 30);
      fmt::print(stderr, "\r{} [{}{}] {:5.1f}%\x1b[K", label_, std::string(size_t(filled), '#'),
                 std::string(size_t(30 - filled), '.'), f * 100);
      std::fflush(stderr);
      drawn_ = true;
    };
  }

 private:
  bool enabled_;
  std::string label_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_;
};

std::string InfoJson(const BackupInfo& b) {
  return fmt::format(
      "{{\"id\": {}, \"created\": {}, \"created_unix_ns\": {}, \"size_bytes\": {}, "
      "\"new_bytes\": {}, \"shared_bytes\": {}, \"files\": {}, \"format_version\": {}, "
      "\"encrypted\": {}, \"label\": {}, \"ok\": {}, \"problem\": {}}}",
      b.id, JsonString(b.created_unix_ns ? FormatRfc3339(b.created_unix_ns) : ""),
      b.created_unix_ns, b.size_bytes, b.new_bytes, b.shared_bytes, b.files, b.format_version,
      b.encrypted, JsonString(b.label), b.problem.empty(), JsonString(b.problem));
}

Status RunCreate(const GlobalArgs& global, const BackupArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(auto db, OpenDb(global, /*create_if_missing=*/false));
  ByteBar bar(StderrIsTerminal() && !a.json, "backing up");
  BackupOptions o;
  o.label = a.label;
  o.progress = bar.Callback();
  const auto start = std::chrono::steady_clock::now();
  SENSORDB_ASSIGN_OR_RETURN(const BackupInfo b, db->CreateBackup(a.backup_dir, o));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (a.json) {
    fmt::print("{}\n", InfoJson(b));
  } else {
    fmt::print("backup {} created in {:.2f} s: {} bytes, {} new, {} shared with older backups\n",
               b.id, s, b.size_bytes, b.new_bytes, b.shared_bytes);
  }
  return Status::Ok();
}

Status RunList(const BackupArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(const auto all, ListBackups(a.backup_dir));
  if (a.json) {
    fmt::print("[");
    for (size_t i = 0; i < all.size(); ++i) fmt::print("{}{}", i ? ", " : "", InfoJson(all[i]));
    fmt::print("]\n");
    return Status::Ok();
  }
  fmt::print("{:>5}  {:<24} {:>14} {:>14}  {:<6} {}\n", "id", "created", "size_bytes",
             "new_bytes", "status", "label");
  for (const auto& b : all) {
    fmt::print("{:>5}  {:<24} {:>14} {:>14}  {:<6} {}\n", b.id,
               b.created_unix_ns ? FormatRfc3339(b.created_unix_ns) : "?", b.size_bytes,
               b.new_bytes, b.problem.empty() ? "ok" : "BAD", b.problem.empty() ? b.label : b.problem);
  }
  return Status::Ok();
}

// The backups --id or --before names, newest first: --id alone, else every backup taken at or
// before --before (default: now), good and damaged.
Result<std::vector<BackupInfo>> PickBackups(const BackupArgs& a) {
  if (a.id >= 0) {
    BackupInfo named;
    named.id = uint32_t(a.id);
    return std::vector<BackupInfo>{named};
  }
  int64_t before = std::numeric_limits<int64_t>::max();
  if (!a.before.empty()) {
    SENSORDB_ASSIGN_OR_RETURN(before, ParseTimePoint(a.before, NowNanos()));
  }
  SENSORDB_ASSIGN_OR_RETURN(auto picked, BackupsBefore(a.backup_dir, before));
  if (std::none_of(picked.begin(), picked.end(),
                   [](const BackupInfo& b) { return b.problem.empty(); })) {
    return Err(Status::NotFound("no good backup in " + a.backup_dir +
                                " was taken at or before the given time"));
  }
  return picked;
}

Status RunVerify(const GlobalArgs& global, const BackupArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(const KeySource key, KeyOf(global));
  std::vector<uint32_t> ids;
  if (a.all) {
    SENSORDB_ASSIGN_OR_RETURN(const auto all, ListBackups(a.backup_dir));
    for (const auto& b : all) ids.push_back(b.id);
  } else {
    SENSORDB_ASSIGN_OR_RETURN(const auto picked, PickBackups(a));
    for (const BackupInfo& b : picked) {
      if (b.problem.empty()) {
        ids.push_back(b.id);
        break;
      }
    }
  }
  Status first_error;
  for (uint32_t id : ids) {
    ByteBar bar(StderrIsTerminal() && !a.json, fmt::format("verifying backup {}", id));
    auto r = VerifyBackup(a.backup_dir, id, key, bar.Callback());
    if (a.json) {
      fmt::print("{{\"id\": {}, \"ok\": {}, \"error\": {}, \"files_checked\": {}, "
                 "\"projects\": {}, \"points_counted\": {}, \"points_read\": {}}}\n",
                 id, r.has_value(), JsonString(r ? "" : r.error().message()),
                 r ? r->files_checked : 0, r ? r->projects : 0, r ? r->points_counted : 0,
                 r ? r->points_read : 0);
    } else if (r) {
      fmt::print("backup {}: ok ({} files checked; {} projects, {} points counted, {} read)\n",
                 id, r->files_checked, r->projects, r->points_counted, r->points_read);
    } else {
      fmt::print("backup {}: FAILED: {}\n", id, r.error().message());
    }
    if (!r && first_error.ok()) first_error = r.error();
  }
  return first_error;
}

// A backup whose files fail their checks; an older one may still restore.
bool Damaged(const Status& s) {
  return s.code() == StatusCode::kCorruption || s.code() == StatusCode::kNotFound;
}

Status RunRestore(const GlobalArgs& global, const BackupArgs& a) {
  SENSORDB_ASSIGN_OR_RETURN(const KeySource key, KeyOf(global));
  const std::string target = a.target.empty() ? global.data_dir : a.target;
  SENSORDB_ASSIGN_OR_RETURN(const auto picked, PickBackups(a));
  std::vector<std::string> skipped;
  // Newest first: a backup that fails its checks is named with the reason and the next older
  // one is tried (a restore is staged, so a failed one leaves nothing at the target). With
  // --id, only that one.
  Status last;
  // Damaged as listed (its time may be unknown, so it may sort last): named, never tried.
  for (const BackupInfo& b : picked) {
    if (!b.problem.empty()) skipped.push_back(fmt::format("backup {} skipped: {}", b.id, b.problem));
  }
  for (const BackupInfo& b : picked) {
    if (!b.problem.empty()) continue;
    const uint32_t id = b.id;
    ByteBar bar(StderrIsTerminal() && !a.json, fmt::format("restoring backup {}", id));
    last = RestoreBackup(a.backup_dir, id, target, key, bar.Callback());
    if (last.ok()) {
      for (const std::string& line : skipped) fmt::print(stderr, "sensordb: {}\n", line);
      if (a.json) {
        std::vector<std::string> quoted;
        for (const std::string& line : skipped) quoted.push_back(JsonString(line));
        fmt::print("{{\"id\": {}, \"target\": {}, \"skipped\": [{}]}}\n", id,
                   JsonString(target), fmt::join(quoted, ", "));
      } else {
        fmt::print("backup {} restored into {}\n", id, target);
      }
      return Status::Ok();
    }
    if (!Damaged(last)) break;
    skipped.push_back(fmt::format("backup {} skipped: {}", id, last.message()));
  }
  for (const std::string& line : skipped) fmt::print(stderr, "sensordb: {}\n", line);
  return last;
}

Status RunPrune(const BackupArgs& a) {
  BackupRetention policy;
  const bool gfs = a.keep_daily || a.keep_weekly || a.keep_monthly;
  policy.keep_days = a.keep_days >= 0 ? uint32_t(a.keep_days) : (gfs ? 0 : 35);
  policy.keep_daily = a.keep_daily;
  policy.keep_weekly = a.keep_weekly;
  policy.keep_monthly = a.keep_monthly;
  std::vector<uint32_t> deleted;
  if (a.dry_run) {
    SENSORDB_ASSIGN_OR_RETURN(const auto all, ListBackups(a.backup_dir));
    deleted = BackupsToDelete(all, policy, NowNanos());
  } else {
    SENSORDB_ASSIGN_OR_RETURN(deleted, PruneBackups(a.backup_dir, policy, NowNanos()));
  }
  if (a.json) {
    fmt::print("{{\"dry_run\": {}, \"deleted\": [{}]}}\n", a.dry_run, fmt::join(deleted, ", "));
  } else {
    fmt::print("{} {} backup(s){}{}\n", a.dry_run ? "would delete" : "deleted", deleted.size(),
               deleted.empty() ? "" : ": ", fmt::join(deleted, ", "));
  }
  return Status::Ok();
}

}  // namespace

void AddBackupCommands(CLI::App& app, const GlobalArgs& global, Action* action) {
  auto a = std::make_shared<BackupArgs>();
  CLI::App* backup = app.add_subcommand("backup", "Snapshot backups: create, list, verify, "
                                                  "restore, prune (docs/BACKUP.md)");
  backup->require_subcommand(1);
  auto common = [&](CLI::App* c) {
    c->add_option("--backup-dir,-B", a->backup_dir, "Backup directory")
        ->envname("SENSORDB_BACKUP_DIR")
        ->required();
    c->add_flag("--json", a->json, "Machine-readable output");
  };
  auto pick = [&](CLI::App* c) {
    c->add_option("--id", a->id, "Backup id (see `backup list`)");
    c->add_option("--before", a->before, "The newest backup taken at or before this time");
  };
  CLI::App* create = backup->add_subcommand("create", "Back up the database now");
  common(create);
  create->add_option("--label", a->label, "Free text stored with the backup (plaintext)");
  create->callback([&global, action, a] { *action = [&global, a] { return RunCreate(global, *a); }; });

  CLI::App* list = backup->add_subcommand("list", "List the backups of a backup directory");
  common(list);
  list->callback([action, a] { *action = [a] { return RunList(*a); }; });

  CLI::App* verify = backup->add_subcommand(
      "verify", "Check checksums and decrypt a sample (default: the newest backup)");
  common(verify);
  pick(verify);
  verify->add_flag("--all", a->all, "Verify every backup");
  verify->callback([&global, action, a] { *action = [&global, a] { return RunVerify(global, *a); }; });

  CLI::App* restore = backup->add_subcommand(
      "restore", "Restore a backup into a new, empty directory (default: the newest backup)");
  common(restore);
  pick(restore);
  restore->add_option("--target", a->target, "Directory to restore into (default: --data-dir)");
  restore->callback([&global, action, a] { *action = [&global, a] { return RunRestore(global, *a); }; });

  CLI::App* prune = backup->add_subcommand(
      "prune", "Delete backups the retention policy does not keep (default: keep 35 days)");
  common(prune);
  prune->add_option("--keep-days", a->keep_days, "Keep every backup younger than this");
  prune->add_option("--keep-daily", a->keep_daily, "Keep the newest backup of each of N days");
  prune->add_option("--keep-weekly", a->keep_weekly, "... of each of N ISO weeks");
  prune->add_option("--keep-monthly", a->keep_monthly, "... of each of N months");
  prune->add_flag("--dry-run", a->dry_run, "Only say what would be deleted");
  prune->callback([action, a] { *action = [a] { return RunPrune(*a); }; });
}

}  // namespace sensordb::cli
