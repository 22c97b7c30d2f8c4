// The server's firmware store (security/firmware/firmware_store.h, docs/OTA.md "Storage on the
// server") on a real encrypted database, checked by a simulated logger running the real agent
// over files (bench/ota_logger.h): roots and releases are refused unless they verify as a device
// would verify them, nothing of a refused upload is kept, and what the store hands out installs
// on the logger — or, when a stored byte was changed, never reaches it.
#include "firmware/firmware_store.h"

#include <sodium.h>

#include <filesystem>
#include <map>

#include "catalog/project_files.h"
#include "ota_fixture.h"
#include "ota_logger.h"
#include "sensordb/coding.h"
#include "store/keys.h"
#include "store/store.h"
#include "test_util.h"

namespace sensordb {
namespace {

using firmware::FirmwareStore;
using firmware::Release;
using ota_fuzz::Bytes;
using ota_fuzz::Fixture;
using ota_fuzz::Key;
using ota_fuzz::kNow;
using ota_fuzz::SignWith;

constexpr char kProject[] = "greenhouse";  // the fixture's project

// An image source over a byte vector, `step` bytes per call.
firmware::ImageSource From(const Bytes& bytes, size_t step = 10'000) {
  auto at = std::make_shared<size_t>(0);
  return [&bytes, at, step](std::span<uint8_t> out) -> Result<size_t> {
    const size_t n = std::min({out.size(), step, bytes.size() - *at});
    std::copy_n(bytes.begin() + long(*at), n, out.begin());
    *at += n;
    return n;
  };
}

class FirmwareStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sdb_ota_init(), SDB_OTA_OK);
    Options o = testing::TestOptions();
    o.clock = &clock_;
    auto db = DB::Open(o, dir_.path());
    ASSERT_TRUE(db.has_value()) << db.error().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->CreateProject(kProject).has_value());
    ASSERT_TRUE(db_->CreateProject("other").has_value());
    store_ = std::make_unique<FirmwareStore>(*db_, clock_);
    auto fresh = store_->FreshnessKey(kProject);
    ASSERT_TRUE(fresh.has_value()) << fresh.error().ToString();
    fresh_ = *fresh;
  }

  // The fixture's root `version` (keys 0, 1 and `third`, k = 2) naming the server's key.
  sdb_ota_root Root(uint64_t version, const Key& third) const {
    sdb_ota_root r = fx_.Root(version, third);
    std::memcpy(r.freshness_key, fresh_.data(), fresh_.size());
    return r;
  }
  Bytes RootFile(const sdb_ota_root& r, const std::vector<const Key*>& signers) const {
    return SignWith(ota_fuzz::Encode(r, sdb_ota_encode_root), signers);
  }
  Bytes Root1() const {
    return RootFile(Root(1, fx_.release[2]), {&fx_.release[0], &fx_.release[1]});
  }
  Bytes ManifestFile(const sdb_ota_manifest& m, const std::vector<const Key*>& signers) const {
    return SignWith(ota_fuzz::Encode(m, sdb_ota_encode_manifest), signers);
  }
  Result<Release> Upload(const Bytes& manifest, const Bytes& image) {
    return store_->AddRelease(kProject, manifest, From(image));
  }
  uint64_t FileRecords() {
    auto report = db_->KeyStatus();
    uint64_t n = 0;
    for (const auto& p : report->projects) {
      for (const auto& v : p.versions) n += v.file_records;
    }
    return n;
  }

  testing::FakeClock clock_{kNow * kNanosPerSecond};
  testing::TempDir dir_;
  std::unique_ptr<DB> db_;
  std::unique_ptr<FirmwareStore> store_;
  firmware::PublicKey fresh_{};
  Fixture fx_{200'000};  // a 200 kB image: four chunks
};

