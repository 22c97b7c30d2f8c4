// The head log's crash and corruption rules on a real RocksDB store: replay fails on the first
// damaged record and names it, skips a dropped project's records unread, and truncation keeps
// what an open chunk needs and writes nothing when idle.
#include "head/head_log.h"

#include <gtest/gtest.h>

#include <set>

#include "sensordb/coding.h"
#include "store/keys.h"
#include "test_util.h"

namespace sensordb::head {
namespace {

using store::Cf;

// Authenticates like the real cipher does, without keys: Seal appends a hash of project, kind,
// associated data and plaintext; Open refuses any change. Projects in `destroyed` have no key.
class CheckingCipher final : public crypto::Cipher {
 public:
  std::set<uint32_t> destroyed;
  Status Seal(uint32_t project, crypto::RecordKind kind, std::string_view ad,
              std::string_view plain, std::string* out) const override {
    if (destroyed.count(project)) return Status::Corruption("no key");
    out->append(plain);
    PutFixed64BE(out, Tag(project, kind, ad, plain));
    return Status::Ok();
  }
  Status Open(uint32_t project, crypto::RecordKind kind, std::string_view ad,
              std::string_view sealed, std::string* out) const override {
    if (destroyed.count(project)) {
      ADD_FAILURE() << "opened a record of project " << project << " whose key is destroyed";
      return Status::Corruption("no key");
    }
    if (sealed.size() < 8) return Status::Corruption("record does not authenticate");
    std::string_view plain = sealed.substr(0, sealed.size() - 8);
    std::string_view tag = sealed.substr(plain.size());
    uint64_t want;
    if (!GetFixed64BE(&tag, &want) || want != Tag(project, kind, ad, plain)) {
      return Status::Corruption("record does not authenticate");
    }
    out->append(plain);
    return Status::Ok();
  }
  uint32_t KeyVersionOf(std::string_view) const override { return 1; }

 private:
  static uint64_t Tag(uint32_t project, crypto::RecordKind kind, std::string_view ad,
                      std::string_view plain) {
    const std::string all = std::to_string(project) + "/" + std::to_string(int(kind)) + "/" +
                            std::string(ad) + "/" + std::string(plain);
    return std::hash<std::string>{}(all);
  }
};

// A payload of one float column of `n` points for series `series`.
std::string Payload(uint64_t series, size_t n) {
  WriteBatch b;
  for (size_t i = 0; i < n; ++i) b.Add("d", "c", int64_t(1000 + i), Value::Float64(double(i)));
  const uint64_t ids[] = {series};
  std::string out;
  EncodeHeadRecord(b.columns(), ids, &out);
  return out;
}

struct Seen {
  std::vector<std::pair<uint32_t, uint64_t>> records;  // project, seq
  std::vector<std::pair<uint32_t, SealEntry>> seals;
  std::vector<std::string> damage;
};

HeadLog::ReplayHandler Handler(Seen* seen, std::set<uint32_t> dropped = {}, bool salvage = false) {
  HeadLog::ReplayHandler h;
  h.known = [dropped](uint32_t pid) { return !dropped.count(pid); };
  h.seal = [seen](uint32_t pid, std::span<const SealEntry> entries) {
    for (const auto& e : entries) seen->seals.emplace_back(pid, e);
    return Status::Ok();
  };
  h.record = [seen](uint32_t pid, uint64_t seq, std::span<const HeadRecordEntry> entries) {
    EXPECT_EQ(entries.size(), 1u);
    seen->records.emplace_back(pid, seq);
    return Status::Ok();
  };
  if (salvage) h.damage = [seen](const Status& s) { seen->damage.push_back(s.message()); };
  return h;
}

class HeadLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::StoreOptions so;
    auto s = store::Store::Open(so, dir_.path());
    ASSERT_TRUE(s) << s.error().message();
    store_ = std::move(*s);
    log_ = std::make_unique<HeadLog>(*store_, cipher_);
  }
  // Records 1..3 of project 1, 4..5 of project 2, and a seal record of project 1.
  void WriteSome() {
    auto wb = store_->NewBatch();
    for (uint64_t seq : {1, 2, 3}) ASSERT_TRUE(log_->AddRecord(1, seq, Payload(10, 3), &wb).ok());
    for (uint64_t seq : {4, 5}) ASSERT_TRUE(log_->AddRecord(2, seq, Payload(20, 2), &wb).ok());
    const SealEntry sealed[] = {{10, 2}};
    ASSERT_TRUE(log_->AddSealRecord(1, 2, 7, sealed, &wb).ok());
    ASSERT_TRUE(store_->Write(wb, true).ok());
  }
  void Put(Cf cf, const std::string& key, const std::string& value) {
    auto wb = store_->NewBatch();
    wb.Put(cf, key, value);
    ASSERT_TRUE(store_->Write(wb, true).ok());
  }

  sensordb::testing::TempDir dir_;
  CheckingCipher cipher_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<HeadLog> log_;
};

