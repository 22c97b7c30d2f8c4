// The firmware agent's decisions (docs/OTA.md, "Tests this design commits to"): each refusal
// with its named reason, the device keeping its old firmware.
#include "sensordb/ota.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstring>

#include "ota_test_util.h"

namespace sensordb::ota_test {
namespace {

constexpr int64_t kNow = 1796000000;  // 2026-12-01
constexpr int64_t kDay = 86400;

// By name, so that a failure prints the reason.
#define EXPECT_OTA(expected, call) \
  EXPECT_STREQ(sdb_ota_result_name(expected), sdb_ota_result_name(call))
#define ASSERT_OTA_OK(call) ASSERT_STREQ("ok", sdb_ota_result_name(call))

class OtaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sdb_ota_init(), SDB_OTA_OK);
    for (auto& k : release_) k = TestKey::Make();
    fresh_ = TestKey::Make();
    root_ = MakeRoot(1, {&release_[0], &release_[1], &release_[2]}, 2, fresh_);
    factory_ = Image(1000, 1);
    slots_.slot[0] = factory_;
    const Bytes root = Sign(EncodeRoot(root_), {&release_[0], &release_[1]});
    ASSERT_OTA_OK(sdb_ota_provision(&store_, "greenhouse", "dl-7", "DL-200", root.data(),
                                    root.size(), kNow, 0, factory_.size(), 3, Slots::Read,
                                    &slots_));
  }

  static sdb_ota_root MakeRoot(uint64_t version, std::initializer_list<const TestKey*> keys,
                               uint32_t k, const TestKey& fresh) {
    sdb_ota_root r{};
    std::strcpy(r.project, "greenhouse");
    r.version = version;
    r.threshold = k;
    for (const TestKey* key : keys) std::memcpy(r.keys[r.key_count++], key->pk, SDB_OTA_KEY_BYTES);
    std::memcpy(r.freshness_key, fresh.pk, SDB_OTA_KEY_BYTES);
    r.created_unix_s = kNow - kDay;
    r.expires_unix_s = kNow + 365 * kDay;
    return r;
  }

  static Bytes Image(size_t n, uint8_t seed) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + seed);
    return b;
  }

  sdb_ota_manifest Manifest(const Bytes& image, uint64_t security_version) const {
    sdb_ota_manifest m{};
    std::strcpy(m.project, "greenhouse");
    m.root_version = store_.root.version;
    std::strcpy(m.hardware_model, "DL-200");
    std::strcpy(m.version, "2.1.0");
    m.security_version = security_version;
    m.image_length = image.size();
    std::memcpy(m.image_sha256, Sha256(image).data(), SDB_OTA_HASH_BYTES);
    m.created_unix_s = kNow - 60;
    m.expires_unix_s = kNow + 180 * kDay;
    return m;
  }

  // A release of `image` signed by release keys 0 and 1, written into the inactive slot.
  Bytes Release(const Bytes& image, uint64_t security_version = 4) {
    slots_.slot[1 - store_.active_slot] = image;
    return Sign(EncodeManifest(Manifest(image, security_version)), {&release_[0], &release_[1]});
  }

  // A freshness statement answering `nonce`, offering `offered` (a signed manifest) if any.
  Bytes Statement(const uint8_t* nonce, const Bytes& offered, const char* device = "dl-7",
                  int64_t server_time = kNow + 600, const TestKey* signer = nullptr) const {
    sdb_ota_freshness f{};
    std::strcpy(f.project, "greenhouse");
    std::strcpy(f.device, device);
    std::memcpy(f.nonce, nonce, SDB_OTA_NONCE_BYTES);
    f.server_unix_s = server_time;
    f.valid_for_s = 3600;
    f.has_offer = offered.empty() ? 0 : 1;
    if (f.has_offer) std::memcpy(f.manifest_sha256, Sha256(BodyOf(offered)).data(), 32);
    return Sign(EncodeFreshness(f), {signer ? signer : &fresh_});
  }

  // The device asks for an offer and the server offers `manifest`.
  sdb_ota_result Offer(const Bytes& manifest) {
    uint8_t nonce[SDB_OTA_NONCE_BYTES];
    sdb_ota_begin_request(&store_, nonce);
    const Bytes stmt = Statement(nonce, manifest, "dl-7", store_.time_floor_unix_s + 60);
    return sdb_ota_accept_freshness(&store_, stmt.data(), stmt.size(), nullptr);
  }

  // Offered, then installed.
  sdb_ota_result Install(const Bytes& manifest) {
    const sdb_ota_result offered = Offer(manifest);
    if (offered != SDB_OTA_OK) return offered;
    return sdb_ota_install(&store_, manifest.data(), manifest.size(), Slots::Read, &slots_);
  }

  uint32_t Boot() {
    uint32_t slot = 9;
    EXPECT_OTA(SDB_OTA_OK, sdb_ota_boot(&store_, Slots::Read, &slots_, &slot));
    return slot;
  }

  // The device still runs the factory image from slot 0 at security version 3.
  void ExpectOldFirmware() {
    EXPECT_EQ(store_.active_slot, 0u);
    EXPECT_EQ(store_.security_version, 3u);
    EXPECT_EQ(Boot(), 0u);
    EXPECT_EQ(store_.active_slot, 0u);
  }

  TestKey release_[3];
  TestKey fresh_;
  sdb_ota_root root_;
  Bytes factory_;
  Slots slots_;
  sdb_ota_store store_{};
};