TEST_F(FirmwareStoreTest, RootsVerifyAsADeviceWould) {
  const Bytes root1 = Root1();
  // Refused: unsigned, k-1 signatures, another project's, another freshness key, expired.
  EXPECT_EQ(store_->AddRoot(kProject, RootFile(Root(1, fx_.release[2]), {})).error().code(),
            StatusCode::kInvalidArgument);
  auto one = store_->AddRoot(kProject, RootFile(Root(1, fx_.release[2]), {&fx_.release[0]}));
  ASSERT_FALSE(one.has_value());
  EXPECT_NE(one.error().message().find("below-threshold"), std::string::npos)
      << one.error().ToString();
  EXPECT_NE(store_->AddRoot("other", root1).error().message().find("for project 'greenhouse'"),
            std::string::npos);
  sdb_ota_root foreign_fresh = fx_.Root(1, fx_.release[2]);  // the fixture's own freshness key
  auto wrong =
      store_->AddRoot(kProject, RootFile(foreign_fresh, {&fx_.release[0], &fx_.release[1]}));
  ASSERT_FALSE(wrong.has_value());
  EXPECT_NE(wrong.error().message().find("freshness key"), std::string::npos);
  sdb_ota_root old = Root(1, fx_.release[2]);
  old.expires_unix_s = kNow - 1;
  old.created_unix_s = kNow - 86400;
  EXPECT_EQ(
      store_->AddRoot(kProject, RootFile(old, {&fx_.release[0], &fx_.release[1]})).error().code(),
      StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_->Roots(kProject)->empty());

  ASSERT_EQ(store_->AddRoot(kProject, root1).value_or(0), 1u);
  EXPECT_EQ(store_->AddRoot(kProject, root1).error().code(), StatusCode::kAlreadyExists);
  // Version 2 replaces key 2 by `next`: it needs k of version 1 and k of its own.
  const sdb_ota_root r2 = Root(2, fx_.next);
  auto only_new = store_->AddRoot(kProject, RootFile(r2, {&fx_.next, &fx_.release[2]}));
  ASSERT_FALSE(only_new.has_value());  // one key of version 1 (release[2]) is not k of it
  EXPECT_NE(only_new.error().message().find("keys of version 1"), std::string::npos)
      << only_new.error().ToString();
  auto only_old = store_->AddRoot(kProject, RootFile(r2, {&fx_.release[0], &fx_.release[2]}));
  ASSERT_FALSE(only_old.has_value());  // k of version 1, but one of its own (release[0])
  EXPECT_NE(only_old.error().message().find("of its own keys"), std::string::npos)
      << only_old.error().ToString();
  sdb_ota_root r3 = Root(3, fx_.next);
  EXPECT_EQ(
      store_->AddRoot(kProject, RootFile(r3, {&fx_.release[0], &fx_.release[1]})).error().code(),
      StatusCode::kInvalidArgument);  // skips a version
  ASSERT_EQ(store_->AddRoot(kProject, RootFile(r2, {&fx_.release[0], &fx_.release[1]})).value_or(0),
            2u);  // keys 0 and 1 are in both roots: k of each
  // Kept sealed with the project, across a reopen.
  store_.reset();
  db_.reset();
  Options o = testing::TestOptions();
  o.clock = &clock_;
  db_ = std::move(*DB::Open(o, dir_.path()));
  store_ = std::make_unique<FirmwareStore>(*db_, clock_);
  auto roots = store_->Roots(kProject);
  ASSERT_TRUE(roots.has_value());
  ASSERT_EQ(roots->size(), 2u);
  EXPECT_EQ(roots->front(), root1);
  EXPECT_EQ(*store_->FreshnessKey(kProject), fresh_);  // the same key after the reopen
}

