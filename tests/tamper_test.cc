// Tampering with an encrypted database while it is closed: every altered, swapped, moved or
// replayed value is refused with Corruption naming what failed (never wrong data, never a
// crash). The raw values are edited through store::Store, the engine's RocksDB wrapper.
#include "block/group.h"
#include "store/keys.h"
#include "store/store.h"
#include "test_util.h"

namespace sensordb {
namespace {

using store::Cf;

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
constexpr int64_t kSecond = 1'000'000'000;

struct Entry {
  std::string key, value;
};

// Two projects; alpha has dev1/temp and dev2/temp, beta has dev1/temp. Each series has two
// blocks (at kT0 and kT0 + 10 s); alpha dev1/temp also has points still in the head.
class Tamper : public ::testing::Test {
 public:
  static void WriteSeries(DB& db, const std::string& project, const std::string& device,
                          int64_t start, int n) {
    std::vector<int64_t> ts;
    std::vector<double> v;
    for (int i = 0; i < n; ++i) {
      ts.push_back(start + i * 1000);
      v.push_back(i * 0.5);
    }
    WriteBatch b;
    b.AddFloat64(device, "temp", ts, v);
    ASSERT_TRUE(db.Write(project, b).ok());
  }

 protected:
  void SetUp() override {
    auto db = Open();
    ASSERT_TRUE(db);
    for (const char* p : {"alpha", "beta"}) ASSERT_TRUE(db->CreateProject(p));
    for (int64_t start : {kT0, kT0 + 10 * kSecond}) {
      WriteSeries(*db, "alpha", "dev1", start, 100);
      WriteSeries(*db, "alpha", "dev2", start, 100);
      WriteSeries(*db, "beta", "dev1", start, 100);
      ASSERT_TRUE(db->Flush().ok());
    }
    WriteSeries(*db, "alpha", "dev1", kT0 + 20 * kSecond, 10);
    alpha_ = db->GetProject("alpha")->id;
    beta_ = db->GetProject("beta")->id;
    const auto channels = db->ListChannels("alpha");
    ASSERT_TRUE(channels);
    for (const auto& c : *channels) series_[c.device] = c.series_id;
    beta_series_ = db->ListChannels("beta")->front().series_id;
  }

  std::unique_ptr<DB> Open() {
    auto db = DB::Open(testing::TestOptions(), dir_.path());
    EXPECT_TRUE(db) << db.error().ToString();
    return db ? std::move(*db) : nullptr;
  }

  // The entries of `cf` whose key starts with `prefix`, read with the database closed.
  std::vector<Entry> Read(Cf cf, const std::string& prefix) {
    auto s = store::Store::Open({}, dir_.path());
    EXPECT_TRUE(s) << s.error().ToString();
    std::vector<Entry> out;
    auto it = (*s)->NewIterator(cf);
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      out.push_back({std::string(it->key()), std::string(it->value())});
    }
    return out;
  }

  void Put(Cf cf, const std::string& key, const std::string& value) {
    auto s = store::Store::Open({}, dir_.path());
    ASSERT_TRUE(s) << s.error().ToString();
    auto b = (*s)->NewBatch();
    b.Put(cf, key, value);
    ASSERT_TRUE((*s)->Write(b, true).ok());
  }

  Status Query(const std::string& project, const std::string& device) {
    auto db = Open();
    if (!db) return Status::Internal("open failed");
    return db->QueryRaw(project, {device, "temp"}, {}, [](const SeriesRef&, const PointRun&) {
      return true;
    });
  }

  std::vector<Entry> Blocks(uint32_t project, uint64_t series) {
    return Read(Cf::kBlocks, store::SeriesPrefix(project, series));
  }