TEST(SealRecord, RoundTripsAndEveryPrefixIsCorruption) {
  const SealEntry in[] = {{1, 5}, {300, 1u << 20}, {uint64_t(1) << 40, 0}};
  std::string enc;
  EncodeSealRecord(in, &enc);
  std::vector<SealEntry> out;
  ASSERT_TRUE(DecodeSealRecord(enc, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out[i].series, in[i].series);
    EXPECT_EQ(out[i].sealed, in[i].sealed);
  }
  sensordb::testing::ExpectOnlyWholeDecodes(
      enc, [&](std::string_view bytes) { return DecodeSealRecord(bytes, &out); });
  enc[0] = 2;
  EXPECT_EQ(DecodeSealRecord(enc, &out).code(), StatusCode::kCorruption);
}

TEST(HeadRecord, OnlyTheWholeRecordDecodes) {
  const std::string enc = Payload(10, 5);
  std::vector<HeadRecordEntry> out;
  sensordb::testing::ExpectOnlyWholeDecodes(
      enc, [&](std::string_view in) { return DecodeHeadRecord(in, &out); });
}

// Version 2 (zstd) holds the same columns as version 1 and decodes to the same points; a
// database written before it (version 1 only) still replays.
TEST(HeadRecord, CompressedAndPlainVersionsDecodeAlike) {
  WriteBatch b;
  for (int s = 0; s < 500; ++s) {  // a time-major shape: the same instants in every series
    for (int i = 0; i < 5; ++i) {
      b.Add("d" + std::to_string(s), "c", int64_t(1000 + 10 * i), Value::Float64(20.0 + s + i));
    }
  }
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < b.columns().size(); ++i) ids.push_back(100 + i);
  std::string v1, v2;
  EncodeHeadRecord(b.columns(), ids, &v1);
  EncodeHeadRecord(b.columns(), ids, &v2, /*zstd_level=*/1);
  ASSERT_EQ(uint8_t(v1[0]), kHeadRecordVersion);
  ASSERT_EQ(uint8_t(v2[0]), kHeadRecordVersionZstd);
  EXPECT_LT(v2.size(), v1.size());
  std::vector<HeadRecordEntry> a, z;
  ASSERT_TRUE(DecodeHeadRecord(v1, &a).ok());
  ASSERT_TRUE(DecodeHeadRecord(v2, &z).ok());
  ASSERT_EQ(a.size(), ids.size());
  ASSERT_EQ(z.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(z[i].series, a[i].series);
    EXPECT_EQ(z[i].points.ts, a[i].points.ts);
    EXPECT_EQ(z[i].points.f64, a[i].points.f64);
  }
  sensordb::testing::ExpectOnlyWholeDecodes(
      v2, [&](std::string_view in) { return DecodeHeadRecord(in, &z); });
  v2[0] = 3;
  EXPECT_EQ(DecodeHeadRecord(v2, &z).code(), StatusCode::kCorruption);
  // A small record stays version 1 whatever the level (zstd would cost more than it saves).
  std::string small;
  EncodeHeadRecord(std::span(b.columns()).first(1), std::span(ids).first(1), &small, 1);
  EXPECT_EQ(uint8_t(small[0]), kHeadRecordVersion);
}

TEST_F(HeadLogTest, ReplaysSealRecordsFirstThenRecordsInOrder) {
  WriteSome();
  Seen seen;
  auto max = log_->Replay(Handler(&seen));
  ASSERT_TRUE(max) << max.error().message();
  EXPECT_EQ(*max, 5u);
  ASSERT_EQ(seen.seals.size(), 1u);
  EXPECT_EQ(seen.seals[0].first, 1u);
  EXPECT_EQ(seen.seals[0].second.sealed, 2u);
  const std::vector<std::pair<uint32_t, uint64_t>> want = {{1, 1}, {1, 2}, {1, 3}, {2, 4}, {2, 5}};
  EXPECT_EQ(seen.records, want);
}

TEST_F(HeadLogTest, ADroppedProjectsRecordsAreSkippedUnreadButCountForTheSequence) {
  WriteSome();
  cipher_.destroyed = {2};  // Open of project 2 fails the test
  Seen seen;
  auto max = log_->Replay(Handler(&seen, {2}));
  ASSERT_TRUE(max) << max.error().message();
  EXPECT_EQ(*max, 5u);  // sequence numbers never go back, even past a drop
  EXPECT_EQ(seen.records.size(), 3u);
}