TEST_F(FirmwareStoreTest, ReleasesAreRefusedUnlessTheyVerifyAndNothingOfARefusalIsKept) {
  const Bytes& image = fx_.image;
  const sdb_ota_manifest m = fx_.Manifest();
  const Bytes good = ManifestFile(m, {&fx_.release[0], &fx_.release[2]});
  EXPECT_EQ(Upload(good, image).error().code(), StatusCode::kFailedPrecondition);  // no root
  ASSERT_TRUE(store_->AddRoot(kProject, Root1()).has_value());

  auto expect_refused = [&](const Bytes& manifest, const Bytes& img, const char* reason) {
    auto r = Upload(manifest, img);
    ASSERT_FALSE(r.has_value()) << reason;
    EXPECT_NE(r.error().message().find(reason), std::string::npos) << r.error().ToString();
    EXPECT_TRUE(store_->Releases(kProject)->empty()) << reason;
    EXPECT_EQ(FileRecords(), 0u) << reason;
  };
  Bytes flipped = image;
  flipped[123'456] ^= 0x01;
  expect_refused(good, flipped, "hash-mismatch");
  expect_refused(good, Bytes(image.begin(), image.end() - 1), "length-mismatch");
  Bytes longer = image;
  longer.push_back(0);
  expect_refused(good, longer, "length-mismatch");
  expect_refused(ManifestFile(m, {&fx_.release[0]}), image, "below-threshold");
  const Key stranger[2] = {ota_fuzz::MakeKey(40), ota_fuzz::MakeKey(41)};
  expect_refused(ManifestFile(m, {&stranger[0], &stranger[1]}), image, "below-threshold");
  sdb_ota_manifest other_project = m;
  std::strcpy(other_project.project, "other");
  expect_refused(ManifestFile(other_project, {&fx_.release[0], &fx_.release[1]}), image,
                 "wrong-project");
  sdb_ota_manifest other_root = m;
  other_root.root_version = 2;
  expect_refused(ManifestFile(other_root, {&fx_.release[0], &fx_.release[1]}), image, "wrong-root");
  clock_.Set((m.expires_unix_s + 1) * kNanosPerSecond);
  expect_refused(good, image, "expired");
  clock_.Set(kNow * kNanosPerSecond);

  auto stored = Upload(good, image);
  ASSERT_TRUE(stored.has_value()) << stored.error().ToString();
  EXPECT_TRUE(stored->complete);
  EXPECT_EQ(stored->hardware_model, "DL-200");
  EXPECT_EQ(stored->image_length, image.size());
  EXPECT_EQ(stored->manifest, good);
  EXPECT_EQ(Upload(good, image).error().code(), StatusCode::kAlreadyExists);
  std::string out;
  ASSERT_TRUE(store_->ReadImage(kProject, stored->id, 0, image.size(), &out).ok());
  EXPECT_EQ(Bytes(out.begin(), out.end()), image);
  // Another project cannot read it by id.
  EXPECT_EQ(store_->ReadImage("other", stored->id, 0, 1, &out).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->DeleteRelease(kProject, stored->id).ok());
  EXPECT_TRUE(store_->Releases(kProject)->empty());
}

// The whole path on one machine: the store answers the logger's request, the logger downloads
// the image the store reads back from its sealed chunks, installs, boots and confirms it.
TEST_F(FirmwareStoreTest, WhatTheStoreServesInstallsOnTheLogger) {
  ASSERT_TRUE(store_->AddRoot(kProject, Root1()).has_value());
  const Bytes manifest = ManifestFile(fx_.Manifest(), {&fx_.release[0], &fx_.release[2]});
  auto rel = Upload(manifest, fx_.image);
  ASSERT_TRUE(rel.has_value()) << rel.error().ToString();
  const std::string dir = dir_.path() + "-logger";
  auto logger = bench::OtaLogger::Provision(dir, kProject, "dl-7", "DL-200", Root1(),
                                            Bytes(3000, 'F'), 1, kNow);
  ASSERT_TRUE(logger.has_value()) << logger.error().ToString();

  // An answer for another device is refused by the logger; the server signs nothing for a
  // release it does not hold, nor for a project without root and key.
  auto nonce = logger->NewNonce();
  ASSERT_TRUE(nonce.has_value());
  std::span<const uint8_t, 16> n(nonce->data(), 16);
  auto for_other = store_->Answer(kProject, "dl-8", n, rel->id, 600);
  ASSERT_TRUE(for_other.has_value());
  EXPECT_FALSE(logger->AcceptFreshness(*for_other).has_value());
  EXPECT_EQ(logger->last_result(), SDB_OTA_WRONG_DEVICE);
  EXPECT_FALSE(store_->Answer(kProject, "dl-7", n, rel->id + 1, 600).has_value());
  EXPECT_EQ(store_->Answer("other", "dl-7", n, rel->id, 600).error().code(),
            StatusCode::kFailedPrecondition);
  // Expired, the release is no longer offered.
  clock_.Set((kNow + 86400) * kNanosPerSecond);
  auto late = store_->Answer(kProject, "dl-7", n, rel->id, 600);
  ASSERT_FALSE(late.has_value());
  EXPECT_NE(late.error().message().find("expired"), std::string::npos);
  clock_.Set(kNow * kNanosPerSecond);

  nonce = logger->NewNonce();
  ASSERT_TRUE(nonce.has_value());
  auto answer = store_->Answer(kProject, "dl-7", std::span<const uint8_t, 16>(nonce->data(), 16),
                               rel->id, 600);
  ASSERT_TRUE(answer.has_value()) << answer.error().ToString();
  auto accepted = logger->AcceptFreshness(*answer);
  ASSERT_TRUE(accepted.has_value()) << accepted.error().ToString();
  ASSERT_TRUE(logger->BeginDownload(rel->manifest).ok());
  std::string chunk;
  while (logger->DownloadOffset() < logger->DownloadLength()) {
    const uint64_t at = logger->DownloadOffset();
    ASSERT_TRUE(store_->ReadImage(kProject, rel->id, at, 30'000, &chunk).ok());
    ASSERT_TRUE(
        logger->WriteChunk(at, {reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()})
            .ok());
  }
  ASSERT_TRUE(logger->FinishDownload().ok()) << sdb_ota_result_name(logger->last_result());
  auto slot = logger->PowerOn();
  ASSERT_TRUE(slot.has_value());
  EXPECT_EQ(*slot, 1u);
  ASSERT_TRUE(logger->ConfirmHealthy().ok());
  EXPECT_EQ(logger->store().security_version, 2u);
  // Once root version 2 is stored, a release of version 1 is no longer offered.
  ASSERT_TRUE(
      store_->AddRoot(kProject, RootFile(Root(2, fx_.next), {&fx_.release[0], &fx_.release[1]}))
          .has_value());
  auto stale = store_->Answer(kProject, "dl-7", std::span<const uint8_t, 16>(nonce->data(), 16),
                              rel->id, 600);
  ASSERT_FALSE(stale.has_value());
  EXPECT_NE(stale.error().message().find("wrong-root"), std::string::npos)
      << stale.error().ToString();
  const std::string nul_device("dl-7\0x", 6);
  EXPECT_EQ(store_
                ->Answer(kProject, nul_device, std::span<const uint8_t, 16>(nonce->data(), 16),
                         std::nullopt, 600)
                .error()
                .code(),
            StatusCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

// A byte changed in the stored image (on the server's disk) never leaves the server: the read
// fails closed naming the chunk, and nothing is deleted.
TEST_F(FirmwareStoreTest, AChangedStoredByteIsRefusedByTheServer) {
  ASSERT_TRUE(store_->AddRoot(kProject, Root1()).has_value());
  const Bytes manifest = ManifestFile(fx_.Manifest(), {&fx_.release[0], &fx_.release[2]});
  auto rel = Upload(manifest, fx_.image);
  ASSERT_TRUE(rel.has_value());
  const uint32_t pid = db_->GetProject(kProject)->id;
  store_.reset();
  db_.reset();
  {
    auto s = store::Store::Open({}, dir_.path());
    ASSERT_TRUE(s.has_value());
    const std::string key = catalog::ProjectFileChunkKey(pid, rel->id, 2);
    auto v = (*s)->Get(store::Cf::kFiles, key);
    ASSERT_TRUE(v && *v);
    std::string changed = **v;
    changed[changed.size() - 20] ^= 0x40;
    auto b = (*s)->NewBatch();
    b.Put(store::Cf::kFiles, key, changed);
    ASSERT_TRUE((*s)->Write(b, true).ok());
  }
  Options o = testing::TestOptions();
  o.clock = &clock_;
  db_ = std::move(*DB::Open(o, dir_.path()));
  store_ = std::make_unique<FirmwareStore>(*db_, clock_);
  std::string out;
  const Status s = store_->ReadImage(kProject, rel->id, 0, fx_.image.size(), &out);
  EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find("chunk 2 (bytes 131072-196607)"), std::string::npos) << s.ToString();
  EXPECT_EQ(store_->Releases(kProject)->size(), 1u);  // nothing deleted
}

// Waves and the automatic halt (docs/OTA.md "Waves and automatic halt"), on the store's own
// clock: a wave opens only after the one before has soaked, pausing freezes the waves, and a
// wave whose failures pass the threshold halts the rollout until an operator resumes it.
TEST_F(FirmwareStoreTest, RolloutsOpenWavesByTimeAndHaltWhenAWaveFails) {
  using firmware::FirmwareStep;
  using firmware::RolloutState;
  ASSERT_TRUE(store_->AddRoot(kProject, Root1()).has_value());
  auto rel = Upload(ManifestFile(fx_.Manifest(), {&fx_.release[0], &fx_.release[2]}), fx_.image);
  ASSERT_TRUE(rel.has_value()) << rel.error().ToString();
  std::vector<std::string> fleet;
  for (int i = 0; i < 20; ++i) fleet.push_back((i < 10 ? "dl-0" : "dl-") + std::to_string(i));

  // Plans that make no sense are refused, naming what is wrong.
  for (const firmware::RolloutPlan& bad :
       {firmware::RolloutPlan{{50}, 5, 600, {}}, firmware::RolloutPlan{{10, 5, 100}, 5, 600, {}},
        firmware::RolloutPlan{{0, 100}, 5, 600, {}}, firmware::RolloutPlan{{}, 5, 600, {}},
        firmware::RolloutPlan{{1, 2, 3, 4, 5, 6, 7, 8, 100}, 5, 600, {}},
        firmware::RolloutPlan{{100}, 101, 600, {}},
        firmware::RolloutPlan{{100}, 5, 8 * 86400, {}}}) {
    auto r = store_->CreateRollout(kProject, rel->id, fleet, bad);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument) << r.error().ToString();
  }
  EXPECT_TRUE(store_->Rollouts(kProject)->empty());

  auto created = store_->CreateRollout(kProject, rel->id, fleet, {{10, 50, 100}, 10, 600, {}});
  ASSERT_TRUE(created.has_value()) << created.error().ToString();
  // Stored and read back whole; 2, 8 and 10 devices in the three waves.
  auto all = store_->Rollouts(kProject);
  ASSERT_TRUE(all.has_value() && all->size() == 1u);
  const firmware::Rollout r = all->front();
  EXPECT_EQ(r.device_waves, created->device_waves);
  EXPECT_EQ(r.plan.waves, (std::vector<uint8_t>{10, 50, 100}));
  std::array<std::vector<std::string>, 3> waves;
  for (size_t i = 0; i < r.devices.size(); ++i) waves.at(r.device_waves[i]).push_back(r.devices[i]);
  EXPECT_EQ(waves[0].size(), 2u);
  EXPECT_EQ(waves[1].size(), 8u);
  EXPECT_EQ(waves[2].size(), 10u);

  const auto offered = [&](const std::string& device) {
    auto o = store_->OfferFor(kProject, device, "DL-200", "0.9.0", 0);
    EXPECT_TRUE(o.has_value());
    const bool yes = o.has_value() && o->has_value();
    EXPECT_EQ(store_->CheckOffered(kProject, device, rel->id).ok(), yes) << device;
    return yes;
  };
  const auto at = [&](int64_t s) { clock_.Set((kNow + s) * kNanosPerSecond); };
  EXPECT_TRUE(offered(waves[0][0]));
  EXPECT_FALSE(offered(waves[1][0]));
  at(599);
  EXPECT_FALSE(offered(waves[1][0]));
  at(600);
  EXPECT_TRUE(offered(waves[1][0]));
  EXPECT_FALSE(offered(waves[2][0]));
  // Paused in wave 1: nothing offered, the waves frozen; resumed, wave 1 soaks again.
  at(700);
  ASSERT_TRUE(store_->SetRolloutState(kProject, r.id, RolloutState::kPaused).has_value());
  EXPECT_FALSE(offered(waves[0][0]));
  at(2000);
  auto resumed = store_->SetRolloutState(kProject, r.id, RolloutState::kRunning);
  ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
  EXPECT_EQ(resumed->wave, 1u);
  EXPECT_FALSE(offered(waves[2][0]));
  at(2599);
  EXPECT_FALSE(offered(waves[2][0]));
  at(2600);
  EXPECT_TRUE(offered(waves[2][0]));
  at(2000);  // back in wave 1 for the halt

  // Reports as the registry keeps them. One failure among wave 1's 8 devices is 12.5 % > 10 %.
  std::map<std::string, firmware::StepReport, std::less<>> reports;
  const firmware::StepOf step_of = [&](std::string_view d) -> std::optional<firmware::StepReport> {
    auto it = reports.find(d);
    if (it == reports.end()) return std::nullopt;
    return it->second;
  };
  reports[waves[1][0]] = {rel->id, FirmwareStep::kConfirmed, kNow + 2000};
  reports[waves[1][1]] = {rel->id + 1, FirmwareStep::kFailed, kNow + 2000};  // another release
  EXPECT_TRUE(store_->HaltIfFailing(kProject, waves[1][1], rel->id, step_of, {})->empty());
  reports[waves[1][2]] = {rel->id, FirmwareStep::kRolledBack, kNow + 2000};
  auto halted = store_->HaltIfFailing(kProject, waves[1][2], rel->id, step_of, {});
  ASSERT_TRUE(halted.has_value()) << halted.error().ToString();
  ASSERT_EQ(halted->size(), 1u);
  EXPECT_EQ(halted->front().rollout.state, RolloutState::kHalted);
  EXPECT_EQ(halted->front().wave, 1u);  // the wave that decided, with its tally
  const firmware::WaveTally& tally = halted->front().tally;
  EXPECT_EQ(tally.devices, 8u);
  EXPECT_EQ(tally.failures(), 1u);
  EXPECT_EQ(tally.steps[uint8_t(FirmwareStep::kConfirmed)], 1u);
  EXPECT_EQ(tally.steps[0], 6u);  // no report for this release
  EXPECT_FALSE(offered(waves[0][0]));
  EXPECT_EQ(store_->Rollouts(kProject)->front().state, RolloutState::kHalted);
  // Only the server halts; an operator resumes, and the count starts again.
  EXPECT_EQ(store_->SetRolloutState(kProject, r.id, RolloutState::kHalted).error().code(),
            StatusCode::kInvalidArgument);
  at(2100);
  ASSERT_TRUE(store_->SetRolloutState(kProject, r.id, RolloutState::kRunning).has_value());
  EXPECT_TRUE(offered(waves[1][0]));
  EXPECT_TRUE(store_->HaltIfFailing(kProject, waves[1][2], rel->id, step_of, {})->empty());
  reports[waves[1][3]] = {rel->id, FirmwareStep::kFailed, kNow + 2100};
  EXPECT_EQ(store_->HaltIfFailing(kProject, waves[1][3], rel->id, step_of, {})->size(), 1u);
}

// A halt is left by a resume, directly or through a pause: either way the failures that caused
// it no longer count. A clock stepped back does not switch the halt off. The threshold is
// "more than": 1 failure of 20 is 5 %, not past 5 %.
TEST_F(FirmwareStoreTest, LeavingAHaltCountsAfreshAndAClockSteppedBackStillHalts) {
  using firmware::FirmwareStep;
  using firmware::RolloutState;
  ASSERT_TRUE(store_->AddRoot(kProject, Root1()).has_value());
  auto rel = Upload(ManifestFile(fx_.Manifest(), {&fx_.release[0], &fx_.release[2]}), fx_.image);
  ASSERT_TRUE(rel.has_value()) << rel.error().ToString();
  std::map<std::string, firmware::StepReport, std::less<>> reports;
  const firmware::StepOf step_of = [&](std::string_view d) -> std::optional<firmware::StepReport> {
    auto it = reports.find(d);
    if (it == reports.end()) return std::nullopt;
    return it->second;
  };
  const auto at = [&](int64_t s) { clock_.Set((kNow + s) * kNanosPerSecond); };
  const auto fail = [&](const std::string& d, int64_t s) {
    reports[d] = {rel->id, FirmwareStep::kFailed, kNow + s};
    auto h = store_->HaltIfFailing(kProject, d, rel->id, step_of, {});
    EXPECT_TRUE(h.has_value()) << h.error().ToString();
    return h.has_value() ? h->size() : size_t{99};
  };

  auto any = store_->CreateRollout(kProject, rel->id, {"a", "b", "c", "d"}, {{100}, 0, 0, {}});
  ASSERT_TRUE(any.has_value()) << any.error().ToString();
  at(5);
  EXPECT_EQ(fail("a", 5), 1u);  // any failure halts
  at(10);
  ASSERT_TRUE(store_->SetRolloutState(kProject, any->id, RolloutState::kPaused).has_value());
  at(20);
  ASSERT_TRUE(store_->SetRolloutState(kProject, any->id, RolloutState::kRunning).has_value());
  EXPECT_EQ(fail("a", 5), 0u);  // the old failure, reported again: counted before the halt ended
  EXPECT_EQ(fail("b", 30), 1u);
  ASSERT_TRUE(store_->SetRolloutState(kProject, any->id, RolloutState::kCancelled).has_value());

  // Created at +100, then the clock steps back an hour: a failure still halts.
  at(100);
  reports.clear();
  auto back = store_->CreateRollout(kProject, rel->id, {"a", "b"}, {{100}, 0, 0, {}});
  ASSERT_TRUE(back.has_value());
  at(100 - 3600);
  EXPECT_EQ(fail("a", 100 - 3600), 1u);
  ASSERT_TRUE(store_->SetRolloutState(kProject, back->id, RolloutState::kCancelled).has_value());

  // 1 of 20 is not more than 5 %; 2 of 20 is.
  at(200);
  reports.clear();
  std::vector<std::string> twenty;
  for (int i = 0; i < 20; ++i) twenty.push_back("e" + std::to_string(100 + i));
  ASSERT_TRUE(store_->CreateRollout(kProject, rel->id, twenty, {{100}, 5, 0, {}}).has_value());
  EXPECT_EQ(fail(twenty[0], 200), 0u);
  EXPECT_EQ(fail(twenty[1], 200), 1u);
}

// A rollout to every device of a model: no list, waves by a keyed hash of the name, a wave's
// threshold over the devices that reported on the release.
TEST_F(FirmwareStoreTest, AModelTargetReachesEveryDeviceOfTheModelInWaves) {
  using firmware::FirmwareStep;
  using firmware::RolloutState;
  ASSERT_TRUE(store_->AddRoot(kProject, Root1()).has_value());
  auto rel = Upload(ManifestFile(fx_.Manifest(), {&fx_.release[0], &fx_.release[2]}), fx_.image);
  ASSERT_TRUE(rel.has_value()) << rel.error().ToString();
  EXPECT_EQ(store_->CreateRollout(kProject, rel->id, {"a"}, {{100}, 5, 0, "DL-200"}).error().code(),
            StatusCode::kInvalidArgument);  // a list and a model
  EXPECT_EQ(store_->CreateRollout(kProject, rel->id, {}, {{100}, 5, 0, "DL-300"}).error().code(),
            StatusCode::kInvalidArgument);  // not the release's model
  EXPECT_EQ(store_->CreateRollout(kProject, rel->id, {}, {{100}, 5, 0, {}}).error().code(),
            StatusCode::kInvalidArgument);  // neither
  auto r = store_->CreateRollout(kProject, rel->id, {}, {{10, 100}, 20, 600, "DL-200"});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_TRUE(r->devices.empty());
  auto stored = store_->Rollouts(kProject);
  ASSERT_TRUE(stored.has_value()) << stored.error().ToString();
  EXPECT_EQ(stored->front().plan.model, "DL-200");
  EXPECT_EQ(stored->front().wave_key, r->wave_key);

  // 2000 names: about a tenth in the first wave, offered now; the rest after the soak; any name
  // reporting the model is targeted, another model is offered nothing.
  std::vector<std::string> first, later;
  for (int i = 0; i < 2000; ++i) {
    const std::string d = "logger-" + std::to_string(i);
    (*firmware::WaveOf(stored->front(), d) == 0 ? first : later).push_back(d);
  }
  EXPECT_GT(first.size(), 120u);
  EXPECT_LT(first.size(), 280u);
  const auto offered = [&](const std::string& d, const char* model) {
    auto o = store_->OfferFor(kProject, d, model, "0.9.0", 0);
    return o.has_value() && o->has_value();
  };
  EXPECT_TRUE(offered(first[0], "DL-200"));
  EXPECT_FALSE(offered(first[0], "DL-300"));
  EXPECT_FALSE(offered(later[0], "DL-200"));
  EXPECT_TRUE(store_->CheckOffered(kProject, first[0], rel->id).ok());
  EXPECT_FALSE(store_->CheckOffered(kProject, later[0], rel->id).ok());
  clock_.Set((kNow + 600) * kNanosPerSecond);
  EXPECT_TRUE(offered(later[0], "DL-200"));

  // The first wave: 4 devices reported, one failed (25 % > 20 %) halts it.
  std::map<std::string, firmware::StepReport, std::less<>> reports;
  std::vector<std::string> reporters;
  for (int i = 0; i < 4; ++i) {
    reports[first[size_t(i)]] = {rel->id, FirmwareStep::kConfirmed, kNow + 600};
    reporters.push_back(first[size_t(i)]);
  }
  const firmware::StepOf step_of = [&](std::string_view d) -> std::optional<firmware::StepReport> {
    auto it = reports.find(d);
    if (it == reports.end()) return std::nullopt;
    return it->second;
  };
  auto tally = firmware::Tally(stored->front(), step_of, reporters);
  EXPECT_EQ(tally[0].devices, 4u);
  EXPECT_EQ(tally[0].steps[uint8_t(FirmwareStep::kConfirmed)], 4u);
  reports[first[0]] = {rel->id, FirmwareStep::kFailed, kNow + 600};
  auto halted = store_->HaltIfFailing(kProject, first[0], rel->id, step_of, reporters);
  ASSERT_TRUE(halted.has_value()) << halted.error().ToString();
  ASSERT_EQ(halted->size(), 1u);
  EXPECT_EQ(halted->front().tally.devices, 4u);
  EXPECT_EQ(store_->Rollouts(kProject)->front().state, RolloutState::kHalted);
  // Resumed: the four still count as the wave's devices, their steps as not reported since.
  clock_.Set((kNow + 700) * kNanosPerSecond);
  auto resumed = store_->SetRolloutState(kProject, r->id, RolloutState::kRunning);
  ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
  tally = firmware::Tally(*resumed, step_of, reporters);
  EXPECT_EQ(tally[0].devices, 4u);
  EXPECT_EQ(tally[0].steps[0], 4u);
  EXPECT_EQ(tally[0].failures(), 0u);
}

// Rollouts stored by the first format (no plan) read as one wave that never halts; damage to
// the stored value is refused, never read as fewer rollouts.
TEST_F(FirmwareStoreTest, RolloutsOfTheFirstFormatReadAsOneWaveAndDamageIsRefused) {
  std::string v1;
  PutFixed64BE(&v1, 1);       // id
  PutFixed64BE(&v1, 0x1234);  // release
  v1.push_back(char(1));      // running
  PutFixed64BE(&v1, kNow);    // created
  PutVarint64(&v1, 2);
  PutLengthPrefixed(&v1, "dl-1");
  PutLengthPrefixed(&v1, "dl-2");
  ASSERT_TRUE(db_->PutProjectSecret(kProject, "firmware-rollouts", v1).ok());
  auto all = store_->Rollouts(kProject);
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().devices, (std::vector<std::string>{"dl-1", "dl-2"}));
  EXPECT_EQ(all->front().device_waves, (std::vector<uint8_t>{0, 0}));
  EXPECT_EQ(all->front().plan.waves, (std::vector<uint8_t>{100}));
  EXPECT_EQ(all->front().plan.failure_percent, 100);
  for (const std::string& bad :
       {v1.substr(0, v1.size() - 1), v1 + "x", std::string("\x02\x00", 2), std::string("\x05")}) {
    ASSERT_TRUE(db_->PutProjectSecret(kProject, "firmware-rollouts", bad).ok());
    auto r = store_->Rollouts(kProject);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kCorruption);
    EXPECT_NE(r.error().message().find("rollouts are malformed"), std::string::npos);
  }
}

}  // namespace
}  // namespace sensordb
