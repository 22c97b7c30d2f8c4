// Backups (issue 4): consistency under writes, incremental copies, verification, restore,
// keyring handling and crypto-shredding, no plaintext in a backup.
#include <functional>
#include <thread>

#include "backup_test_util.h"

namespace sensordb {
namespace {

using namespace testing;  // NOLINT: test helpers
namespace fs = std::filesystem;

// Everything a query sees of a project, for comparing a restored copy with its source.
struct Snapshot {
  std::vector<std::string> series;
  std::vector<Pt> points;
  std::vector<double> aggregates;
  bool operator==(const Snapshot&) const = default;
};

Snapshot Take(DB& db, const std::string& project) {
  Snapshot s;
  Status st = db.QueryRaw(project, {}, {}, [&](const SeriesRef& ref, const PointRun& run) {
    s.series.push_back(std::string(ref.device) + "/" + std::string(ref.channel));
    for (size_t i = 0; i < run.size(); ++i) s.points.push_back({run.timestamps[i], run.value(i).AsDouble()});
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  AggregateQuery q;
  q.bucket_ns = 600 * kNanosPerSecond;
  st = db.Aggregate(project, q, [&](const AggregateRow& r) {
    for (auto a : {Aggregation::kCount, Aggregation::kSum, Aggregation::kMin, Aggregation::kMax,
                   Aggregation::kFirst, Aggregation::kLast}) {
      s.aggregates.push_back(r.Get(a));
    }
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return s;
}

TEST(Backup, RestoredCopyAnswersExactlyAsTheSourceDidAtBackupTime) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WritePoints(*db, "p", "d1", "temp", 0, 10'000).ok());
  ASSERT_TRUE(db->Flush().ok());  // sealed blocks ...
  ASSERT_TRUE(WritePoints(*db, "p", "d2", "rh", 0, 700).ok());  // ... and head points
  const Snapshot before = Take(*db, "p");
  const BackupInfo info = MustBackup(*db, dir.Sub("backups"), Labelled("first"));
  EXPECT_EQ(info.label, "first");
  EXPECT_EQ(info.format_version, kStorageFormatVersion);
  EXPECT_TRUE(info.encrypted);
  EXPECT_GT(info.size_bytes, 0u);
  ASSERT_TRUE(WritePoints(*db, "p", "d1", "temp", 20'000, 500).ok());  // after the backup

  ASSERT_TRUE(RestoreBackup(dir.Sub("backups"), info.id, dir.Sub("restored"), TestKey()).ok());
  auto restored = OpenTestDb(dir.Sub("restored"));
  ASSERT_TRUE(restored);
  EXPECT_EQ(Take(*restored, "p"), before);
  EXPECT_EQ(CountPoints(*restored, "p"), 10'700u);
}

TEST(Backup, HoldsEveryPointAcknowledgedBeforeItStartedWhileWritesContinue) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  constexpr int kBatch = 50, kMaxBatches = 4000;
  std::atomic<int> acked{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int b = 0; b < kMaxBatches && !stop; ++b) {
      if (!WritePoints(*db, "p", "dev", "ch", int64_t(b) * kBatch, kBatch).ok()) return;
      acked = b + 1;
    }
  });
  while (acked < 200) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const int acked_before = acked;
  const BackupInfo info = MustBackup(*db, dir.Sub("backups"));
  const int acked_after = acked;
  stop = true;
  writer.join();

  ASSERT_TRUE(RestoreBackup(dir.Sub("backups"), info.id, dir.Sub("restored"), TestKey()).ok());
  auto restored = OpenTestDb(dir.Sub("restored"));
  const std::vector<Pt> got = ReadSeries(*restored, "p", "dev", "ch");
  // One writer, batches in order: the backup holds a prefix of them, at least those acked
  // before it started; and every value is the one written.
  ASSERT_GE(got.size(), size_t(acked_before) * kBatch);
  ASSERT_LE(got.size(), size_t(acked_after + 1) * kBatch);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i], (Pt{kBackupT0 + int64_t(i) * kNanosPerSecond, double(i) * 0.5})) << i;
  }
}

TEST(Backup, IncrementalBackupCopiesOnlyNewFiles) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WritePoints(*db, "p", "d", "a", 0, 50'000).ok());
  const BackupInfo first = MustBackup(*db, dir.Sub("b"));
  const auto ssts_first = FilesUnder(dir.Sub("b") + "/shared_checksum", ".sst");
  EXPECT_EQ(first.new_bytes, first.size_bytes);
  const BackupInfo same = MustBackup(*db, dir.Sub("b"));  // nothing written since
  EXPECT_EQ(FilesUnder(dir.Sub("b") + "/shared_checksum", ".sst"), ssts_first);
  EXPECT_GT(same.shared_bytes, 0u);
  EXPECT_LT(same.new_bytes, first.new_bytes / 4);

  ASSERT_TRUE(WritePoints(*db, "p", "d", "b", 0, 5'000).ok());
  const BackupInfo next = MustBackup(*db, dir.Sub("b"));
  const auto ssts_next = FilesUnder(dir.Sub("b") + "/shared_checksum", ".sst");
  EXPECT_GT(ssts_next.size(), ssts_first.size());
  EXPECT_GE(next.shared_bytes + 4096, first.size_bytes - first.new_bytes + same.shared_bytes / 2);
  EXPECT_LT(next.new_bytes, next.size_bytes);
}

TEST(Backup, VerifyDecryptsASampleAndCatchesCorruption) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WritePoints(*db, "p", "d", "a", 0, 20'000).ok());
  const BackupInfo info = MustBackup(*db, dir.Sub("b"));
  auto report = VerifyBackup(dir.Sub("b"), info.id, TestKey());
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(report->projects, 1u);
  EXPECT_EQ(report->points_counted, 20'000u);
  EXPECT_EQ(report->points_read, 20'000u);
  EXPECT_FALSE(fs::exists(dir.Sub("b") + "/verify-scratch"));

  const auto ssts = FilesUnder(dir.Sub("b") + "/shared_checksum", ".sst");
  ASSERT_FALSE(ssts.empty());
  std::string bytes = ReadAll(ssts[0]);
  bytes[bytes.size() / 2] ^= 0x5a;
  std::ofstream(ssts[0], std::ios::binary | std::ios::trunc) << bytes;
  auto bad = VerifyBackup(dir.Sub("b"), info.id, TestKey());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), StatusCode::kCorruption) << bad.error().ToString();
  EXPECT_NE(bad.error().message().find(".sst"), std::string::npos) << bad.error().ToString();

  fs::resize_file(ssts[0], bytes.size() / 3);  // truncated
  bad = VerifyBackup(dir.Sub("b"), info.id, TestKey());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), StatusCode::kCorruption) << bad.error().ToString();

  fs::remove(ssts[0]);  // deleted by hand
  bad = VerifyBackup(dir.Sub("b"), info.id, TestKey());
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), StatusCode::kCorruption) << bad.error().ToString();
  EXPECT_EQ(CountPoints(*db, "p"), 20'000u);  // the live database is untouched
}

TEST(Backup, HoldsNoPlaintextNamesAndNoMasterKey) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("canaryproject"));
  ASSERT_TRUE(db->RegisterDevice("canaryproject", {"CANARY-DEVICE-7f3a", "CANARY-MODEL", "CANARY-FW"}).ok());
  ASSERT_TRUE(db->RegisterChannel("canaryproject", "CANARY-DEVICE-7f3a", "CANARY-CHANNEL",
                                  ValueType::kFloat64, "CANARY-UNIT"));
  ASSERT_TRUE(WritePoints(*db, "canaryproject", "CANARY-DEVICE-7f3a", "CANARY-CHANNEL", 0, 9'000).ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(WritePoints(*db, "canaryproject", "CANARY-DEVICE-7f3a", "CANARY-CHANNEL", 9'000, 100).ok());
  (void)MustBackup(*db, dir.Sub("b"));
  const std::string master = ReadAll(TestKeyFile());
  ASSERT_EQ(master.size(), 32u);
  size_t files = 0;
  for (const auto& path : FilesUnder(dir.Sub("b"), "")) {
    const std::string bytes = ReadAll(path);
    ++files;
    for (const char* canary : {"CANARY", "canaryproject"}) {
      EXPECT_EQ(bytes.find(canary), std::string::npos) << canary << " in " << path;
    }
    EXPECT_EQ(bytes.find(master), std::string::npos) << "master key in " << path;
  }
  EXPECT_GT(files, 4u);
}

