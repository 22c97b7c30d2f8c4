// Firmware over the device's own mutual-TLS session (docs/OTA.md "Transfer"), end to end: a real
// device listener on 127.0.0.1, devices enrolled with keys and CSRs, and a simulated logger
// running the real agent (bench/ota_logger.h) that asks for its offer, reads the image in 64 KiB
// ranges, installs, boots and confirms it. A device outside the rollout, a device of another
// project, a paused rollout and a fast reader are refused.
#include <fmt/format.h>
#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "firmware/firmware_store.h"
#include "net/device_fixture.h"
#include "ota_fixture.h"
#include "ota_logger.h"
#include "sensordb/protocol/firmware_codec.h"

namespace sensordb::server {
namespace {

using ota_fuzz::Bytes;
using ota_fuzz::SignWith;
using testing::DeviceServerFixture;
using testing::Slurp;
using testing::TestClient;

constexpr char kProject[] = "greenhouse";  // the agent fixture's project
constexpr uint32_t kBytesPerSecond = 192 * 1024;

// The code of a result: kOk when it holds a value (so a refusal that regresses fails cleanly).
template <typename T>
StatusCode CodeOf(const Result<T>& r) {
  return r.has_value() ? StatusCode::kOk : r.error().code();
}

class FirmwareTransferTest : public DeviceServerFixture {
 protected:
  FirmwareTransferTest() : DeviceServerFixture({kProject, "other"}, /*mqtt=*/false) {}

  void Configure(ServerConfig& c) override {
    DeviceServerFixture::Configure(c);
    c.devices.firmware_bytes_per_second = kBytesPerSecond;
  }

  void SetUp() override {
    ASSERT_EQ(sdb_ota_init(), SDB_OTA_OK);
    DeviceServerFixture::SetUp();
    if (HasFatalFailure()) return;
    // The project's firmware as release managers and the operator set it up: the server's
    // freshness key in a root signed by two of three release keys, one signed release.
    store_ = std::make_unique<firmware::FirmwareStore>(*db_);
    auto fresh = store_->FreshnessKey(kProject);
    ASSERT_TRUE(fresh.has_value()) << fresh.error().ToString();
    now_ = WallClockNs() / kNanosPerSecond;
    sdb_ota_root root = fx_.Root(1, fx_.release[2]);
    std::memcpy(root.freshness_key, fresh->data(), fresh->size());
    root.created_unix_s = now_ - 86400;
    root.expires_unix_s = now_ + 365 * 86400;
    root1_ =
        SignWith(ota_fuzz::Encode(root, sdb_ota_encode_root), {&fx_.release[0], &fx_.release[1]});
    ASSERT_EQ(store_->AddRoot(kProject, root1_).value_or(0), 1u);
    sdb_ota_manifest m = fx_.Manifest();
    m.created_unix_s = now_ - 60;
    m.expires_unix_s = now_ + 30 * 86400;
    const Bytes manifest =
        SignWith(ota_fuzz::Encode(m, sdb_ota_encode_manifest), {&fx_.release[0], &fx_.release[2]});
    size_t at = 0;
    auto rel =
        store_->AddRelease(kProject, manifest, [&](std::span<uint8_t> out) -> Result<size_t> {
          const size_t n = std::min(out.size(), fx_.image.size() - at);
          std::copy_n(fx_.image.begin() + long(at), n, out.begin());
          at += n;
          return n;
        });
    ASSERT_TRUE(rel.has_value()) << rel.error().ToString();
    release_ = *rel;
  }

  // A device of `project` enrolled and connected to the native device stream, Hello done.
  std::unique_ptr<TestClient> Device(const std::string& project, const std::string& device) {
    const testing::DeviceFiles f = Enroll(project, device);
    if (f.serial.empty()) return nullptr;
    auto c = DeviceClient(f);
    EXPECT_TRUE(c->Send(protocol::EncodeHello(next_id_++, {})));
    auto hello = c->Receive();
    EXPECT_TRUE(hello && hello->type() == wire::Message::HelloReply) << ErrorOf(hello).ToString();
    return c;
  }