  testing::TempDir dir_;
  uint32_t alpha_ = 0, beta_ = 0;
  std::map<std::string, uint64_t> series_;
  uint64_t beta_series_ = 0;
};

#define EXPECT_CORRUPTION(status, where)                                        \
  do {                                                                          \
    const Status s_ = (status);                                                 \
    EXPECT_EQ(s_.code(), StatusCode::kCorruption) << s_.ToString();             \
    EXPECT_NE(s_.message().find(where), std::string::npos) << s_.ToString();    \
  } while (0)

TEST_F(Tamper, FlippedByteAnywhereInBlockValueIsCorruption) {
  const auto blocks = Blocks(alpha_, series_["dev1"]);
  ASSERT_EQ(blocks.size(), 2u);
  const Entry& b = blocks[0];
  const std::string where = "series " + std::to_string(series_["dev1"]);
  // format version, max_ts, envelope version, key version, nonce, ciphertext, tag.
  for (size_t at : {size_t(0), size_t(1), size_t(8), size_t(9), size_t(10), size_t(11),
                    size_t(34), b.value.size() / 2, b.value.size() - 1}) {
    SCOPED_TRACE("byte " + std::to_string(at) + " of " + std::to_string(b.value.size()));
    std::string v = b.value;
    v[at] = char(v[at] ^ 0x01);
    Put(Cf::kBlocks, b.key, v);
    EXPECT_CORRUPTION(Query("alpha", "dev1"), where);
  }
  Put(Cf::kBlocks, b.key, b.value);
  EXPECT_TRUE(Query("alpha", "dev1").ok());  // the check above was not a broken fixture
}

// Merging short blocks (DB::Compact) opens every block it would merge: one
// that does not authenticate stops the merge with Corruption naming its series and range, and
// its series' blocks are left exactly as they were (nothing deleted, nothing rewritten).
TEST_F(Tamper, MergingShortBlocksRefusesADamagedBlockAndChangesNothing) {
  const auto before = Blocks(alpha_, series_["dev2"]);
  ASSERT_EQ(before.size(), 2u);  // two short blocks: a merge would make them one
  std::string v = before[1].value;
  v[v.size() / 2] = char(v[v.size() / 2] ^ 0x01);
  Put(Cf::kBlocks, before[1].key, v);
  {
    auto db = Open();
    ASSERT_TRUE(db);
    const Status s = db->Compact();
    EXPECT_CORRUPTION(s, "series " + std::to_string(series_["dev2"]));
    EXPECT_NE(s.message().find("does not open"), std::string::npos) << s.ToString();
  }
  const auto after = Blocks(alpha_, series_["dev2"]);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].key, before[0].key);
  EXPECT_EQ(after[0].value, before[0].value);
  EXPECT_EQ(after[1].key, before[1].key);
  EXPECT_EQ(after[1].value, v);
  // Repaired, the same compaction merges the two into one block holding all 200 points.
  Put(Cf::kBlocks, before[1].key, before[1].value);
  {
    auto db = Open();
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->Compact().ok());
    EXPECT_EQ(testing::ReadSeries(*db, "alpha", "dev2", "temp").size(), 200u);
  }
  EXPECT_EQ(Blocks(alpha_, series_["dev2"]).size(), 1u);
}

// Block groups (DB::Compact): alpha's two series become references to one group. A group that
// does not authenticate, a reference to another slot, to a missing group, or a group moved to
// another project's key is Corruption naming the series, never another series' points.
class TamperGroups : public Tamper {
 protected:
  void SetUp() override {
    Tamper::SetUp();
    {
      auto db = Open();
      ASSERT_TRUE(db);
      ASSERT_TRUE(db->Compact().ok());
      ASSERT_EQ(db->Stats()->blocks_grouped, 2u);
    }
    groups_ = Read(Cf::kGroups, store::ProjectPrefix(alpha_));
    ASSERT_EQ(groups_.size(), 1u);
    for (const char* dev : {"dev1", "dev2"}) {
      const auto b = Blocks(alpha_, series_[dev]);
      ASSERT_EQ(b.size(), 1u);
      ASSERT_TRUE(block::ParseGroupRef(b[0].value, &refs_[dev]));
      ref_keys_[dev] = b[0].key;
    }
  }
  std::vector<Entry> groups_;
  std::map<std::string, block::GroupRef> refs_;
  std::map<std::string, std::string> ref_keys_;
};