TEST(Backup, DroppedProjectIsUnreadableWhenAnOlderBackupIsRestored) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("keep"));
  ASSERT_TRUE(db->CreateProject("gone"));
  ASSERT_TRUE(WritePoints(*db, "keep", "d", "a", 0, 1'000).ok());
  ASSERT_TRUE(WritePoints(*db, "gone", "d", "a", 0, 1'000).ok());
  ASSERT_TRUE(db->Flush().ok());
  const BackupInfo info = MustBackup(*db, dir.Sub("b"));
  const std::string keyring_before = ReadAll(dir.Sub("b") + "/keyring/KEYRING");
  ASSERT_TRUE(db->DropProject("gone").ok());
  EXPECT_LT(ReadAll(dir.Sub("b") + "/keyring/KEYRING").size(), keyring_before.size());

  ASSERT_TRUE(RestoreBackup(dir.Sub("b"), info.id, dir.Sub("r"), TestKey()).ok());
  auto restored = OpenTestDb(dir.Sub("r"));
  EXPECT_FALSE(restored->GetProject("gone"));
  EXPECT_EQ(CountPoints(*restored, "keep"), 1'000u);
  // The ciphertext was in the backup when it was taken; no keyring anywhere opens it now.
  std::string restored_keyring = ReadAll(dir.Sub("r") + "/KEYRING");
  EXPECT_EQ(restored_keyring.size(), ReadAll(dir.Sub("b") + "/keyring/KEYRING").size());
}

TEST(Backup, DropPurgesBackupKeyringsAtNextOpenAfterACrash) {
  TempDir dir;
  {
    auto db = OpenTestDb(dir.Sub("db"));
    ASSERT_TRUE(db->CreateProject("keep"));
    ASSERT_TRUE(db->CreateProject("gone"));
    (void)MustBackup(*db, dir.Sub("b"));
  }
  const std::string full = ReadAll(dir.Sub("b") + "/keyring/KEYRING");
  {
    auto db = OpenTestDb(dir.Sub("db"));
    ASSERT_TRUE(db->DropProject("gone").ok());
  }
  // As if the process died between destroying the live key and purging the backup keyring.
  std::ofstream(dir.Sub("b") + "/keyring/KEYRING", std::ios::binary | std::ios::trunc) << full;
  auto db = OpenTestDb(dir.Sub("db"));
  EXPECT_LT(ReadAll(dir.Sub("b") + "/keyring/KEYRING").size(), full.size());
}

TEST(Backup, BackupKeyringFollowsAMasterKeyRotation) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WritePoints(*db, "p", "d", "a", 0, 100).ok());
  (void)MustBackup(*db, dir.Sub("b"));
  ASSERT_TRUE(CreateKeyFile(dir.Sub("new.key")).ok());
  const KeySource next{dir.Sub("new.key"), {}};
  ASSERT_TRUE(db->RotateMasterKey(next).ok());
  const BackupInfo after = MustBackup(*db, dir.Sub("b"));
  // The backup keyring now opens with the new key only.
  ASSERT_TRUE(RestoreBackup(dir.Sub("b"), after.id, dir.Sub("r"), next).ok());
  Options o = TestOptions();
  o.key = next;
  EXPECT_EQ(CountPoints(*OpenTestDb(dir.Sub("r"), o), "p"), 100u);
  EXPECT_EQ(RestoreBackup(dir.Sub("b"), after.id, dir.Sub("r2"), TestKey()).code(),
            StatusCode::kPermissionDenied);
}

TEST(Backup, OldBackupStillRestoresAfterReencryptionAndMasterRotation) {
  // Backup 1 holds blocks under data key version 1; re-encryption retires that version in the
  // live keyring, and the master key is then rotated: the backup keyring must keep version 1,
  // re-wrapped under the new master key.
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WritePoints(*db, "p", "d", "a", 0, 100).ok());
  ASSERT_TRUE(db->Flush().ok());
  const BackupInfo first = MustBackup(*db, dir.Sub("b"));
  ASSERT_TRUE(db->RotateProjectKey("p"));
  ASSERT_TRUE(db->ReencryptProject("p").ok());
  ASSERT_TRUE(CreateKeyFile(dir.Sub("new.key")).ok());
  const KeySource next{dir.Sub("new.key"), {}};
  ASSERT_TRUE(db->RotateMasterKey(next).ok());
  (void)MustBackup(*db, dir.Sub("b"));
  ASSERT_TRUE(RestoreBackup(dir.Sub("b"), first.id, dir.Sub("r"), next).ok());
  Options o = TestOptions();
  o.key = next;
  EXPECT_EQ(CountPoints(*OpenTestDb(dir.Sub("r"), o), "p"), 100u);
}

TEST(BackupFaults, MissingParentDirectoryIsAClearErrorAndTheDatabaseWorks) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  auto r = db->CreateBackup(dir.Sub("no/such/parent"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), StatusCode::kNotFound);
  EXPECT_NE(r.error().message().find("mounted"), std::string::npos) << r.error().message();
  EXPECT_TRUE(WritePoints(*db, "p", "d", "a", 0, 10).ok());
  auto list = ListBackups(dir.Sub("missing"));
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().code(), StatusCode::kNotFound);
}

