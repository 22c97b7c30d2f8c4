// Fail closed (docs/write_path.md, "Fail closed"): a database whose files were damaged,
// truncated or removed while it was closed either refuses to open with an error that names the
// damage, or opens with exactly the data it had (a damaged block of an SST is met by the
// queries that read it, which fail with Corruption naming the file). Never fewer projects, never fewer points, never
// a destroyed key: putting the original file back makes the database whole again.
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "crypto/keyring.h"
#include "store/keys.h"
#include "store/store.h"
#include "test_util.h"

namespace sensordb {
namespace {

namespace fs = std::filesystem;
using testing::Pt;

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;

using Expected = std::map<std::string, std::map<std::string, std::vector<Pt>>>;  // project/device

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

void CopyDir(const std::string& from, const std::string& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

// The files of a database that hold state (RocksDB's info logs and lock do not).
std::vector<std::string> StateFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("LOG") || name == "LOCK" || !e.is_regular_file()) continue;
    out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void Write(DB& db, const std::string& project, const std::string& device, int64_t start, int n,
           Expected* expected) {
  std::vector<int64_t> ts;
  std::vector<double> v;
  for (int i = 0; i < n; ++i) {
    ts.push_back(start + i * kSecond);
    v.push_back(start / kSecond % 1000 + i * 0.25);
  }
  WriteBatch b;
  b.AddFloat64(device, "temp", ts, v);
  ASSERT_TRUE(db.Write(project, b).ok());
  auto& pts = (*expected)[project][device];
  for (int i = 0; i < n; ++i) pts.push_back({ts[i], v[i]});
}

// Empty when the database holds exactly `expected`; otherwise what differs. A query that fails
// with Corruption naming `damaged` (a file whose blocks are read only by queries) is no
// difference: the damage is refused where it is met, and named.
std::string Compare(DB& db, const Expected& expected, const std::string& damaged = "") {
  auto projects = db.ListProjects();
  if (!projects) return "ListProjects: " + projects.error().ToString();
  std::string diff;
  if (projects->size() != expected.size()) {
    diff += "projects: " + std::to_string(projects->size()) + " instead of " +
            std::to_string(expected.size()) + "; ";
  }
  for (const auto& [project, devices] : expected) {
    for (const auto& [device, points] : devices) {
      std::vector<Pt> got;
      Status s = db.QueryRaw(project, {device, "temp"}, {},
                             [&](const SeriesRef&, const PointRun& run) {
                               for (size_t i = 0; i < run.size(); ++i) {
                                 got.push_back({run.timestamps[i], run.value(i).AsDouble()});
                               }
                               return true;
                             });
      if (!s.ok() && !damaged.empty() && s.code() == StatusCode::kCorruption &&
          s.message().find(damaged) != std::string::npos) {
        continue;
      }
      if (!s.ok()) {
        diff += project + "/" + device + ": " + s.ToString() + "; ";
      } else if (got != points) {
        diff += project + "/" + device + ": " + std::to_string(got.size()) + " points instead of " +
                std::to_string(points.size()) + " (or other values); ";
      }
    }
  }
  return diff;
}

// Three projects with sealed blocks in SSTs, head records in the WAL and in SSTs, a dropped
// project, and the small default-column-family SST that a few opens and closes leave behind.
class FailClosed : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      auto db = Open(pristine_.path());
      ASSERT_TRUE(db);
      for (const char* p : {"alpha", "beta", "gamma", "doomed"}) ASSERT_TRUE(db->CreateProject(p));
      Write(*db, "doomed", "d", kT0, 10, &unused_);
      for (const char* p : {"alpha", "beta", "gamma"}) Write(*db, p, "dev1", kT0, 40, &expected_);
      ASSERT_TRUE(db->Flush().ok());  // blocks in SSTs
      ASSERT_TRUE(db->DropProject("doomed").ok());
      Write(*db, "alpha", "dev2", kT0, 5, &expected_);
      Write(*db, "beta", "dev1", kT0 + 100 * kSecond, 5, &expected_);
    }
    for (int i = 0; i < 2; ++i) ASSERT_TRUE(Open(pristine_.path()));  // opens and closes
    {
      auto db = Open(pristine_.path());  // head records left in the WAL only
      ASSERT_TRUE(db);
      Write(*db, "gamma", "dev1", kT0 + 200 * kSecond, 3, &expected_);
      Write(*db, "alpha", "dev1", kT0 + 300 * kSecond, 3, &expected_);
    }
    auto db = Open(pristine_.path());
    ASSERT_TRUE(db);
    ASSERT_EQ(Compare(*db, expected_), "");
  }

  std::unique_ptr<DB> Open(const std::string& dir) {
    auto db = DB::Open(testing::TestOptions(), dir);
    EXPECT_TRUE(db) << db.error().ToString();
    return db ? std::move(*db) : nullptr;
  }

  // Damages `file` of a fresh copy with `damage`, opens it: refused with an error naming the
  // file, or exactly the right data. After a refusal the original file goes back and the copy
  // must open whole.
  void Check(const std::string& file, const std::string& what,
             const std::function<void(const std::string& path)>& damage) {
    SCOPED_TRACE(file + ": " + what);
    CopyDir(pristine_.path(), work_);
    damage(work_ + "/" + file);
    {
      auto db = DB::Open(testing::TestOptions(), work_);
      if (db) {
        EXPECT_EQ(Compare(**db, expected_, file), "") << "opened with damage and wrong data";
        return;
      }
      const std::string msg = db.error().ToString();
      const std::string number = file.substr(0, file.find_first_not_of("0123456789"));
      const std::string stem = file.substr(0, file.find_first_of("-."));
      // RocksDB 7.8 reports a damaged properties block of an SST read at open as "properties
      // unsorted in file MANIFEST-...", without the SST (the open still refuses): known gap.
      if (msg.find("properties unsorted") != std::string::npos) return;
      EXPECT_TRUE(msg.find(file) != std::string::npos ||
                  (!number.empty() && msg.find(number) != std::string::npos) ||
                  msg.find(stem) != std::string::npos)
          << "the error does not name " << file << ": " << msg;
      ++refusals_;
    }
    fs::copy_file(pristine_.path() + "/" + file, work_ + "/" + file,
                  fs::copy_options::overwrite_existing);
    auto db = DB::Open(testing::TestOptions(), work_);
    ASSERT_TRUE(db) << "the original file is back, the open still fails: "
                    << db.error().ToString();
    EXPECT_EQ(Compare(**db, expected_), "") << "the original file is back, data is missing";
  }

  testing::TempDir pristine_, scratch_;
  const std::string work_ = scratch_.Sub("db");
  Expected expected_, unused_;
  int refusals_ = 0;
};