TEST_F(HeadLogTest, ADamagedRecordFailsTheReplayNamingIt) {
  WriteSome();
  auto v = store_->Get(Cf::kHead, store::HeadKey(1, 2));
  ASSERT_TRUE(v && *v);
  for (size_t at : {size_t(0), (*v)->size() / 2, (*v)->size() - 1}) {
    std::string bad = **v;
    bad[at] ^= 0x10;
    Put(Cf::kHead, store::HeadKey(1, 2), bad);
    Seen seen;
    auto max = log_->Replay(Handler(&seen));
    ASSERT_FALSE(max) << at;
    EXPECT_EQ(max.error().code(), StatusCode::kCorruption);
    EXPECT_NE(max.error().message().find("head record 2 of project id 1"), std::string::npos)
        << max.error().message();
  }
  // Salvage: reported, and every other record still replayed.
  Seen seen;
  auto max = log_->Replay(Handler(&seen, {}, /*salvage=*/true));
  ASSERT_TRUE(max);
  EXPECT_EQ(*max, 5u);
  ASSERT_EQ(seen.damage.size(), 1u);
  EXPECT_NE(seen.damage[0].find("head record 2 of project id 1"), std::string::npos);
  EXPECT_EQ(seen.records.size(), 4u);
  // The original bytes put back: whole again.
  Put(Cf::kHead, store::HeadKey(1, 2), **v);
  Seen again;
  ASSERT_TRUE(log_->Replay(Handler(&again)));
  EXPECT_EQ(again.records.size(), 5u);
}

TEST_F(HeadLogTest, ADamagedSealRecordOrKeyFailsTheReplay) {
  WriteSome();
  const std::string seal_key = store::SealRecordKey(1, 2, 7);
  auto v = store_->Get(Cf::kHead, seal_key);
  ASSERT_TRUE(v && *v);
  std::string bad = **v;
  bad[1] ^= 1;
  Put(Cf::kHead, seal_key, bad);
  Seen seen;
  auto max = log_->Replay(Handler(&seen));
  ASSERT_FALSE(max);
  EXPECT_NE(max.error().message().find("seal record 2 of project id 1"), std::string::npos)
      << max.error().message();
  Put(Cf::kHead, seal_key, **v);
  // A key of no known shape is damage too, never something to skip.
  Put(Cf::kHead, "odd", "x");
  max = log_->Replay(Handler(&seen));
  ASSERT_FALSE(max);
  EXPECT_NE(max.error().message().find("key is malformed"), std::string::npos);
}

TEST_F(HeadLogTest, AnErrorFromTheHandlerFailsTheReplay) {
  WriteSome();
  Seen seen;
  auto h = Handler(&seen);
  h.record = [](uint32_t, uint64_t seq, std::span<const HeadRecordEntry>) {
    return seq == 4 ? Status::Corruption("it names series 20 that the catalog lacks")
                    : Status::Ok();
  };
  auto max = log_->Replay(h);
  ASSERT_FALSE(max);
  EXPECT_NE(max.error().message().find("head record 4 of project id 2: it names series 20"),
            std::string::npos)
      << max.error().message();
}

TEST_F(HeadLogTest, TruncateKeepsWhatOpenChunksNeedAndWritesTheFloor) {
  WriteSome();
  auto floor = log_->LoadFloor();
  ASSERT_TRUE(floor);
  EXPECT_EQ(*floor, 1u);  // a new database
  // Project 1 has an open chunk from seq 3; project 2 none; 5 applied.
  const uint32_t projects[] = {1, 2};
  ASSERT_TRUE(log_->Truncate(projects, 5, {{1, 3}}).ok());
  Seen seen;
  ASSERT_TRUE(log_->Replay(Handler(&seen)));
  const std::vector<std::pair<uint32_t, uint64_t>> want = {{1, 3}};
  EXPECT_EQ(seen.records, want);
  EXPECT_TRUE(seen.seals.empty());  // its max_seq 2 is below what project 1 keeps
  floor = log_->LoadFloor();
  ASSERT_TRUE(floor);
  EXPECT_EQ(*floor, 6u);

  // Idle: the same arguments write nothing (a record put below the cut since stays).
  auto wb = store_->NewBatch();
  ASSERT_TRUE(log_->AddRecord(1, 1, Payload(10, 1), &wb).ok());
  ASSERT_TRUE(store_->Write(wb, true).ok());
  ASSERT_TRUE(log_->Truncate(projects, 5, {{1, 3}}).ok());
  EXPECT_TRUE(*store_->Get(Cf::kHead, store::HeadKey(1, 1)));
  // A caller that read an older `applied` arrives late: nothing is deleted and the floor
  // does not go back.
  ASSERT_TRUE(log_->Truncate(projects, 0, {{1, 9}}).ok());
  EXPECT_TRUE(*store_->Get(Cf::kHead, store::HeadKey(1, 1)));
  floor = log_->LoadFloor();
  ASSERT_TRUE(floor);
  EXPECT_EQ(*floor, 6u);
}

TEST_F(HeadLogTest, AMalformedFloorIsCorruption) {
  Put(Cf::kMeta, store::MetaKey(store::MetaTag::kHeadFloor), "short");
  auto floor = log_->LoadFloor();
  ASSERT_FALSE(floor);
  EXPECT_EQ(floor.error().code(), StatusCode::kCorruption);
  std::string zero;
  PutFixed64BE(&zero, 0);
  Put(Cf::kMeta, store::MetaKey(store::MetaTag::kHeadFloor), zero);
  EXPECT_FALSE(log_->LoadFloor());
}

}  // namespace
}  // namespace sensordb::head