TEST_F(TamperGroups, FlippedByteAnywhereInAGroupIsCorruption) {
  const Entry& g = groups_[0];
  for (size_t at :
       {size_t(0), size_t(1), size_t(9), size_t(10), g.value.size() / 2, g.value.size() - 1}) {
    SCOPED_TRACE("byte " + std::to_string(at) + " of " + std::to_string(g.value.size()));
    std::string v = g.value;
    v[at] = char(v[at] ^ 0x01);
    Put(Cf::kGroups, g.key, v);
    EXPECT_CORRUPTION(Query("alpha", "dev1"), "series " + std::to_string(series_["dev1"]));
    EXPECT_CORRUPTION(Query("alpha", "dev2"), "group");
  }
  Put(Cf::kGroups, g.key, g.value);
  EXPECT_TRUE(Query("alpha", "dev1").ok());
  EXPECT_TRUE(Query("alpha", "dev2").ok());
}

TEST_F(TamperGroups, AReferenceToAnotherSlotOrAMissingGroupIsCorruption) {
  block::GroupRef swapped = refs_["dev1"];
  swapped.slot = refs_["dev2"].slot;
  Put(Cf::kBlocks, ref_keys_["dev1"], block::EncodeGroupRef(swapped));
  EXPECT_CORRUPTION(Query("alpha", "dev1"), "holds another block than its reference");
  swapped.slot = 7;
  Put(Cf::kBlocks, ref_keys_["dev1"], block::EncodeGroupRef(swapped));
  EXPECT_CORRUPTION(Query("alpha", "dev1"), "series " + std::to_string(series_["dev1"]));
  block::GroupRef missing = refs_["dev1"];
  missing.group_id += 1000;
  Put(Cf::kBlocks, ref_keys_["dev1"], block::EncodeGroupRef(missing));
  EXPECT_CORRUPTION(Query("alpha", "dev1"), "is missing");
  // A forged max_ts in the plaintext reference (which retention reads) is caught at open.
  block::GroupRef later = refs_["dev1"];
  later.max_ts += 1;
  Put(Cf::kBlocks, ref_keys_["dev1"], block::EncodeGroupRef(later));
  EXPECT_CORRUPTION(Query("alpha", "dev1"), "holds another block than its reference");
  Put(Cf::kBlocks, ref_keys_["dev1"], block::EncodeGroupRef(refs_["dev1"]));
  EXPECT_TRUE(Query("alpha", "dev1").ok());
}

TEST_F(TamperGroups, AGroupMovedToAnotherProjectIsCorruption) {
  // beta's dev1 block pointed at alpha's group copied under beta's key.
  const Entry b = Blocks(beta_, beta_series_)[0];
  Put(Cf::kGroups, block::GroupKey(beta_, refs_["dev1"].group_id), groups_[0].value);
  Put(Cf::kBlocks, b.key, block::EncodeGroupRef(refs_["dev1"]));
  EXPECT_CORRUPTION(Query("beta", "dev1"),
                    "block group of project " + std::to_string(beta_) + " fails authentication");
}