TEST_F(OtaTest, ASignedReleaseInstallsIsTriedAndConfirmed) {
  const Bytes image = Image(5000, 2);
  ASSERT_OTA_OK(Install(Release(image)));
  EXPECT_EQ(store_.trial, uint32_t{SDB_OTA_TRIAL_INSTALLED});
  EXPECT_EQ(Boot(), 1u);
  ASSERT_OTA_OK(sdb_ota_confirm(&store_));
  EXPECT_EQ(store_.active_slot, 1u);
  EXPECT_EQ(store_.security_version, 4u);
  EXPECT_EQ(Boot(), 1u);
}

TEST_F(OtaTest, AFlippedImageByteIsRefused) {
  const Bytes manifest = Release(Image(5000, 2));
  slots_.slot[1][1234] ^= 0x01;
  EXPECT_OTA(SDB_OTA_HASH_MISMATCH, Install(manifest));
  EXPECT_EQ(store_.trial, uint32_t{SDB_OTA_TRIAL_NONE});
  ExpectOldFirmware();
}

TEST_F(OtaTest, AnImageShorterThanItsManifestIsRefused) {
  const Bytes manifest = Release(Image(5000, 2));
  slots_.slot[1].resize(4999);
  EXPECT_OTA(SDB_OTA_IO, Install(manifest));
  ExpectOldFirmware();
}

TEST_F(OtaTest, OneSignatureLessThanTheThresholdIsRefused) {
  const Bytes image = Image(5000, 2);
  slots_.slot[1] = image;
  const Bytes manifest = Sign(EncodeManifest(Manifest(image, 4)), {&release_[2]});
  EXPECT_OTA(SDB_OTA_BELOW_THRESHOLD, Install(manifest));
  ExpectOldFirmware();
}

TEST_F(OtaTest, OneKeySigningTwiceCountsOnce) {
  const Bytes image = Image(5000, 2);
  slots_.slot[1] = image;
  const Bytes manifest = Sign(EncodeManifest(Manifest(image, 4)), {&release_[1], &release_[1]});
  EXPECT_OTA(SDB_OTA_BELOW_THRESHOLD, Install(manifest));
  ExpectOldFirmware();
}

TEST_F(OtaTest, AnotherProjectsKeysAreNotTrusted) {
  const TestKey other[2] = {TestKey::Make(), TestKey::Make()};
  const Bytes image = Image(5000, 2);
  slots_.slot[1] = image;
  const Bytes manifest = Sign(EncodeManifest(Manifest(image, 4)), {&other[0], &other[1]});
  EXPECT_OTA(SDB_OTA_BELOW_THRESHOLD, Install(manifest));
  ExpectOldFirmware();
}