// Issue 12, defect 1: one flipped byte of the default column family's small SST made the
// catalog load empty, and the open then destroyed every project's data key.
TEST_F(FailClosed, FlippedByteInAnySstNeverLosesProjectsOrKeys) {
  for (const auto& file : StateFiles(pristine_.path())) {
    if (!file.ends_with(".sst")) continue;
    const size_t size = fs::file_size(pristine_.path() + "/" + file);
    for (size_t at : {size_t(10), size_t(40), size / 3, size / 2, size - 60, size - 1}) {
      Check(file, "byte " + std::to_string(at) + " flipped", [at](const std::string& path) {
        std::string bytes = ReadFile(path);
        bytes[at] = char(bytes[at] ^ 0x40);
        WriteFile(path, bytes);
      });
    }
  }
  EXPECT_GT(refusals_, 0);
}

// Every other file: flipped at several offsets, truncated, removed.
TEST_F(FailClosed, DamagedTruncatedOrMissingFilesNeverLoseData) {
  for (const auto& file : StateFiles(pristine_.path())) {
    const size_t size = fs::file_size(pristine_.path() + "/" + file);
    for (size_t at : {size_t(0), size_t(7), size / 4, size / 2, size * 3 / 4, size - 1}) {
      if (at >= size || file.ends_with(".sst")) continue;
      Check(file, "byte " + std::to_string(at) + " flipped", [at](const std::string& path) {
        std::string bytes = ReadFile(path);
        bytes[at] = char(bytes[at] ^ 0x01);
        WriteFile(path, bytes);
      });
    }
    if (size > 0) {
      Check(file, "truncated to half", [size](const std::string& path) {
        ASSERT_EQ(::truncate(path.c_str(), off_t(size / 2)), 0);
      });
    }
    Check(file, "removed", [](const std::string& path) { fs::remove(path); });
  }
  EXPECT_GT(refusals_, 0);
}

