// The simulated logger over files: an update across restarts, a power cut mid-download, bytes
// changed on disk after they were counted, a replayed offer, a damaged store, a reset on trial.
#include "ota_logger.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ota_fixture.h"

namespace sensordb::bench {
namespace {

using ota_fuzz::Bytes;
using ota_fuzz::Fixture;

class OtaLoggerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sdb_ota_init(), SDB_OTA_OK);
    dir_ = ::testing::TempDir() + "ota-logger-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    const Bytes root = fixture_.SignedRoot();
    const Bytes factory(3000, 'F');
    auto l = OtaLogger::Provision(dir_, "greenhouse", "dl-7", "DL-200", root, factory, 1,
                                  ota_fuzz::kNow);
    ASSERT_TRUE(l.has_value()) << l.error().message();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  OtaLogger Reopen() {
    auto l = OtaLogger::Open(dir_);
    EXPECT_TRUE(l.has_value()) << l.error().message();
    return std::move(*l);
  }

  // Asks for an offer and accepts the fixture's statement, which offers its manifest.
  void Offer(OtaLogger& l) {
    const auto nonce = l.NewNonce();
    ASSERT_TRUE(nonce.has_value()) << nonce.error().message();
    auto f = l.AcceptFreshness(fixture_.SignedFreshness(nonce->data()));
    ASSERT_TRUE(f.has_value()) << f.error().message();
  }

  // Downloads [from, to) of the fixture's image in 1000-byte chunks.
  void Download(OtaLogger& l, uint64_t from, uint64_t to) {
    const Bytes& img = fixture_.image;
    for (uint64_t off = from; off < to; off += 1000) {
      const size_t n = size_t(std::min<uint64_t>(1000, to - off));
      ASSERT_TRUE(l.WriteChunk(off, {img.data() + off, n}).ok());
    }
  }

  void FlipByte(const std::string& path, std::streamoff at) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(at);
    char c = 0;
    f.get(c);
    f.seekp(at);
    f.put(char(c ^ 0x10));
  }

  Fixture fixture_{10000};
  std::string dir_;
};

TEST_F(OtaLoggerTest, AnUpdateSurvivesRestartsAndIsConfirmed) {
  {
    OtaLogger l = Reopen();
    ASSERT_EQ(*l.PowerOn(), 0u);
    Offer(l);
    ASSERT_TRUE(l.BeginDownload(fixture_.SignedManifest()).ok());
    Download(l, 0, fixture_.image.size());
    ASSERT_TRUE(l.FinishDownload().ok());
  }
  {
    OtaLogger l = Reopen();  // the reset that starts the new firmware
    EXPECT_EQ(*l.PowerOn(), 1u);
    ASSERT_TRUE(l.ConfirmHealthy().ok());
  }
  OtaLogger l = Reopen();
  EXPECT_EQ(*l.PowerOn(), 1u);
  EXPECT_EQ(l.store().security_version, 2u);
  EXPECT_EQ(l.store().active_slot, 1u);
}

TEST_F(OtaLoggerTest, APowerCutMidDownloadResumesWhereTheDiskStopped) {
  {
    OtaLogger l = Reopen();
    Offer(l);
    ASSERT_TRUE(l.BeginDownload(fixture_.SignedManifest()).ok());
    Download(l, 0, 6000);
  }  // power cut
  OtaLogger l = Reopen();
  EXPECT_EQ(l.DownloadOffset(), 6000u);
  EXPECT_FALSE(l.WriteChunk(0, {fixture_.image.data(), 10}).ok());  // not where it stopped
  Download(l, 6000, fixture_.image.size());
  ASSERT_TRUE(l.FinishDownload().ok());
  EXPECT_EQ(*l.PowerOn(), 1u);
}

TEST_F(OtaLoggerTest, BytesChangedOnDiskAfterTheyWereCountedAreNotInstalled) {
  OtaLogger l = Reopen();
  Offer(l);
  ASSERT_TRUE(l.BeginDownload(fixture_.SignedManifest()).ok());
  Download(l, 0, fixture_.image.size());
  FlipByte(l.SlotPath(1), 4321);
  const Status s = l.FinishDownload();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(l.last_result(), SDB_OTA_HASH_MISMATCH) << s.message();
  EXPECT_EQ(l.store().trial, uint32_t{SDB_OTA_TRIAL_NONE});
  EXPECT_EQ(*l.PowerOn(), 0u);
}

TEST_F(OtaLoggerTest, AnAnswerToAnEarlierRequestIsStale) {
  const Bytes old = [&] {
    OtaLogger l = Reopen();
    return fixture_.SignedFreshness(l.NewNonce()->data());
  }();
  OtaLogger l = Reopen();                 // a restart keeps the pending request
  ASSERT_TRUE(l.NewNonce().has_value());  // a new request
  EXPECT_FALSE(l.AcceptFreshness(old).has_value());
  EXPECT_EQ(l.last_result(), SDB_OTA_STALE_NONCE);
  EXPECT_FALSE(l.BeginDownload(fixture_.SignedManifest()).ok());
  EXPECT_EQ(l.last_result(), SDB_OTA_NOT_OFFERED);
}

TEST_F(OtaLoggerTest, ADamagedStoreIsRefusedNamingTheFile) {
  const std::string store = dir_ + "/ota-store";
  FlipByte(store, 40);
  std::ifstream in(store, std::ios::binary);
  const std::string before((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto l = OtaLogger::Open(dir_);
  ASSERT_FALSE(l.has_value());
  EXPECT_EQ(l.error().code(), StatusCode::kCorruption);
  EXPECT_NE(l.error().message().find(store), std::string::npos) << l.error().message();
  std::ifstream again(store, std::ios::binary);
  const std::string after((std::istreambuf_iterator<char>(again)),
                          std::istreambuf_iterator<char>());
  EXPECT_EQ(before, after);  // refused, not repaired or reset
}

TEST_F(OtaLoggerTest, AResetOnTrialBootsTheOldFirmware) {
  {
    OtaLogger l = Reopen();
    Offer(l);
    ASSERT_TRUE(l.BeginDownload(fixture_.SignedManifest()).ok());
    Download(l, 0, fixture_.image.size());
    ASSERT_TRUE(l.FinishDownload().ok());
    EXPECT_EQ(*l.PowerOn(), 1u);
  }  // the new firmware hangs; the watchdog resets
  OtaLogger l = Reopen();
  EXPECT_EQ(*l.PowerOn(), 0u);
  EXPECT_EQ(l.store().rolled_back, 1u);
  EXPECT_EQ(l.store().security_version, 1u);
  EXPECT_FALSE(l.ConfirmHealthy().ok());
}

}  // namespace
}  // namespace sensordb::bench