TEST_F(OtaTest, TheServersOwnKeysCannotSignAnImage) {
  // The freshness key is the only key the server holds; a key it generated is no better.
  const TestKey generated = TestKey::Make();
  const Bytes image = Image(5000, 2);
  slots_.slot[1] = image;
  const Bytes manifest = Sign(EncodeManifest(Manifest(image, 4)), {&fresh_, &generated});
  EXPECT_OTA(SDB_OTA_BELOW_THRESHOLD, Install(manifest));
  ExpectOldFirmware();
}

TEST_F(OtaTest, AChangedManifestFailsItsSignatures) {
  Bytes manifest = Release(Image(5000, 2));
  Bytes body = BodyOf(manifest);
  sdb_ota_manifest m;
  ASSERT_OTA_OK(sdb_ota_decode_manifest(body.data(), body.size(), &m));
  m.security_version = 99;  // the same signatures over another body
  const Bytes changed = EncodeManifest(m);
  sdb_ota_signed s;
  ASSERT_OTA_OK(sdb_ota_open_signed(manifest.data(), manifest.size(), &s));
  s.body = changed.data();
  s.body_len = changed.size();
  Bytes forged(changed.size() + 200);
  size_t len = 0;
  ASSERT_OTA_OK(sdb_ota_encode_signed(&s, forged.data(), forged.size(), &len));
  forged.resize(len);
  EXPECT_OTA(SDB_OTA_BAD_SIGNATURE, Install(forged));
  ExpectOldFirmware();
}

TEST_F(OtaTest, AnOlderSecurityVersionIsARollback) {
  EXPECT_OTA(SDB_OTA_ROLLBACK, Install(Release(Image(5000, 2), 2)));
  ExpectOldFirmware();
  ASSERT_OTA_OK(Install(Release(Image(5000, 2), 3)));  // equal is allowed (a rebuild)
}

TEST_F(OtaTest, AnExpiredManifestIsRefusedByTheTimeFloor) {
  const Bytes manifest = Release(Image(5000, 2));
  sdb_ota_observe_time(&store_, kNow + 181 * kDay);
  EXPECT_OTA(SDB_OTA_EXPIRED, Install(manifest));
  sdb_ota_observe_time(&store_, kNow);  // the floor never goes back
  EXPECT_GE(store_.time_floor_unix_s, kNow + 181 * kDay);
  EXPECT_OTA(SDB_OTA_EXPIRED, Install(manifest));
  ExpectOldFirmware();
}

TEST_F(OtaTest, AnotherModelOrProjectIsRefusedByName) {
  const Bytes image = Image(5000, 2);
  slots_.slot[1] = image;
  sdb_ota_manifest m = Manifest(image, 4);
  std::strcpy(m.hardware_model, "DL-100");
  EXPECT_OTA(SDB_OTA_WRONG_MODEL, Install(Sign(EncodeManifest(m), {&release_[0], &release_[1]})));
  m = Manifest(image, 4);
  std::strcpy(m.project, "orchard");
  EXPECT_OTA(SDB_OTA_WRONG_PROJECT, Install(Sign(EncodeManifest(m), {&release_[0], &release_[1]})));
  ExpectOldFirmware();
}

TEST_F(OtaTest, AResetOnTrialRollsBack) {
  ASSERT_OTA_OK(Install(Release(Image(5000, 2))));
  EXPECT_EQ(Boot(), 1u);  // on trial; the application never reports healthy
  EXPECT_EQ(Boot(), 0u);  // the reset abandons the trial
  EXPECT_EQ(store_.rolled_back, 1u);
  EXPECT_OTA(SDB_OTA_BAD_STATE, sdb_ota_confirm(&store_));
  ExpectOldFirmware();
}

TEST_F(OtaTest, ATrialSlotChangedAfterInstallIsNotBooted) {
  ASSERT_OTA_OK(Install(Release(Image(5000, 2))));
  slots_.slot[1][0] ^= 0x80;
  EXPECT_EQ(Boot(), 0u);
  EXPECT_EQ(store_.rolled_back, 1u);
  ExpectOldFirmware();
}