// Grouping opens every block it groups: one that does not authenticate stops it with
// Corruption naming the block, and nothing is grouped or changed.
TEST_F(Tamper, GroupingRefusesADamagedBlockAndChangesNothing) {
  const auto before = Read(Cf::kBlocks, store::ProjectPrefix(alpha_));
  ASSERT_EQ(before.size(), 4u);
  std::string v = before[2].value;  // dev2's first block
  v[v.size() / 2] = char(v[v.size() / 2] ^ 0x01);
  Put(Cf::kBlocks, before[2].key, v);
  Options o = testing::TestOptions();
  o.merge_block_bytes = 0;  // the merge would meet the damage first
  {
    auto db = DB::Open(o, dir_.path());
    ASSERT_TRUE(db);
    const Status s = (*db)->Compact();
    EXPECT_CORRUPTION(s,
                      "grouping short blocks: block of series " + std::to_string(series_["dev2"]));
    EXPECT_FALSE((*db)->Stats());  // it opens every block
  }
  auto after = Read(Cf::kBlocks, store::ProjectPrefix(alpha_));
  // The head's points were flushed by the compaction into a third block of dev1; the others are
  // as they were.
  ASSERT_EQ(after.size(), 5u);
  size_t same = 0;
  for (const Entry& e : after) {
    for (const Entry& b : before) same += e.key == b.key && (e.value == b.value || e.value == v);
  }
  EXPECT_EQ(same, 4u);
  EXPECT_TRUE(Read(Cf::kGroups, store::ProjectPrefix(alpha_)).empty());
}

TEST_F(Tamper, BlocksSwappedBetweenSeriesAreCorruption) {
  const Entry a = Blocks(alpha_, series_["dev1"])[0];
  const Entry b = Blocks(alpha_, series_["dev2"])[0];
  Put(Cf::kBlocks, a.key, b.value);
  Put(Cf::kBlocks, b.key, a.value);
  EXPECT_CORRUPTION(Query("alpha", "dev1"), "series " + std::to_string(series_["dev1"]));
  EXPECT_CORRUPTION(Query("alpha", "dev2"), "series " + std::to_string(series_["dev2"]));
}

TEST_F(Tamper, BlockMovedToAnotherProjectIsCorruption) {
  const Entry a = Blocks(alpha_, series_["dev1"])[0];
  const Entry b = Blocks(beta_, beta_series_)[0];
  Put(Cf::kBlocks, b.key, a.value);
  EXPECT_CORRUPTION(Query("beta", "dev1"), "project " + std::to_string(beta_));
}

TEST_F(Tamper, OldBlockValueUnderLaterKeyOfSameSeriesIsCorruption) {
  const auto blocks = Blocks(alpha_, series_["dev1"]);
  ASSERT_EQ(blocks.size(), 2u);
  Put(Cf::kBlocks, blocks[1].key, blocks[0].value);
  EXPECT_CORRUPTION(Query("alpha", "dev1"), "series " + std::to_string(series_["dev1"]));
}

// The head is replayed at open, so a damaged head record fails the open itself.
TEST_F(Tamper, FlippedByteInHeadRecordFailsOpenWithCorruption) {
  std::vector<Entry> head;
  for (auto& e : Read(Cf::kHead, store::ProjectPrefix(alpha_))) {
    if (e.key.size() == store::kHeadKeySize) head.push_back(std::move(e));  // not seal records
  }
  ASSERT_EQ(head.size(), 1u);
  for (size_t at : {size_t(0), size_t(1), size_t(5), head[0].value.size() / 2,
                    head[0].value.size() - 1}) {
    SCOPED_TRACE("byte " + std::to_string(at));
    std::string v = head[0].value;
    v[at] = char(v[at] ^ 0x01);
    Put(Cf::kHead, head[0].key, v);
    auto db = DB::Open(testing::TestOptions(), dir_.path());
    ASSERT_FALSE(db);
    EXPECT_CORRUPTION(db.error(), "head record of project " + std::to_string(alpha_));
  }
  Put(Cf::kHead, head[0].key, head[0].value);
  EXPECT_TRUE(Query("alpha", "dev1").ok());
}