// Issue 12, defect 2: a failed open truncated the head log in its destructor, so the next open
// succeeded without the unsealed points of every project not yet replayed.
TEST_F(FailClosed, FailedOpenChangesNothing) {
  CopyDir(pristine_.path(), work_);
  // Damage a head record in the WAL the way a bad disk would: find the newest WAL and flip a
  // byte in its last record's payload.
  std::string wal;
  for (const auto& f : StateFiles(work_)) {
    if (f.ends_with(".log")) wal = f;
  }
  ASSERT_FALSE(wal.empty());
  const std::string original = ReadFile(work_ + "/" + wal);
  ASSERT_GT(original.size(), 100u);
  std::string bytes = original;
  bytes[bytes.size() - 20] = char(bytes[bytes.size() - 20] ^ 0x01);
  WriteFile(work_ + "/" + wal, bytes);
  auto refused = DB::Open(testing::TestOptions(), work_);
  ASSERT_FALSE(refused) << "a damaged WAL record opened";
  auto again = DB::Open(testing::TestOptions(), work_);
  ASSERT_FALSE(again) << "the second open after a refusal succeeded: the first one changed data";
  WriteFile(work_ + "/" + wal, original);
  auto db = Open(work_);
  ASSERT_TRUE(db);
  EXPECT_EQ(Compare(*db, expected_), "");
}

// Issue 12, defect 3: RocksDB's default recovery stops at the first bad WAL record and drops
// every later acknowledged write without a word. Damage in the middle of the log refuses.
TEST_F(FailClosed, DamageInTheMiddleOfTheWalRefusesTheOpen) {
  testing::TempDir dir;
  Expected expected;
  {
    auto db = Open(dir.path());
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->CreateProject("alpha"));
    for (int i = 0; i < 50; ++i) Write(*db, "alpha", "dev1", kT0 + i * 100 * kSecond, 20, &expected);
  }
  std::string wal;
  for (const auto& f : StateFiles(dir.path())) {
    if (f.ends_with(".log") && fs::file_size(dir.path() + "/" + f) > 2000) wal = f;
  }
  ASSERT_FALSE(wal.empty());
  const std::string path = dir.path() + "/" + wal;
  std::string bytes = ReadFile(path);
  bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 0x01);
  WriteFile(path, bytes);
  auto db = DB::Open(testing::TestOptions(), dir.path());
  ASSERT_FALSE(db) << "opened past a damaged WAL record: later writes are silently gone";
  EXPECT_EQ(db.error().code(), StatusCode::kCorruption) << db.error().ToString();
  EXPECT_NE(db.error().message().find(wal.substr(0, wal.find('.'))), std::string::npos)
      << db.error().ToString();
}

// Without CURRENT, RocksDB would take the directory for a new database and delete the old
// files as obsolete.
TEST_F(FailClosed, MissingCurrentIsNeverANewDatabase) {
  CopyDir(pristine_.path(), work_);
  fs::remove(work_ + "/CURRENT");
  auto db = DB::Open(testing::TestOptions(), work_);
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message().find("CURRENT"), std::string::npos) << db.error().ToString();
  fs::copy_file(pristine_.path() + "/CURRENT", work_ + "/CURRENT");
  auto back = Open(work_);
  ASSERT_TRUE(back);
  EXPECT_EQ(Compare(*back, expected_), "");
}

// A project whose drop was never recorded keeps its key even when its catalog record is gone,
// and an unauthenticated list of dropped projects destroys nothing.
TEST_F(FailClosed, EditedDroppedListDestroysNoKey) {
  CopyDir(pristine_.path(), work_);
  const std::string list = work_ + "/DROPPED_PROJECTS";
  ASSERT_TRUE(fs::exists(list));
  std::string text;
  for (uint32_t id = 1; id <= 4; ++id) text += std::to_string(id) + "\n";
  WriteFile(list, text);  // claims that every project was dropped
  {
    auto db = DB::Open(testing::TestOptions(), work_);
    if (db) {
      EXPECT_EQ(Compare(**db, expected_), "");
    }
  }
  fs::copy_file(pristine_.path() + "/DROPPED_PROJECTS", list, fs::copy_options::overwrite_existing);
  auto db = Open(work_);
  ASSERT_TRUE(db);
  EXPECT_EQ(Compare(*db, expected_), "");
}