TEST_F(OtaTest, ADamagedActiveSlotDoesNotBoot) {
  slots_.slot[0][999] ^= 0x01;
  uint32_t slot = 9;
  EXPECT_OTA(SDB_OTA_HASH_MISMATCH, sdb_ota_boot(&store_, Slots::Read, &slots_, &slot));
  EXPECT_EQ(slot, 9u);
}

TEST_F(OtaTest, AnInstallNotTriedYetCanBeForgottenButNotARunningTrial) {
  ASSERT_OTA_OK(Install(Release(Image(5000, 2))));
  ASSERT_OTA_OK(sdb_ota_cancel_install(&store_));
  ExpectOldFirmware();
  ASSERT_OTA_OK(Install(Release(Image(5000, 2))));
  EXPECT_EQ(Boot(), 1u);
  EXPECT_OTA(SDB_OTA_BAD_STATE, sdb_ota_cancel_install(&store_));
  EXPECT_EQ(store_.trial, uint32_t{SDB_OTA_TRIAL_BOOTING});
}

TEST_F(OtaTest, ConfirmNeverLowersTheSecurityVersion) {
  ASSERT_OTA_OK(Install(Release(Image(5000, 2))));
  store_.slots[1].security_version = 0;  // a store damaged between install and confirm
  EXPECT_EQ(Boot(), 1u);
  ASSERT_OTA_OK(sdb_ota_confirm(&store_));
  EXPECT_EQ(store_.security_version, 3u);
}

TEST_F(OtaTest, AThresholdCheckRefusesStructsOutOfBounds) {
  sdb_ota_signed s{};
  s.body = factory_.data();
  s.body_len = factory_.size();
  s.signature_count = SDB_OTA_MAX_SIGNATURES + 1;
  EXPECT_OTA(SDB_OTA_MALFORMED, sdb_ota_check_threshold(&root_, &s));
  s.signature_count = 0;
  sdb_ota_root r = root_;
  r.threshold = r.key_count + 1;
  EXPECT_OTA(SDB_OTA_MALFORMED, sdb_ota_check_threshold(&r, &s));
}

TEST_F(OtaTest, NothingInstallsWhileATrialRuns) {
  ASSERT_OTA_OK(Install(Release(Image(5000, 2))));
  EXPECT_EQ(Boot(), 1u);
  EXPECT_OTA(SDB_OTA_BAD_STATE, Install(Release(Image(4000, 3))));
}

TEST_F(OtaTest, AnInterruptedDownloadResumesFromItsSavedState) {
  const Bytes image = Image(300000, 5);
  const Bytes manifest = Release(image);
  sdb_ota_manifest m;
  ASSERT_OTA_OK(sdb_ota_check_manifest(&store_, manifest.data(), manifest.size(), nullptr, &m));
  sdb_ota_image img;
  sdb_ota_image_begin(&img, &m);
  ASSERT_OTA_OK(sdb_ota_image_update(&img, image.data(), 65536));
  sdb_ota_image saved;  // persisted with the slot's bytes so far; the link drops here
  std::memcpy(&saved, &img, sizeof img);
  ASSERT_OTA_OK(sdb_ota_image_update(&saved, image.data() + 65536, image.size() - 65536));
  ASSERT_OTA_OK(sdb_ota_image_finish(&saved));
  ASSERT_OTA_OK(Install(manifest));
}

TEST_F(OtaTest, AStreamedImageMustMatchLengthAndHash) {
  const Bytes image = Image(5000, 2);
  const sdb_ota_manifest m = Manifest(image, 4);
  sdb_ota_image img;
  sdb_ota_image_begin(&img, &m);
  EXPECT_OTA(SDB_OTA_LENGTH_MISMATCH, sdb_ota_image_update(&img, image.data(), 5001));
  ASSERT_OTA_OK(sdb_ota_image_update(&img, image.data(), 4999));
  EXPECT_OTA(SDB_OTA_LENGTH_MISMATCH, sdb_ota_image_finish(&img));
  Bytes flipped = image;
  flipped[7] ^= 4;
  sdb_ota_image_begin(&img, &m);
  ASSERT_OTA_OK(sdb_ota_image_update(&img, flipped.data(), flipped.size()));
  EXPECT_OTA(SDB_OTA_HASH_MISMATCH, sdb_ota_image_finish(&img));
}