TEST(BackupFaults, UnwritableDirectoryIsPermissionDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  fs::create_directories(dir.Sub("ro"));
  fs::permissions(dir.Sub("ro"), fs::perms::owner_read | fs::perms::owner_exec);
  auto r = db->CreateBackup(dir.Sub("ro"));
  fs::permissions(dir.Sub("ro"), fs::perms::owner_all);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), StatusCode::kPermissionDenied) << r.error().ToString();
}

TEST(BackupFaults, RestoreRefusesANonEmptyTargetAndAWrongKey) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  const BackupInfo info = MustBackup(*db, dir.Sub("b"));
  // Over the live database: refused, nothing touched.
  Status s = RestoreBackup(dir.Sub("b"), info.id, dir.Sub("db"), TestKey());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_TRUE(db->GetProject("p"));
  fs::create_directories(dir.Sub("full"));
  std::ofstream(dir.Sub("full") + "/precious") << "x";
  s = RestoreBackup(dir.Sub("b"), info.id, dir.Sub("full"), TestKey());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadAll(dir.Sub("full") + "/precious"), "x");

  ASSERT_TRUE(CreateKeyFile(dir.Sub("other.key")).ok());
  s = RestoreBackup(dir.Sub("b"), info.id, dir.Sub("r"), KeySource{dir.Sub("other.key"), {}});
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
  EXPECT_FALSE(fs::exists(dir.Sub("r")));
  s = RestoreBackup(dir.Sub("b"), 99, dir.Sub("r"), TestKey());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
}