  // The reply to GetFirmwareOffer (kept alive in `frame`), or the error. `patient`: waits out
  // the device's rate limit (bounded: 50 tries), as a device does.
  Result<protocol::FirmwareOfferView> Offer(TestClient& c, std::span<const uint8_t> nonce,
                                            const std::string& project, const std::string& version,
                                            std::optional<protocol::Frame>* frame,
                                            bool patient = true, uint64_t root_version = 1) {
    const std::vector<uint8_t> n(nonce.begin(), nonce.end());
    for (int tries = 0;; ++tries) {
      EXPECT_TRUE(c.Send(protocol::EncodeGetFirmwareOffer(
          next_id_++, {project, n, "DL-200", version, 1, root_version})));
      *frame = c.Receive();
      if (*frame && (*frame)->type() == wire::Message::FirmwareOffer) {
        return protocol::DecodeFirmwareOffer(*(*frame)->As<wire::FirmwareOffer>());
      }
      const Status error = ErrorOf(*frame);
      if (!patient || error.code() != StatusCode::kRateLimited || tries >= 50) return Err(error);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // One ReportFirmware: Ok when the server answered Done. Waits out the device's rate limit
  // (bounded: 50 tries), as a device does.
  Status Report(TestClient& c, const std::string& project, uint64_t id, firmware::FirmwareStep step,
                const std::string& reason, const std::string& version = "1.0.0") {
    for (int tries = 0;; ++tries) {
      EXPECT_TRUE(c.Send(protocol::EncodeReportFirmware(
          next_id_++, {project, id, uint8_t(step), reason, version, 1, 1})));
      auto frame = c.Receive();
      if (frame && frame->type() == wire::Message::Done) return Status::Ok();
      const Status error = ErrorOf(frame);
      if (error.code() != StatusCode::kRateLimited || tries >= 50) return error;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  // A logger of this project holding root 1 and a factory image, as provisioned.
  Result<bench::OtaLogger> Logger(const std::string& device) {
    return bench::OtaLogger::Provision(dir_.Sub("logger-" + device), kProject, device, "DL-200",
                                       root1_, Bytes(3000, 'F'), 1, now_ - 3600);
  }

  // Reads the offered image into the logger's slot one 64 KiB range at a time, waiting out the
  // device's byte rate (bounded: 200 tries); `damage` may change a range before it is written
  // (flash gone bad). Returns how many reads were refused as RateLimited.
  int Download(TestClient& c, bench::OtaLogger& logger,
               const std::function<void(uint64_t at, std::string& bytes)>& damage = {}) {
    int refused = 0;
    for (int tries = 0; tries < 200 && logger.DownloadOffset() < logger.DownloadLength(); ++tries) {
      const uint64_t at = logger.DownloadOffset();
      auto bytes = Read(c, kProject, release_.id, at, protocol::kMaxFirmwareReadBytes);
      if (!bytes && bytes.error().code() == StatusCode::kRateLimited) {
        ++refused;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      EXPECT_TRUE(bytes.has_value()) << bytes.error().ToString();
      if (!bytes) break;
      if (damage) damage(at, *bytes);
      const Status written =
          logger.WriteChunk(at, {reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()});
      EXPECT_TRUE(written.ok()) << written.ToString();
      if (!written.ok()) break;
    }
    return refused;
  }

  // One ReadFirmware: the bytes, or the error.
  Result<std::string> Read(TestClient& c, const std::string& project, uint64_t id, uint64_t offset,
                           uint32_t length) {
    EXPECT_TRUE(c.Send(protocol::EncodeReadFirmware(next_id_++, {project, id, offset, length})));
    auto frame = c.Receive();
    if (!frame || frame->type() != wire::Message::FirmwareData) return Err(ErrorOf(frame));
    auto data = protocol::DecodeFirmwareData(*frame->As<wire::FirmwareData>());
    if (!data) return Err(data.error());
    EXPECT_EQ(data->offset, offset);
    return std::string(data->bytes.begin(), data->bytes.end());
  }

  std::unique_ptr<firmware::FirmwareStore> store_;
  ota_fuzz::Fixture fx_{200'000};  // four 64 KiB reads
  Bytes root1_;
  firmware::Release release_;
  int64_t now_ = 0;
  uint64_t next_id_ = 1;
};

TEST_F(FirmwareTransferTest, ALoggerInstallsWhatARolloutOffersItOverItsOwnSession) {
  auto dl7 = Device(kProject, "dl-7");
  ASSERT_TRUE(dl7);
  auto logger = Logger("dl-7");
  ASSERT_TRUE(logger.has_value()) << logger.error().ToString();

  // No rollout yet: a fresh statement offering nothing, which the agent accepts; the image is
  // not readable.
  auto nonce = logger->NewNonce();
  ASSERT_TRUE(nonce.has_value());
  std::optional<protocol::Frame> frame;
  auto offer = Offer(*dl7, *nonce, kProject, "1.0.0", &frame);
  ASSERT_TRUE(offer.has_value()) << offer.error().ToString();
  EXPECT_EQ(offer->image_id, 0u);
  EXPECT_TRUE(offer->roots.empty());  // the device holds root 1, the newest
  auto accepted = logger->AcceptFreshness(offer->statement);
  ASSERT_TRUE(accepted.has_value()) << accepted.error().ToString();
  EXPECT_EQ(accepted->has_offer, 0u);
  EXPECT_EQ(CodeOf(Read(*dl7, kProject, release_.id, 0, 1024)), StatusCode::kNotFound);

  auto rollout = store_->CreateRollout(kProject, release_.id, {"dl-7", "dl-9"});
  ASSERT_TRUE(rollout.has_value()) << rollout.error().ToString();

  // A device holding no root newer than version 0 gets root 1 with the offer.
  nonce = logger->NewNonce();
  ASSERT_TRUE(nonce.has_value());
  auto with_roots = Offer(*dl7, *nonce, kProject, "1.0.0", &frame, true, /*root_version=*/0);
  ASSERT_TRUE(with_roots.has_value()) << with_roots.error().ToString();
  ASSERT_EQ(with_roots->roots.size(), 1u);
  EXPECT_EQ(Bytes(with_roots->roots[0].begin(), with_roots->roots[0].end()), root1_);
  ASSERT_EQ(with_roots->image_id, release_.id);
  ASSERT_TRUE(logger->AcceptFreshness(with_roots->statement).has_value());
  ASSERT_TRUE(logger->BeginDownload(with_roots->manifest).ok())
      << sdb_ota_result_name(logger->last_result());
  EXPECT_EQ(with_roots->image_length, fx_.image.size());

  // The download, one chunk per request; the per-device byte rate refuses a reader faster than
  // 192 KiB/s (the image is 200 kB and offers count: the burst does not cover it), who waits and
  // goes on.
  EXPECT_GT(Download(*dl7, *logger), 0);
  ASSERT_TRUE(logger->FinishDownload().ok()) << sdb_ota_result_name(logger->last_result());
  auto slot = logger->PowerOn();
  ASSERT_TRUE(slot.has_value()) << slot.error().ToString();
  ASSERT_TRUE(logger->ConfirmHealthy().ok());
  EXPECT_EQ(logger->store().security_version, 2u);

  // Running the release's version, nothing more is offered.
  nonce = logger->NewNonce();
  ASSERT_TRUE(nonce.has_value());
  offer = Offer(*dl7, *nonce, kProject, "2.0.0", &frame);
  ASSERT_TRUE(offer.has_value()) << offer.error().ToString();
  EXPECT_EQ(offer->image_id, 0u);
  ASSERT_TRUE(logger->AcceptFreshness(offer->statement).has_value());
}

TEST_F(FirmwareTransferTest, OnlyTheDevicesOfARunningRolloutReadItsImage) {
  ASSERT_TRUE(store_->CreateRollout(kProject, release_.id, {"dl-7"}).has_value());
  const std::vector<uint8_t> nonce(16, 0x5a);
  std::optional<protocol::Frame> frame;

  // Another device of the project: nothing offered, the image "does not exist".
  auto dl8 = Device(kProject, "dl-8");
  ASSERT_TRUE(dl8);
  auto offer = Offer(*dl8, nonce, kProject, "1.0.0", &frame);
  ASSERT_TRUE(offer.has_value()) << offer.error().ToString();
  EXPECT_EQ(offer->image_id, 0u);
  EXPECT_EQ(CodeOf(Read(*dl8, kProject, release_.id, 0, 1024)), StatusCode::kNotFound);

  // A device of another project, even named like the targeted one: the project is not its own.
  auto foreign = Device("other", "dl-7");
  ASSERT_TRUE(foreign);
  EXPECT_EQ(CodeOf(Offer(*foreign, nonce, kProject, "1.0.0", &frame)), StatusCode::kNotFound);
  EXPECT_EQ(CodeOf(Read(*foreign, kProject, release_.id, 0, 1024)), StatusCode::kNotFound);
  // Its own project has no firmware: refused, nothing signed.
  EXPECT_EQ(CodeOf(Offer(*foreign, nonce, "other", "1.0.0", &frame)),
            StatusCode::kFailedPrecondition);

  // The targeted device reads; paused, it cannot; resumed, it can again; a release offered by
  // a rollout that is not cancelled cannot be removed.
  auto dl7 = Device(kProject, "dl-7");
  ASSERT_TRUE(dl7);
  auto first = Read(*dl7, kProject, release_.id, 0, 1000);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  EXPECT_EQ(Bytes(first->begin(), first->end()),
            Bytes(fx_.image.begin(), fx_.image.begin() + 1000));
  ASSERT_TRUE(store_->SetRolloutState(kProject, 1, firmware::RolloutState::kPaused).has_value());
  EXPECT_EQ(CodeOf(Read(*dl7, kProject, release_.id, 0, 1000)), StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteRelease(kProject, release_.id).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->SetRolloutState(kProject, 1, firmware::RolloutState::kRunning).has_value());
  EXPECT_TRUE(Read(*dl7, kProject, release_.id, 1000, 1000).has_value());
  // Out of bounds reads are refused by the decoder, before any lookup.
  EXPECT_EQ(
      Read(*dl7, kProject, release_.id, 0, protocol::kMaxFirmwareReadBytes + 1).error().code(),
      StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_->SetRolloutState(kProject, 1, firmware::RolloutState::kCancelled).has_value());
  EXPECT_EQ(CodeOf(store_->SetRolloutState(kProject, 1, firmware::RolloutState::kRunning)),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(CodeOf(Read(*dl7, kProject, release_.id, 0, 1000)), StatusCode::kNotFound);
  EXPECT_TRUE(store_->DeleteRelease(kProject, release_.id).ok());
}

TEST_F(FirmwareTransferTest, RolloutsAreCheckedAndKeptSealed) {
  EXPECT_EQ(CodeOf(store_->CreateRollout(kProject, release_.id, {})), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(store_->CreateRollout(kProject, release_.id, {std::string("dl\n7")})),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(store_->CreateRollout(kProject, release_.id + 1, {"dl-7"})),
            StatusCode::kNotFound);
  EXPECT_EQ(CodeOf(store_->CreateRollout("other", release_.id, {"dl-7"})), StatusCode::kNotFound);
  auto r = store_->CreateRollout(kProject, release_.id, {"dl-9", "dl-7", "dl-9"});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->id, 1u);
  EXPECT_EQ(r->devices, (std::vector<std::string>{"dl-7", "dl-9"}));
  auto second = store_->CreateRollout(kProject, release_.id, {"dl-8"});
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->id, 2u);
  auto all = store_->Rollouts(kProject);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].devices, std::vector<std::string>{"dl-8"});
  EXPECT_EQ(CodeOf(store_->SetRolloutState(kProject, 3, firmware::RolloutState::kPaused)),
            StatusCode::kNotFound);
  // The rollouts are one 64 KiB secret: a rollout that does not fit is refused unless cancelled
  // rollouts, dropped oldest first, make room.
  std::vector<std::string> fleet;
  for (int i = 0; i < 1024; ++i) fleet.push_back(fmt::format("{:0>50}", i));
  auto big = store_->CreateRollout(kProject, release_.id, fleet);
  ASSERT_TRUE(big.has_value()) << big.error().ToString();
  EXPECT_EQ(CodeOf(store_->CreateRollout(kProject, release_.id, fleet)),
            StatusCode::kResourceExhausted);
  ASSERT_TRUE(
      store_->SetRolloutState(kProject, big->id, firmware::RolloutState::kCancelled).has_value());
  std::vector<uint64_t> dropped;
  auto again = store_->CreateRollout(kProject, release_.id, fleet, {}, &dropped);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_EQ(dropped, std::vector<uint64_t>{big->id});  // named, for the audit entry
  all = store_->Rollouts(kProject);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 3u);  // 1, 2 and the new one; the cancelled big one made room
  EXPECT_EQ(all->back().id, big->id + 1);
  EXPECT_EQ((*all)[1].id, 2u);
  EXPECT_EQ(
      CodeOf(store_->CreateRollout(kProject, release_.id, std::vector<std::string>(1025, "x"))),
      StatusCode::kOk);  // duplicates collapse to one name
  // Sealed under the project's key: no device name in clear anywhere in the data directory.
  ASSERT_TRUE(db_->Flush().ok());
  for (const auto& e : std::filesystem::recursive_directory_iterator(config_.data_dir)) {
    if (!e.is_regular_file()) continue;
    EXPECT_EQ(Slurp(e.path().string()).find("dl-9"), std::string::npos) << e.path();
  }
}

TEST_F(FirmwareTransferTest, ARolloutLeftBehindByARootRotationOffersNothingButTheNewRoot) {
  ASSERT_TRUE(store_->CreateRollout(kProject, release_.id, {"dl-7"}).has_value());
  auto fresh = store_->FreshnessKey(kProject);
  ASSERT_TRUE(fresh.has_value());
  sdb_ota_root root2 = fx_.Root(2, fx_.next);
  std::memcpy(root2.freshness_key, fresh->data(), fresh->size());
  root2.created_unix_s = now_ - 60;
  root2.expires_unix_s = now_ + 365 * 86400;
  const Bytes root2_file =
      SignWith(ota_fuzz::Encode(root2, sdb_ota_encode_root), {&fx_.release[0], &fx_.release[1]});
  ASSERT_EQ(store_->AddRoot(kProject, root2_file).value_or(0), 2u);

  // The release is of root 1: the device still gets its statement and root 2, and no offer.
  auto dl7 = Device(kProject, "dl-7");
  ASSERT_TRUE(dl7);
  const std::vector<uint8_t> nonce(16, 0x11);
  std::optional<protocol::Frame> frame;
  auto offer = Offer(*dl7, nonce, kProject, "1.0.0", &frame);
  ASSERT_TRUE(offer.has_value()) << offer.error().ToString();
  EXPECT_EQ(offer->image_id, 0u);
  ASSERT_EQ(offer->roots.size(), 1u);
  EXPECT_EQ(Bytes(offer->roots[0].begin(), offer->roots[0].end()), root2_file);
  // Such a rollout cannot be created or resumed either.
  EXPECT_EQ(CodeOf(store_->CreateRollout(kProject, release_.id, {"dl-8"})),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->SetRolloutState(kProject, 1, firmware::RolloutState::kPaused).has_value());
  EXPECT_EQ(CodeOf(store_->SetRolloutState(kProject, 1, firmware::RolloutState::kRunning)),
            StatusCode::kFailedPrecondition);
}

TEST_F(FirmwareTransferTest, ReadsPastTheEndAndFloodsOfOffersAreRefused) {
  ASSERT_TRUE(store_->CreateRollout(kProject, release_.id, {"dl-7"}).has_value());
  auto dl7 = Device(kProject, "dl-7");
  ASSERT_TRUE(dl7);
  auto at_end = Read(*dl7, kProject, release_.id, fx_.image.size(), 1024);
  ASSERT_TRUE(at_end.has_value()) << at_end.error().ToString();
  EXPECT_TRUE(at_end->empty());
  auto past = Read(*dl7, kProject, release_.id, uint64_t{1} << 62, 1024);
  ASSERT_FALSE(past.has_value());
  EXPECT_EQ(past.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(past.error().message().find("past the end of firmware image"), std::string::npos)
      << past.error().ToString();
  // Each offer costs 64 KiB of the device's 192 KiB/s: a burst of ten cannot all pass.
  const std::vector<uint8_t> nonce(16, 0x22);
  std::optional<protocol::Frame> frame;
  int limited = 0;
  for (int i = 0; i < 10; ++i) {
    limited += CodeOf(Offer(*dl7, nonce, kProject, "1.0.0", &frame, /*patient=*/false)) ==
               StatusCode::kRateLimited;
  }
  EXPECT_GT(limited, 0);
}

// Devices report each step into the registry; a wave whose failures pass the threshold halts the
// rollout (audited), after which nothing more is offered or served until an operator resumes.
// The first failure is real: a logger whose flash flipped a byte of the image, refused by the
// agent with its named reason.
TEST_F(FirmwareTransferTest, AWaveThatFailsHaltsTheRolloutAndReportsReachTheRegistry) {
  using firmware::FirmwareStep;
  auto dl7 = Device(kProject, "dl-7");
  auto dl8 = Device(kProject, "dl-8");
  auto dl9 = Device(kProject, "dl-9");
  auto stranger = Device(kProject, "dl-5");
  ASSERT_TRUE(dl7 && dl8 && dl9 && stranger);
  // One wave of three; more than 40 % failed (two devices) halts it.
  auto rollout =
      store_->CreateRollout(kProject, release_.id, {"dl-7", "dl-8", "dl-9"}, {{100}, 40, 0, {}});
  ASSERT_TRUE(rollout.has_value()) << rollout.error().ToString();
  const uint64_t audit_from = auth_->audit().Head().entries + 1;

  // dl-7 downloads with one byte flipped on its way to flash: the agent refuses the image.
  auto logger = Logger("dl-7");
  ASSERT_TRUE(logger.has_value()) << logger.error().ToString();
  auto nonce = logger->NewNonce();
  ASSERT_TRUE(nonce.has_value());
  std::optional<protocol::Frame> frame;
  auto offer = Offer(*dl7, *nonce, kProject, "1.0.0", &frame);
  ASSERT_TRUE(offer.has_value()) << offer.error().ToString();
  ASSERT_EQ(offer->image_id, release_.id);
  ASSERT_TRUE(logger->AcceptFreshness(offer->statement).has_value());
  ASSERT_TRUE(logger->BeginDownload(offer->manifest).ok());
  EXPECT_TRUE(Report(*dl7, kProject, release_.id, FirmwareStep::kDownloading, "").ok());
  Download(*dl7, *logger, [](uint64_t at, std::string& bytes) {
    if (at == 0) bytes[100] ^= 0x20;  // the flipped bit
  });
  ASSERT_FALSE(logger->FinishDownload().ok());
  const std::string reason = sdb_ota_result_name(logger->last_result());
  EXPECT_EQ(reason, "hash-mismatch");
  Status reported = Report(*dl7, kProject, release_.id, FirmwareStep::kFailed, reason);
  ASSERT_TRUE(reported.ok()) << reported.ToString();
  // One of three is 33 %: still running, dl-9 is offered the release.
  EXPECT_EQ(store_->Rollouts(kProject)->front().state, firmware::RolloutState::kRunning);
  EXPECT_TRUE(Read(*dl9, kProject, release_.id, 0, 1024).has_value());

  // Reports the server refuses: about a release no rollout named the device for, from a device
  // outside the rollout, for another project, a step that does not exist.
  EXPECT_EQ(Report(*dl7, kProject, release_.id + 1, FirmwareStep::kFailed, "x").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(Report(*stranger, kProject, release_.id, FirmwareStep::kFailed, "x").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(Report(*dl8, "other", release_.id, FirmwareStep::kFailed, "x").code(),
            StatusCode::kNotFound);
  EXPECT_EQ(Report(*dl8, kProject, release_.id, FirmwareStep(9), "x").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Rollouts(kProject)->front().state, firmware::RolloutState::kRunning);

  // dl-8's trial boot failed: the second failure, 67 % > 40 %, halts the rollout.
  reported = Report(*dl8, kProject, release_.id, FirmwareStep::kRolledBack, "");
  ASSERT_TRUE(reported.ok()) << reported.ToString();
  EXPECT_EQ(store_->Rollouts(kProject)->front().state, firmware::RolloutState::kHalted);
  EXPECT_EQ(CodeOf(Read(*dl9, kProject, release_.id, 0, 1024)), StatusCode::kNotFound);
  auto logger9 = Logger("dl-9");
  ASSERT_TRUE(logger9.has_value());
  nonce = logger9->NewNonce();
  ASSERT_TRUE(nonce.has_value());
  offer = Offer(*dl9, *nonce, kProject, "1.0.0", &frame);
  ASSERT_TRUE(offer.has_value()) << offer.error().ToString();
  EXPECT_EQ(offer->image_id, 0u);  // a statement offering nothing
  // A device still reports on a halted rollout's release (it may be mid-install).
  EXPECT_TRUE(Report(*dl9, kProject, release_.id, FirmwareStep::kOffered, "").ok());

  // The metrics show it by project id: halted, its three devices by their last step.
  const uint32_t pid = db_->GetProject(kProject)->id;
  bool shown = false;
  for (const RolloutStatus& st : registry_->RolloutStatuses()) {
    if (st.project_id != pid || st.rollout != rollout->id) continue;
    shown = true;
    EXPECT_EQ(st.state, firmware::RolloutState::kHalted);
    EXPECT_EQ(st.steps[uint8_t(FirmwareStep::kFailed)], 1u);
    EXPECT_EQ(st.steps[uint8_t(FirmwareStep::kRolledBack)], 1u);
    EXPECT_EQ(st.steps[uint8_t(FirmwareStep::kOffered)], 1u);
  }
  EXPECT_TRUE(shown);
  // Counted after each reply is sent, so read once every reply is in: dl-7's image, dl-9's
  // first KiB, and the failure reports.
  const std::string text = listener_->metrics().Render({});
  const auto value = [&](const std::string& name) {
    const size_t at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + name.size() + 2));
  };
  EXPECT_GE(value("sensordb_firmware_bytes_served_total"), double(fx_.image.size()));
  EXPECT_GE(value("sensordb_firmware_reports_total{step=\"failed\"}"), 1.0);

  // The halt is in the audit log, with the wave, the threshold and the last report.
  std::vector<std::string> halts;
  ASSERT_TRUE(auth_->audit()
                  .Read(audit_from,
                        [&](const AuditEntry& e) {
                          if (e.event.action == AuditAction::kFirmwareRolloutHalted) {
                            halts.push_back(e.event.detail);
                          }
                          return true;
                        })
                  .ok());
  ASSERT_EQ(halts.size(), 1u);
  EXPECT_NE(halts[0].find("rollout " + std::to_string(rollout->id) + " halted: wave 1 has 2 of 3"),
            std::string::npos)
      << halts[0];
  EXPECT_NE(halts[0].find("threshold 40 %"), std::string::npos) << halts[0];
  EXPECT_NE(halts[0].find("dl-8 rolled-back"), std::string::npos) << halts[0];

  // The registry keeps each device's last report, stored: a registry opened again reads them.
  auto reopened = DeviceRegistry::Open(*db_, *auth_);
  ASSERT_TRUE(reopened.has_value()) << reopened.error().ToString();
  auto reports = (*reopened)->ListFirmware({admin_, "local", WallClockNs()}, kProject);
  ASSERT_TRUE(reports.has_value()) << reports.error().ToString();
  ASSERT_EQ(reports->size(), 3u);
  EXPECT_EQ((*reports)[0].first, "dl-7");
  EXPECT_EQ((*reports)[0].second.step, uint8_t(FirmwareStep::kFailed));
  EXPECT_EQ((*reports)[0].second.reason, "hash-mismatch");
  EXPECT_EQ((*reports)[1].second.step, uint8_t(FirmwareStep::kRolledBack));
  EXPECT_EQ((*reports)[2].first, "dl-9");
  auto one = registry_->ListFirmware({admin_, "local", WallClockNs()}, kProject, "dl-8");
  ASSERT_TRUE(one.has_value());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().first, "dl-8");

  // Resumed by an operator, the count starts again: dl-9 is offered the release and confirms it,
  // which the catalog's device record shows.
  ASSERT_TRUE(
      store_->SetRolloutState(kProject, rollout->id, firmware::RolloutState::kRunning).has_value());
  EXPECT_TRUE(Read(*dl9, kProject, release_.id, 0, 1024).has_value());
  EXPECT_TRUE(Report(*dl9, kProject, release_.id, FirmwareStep::kConfirmed, "", "2.0.0").ok());
  auto devices = db_->ListDevices(kProject);
  ASSERT_TRUE(devices.has_value());
  for (const DeviceInfo& d : *devices) {
    if (d.name == "dl-9") {
      EXPECT_EQ(d.firmware_version, "2.0.0");
    }
  }
  // Dropping the project deletes its devices' reports.
  const std::string prefix = "firmware/" + std::to_string(pid) + "/";
  const auto stored = [&] {
    int n = 0;
    EXPECT_TRUE(db_->System()
                    .ScanNamed(SystemSpace::kDevices,
                               [&](std::string_view name, std::string_view) {
                                 n += name.starts_with(prefix);
                                 return true;
                               })
                    .ok());
    return n;
  };
  EXPECT_EQ(stored(), 3);
  ASSERT_TRUE(db_->DropProject(kProject).ok());
  ASSERT_TRUE(registry_->ProjectDropped(pid).ok());
  EXPECT_EQ(stored(), 0);
}

// A rollout to every device of the model: a device's report reaches the registry, and a failure
// past the threshold halts it through the registry as for a list.
TEST_F(FirmwareTransferTest, AModelTargetIsOfferedToItsDevicesAndHaltsOnTheirFailures) {
  using firmware::FirmwareStep;
  auto dl7 = Device(kProject, "dl-7");
  ASSERT_TRUE(dl7);
  auto rollout = store_->CreateRollout(kProject, release_.id, {}, {{100}, 0, 0, "DL-200"});
  ASSERT_TRUE(rollout.has_value()) << rollout.error().ToString();
  auto logger = Logger("dl-7");
  ASSERT_TRUE(logger.has_value()) << logger.error().ToString();
  auto nonce = logger->NewNonce();
  ASSERT_TRUE(nonce.has_value());
  std::optional<protocol::Frame> frame;
  auto offer = Offer(*dl7, *nonce, kProject, "1.0.0", &frame);
  ASSERT_TRUE(offer.has_value()) << offer.error().ToString();
  EXPECT_EQ(offer->image_id, release_.id);  // named by no list: its model
  ASSERT_TRUE(logger->AcceptFreshness(offer->statement).has_value());
  EXPECT_TRUE(Read(*dl7, kProject, release_.id, 0, 1024).has_value());
  // Any failure halts (threshold 0): through the registry, with the reporters as the wave.
  const Status reported = Report(*dl7, kProject, release_.id, FirmwareStep::kFailed, "io");
  ASSERT_TRUE(reported.ok()) << reported.ToString();
  EXPECT_EQ(store_->Rollouts(kProject)->front().state, firmware::RolloutState::kHalted);
  EXPECT_EQ(CodeOf(Read(*dl7, kProject, release_.id, 0, 1024)), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sensordb::server