class FreshnessTest : public OtaTest {
 protected:
  void SetUp() override {
    OtaTest::SetUp();
    sdb_ota_begin_request(&store_, nonce_);
  }
  sdb_ota_result Accept(const Bytes& stmt) {
    return sdb_ota_accept_freshness(&store_, stmt.data(), stmt.size(), nullptr);
  }
  uint8_t nonce_[SDB_OTA_NONCE_BYTES];
};

TEST_F(FreshnessTest, AnOfferAnsweringThisRequestInstalls) {
  const Bytes manifest = Release(Image(5000, 2));
  const Bytes stmt = Statement(nonce_, manifest);
  sdb_ota_freshness f;
  ASSERT_OTA_OK(sdb_ota_accept_freshness(&store_, stmt.data(), stmt.size(), &f));
  EXPECT_EQ(store_.time_floor_unix_s, kNow + 600);
  EXPECT_EQ(store_.last_fresh_unix_s, kNow + 600);
  ASSERT_EQ(f.has_offer, 1);
  ASSERT_OTA_OK(sdb_ota_check_manifest(&store_, manifest.data(), manifest.size(), f.manifest_sha256,
                                       nullptr));
  const Bytes other = Release(Image(4000, 9));
  EXPECT_OTA(SDB_OTA_NOT_OFFERED, sdb_ota_check_manifest(&store_, other.data(), other.size(),
                                                         f.manifest_sha256, nullptr));
  EXPECT_OTA(SDB_OTA_NOT_OFFERED,
             sdb_ota_install(&store_, other.data(), other.size(), Slots::Read, &slots_));
  slots_.slot[1] = Image(5000, 2);
  ASSERT_OTA_OK(sdb_ota_install(&store_, manifest.data(), manifest.size(), Slots::Read, &slots_));
  EXPECT_EQ(store_.has_offer, 0u);  // an offer installs once
}

TEST_F(FreshnessTest, ARootRotationOrANewRequestEndsAnOffer) {
  const Bytes manifest = Release(Image(5000, 2));
  ASSERT_OTA_OK(Accept(Statement(nonce_, manifest)));
  uint8_t next[SDB_OTA_NONCE_BYTES];
  sdb_ota_begin_request(&store_, next);  // its answer was dropped on the way
  EXPECT_OTA(SDB_OTA_NOT_OFFERED,
             sdb_ota_install(&store_, manifest.data(), manifest.size(), Slots::Read, &slots_));
  ASSERT_OTA_OK(Accept(Statement(next, manifest)));
  const TestKey fresh2 = TestKey::Make();
  const Bytes v2 =
      Sign(EncodeRoot(MakeRoot(2, {&release_[0], &release_[1], &release_[2]}, 2, fresh2)),
           {&release_[0], &release_[1]});
  ASSERT_OTA_OK(sdb_ota_accept_root(&store_, v2.data(), v2.size()));
  EXPECT_EQ(store_.has_offer, 0u);  // the retired online key's offer ends with its root
}

TEST_F(FreshnessTest, AnInstallNotTriedYetIsWithdrawnByTheNextAnswer) {
  ASSERT_OTA_OK(Install(Release(Image(5000, 2))));
  uint8_t next[SDB_OTA_NONCE_BYTES];
  sdb_ota_begin_request(&store_, next);
  ASSERT_OTA_OK(Accept(Statement(next, {}, "dl-7", store_.time_floor_unix_s)));
  EXPECT_EQ(store_.trial, uint32_t{SDB_OTA_TRIAL_NONE});
  ExpectOldFirmware();
}