TEST(BackupFaults, DamagedOrDeletedMetaFileIsNeverListedAsGood) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  ASSERT_TRUE(WritePoints(*db, "p", "d", "a", 0, 100).ok());
  const BackupInfo one = MustBackup(*db, dir.Sub("b"));
  const BackupInfo two = MustBackup(*db, dir.Sub("b"));
  const BackupInfo three = MustBackup(*db, dir.Sub("b"));
  std::ofstream(dir.Sub("b") + "/meta/" + std::to_string(two.id), std::ios::trunc) << "garbage\n";
  fs::remove(dir.Sub("b") + "/meta/" + std::to_string(three.id));
  auto list = ListBackups(dir.Sub("b"));
  ASSERT_TRUE(list) << list.error().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, one.id);
  EXPECT_TRUE((*list)[0].problem.empty());
  EXPECT_EQ((*list)[1].id, two.id);
  EXPECT_FALSE((*list)[1].problem.empty());
  Status s = RestoreBackup(dir.Sub("b"), two.id, dir.Sub("r"), TestKey());
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  s = RestoreBackup(dir.Sub("b"), three.id, dir.Sub("r"), TestKey());
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  s = RestoreBackup(dir.Sub("b"), one.id, dir.Sub("r"), TestKey());
  EXPECT_TRUE(s.ok()) << s.ToString();
  const BackupInfo next = MustBackup(*db, dir.Sub("b"));  // the directory stays usable
  EXPECT_TRUE(VerifyBackup(dir.Sub("b"), next.id, TestKey()));
}

// One file of a backup damaged on disk, and how.
struct Damage {
  std::string name;
  // What the error must say is wrong: for a table file, whose name records its size, exactly
  // this; for a private file (RocksDB records its checksum, not its size) this or `or_else`.
  std::string what, or_else;
  std::function<void(const std::string&)> apply;  // damages the file at this path
};

std::vector<Damage> Damages() {
  return {
      {"one byte altered", "checksum mismatch", "checksum mismatch",
       [](const std::string& path) {
         std::string bytes = ReadAll(path);
         bytes[bytes.size() / 2] ^= 0x5a;
         std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
       }},
      {"truncated", "size mismatch", "checksum mismatch",
       [](const std::string& path) { fs::resize_file(path, fs::file_size(path) / 3); }},
      {"deleted", "missing", "missing", [](const std::string& path) { fs::remove(path); }},
  };
}