std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out[e.path().filename()] = ReadFile(e.path());
  return out;
}

// Every exported point is one the source held (no wrong value); returns how many are missing.
size_t MissingAfterSalvage(DB& exported, const Expected& expected) {
  size_t missing = 0;
  for (const auto& [project, devices] : expected) {
    for (const auto& [device, points] : devices) {
      std::vector<Pt> got;
      Status s = exported.QueryRaw(project, {device, "temp"}, {},
                                   [&](const SeriesRef&, const PointRun& run) {
                                     for (size_t i = 0; i < run.size(); ++i) {
                                       got.push_back({run.timestamps[i], run.value(i).AsDouble()});
                                     }
                                     return true;
                                   });
      if (!s.ok()) {
        missing += points.size();
        continue;
      }
      for (const Pt& p : got) {
        EXPECT_NE(std::find(points.begin(), points.end(), p), points.end())
            << project << "/" << device << ": exported a point the source never had";
      }
      missing += points.size() - std::min(points.size(), got.size());
    }
  }
  return missing;
}

// The operator's way out: a database that refuses to open is read read-only, every damage is
// reported, everything readable goes to a new directory, and the source is not changed.
TEST_F(FailClosed, SalvageReportsDamageExportsTheRestAndChangesNothing) {
  CopyDir(pristine_.path(), work_);
  std::string wal;
  for (const auto& f : StateFiles(work_)) {
    if (f.ends_with(".log") && fs::file_size(work_ + "/" + f) > 100) wal = f;
  }
  ASSERT_FALSE(wal.empty());
  std::string bytes = ReadFile(work_ + "/" + wal);
  bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 0x01);
  WriteFile(work_ + "/" + wal, bytes);
  ASSERT_FALSE(DB::Open(testing::TestOptions(), work_)) << "the damaged WAL opened";
  const auto before = Snapshot(work_);
  testing::TempDir out;
  auto report = DB::Salvage(testing::TestOptions(), work_, {out.Sub("export"), out.path()});
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_EQ(Snapshot(work_), before) << "salvage changed the source";
  ASSERT_FALSE(report->damage.empty());
  std::string all;
  for (const auto& d : report->damage) all += d + "\n";
  EXPECT_NE(all.find(wal.substr(0, wal.find('.'))), std::string::npos) << all;
  EXPECT_EQ(report->projects, 3u);
  auto exported = DB::Open(testing::TestOptions(), out.Sub("export"));
  ASSERT_TRUE(exported) << exported.error().ToString();
  size_t total = 0;
  for (const auto& [p, devices] : expected_) {
    for (const auto& [d, points] : devices) total += points.size();
  }
  const size_t missing = MissingAfterSalvage(**exported, expected_);
  EXPECT_LT(missing, total / 2) << "salvage lost more than the damaged record";
  EXPECT_EQ(report->points + missing, total);
}

TEST_F(FailClosed, SalvageSkipsADamagedBlockAndKeepsEveryOtherSeries) {
  CopyDir(pristine_.path(), work_);
  std::string key, value;
  {
    auto store = store::Store::Open({}, work_);
    ASSERT_TRUE(store) << store.error().ToString();
    auto it = (*store)->NewIterator(store::Cf::kBlocks);
    it->Seek("");
    ASSERT_TRUE(it->Valid());
    key = it->key();
    value = it->value();
    value[value.size() / 2] = char(value[value.size() / 2] ^ 0x01);
    auto b = (*store)->NewBatch();
    b.Put(store::Cf::kBlocks, key, value);
    ASSERT_TRUE((*store)->Write(b, true).ok());
  }
  testing::TempDir out;
  auto report = DB::Salvage(testing::TestOptions(), work_, {out.Sub("export"), out.path()});
  ASSERT_TRUE(report) << report.error().ToString();
  ASSERT_EQ(report->damage.size(), 1u);
  EXPECT_NE(report->damage[0].find("block of series"), std::string::npos) << report->damage[0];
  auto exported = DB::Open(testing::TestOptions(), out.Sub("export"));
  ASSERT_TRUE(exported) << exported.error().ToString();
  const size_t missing = MissingAfterSalvage(**exported, expected_);
  EXPECT_GT(missing, 0u);
  EXPECT_LE(missing, 40u) << "more than the damaged block's points are missing";
}