TEST_F(FreshnessTest, NothingInstallsWithoutAnOffer) {
  const Bytes manifest = Release(Image(5000, 2));
  EXPECT_OTA(SDB_OTA_NOT_OFFERED,
             sdb_ota_install(&store_, manifest.data(), manifest.size(), Slots::Read, &slots_));
  ASSERT_OTA_OK(Accept(Statement(nonce_, {})));  // "nothing to install" clears any offer
  EXPECT_OTA(SDB_OTA_NOT_OFFERED,
             sdb_ota_install(&store_, manifest.data(), manifest.size(), Slots::Read, &slots_));
  ExpectOldFirmware();
}

TEST_F(FreshnessTest, AReplayedStatementFailsTheNonce) {
  const Bytes stmt = Statement(nonce_, {});
  ASSERT_OTA_OK(Accept(stmt));
  EXPECT_OTA(SDB_OTA_STALE_NONCE, Accept(stmt));  // the request was answered
  uint8_t next[SDB_OTA_NONCE_BYTES];
  sdb_ota_begin_request(&store_, next);
  EXPECT_OTA(SDB_OTA_STALE_NONCE, Accept(stmt));  // a new request, an old answer
}

TEST_F(FreshnessTest, TheOnlineKeyCannotPushTheTimeFloorPastTheRoot) {
  // A statement dated at the root's expiry would expire every manifest and root after it.
  EXPECT_OTA(SDB_OTA_EXPIRED, Accept(Statement(nonce_, {}, "dl-7", root_.expires_unix_s)));
  EXPECT_OTA(SDB_OTA_EXPIRED, Accept(Statement(nonce_, {}, "dl-7", INT64_MAX)));
  EXPECT_EQ(store_.time_floor_unix_s, kNow);
  ASSERT_OTA_OK(Accept(Statement(nonce_, {}, "dl-7", root_.expires_unix_s - 1)));
}

TEST_F(FreshnessTest, ADeviceWithoutStatementsForAWeekIsStale) {
  constexpr int64_t kWeek = 7 * kDay;
  EXPECT_EQ(sdb_ota_is_stale(&store_, kWeek), 0);
  sdb_ota_observe_time(&store_, kNow + kWeek);  // its own clock moved on; the server was silent
  EXPECT_EQ(sdb_ota_is_stale(&store_, kWeek), 1);
  ASSERT_OTA_OK(Accept(Statement(nonce_, {}, "dl-7", kNow + kWeek)));
  EXPECT_EQ(sdb_ota_is_stale(&store_, kWeek), 0);
}

TEST_F(FreshnessTest, AStatementForAnotherDeviceIsRefused) {
  const Bytes stmt = Statement(nonce_, {}, "dl-8");
  EXPECT_OTA(SDB_OTA_WRONG_DEVICE, Accept(stmt));
}

TEST_F(FreshnessTest, OnlyTheFreshnessKeySignsStatements) {
  const Bytes stmt = Statement(nonce_, {}, "dl-7", kNow + 600, &release_[0]);
  EXPECT_OTA(SDB_OTA_BELOW_THRESHOLD, Accept(stmt));
  EXPECT_EQ(store_.time_floor_unix_s, kNow);
}

TEST_F(FreshnessTest, AStatementOlderThanTheTimeFloorHasExpired) {
  sdb_ota_observe_time(&store_, kNow + 10 * kDay);
  const Bytes stmt = Statement(nonce_, {}, "dl-7", kNow + 600);
  EXPECT_OTA(SDB_OTA_EXPIRED, Accept(stmt));
}

class RootTest : public OtaTest {
 protected:
  sdb_ota_result Accept(const Bytes& root) {
    return sdb_ota_accept_root(&store_, root.data(), root.size());
  }
};

