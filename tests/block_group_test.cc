// Block groups (engine/docs/format/block_group.md): DB::Compact puts short blocks of many series
// into groups; every point, latest value and aggregate stays what it was, through reopen, key
// rotation, retention, a dropped project, and a backup restored. The stored values are read
// through store::Store with the database closed.
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "backup_test_util.h"
#include "block/block.h"
#include "block/group.h"
#include "store/keys.h"
#include "store/store.h"
#include "test_util.h"

namespace sensordb {
namespace {

using store::Cf;
using testing::FakeClock;
using testing::TempDir;
using testing::TestOptions;

constexpr int64_t kSec = kNanosPerSecond;
constexpr int64_t kDay = 86'400 * kSec;
constexpr int64_t kT0 = 1'767'225'600 * kSec;  // 2026-01-01T00:00:00Z

std::unique_ptr<DB> Open(const std::string& dir, Options o = TestOptions()) {
  auto db = DB::Open(o, dir);
  EXPECT_TRUE(db) << db.error().ToString();
  return db ? std::move(*db) : nullptr;
}

// Short series: per device a float channel of 5 points, an int channel of 4 and a bool channel
// of 3, starting at `t` (one write, so one block per series after a flush).
void WriteShort(DB& db, const std::string& project, int devices, int64_t t, int salt = 0) {
  WriteBatch b;
  for (int d = 0; d < devices; ++d) {
    const std::string dev = "d" + std::to_string(1000 + d);
    for (int i = 0; i < 5; ++i) {
      const int64_t ts = t + (d * 7 + i * 10) * kSec;
      b.Add(dev, "x", ts, Value::Float64(20.0 + d * 0.25 + i * 0.125 + salt));
      if (i < 4) b.Add(dev, "n", ts, Value::Int64(d * 100 + i - salt));
      if (i < 3) b.Add(dev, "b", ts, Value::Bool((d + i) % 2 == 0));
    }
  }
  ASSERT_TRUE(db.Write(project, b).ok());
}

// Everything a project answers: every series' points, latest values, and per-series and
// merged aggregates (hourly, and over everything), as text so that runs can be compared.
std::string Answers(DB& db, const std::string& project) {
  std::string out;
  Status s = db.QueryRaw(project, {}, {}, [&](const SeriesRef& r, const PointRun& run) {
    for (size_t i = 0; i < run.size(); ++i) {
      out += std::string(r.device) + "/" + std::string(r.channel) + " " +
             std::to_string(run.timestamps[i]) + " " + std::to_string(run.value(i).AsDouble()) +
             "\n";
    }
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto devices = db.ListDevices(project);
  EXPECT_TRUE(devices);
  for (const auto& d : devices ? *devices : std::vector<DeviceInfo>{}) {
    auto latest = db.Latest(project, d.name);
    EXPECT_TRUE(latest) << latest.error().ToString();
    if (!latest) continue;
    for (const auto& l : *latest) {
      out += "latest " + d.name + "/" + l.channel + " " + std::to_string(l.timestamp_ns) + " " +
             std::to_string(l.value.AsDouble()) + "\n";
    }
  }
  for (bool per_series : {true, false}) {
    for (int64_t bucket : {int64_t{0}, 3600 * kSec}) {
      AggregateQuery q;
      q.per_series = per_series;
      q.bucket_ns = bucket;
      s = db.Aggregate(project, q, [&](const AggregateRow& r) {
        out += "agg " +
               (r.series ? std::string(r.series->device) + "/" + std::string(r.series->channel)
                         : std::string("*")) +
               " " + std::to_string(r.bucket_start_ns) + " " + std::to_string(r.count) + " " +
               std::to_string(r.sum) + " " + std::to_string(r.min) + " " + std::to_string(r.max) +
               " " + std::to_string(r.first) + "\n";
        return true;
      });
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
  }
  return out;
}

struct Raw {
  std::map<std::string, std::string> blocks, groups;  // key -> value
};
// The blocks and groups of `project`, read with the database closed.
Raw ReadRaw(const std::string& dir, uint32_t project) {
  Raw raw;
  auto s = store::Store::Open({}, dir);
  EXPECT_TRUE(s) << s.error().ToString();
  if (!s) return raw;
  const std::string prefix = store::ProjectPrefix(project);
  for (auto [cf, out] :
       {std::pair{Cf::kBlocks, &raw.blocks}, std::pair{Cf::kGroups, &raw.groups}}) {
    auto it = (*s)->NewIterator(cf);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      (*out)[std::string(it->key())] = std::string(it->value());
    }
    EXPECT_TRUE(it->status().ok());
  }
  return raw;
}
size_t References(const Raw& raw) {
  size_t n = 0;
  for (const auto& [k, v] : raw.blocks) n += block::StoredVersion(v) == block::kGroupRefVersion;
  return n;
}

TEST(BlockGroup, ShortBlocksOfManySeriesAreGroupedAndEveryAnswerStays) {
  TempDir dir;
  Options o = TestOptions();
  o.group_target_bytes = 8 << 10;  // several groups per day
  auto db = Open(dir.path(), o);
  const uint32_t pid = db->CreateProject("p")->id;
  WriteShort(*db, "p", 120, kT0);
  // One long series whose block is larger than group_block_bytes: left as it is.
  std::vector<int64_t> ts;
  std::vector<double> v;
  for (int i = 0; i < 3000; ++i) {
    ts.push_back(kT0 + i * kSec);
    v.push_back(double((i * 7919) % 1013) / 7.0);
  }
  WriteBatch big;
  big.AddFloat64("big", "x", ts, v);
  // And one small in bytes (a constant, every 10 s) but not in points (group_max_points).
  ts.resize(300);
  for (size_t i = 0; i < ts.size(); ++i) ts[i] = kT0 + int64_t(i) * 10 * kSec;
  big.AddFloat64("steady", "x", ts, std::vector<double>(ts.size(), 21.5));
  ASSERT_TRUE(db->Write("p", big).ok());
  ASSERT_TRUE(db->Flush().ok());
  WriteShort(*db, "p", 40, kT0 + 3 * kDay + 5 * kSec, 1);  // another day, in other groups
  ASSERT_TRUE(db->Flush().ok());
  const std::string before = Answers(*db, "p");
  const uint64_t blocks = db->Stats()->blocks;
  ASSERT_EQ(blocks, 120u * 3 + 40u * 3 + 2);

  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(db->Stats()->blocks_grouped, 120u * 3 + 40u * 3);
  EXPECT_EQ(db->Stats()->blocks, blocks);  // a grouped block keeps its key
  EXPECT_EQ(Answers(*db, "p"), before);
  ASSERT_TRUE(db->Compact().ok());  // nothing more to group: grouped blocks are final
  EXPECT_EQ(db->Stats()->blocks_grouped, 120u * 3 + 40u * 3);
  db.reset();

  const Raw raw = ReadRaw(dir.path(), pid);
  EXPECT_EQ(raw.blocks.size(), blocks);
  EXPECT_EQ(References(raw), blocks - 2);  // all but the long series' blocks
  size_t small_but_long = 0;  // the steady series: under group_block_bytes, over 256 points
  for (const auto& [k, val] : raw.blocks) {
    small_but_long += block::StoredVersion(val) == block::kBlockFormatVersion && val.size() <= 2048;
  }
  EXPECT_EQ(small_but_long, 1u);
  EXPECT_GE(raw.groups.size(), 4u);
  // No group holds members of two days: the references of each group start on one day.
  std::map<uint64_t, std::set<int64_t>> days;
  for (const auto& [k, val] : raw.blocks) {
    block::GroupRef ref;
    store::BlockKey bk;
    ASSERT_TRUE(store::DecodeBlockKey(k, &bk));
    if (block::ParseGroupRef(val, &ref)) days[ref.group_id].insert(bk.min_ts / kDay);
  }
  EXPECT_EQ(days.size(), raw.groups.size());
  for (const auto& [g, d] : days) EXPECT_EQ(d.size(), 1u) << "group " << g;

  db = Open(dir.path(), o);
  EXPECT_EQ(Answers(*db, "p"), before);
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(db->Stats()->blocks_grouped, 0u);
  EXPECT_EQ(Answers(*db, "p"), before);
  // New points over grouped ones (the same timestamps, later writes) win as before.
  WriteShort(*db, "p", 3, kT0, 5);
  ASSERT_TRUE(db->Flush().ok());
  const std::string later = Answers(*db, "p");
  EXPECT_NE(later, before);
  EXPECT_NE(later.find(" 25.000000\n"), std::string::npos);  // d1000/x at kT0 is now 20 + 5
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(Answers(*db, "p"), later);

  // Options::group_block_bytes = 0 turns grouping off.
  db.reset();
  TempDir dir2;
  Options off = TestOptions();
  off.group_block_bytes = 0;
  db = Open(dir2.path(), off);
  const uint32_t pid2 = db->CreateProject("p")->id;
  WriteShort(*db, "p", 10, kT0);
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(db->Stats()->blocks_grouped, 0u);
  db.reset();
  EXPECT_EQ(ReadRaw(dir2.path(), pid2).groups.size(), 0u);
}

// A running database groups by itself: after an idle head checkpoint, and every
// short_block_interval_s without one (Options::clock; maintenance rounds every 10 ms).
TEST(BlockGroup, ARunningDatabaseGroupsAfterAnIdleCheckpointAndPeriodically) {
  auto grouped_within = [](DB& db, int64_t want) {
    for (int i = 0; i < 1000; ++i) {  // at most ~10 s
      if (db.Stats()->blocks_grouped >= uint64_t(want)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  for (bool idle : {true, false}) {
    SCOPED_TRACE(idle ? "idle checkpoint" : "interval");
    TempDir dir;
    FakeClock clock(kT0 + kDay);
    Options o = TestOptions();
    o.clock = &clock;
    o.maintenance_interval_ms = 10;
    o.head_idle_checkpoint_s = idle ? 5 : 0;
    o.head_idle_checkpoint_min_bytes = 0;
    o.head_checkpoint_bytes = 0;
    o.short_block_interval_s = 600;
    auto db = Open(dir.path(), o);
    ASSERT_TRUE(db->CreateProject("p"));
    WriteShort(*db, "p", 30, kT0);
    const std::string before = Answers(*db, "p");
    if (!idle) {
      ASSERT_TRUE(db->Flush().ok());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(db->Stats()->blocks_grouped, 0u);  // neither idle long enough nor due
    clock.Set(kT0 + kDay + (idle ? 6 : 601) * kSec);
    ASSERT_TRUE(grouped_within(*db, 30 * 3));
    EXPECT_EQ(db->Stats()->short_block_pass_errors, 0u);
    EXPECT_EQ(Answers(*db, "p"), before);
  }
}

TEST(BlockGroup, KeyRotationResealsGroupsAndOnlyThenDestroysTheOldKey) {
  TempDir dir;
  auto db = Open(dir.path());
  ASSERT_TRUE(db->CreateProject("p"));
  WriteShort(*db, "p", 50, kT0);
  ASSERT_TRUE(db->Compact().ok());
  ASSERT_GT(db->Stats()->blocks_grouped, 0u);
  const std::string before = Answers(*db, "p");
  auto v2 = db->RotateProjectKey("p");
  ASSERT_TRUE(v2) << v2.error().ToString();
  // Before re-encryption the groups still use version 1, which the census counts.
  auto status = db->KeyStatus();
  ASSERT_TRUE(status);
  uint64_t old_values = 0;
  for (const auto& ver : status->projects[0].versions) {
    if (ver.version < *v2) old_values += ver.blocks;
  }
  EXPECT_GT(old_values, 0u);
  ASSERT_TRUE(db->ReencryptProject("p").ok());
  status = db->KeyStatus();
  ASSERT_TRUE(status);
  for (const auto& ver : status->projects[0].versions) {
    EXPECT_GE(ver.version, *v2) << "older key versions are destroyed";
  }
  EXPECT_EQ(Answers(*db, "p"), before);
  db.reset();
  db = Open(dir.path());
  EXPECT_EQ(Answers(*db, "p"), before);
}

// Retention drops references by their own max_ts; a group stays while any member is kept and
// goes with its last one, never before its references.
TEST(BlockGroup, RetentionDropsReferencesAndAGroupWithItsLastMember) {
  TempDir dir;
  FakeClock clock(kT0 + 3 * kDay);
  Options o = TestOptions();
  o.clock = &clock;
  auto db = Open(dir.path(), o);
  const uint32_t pid = db->CreateProject("p", {.retention_days = 5})->id;
  // Day 0: devices d1000.. at 00:00 and, as project "q"-like other devices, e1000.. at 20:00;
  // one group for the day. Day 2: one more group.
  WriteShort(*db, "p", 20, kT0);
  ASSERT_TRUE(db->Flush().ok());
  WriteBatch late;
  for (int d = 0; d < 20; ++d) {
    for (int i = 0; i < 5; ++i) {
      late.Add("e" + std::to_string(1000 + d), "x", kT0 + 20 * 3600 * kSec + i * 10 * kSec,
               Value::Float64(d + i));
    }
  }
  ASSERT_TRUE(db->Write("p", late).ok());
  ASSERT_TRUE(db->Flush().ok());
  WriteShort(*db, "p", 20, kT0 + 2 * kDay, 1);
  ASSERT_TRUE(db->Compact().ok());
  db.reset();
  Raw raw = ReadRaw(dir.path(), pid);
  ASSERT_EQ(raw.groups.size(), 2u);  // one per day
  ASSERT_EQ(References(raw), 2u * 20 * 3 + 20);

  // Cutoff at day 0, 10:00: the 00:00 members expire, the 20:00 ones of the same group stay.
  clock.Set(kT0 + kDay + 10 * 3600 * kSec);
  db = Open(dir.path(), o);
  ASSERT_TRUE(db->SetRetention("p", 1).ok());
  ASSERT_TRUE(db->EnforceRetention().ok());
  EXPECT_TRUE(testing::ReadSeries(*db, "p", "d1000", "x", {kT0, kT0 + kDay}).empty());
  EXPECT_EQ(testing::ReadSeries(*db, "p", "e1005", "x").size(), 5u);
  EXPECT_EQ(testing::ReadSeries(*db, "p", "d1000", "x").size(), 5u);  // day 2
  db.reset();
  raw = ReadRaw(dir.path(), pid);
  EXPECT_EQ(raw.groups.size(), 2u);
  EXPECT_EQ(References(raw), 20u * 3 + 20);

  // Cutoff past day 0's last member: its group goes with it; every query still answers.
  clock.Set(kT0 + 2 * kDay + 1);
  db = Open(dir.path(), o);
  ASSERT_TRUE(db->EnforceRetention().ok());
  uint64_t points = 0;
  ASSERT_TRUE(db->Aggregate("p", {}, [&](const AggregateRow& r) {
                  points += r.count;
                  return true;
                }).ok());
  EXPECT_EQ(points, 20u * (5 + 4 + 3));
  db.reset();
  raw = ReadRaw(dir.path(), pid);
  EXPECT_EQ(raw.groups.size(), 1u);
  EXPECT_EQ(References(raw), 20u * 3);
}

TEST(BlockGroup, DroppingAProjectRemovesItsGroupsOnly) {
  TempDir dir;
  auto db = Open(dir.path());
  const uint32_t a = db->CreateProject("a")->id;
  const uint32_t b = db->CreateProject("b")->id;
  WriteShort(*db, "a", 30, kT0);
  WriteShort(*db, "b", 30, kT0);
  ASSERT_TRUE(db->Compact().ok());
  const std::string b_before = Answers(*db, "b");
  ASSERT_TRUE(db->DropProject("a").ok());
  ASSERT_TRUE(db->Compact().ok());
  EXPECT_EQ(Answers(*db, "b"), b_before);
  db.reset();
  EXPECT_EQ(ReadRaw(dir.path(), a).groups.size(), 0u);
  EXPECT_EQ(ReadRaw(dir.path(), a).blocks.size(), 0u);
  EXPECT_GT(ReadRaw(dir.path(), b).groups.size(), 0u);
}

TEST(BlockGroup, BackupAndRestoreKeepGroups) {
  TempDir dir;
  auto db = Open(dir.Sub("db"));
  ASSERT_TRUE(db->CreateProject("p"));
  WriteShort(*db, "p", 40, kT0);
  ASSERT_TRUE(db->Compact().ok());
  ASSERT_GT(db->Stats()->blocks_grouped, 0u);
  const std::string before = Answers(*db, "p");
  const BackupInfo info = testing::MustBackup(*db, dir.Sub("b"));
  EXPECT_GE(info.format_version, 3u);  // groups came with version 3
  db.reset();
  ASSERT_TRUE(RestoreBackup(dir.Sub("b"), info.id, dir.Sub("r"), testing::TestKey()).ok());
  db = Open(dir.Sub("r"));
  EXPECT_EQ(Answers(*db, "p"), before);
}

}  // namespace
}  // namespace sensordb