// Issue 12, defect 9: an idle database writes nothing (its files stop changing).
TEST(FailClosedIdle, IdleDatabaseWritesNothing) {
  testing::TempDir dir;
  Options o = testing::TestOptions();
  o.maintenance_interval_ms = 10;
  Expected expected;
  auto db = DB::Open(o, dir.path());
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->CreateProject("alpha"));
  Write(**db, "alpha", "dev1", kT0, 10, &expected);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a few rounds settle
  auto sizes = [&] {
    std::map<std::string, uintmax_t> out;
    for (const auto& f : StateFiles(dir.path())) out[f] = fs::file_size(dir.path() + "/" + f);
    return out;
  };
  const auto before = sizes();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // about 30 more rounds
  EXPECT_EQ(sizes(), before) << "the idle database kept writing";
}

// Issue 12, defect 9: concurrent first writes of a new device stored several copies of its
// channel list, never removed (identical runs then differed in size).
TEST(FailClosedCatalog, ConcurrentFirstWritesStoreEachChannelOnce) {
  testing::TempDir dir;
  uint32_t pid = 0;
  {
    auto db = DB::Open(testing::TestOptions(), dir.path());
    ASSERT_TRUE(db);
    pid = (*db)->CreateProject("alpha")->id;
    std::vector<std::thread> writers;
    for (int w = 0; w < 8; ++w) {
      writers.emplace_back([&, w] {
        WriteBatch b;
        for (const char* ch : {"a", "b", "c"}) {
          b.AddFloat64("dev1", ch, std::vector<int64_t>{kT0 + w}, std::vector<double>{1.0 * w});
        }
        EXPECT_TRUE((*db)->Write("alpha", b).ok());
      });
    }
    for (auto& t : writers) t.join();
  }
  auto store = store::Store::Open({}, dir.path());
  ASSERT_TRUE(store) << store.error().ToString();
  const std::string prefix = store::MetaKey(store::MetaTag::kSeries, pid);
  size_t records = 0;
  auto it = (*store)->NewIterator(store::Cf::kMeta);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++records;
  ASSERT_TRUE(it->status().ok());
  EXPECT_EQ(records, 1u) << "one device's three new channels were stored " << records << " times";
}

// The drop of a project is recorded in the keyring, authenticated under the master key, in the
// same file replacement that destroys its keys; it survives a reopen.
TEST(FailClosedKeyring, DropIsRecordedWithTheKeysDestruction) {
  testing::TempDir dir;
  uint32_t pid = 0;
  {
    auto db = DB::Open(testing::TestOptions(), dir.path());
    ASSERT_TRUE(db);
    pid = (*db)->CreateProject("alpha")->id;
    ASSERT_TRUE((*db)->DropProject("alpha").ok());
  }
  auto keyring = crypto::Keyring::Open(dir.path(), testing::TestOptions().key, false);
  ASSERT_TRUE(keyring) << keyring.error().ToString();
  EXPECT_TRUE((*keyring)->WasDropped(pid));
  EXPECT_FALSE((*keyring)->Active(pid));
  EXPECT_FALSE((*keyring)->AddVersion(pid, 1700000000)) << "a dropped project's id got a key again";
  // A forged drop record (the bytes of another project's) fails authentication.
  std::string bytes = ReadFile(dir.path() + "/KEYRING");
  const size_t at = bytes.size() - 32 - 40 - 4;  // the last drop record's project id
  bytes[at + 3] = char(bytes[at + 3] ^ 0x01);
  // The checksum is no MAC: an attacker recomputes it, so the test does too.
  crypto_generichash(reinterpret_cast<unsigned char*>(bytes.data() + bytes.size() - 32), 32,
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size() - 32,
                     nullptr, 0);
  WriteFile(dir.path() + "/KEYRING", bytes);
  auto db = DB::Open(testing::TestOptions(), dir.path());
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), StatusCode::kCorruption) << db.error().ToString();
}

}  // namespace
}  // namespace sensordb