TEST_F(RootTest, ANewRootNeedsTheOldThresholdAndItsOwn) {
  const TestKey n[2] = {TestKey::Make(), TestKey::Make()};
  const Bytes body = EncodeRoot(MakeRoot(2, {&n[0], &n[1], &release_[2]}, 2, fresh_));
  EXPECT_OTA(SDB_OTA_BELOW_THRESHOLD, Accept(Sign(body, {&n[0], &n[1]})));
  EXPECT_OTA(SDB_OTA_BELOW_THRESHOLD, Accept(Sign(body, {&release_[0], &release_[1]})));
  EXPECT_OTA(SDB_OTA_BELOW_THRESHOLD, Accept(Sign(body, {&release_[0], &n[0]})));
  EXPECT_EQ(store_.root.version, 1u);
  ASSERT_OTA_OK(Accept(Sign(body, {&release_[0], &release_[1], &n[0], &n[1]})));
  EXPECT_EQ(store_.root.version, 2u);
  // The retired keys sign nothing now; the new ones do.
  const Bytes image = Image(5000, 2);
  slots_.slot[1] = image;
  const Bytes old_keys = Sign(EncodeManifest(Manifest(image, 4)), {&release_[0], &release_[1]});
  EXPECT_OTA(SDB_OTA_BELOW_THRESHOLD, Install(old_keys));
  ASSERT_OTA_OK(Install(Sign(EncodeManifest(Manifest(image, 4)), {&n[0], &release_[2]})));
}

TEST_F(RootTest, AnIntermediateRootThatExpiredWhileTheDeviceSleptDoesNotStrandIt) {
  sdb_ota_root v2 = MakeRoot(2, {&release_[0], &release_[1], &release_[2]}, 2, fresh_);
  v2.expires_unix_s = kNow + kDay;
  const sdb_ota_root v3 = MakeRoot(3, {&release_[0], &release_[1], &release_[2]}, 2, fresh_);
  sdb_ota_observe_time(&store_, kNow + 30 * kDay);
  ASSERT_OTA_OK(Accept(Sign(EncodeRoot(v2), {&release_[0], &release_[1]})));
  ASSERT_OTA_OK(Accept(Sign(EncodeRoot(v3), {&release_[0], &release_[1]})));
  ASSERT_OTA_OK(Install(Release(Image(5000, 2))));
}

TEST_F(RootTest, AManifestIsRefusedWhileTheRootHasExpired) {
  const Bytes manifest = Release(Image(5000, 2));
  ASSERT_OTA_OK(Offer(manifest));
  sdb_ota_observe_time(&store_, root_.expires_unix_s);
  EXPECT_OTA(SDB_OTA_EXPIRED,
             sdb_ota_install(&store_, manifest.data(), manifest.size(), Slots::Read, &slots_));
}

TEST_F(RootTest, RootsAreAcceptedOneVersionAtATime) {
  const Bytes v3 = EncodeRoot(MakeRoot(3, {&release_[0], &release_[1]}, 2, fresh_));
  EXPECT_OTA(SDB_OTA_WRONG_ROOT, Accept(Sign(v3, {&release_[0], &release_[1]})));
  const Bytes v1 = EncodeRoot(MakeRoot(1, {&release_[0], &release_[1]}, 2, fresh_));
  EXPECT_OTA(SDB_OTA_WRONG_ROOT, Accept(Sign(v1, {&release_[0], &release_[1]})));
}

TEST_F(RootTest, AManifestOfAnotherRootVersionIsRefused) {
  const Bytes image = Image(5000, 2);
  slots_.slot[1] = image;
  sdb_ota_manifest m = Manifest(image, 4);
  m.root_version = 2;
  EXPECT_OTA(SDB_OTA_WRONG_ROOT, Install(Sign(EncodeManifest(m), {&release_[0], &release_[1]})));
}

TEST_F(OtaTest, ProvisioningRefusesARootItsOwnKeysDidNotSign) {
  sdb_ota_store fresh_store{};
  const Bytes root = Sign(EncodeRoot(root_), {&release_[0]});
  EXPECT_OTA(SDB_OTA_BELOW_THRESHOLD,
             sdb_ota_provision(&fresh_store, "greenhouse", "dl-9", "DL-200", root.data(),
                               root.size(), kNow, 0, factory_.size(), 3, Slots::Read, &slots_));
}