bool SaysWhatIsWrong(const std::string& message, const std::string& victim, const Damage& d) {
  if (message.find(victim + ": " + d.what) != std::string::npos) return true;
  return victim.starts_with("private/") &&
         message.find(victim + ": " + d.or_else) != std::string::npos;
}

// Files of the backup whose damage the restore must name: the biggest table file and the
// MANIFEST, as paths relative to the backup directory.
std::vector<std::string> VictimFiles(const std::string& backup_dir) {
  std::vector<std::string> out;
  std::string biggest;
  for (const auto& p : FilesUnder(backup_dir + "/shared_checksum", ".sst")) {
    if (biggest.empty() || fs::file_size(p) > fs::file_size(biggest)) biggest = p;
  }
  EXPECT_FALSE(biggest.empty());
  out.push_back(fs::relative(biggest, backup_dir).string());
  for (const auto& p : FilesUnder(backup_dir + "/private", "")) {
    if (fs::path(p).filename().string().starts_with("MANIFEST-")) {
      out.push_back(fs::relative(p, backup_dir).string());
    }
  }
  EXPECT_EQ(out.size(), 2u);
  return out;
}

TEST(BackupFaults, DamagedFileFailsRestoreNamingItLeavesTheTargetAsItWasAndARetryWorks) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  // Several table files, so that RocksDB's copy threads are busy when one of them fails.
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(WritePoints(*db, "p", "d" + std::to_string(i), "temp", 0, 20'000).ok());
    ASSERT_TRUE(db->Flush().ok());
  }
  ASSERT_TRUE(WritePoints(*db, "p", "d0", "temp", 20'000, 300).ok());  // head points too
  const Snapshot before = Take(*db, "p");
  const BackupInfo info = MustBackup(*db, dir.Sub("b"));
  const std::string backup_dir = dir.Sub("b");
  fs::create_directories(dir.Sub("empty"));

  for (const std::string& victim : VictimFiles(backup_dir)) {
    const std::string path = backup_dir + "/" + victim;
    const std::string good = ReadAll(path);
    for (const Damage& damage : Damages()) {
      SCOPED_TRACE(victim + ": " + damage.name);
      damage.apply(path);
      for (const std::string& target : {dir.Sub("new"), dir.Sub("empty")}) {
        const bool existed = fs::exists(target);
        Status s = RestoreBackup(backup_dir, info.id, target, TestKey());
        ASSERT_FALSE(s.ok());
        EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
        EXPECT_TRUE(SaysWhatIsWrong(s.message(), victim, damage)) << s.ToString();
        // As it was: absent, or present and empty; nothing left beside it either.
        EXPECT_EQ(fs::exists(target), existed) << target;
        if (existed) {
          EXPECT_TRUE(fs::is_empty(target)) << target;
        }
        size_t entries = 0;
        for (const auto& e : fs::directory_iterator(dir.path())) {
          (void)e;
          ++entries;
        }
        EXPECT_EQ(entries, 3u) << "db, b and empty only";
      }
      auto verified = VerifyBackup(backup_dir, info.id, TestKey());
      ASSERT_FALSE(verified);
      EXPECT_EQ(verified.error().code(), StatusCode::kCorruption) << verified.error().ToString();
      EXPECT_TRUE(SaysWhatIsWrong(verified.error().message(), victim, damage))
          << verified.error().ToString();

      std::ofstream(path, std::ios::binary | std::ios::trunc) << good;  // put back
    }
  }
  for (const std::string& target : {dir.Sub("new"), dir.Sub("empty")}) {
    Status s = RestoreBackup(backup_dir, info.id, target, TestKey());
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto restored = OpenTestDb(target);
    ASSERT_TRUE(restored);
    EXPECT_EQ(Take(*restored, "p"), before);
  }
}

TEST(BackupFaults, MissingBackupKeyringIsReportedNotGuessed) {
  TempDir dir;
  auto db = OpenTestDb(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  const BackupInfo info = MustBackup(*db, dir.Sub("b"));
  fs::remove(dir.Sub("b") + "/keyring/KEYRING");
  Status s = RestoreBackup(dir.Sub("b"), info.id, dir.Sub("r"), TestKey());
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("keyring"), std::string::npos);
}

}  // namespace
}  // namespace sensordb