// A seal record (which series' points are in blocks) survives while an older chunk of its
// project is still open; it is read at open, so damage to it fails the open.
TEST(TamperSealRecord, FlippedByteInSealRecordFailsOpenWithCorruption) {
  testing::TempDir dir;
  Options o = testing::TestOptions();
  o.chunk_max_points = 64;
  {
    auto db = DB::Open(o, dir.path());
    ASSERT_TRUE(db);
    ASSERT_TRUE((*db)->CreateProject("s"));
    Tamper::WriteSeries(**db, "s", "open", kT0, 10);     // stays in the head
    Tamper::WriteSeries(**db, "s", "sealed", kT0, 64);   // sealed at once
  }
  std::vector<Entry> seals;
  {
    auto s = store::Store::Open({}, dir.path());
    ASSERT_TRUE(s);
    auto it = (*s)->NewIterator(Cf::kHead);
    for (it->Seek(""); it->Valid(); it->Next()) {
      if (it->key().size() == store::kSealRecordKeySize) {
        seals.push_back({std::string(it->key()), std::string(it->value())});
      }
    }
    ASSERT_EQ(seals.size(), 1u);
    std::string v = seals[0].value;
    v[v.size() / 2] = char(v[v.size() / 2] ^ 0x01);
    auto b = (*s)->NewBatch();
    b.Put(Cf::kHead, seals[0].key, v);
    ASSERT_TRUE((*s)->Write(b, true).ok());
  }
  auto db = DB::Open(o, dir.path());
  ASSERT_FALSE(db);
  EXPECT_CORRUPTION(db.error(), "seal record of project");
}

TEST_F(Tamper, FlippedByteInEachKindOfCatalogRecordFailsOpenWithCorruption) {
  for (auto tag : {store::MetaTag::kProject, store::MetaTag::kDevice, store::MetaTag::kSeries}) {
    SCOPED_TRACE(std::string("tag ") + char(tag));
    const auto records = Read(Cf::kMeta, store::MetaKey(tag, alpha_));
    ASSERT_FALSE(records.empty());
    std::string v = records[0].value;
    v[v.size() / 2] = char(v[v.size() / 2] ^ 0x40);
    Put(Cf::kMeta, records[0].key, v);
    auto db = DB::Open(testing::TestOptions(), dir_.path());
    ASSERT_FALSE(db);
    EXPECT_CORRUPTION(db.error(), "catalog record of project " + std::to_string(alpha_));
    Put(Cf::kMeta, records[0].key, records[0].value);
  }
  EXPECT_TRUE(Query("alpha", "dev1").ok());
}

TEST_F(Tamper, CatalogRecordsSwappedBetweenDevicesAreCorruption) {
  const auto devices = Read(Cf::kMeta, store::MetaKey(store::MetaTag::kDevice, alpha_));
  ASSERT_EQ(devices.size(), 2u);
  Put(Cf::kMeta, devices[0].key, devices[1].value);
  Put(Cf::kMeta, devices[1].key, devices[0].value);
  auto db = DB::Open(testing::TestOptions(), dir_.path());
  ASSERT_FALSE(db);
  EXPECT_CORRUPTION(db.error(), "catalog record");
}

// The block header's max_ts is plaintext (retention reads it) and bound only as associated
// data, so it is checked when the block is opened. A range query must not skip a block on the
// strength of a forged max_ts and silently return fewer points.
TEST_F(Tamper, ForgedBlockMaxTsDoesNotSilentlyHideBlock) {
  const Entry b = Blocks(alpha_, series_["dev1"])[0];  // points kT0 .. kT0 + 99 us
  std::string v = b.value;
  std::string forged;
  PutFixed64BE(&forged, OrderedFromSigned(kT0 - 1));  // "ends before it starts"
  v.replace(1, 8, forged);
  Put(Cf::kBlocks, b.key, v);
  auto db = Open();
  ASSERT_TRUE(db);
  size_t points = 0;
  Status s = db->QueryRaw("alpha", {"dev1", "temp"}, {kT0, kT0 + 50'000},
                          [&](const SeriesRef&, const PointRun& r) {
                            points += r.size();
                            return true;
                          });
  if (s.ok()) {
    EXPECT_EQ(points, 50u) << "a forged header made the query skip the block";
  } else {
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  }
}

}  // namespace
}  // namespace sensordb