// The codec: one encoding per value, nothing read past the input.
TEST(OtaCodec, RoundTripsAManifest) {
  sdb_ota_manifest m{};
  std::strcpy(m.project, "greenhouse");
  m.root_version = 7;
  std::strcpy(m.hardware_model, "DL-200 rev B");
  std::strcpy(m.version, "2.1.0-rc.1+build.5");
  m.security_version = 1ull << 40;
  m.image_length = 1 << 20;
  for (int i = 0; i < 32; ++i) m.image_sha256[i] = static_cast<uint8_t>(i);
  m.created_unix_s = -5;
  m.expires_unix_s = 400 * kDay - 5;
  const char notes[] = "fixes the RS-485 timeout";
  m.notes = reinterpret_cast<const uint8_t*>(notes);
  m.notes_len = sizeof notes - 1;
  const Bytes body = EncodeManifest(m);
  sdb_ota_manifest d;
  ASSERT_EQ(sdb_ota_decode_manifest(body.data(), body.size(), &d), SDB_OTA_OK);
  EXPECT_STREQ(d.hardware_model, m.hardware_model);
  EXPECT_STREQ(d.version, m.version);
  EXPECT_EQ(d.security_version, m.security_version);
  EXPECT_EQ(d.created_unix_s, -5);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(d.notes), d.notes_len), notes);
  EXPECT_EQ(EncodeManifest(d), body);
  // Every proper prefix, and the body with a byte more, is malformed.
  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_EQ(sdb_ota_decode_manifest(body.data(), n, &d), SDB_OTA_MALFORMED) << n;
  }
  Bytes longer = body;
  longer.push_back(0);
  EXPECT_EQ(sdb_ota_decode_manifest(longer.data(), longer.size(), &d), SDB_OTA_MALFORMED);
}

TEST(OtaCodec, RefusesAnUnknownFormatAndNonMinimalVarints) {
  sdb_ota_freshness f{};
  std::strcpy(f.project, "p");
  std::strcpy(f.device, "d");
  f.valid_for_s = 60;
  Bytes body = EncodeFreshness(f);
  sdb_ota_freshness d;
  ASSERT_EQ(sdb_ota_decode_freshness(body.data(), body.size(), &d), SDB_OTA_OK);
  body[28] = 2;  // format_version, right after the 28-byte tag
  EXPECT_EQ(sdb_ota_decode_freshness(body.data(), body.size(), &d), SDB_OTA_UNSUPPORTED_FORMAT);
  body[28] = 0x81;  // 1 as two bytes
  body.insert(body.begin() + 29, 0x00);
  EXPECT_EQ(sdb_ota_decode_freshness(body.data(), body.size(), &d), SDB_OTA_MALFORMED);
}

TEST(OtaCodec, RefusesRootsOutOfBounds) {
  sdb_ota_root r{};
  std::strcpy(r.project, "greenhouse");
  r.version = 1;
  r.key_count = 2;
  r.threshold = 3;  // k > n
  r.keys[1][0] = 1;
  r.freshness_key[0] = 2;
  r.created_unix_s = 0;
  r.expires_unix_s = kDay;
  uint8_t out[2048];
  size_t len;
  EXPECT_EQ(sdb_ota_encode_root(&r, out, sizeof out, &len), SDB_OTA_MALFORMED);
  r.threshold = 2;
  ASSERT_EQ(sdb_ota_encode_root(&r, out, sizeof out, &len), SDB_OTA_OK);
  std::memcpy(r.keys[1], r.keys[0], SDB_OTA_KEY_BYTES);  // the same key twice
  EXPECT_EQ(sdb_ota_encode_root(&r, out, sizeof out, &len), SDB_OTA_MALFORMED);
  r.keys[1][0] = 1;
  std::memcpy(r.freshness_key, r.keys[0], SDB_OTA_KEY_BYTES);  // the online key as a release key
  EXPECT_EQ(sdb_ota_encode_root(&r, out, sizeof out, &len), SDB_OTA_MALFORMED);
  EXPECT_EQ(sdb_ota_encode_root(&r, out, 10, &len), SDB_OTA_MALFORMED);  // no room
}

}  // namespace
}  // namespace sensordb::ota_test
