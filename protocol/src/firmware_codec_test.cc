// Firmware transfer messages: their numbers, round trips, and the bounds Decode* add.
#include "sensordb/protocol/firmware_codec.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "test_util.h"

namespace sensordb::protocol {
namespace {

using testing::MessageOf;
using testing::RoundTrip;

TEST(FirmwareCodec, MessagesAreAppendedAfterCompact) {
  EXPECT_EQ(static_cast<int>(wire::Message::GetFirmwareOffer), 62);  // protocol/README.md
  EXPECT_EQ(static_cast<int>(wire::Message::FirmwareData), 65);
  EXPECT_EQ(static_cast<int>(wire::Message::GetFreshnessKey), 66);
  EXPECT_EQ(static_cast<int>(wire::Message::RolloutInfo), 77);
  EXPECT_EQ(static_cast<int>(wire::Message::ReportFirmware), 78);
  EXPECT_EQ(static_cast<int>(wire::Message::DeviceFirmwareList), 80);
  EXPECT_EQ(wire::Message::MAX, wire::Message::DeviceFirmwareList);
  EXPECT_EQ(MessageName(wire::Message::ReadFirmware), "ReadFirmware");
}

TEST(FirmwareCodec, OfferRequestRoundTripsAndNeedsASixteenByteNonce) {
  const std::vector<uint8_t> nonce(16, 0xab);
  Frame frame = RoundTrip(EncodeGetFirmwareOffer(4, {"farm", nonce, "DL-200", "1.2.0", 7, 2}));
  auto r = DecodeGetFirmwareOffer(MessageOf<wire::GetFirmwareOffer>(frame));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->project, "farm");
  EXPECT_EQ(std::vector<uint8_t>(r->nonce.begin(), r->nonce.end()), nonce);
  EXPECT_EQ(r->model, "DL-200");
  EXPECT_EQ(r->version, "1.2.0");
  EXPECT_EQ(r->security_version, 7u);
  EXPECT_EQ(r->root_version, 2u);
  const std::vector<uint8_t> short_nonce(15, 1);
  frame = RoundTrip(EncodeGetFirmwareOffer(4, {"farm", short_nonce, "DL-200", "", 0, 1}));
  r = DecodeGetFirmwareOffer(MessageOf<wire::GetFirmwareOffer>(frame));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("nonce"), std::string::npos);
  frame = RoundTrip(EncodeGetFirmwareOffer(4, {"farm", nonce, "", "", 0, 1}));
  EXPECT_FALSE(DecodeGetFirmwareOffer(MessageOf<wire::GetFirmwareOffer>(frame)).has_value());
}

TEST(FirmwareCodec, OfferRoundTripsWithRootsAndRefusesHalfAnOffer) {
  const std::vector<uint8_t> statement(200, 1), manifest(300, 2), root2(100, 3), root3(90, 4);
  Frame frame = RoundTrip(EncodeFirmwareOffer(5, {statement, manifest, 9, 1234, {root2, root3}}));
  auto r = DecodeFirmwareOffer(MessageOf<wire::FirmwareOffer>(frame));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->statement.size(), 200u);
  EXPECT_EQ(r->manifest.size(), 300u);
  EXPECT_EQ(r->image_id, 9u);
  EXPECT_EQ(r->image_length, 1234u);
  ASSERT_EQ(r->roots.size(), 2u);
  EXPECT_EQ(r->roots[1].size(), 90u);
  EXPECT_EQ(r->roots[1][0], 4);
  // Nothing offered: a statement alone.
  frame = RoundTrip(EncodeFirmwareOffer(5, {statement, {}, 0, 0, {}}));
  r = DecodeFirmwareOffer(MessageOf<wire::FirmwareOffer>(frame));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_TRUE(r->manifest.empty());
  frame = RoundTrip(EncodeFirmwareOffer(5, {statement, {}, 9, 0, {}}));
  EXPECT_FALSE(DecodeFirmwareOffer(MessageOf<wire::FirmwareOffer>(frame)).has_value());
  frame = RoundTrip(EncodeFirmwareOffer(5, {{}, manifest, 9, 0, {}}));
  EXPECT_FALSE(DecodeFirmwareOffer(MessageOf<wire::FirmwareOffer>(frame)).has_value());
  const std::vector<uint8_t> huge(kMaxFirmwareFileBytes + 1, 5);
  frame = RoundTrip(EncodeFirmwareOffer(5, {statement, huge, 9, 0, {}}));
  EXPECT_FALSE(DecodeFirmwareOffer(MessageOf<wire::FirmwareOffer>(frame)).has_value());
}

TEST(FirmwareCodec, ReadsAreBoundedToOneChunk) {
  Frame frame = RoundTrip(EncodeReadFirmware(6, {"farm", 3, 65536, kMaxFirmwareReadBytes}));
  auto r = DecodeReadFirmware(MessageOf<wire::ReadFirmware>(frame));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->image_id, 3u);
  EXPECT_EQ(r->offset, 65536u);
  EXPECT_EQ(r->length, kMaxFirmwareReadBytes);
  for (uint32_t bad : {0u, kMaxFirmwareReadBytes + 1}) {
    frame = RoundTrip(EncodeReadFirmware(6, {"farm", 3, 0, bad}));
    EXPECT_FALSE(DecodeReadFirmware(MessageOf<wire::ReadFirmware>(frame)).has_value()) << bad;
  }
  frame = RoundTrip(EncodeReadFirmware(6, {"farm", 0, 0, 10}));
  EXPECT_FALSE(DecodeReadFirmware(MessageOf<wire::ReadFirmware>(frame)).has_value());

  const std::vector<uint8_t> bytes(1000, 7);
  frame = RoundTrip(EncodeFirmwareData(7, {4096, bytes}));
  auto d = DecodeFirmwareData(MessageOf<wire::FirmwareData>(frame));
  ASSERT_TRUE(d.has_value()) << d.error().ToString();
  EXPECT_EQ(d->offset, 4096u);
  EXPECT_EQ(d->bytes.size(), 1000u);
}

TEST(FirmwareCodec, AdministrationRoundTrips) {
  Frame frame = RoundTrip(EncodeGetFreshnessKey(1, "farm"));
  EXPECT_EQ(DecodeGetFreshnessKey(MessageOf<wire::GetFreshnessKey>(frame)).value_or(""), "farm");
  const std::vector<uint8_t> key(32, 3), short_key(31, 3);
  frame = RoundTrip(EncodeFreshnessKeyReply(1, key));
  EXPECT_TRUE(DecodeFreshnessKeyReply(MessageOf<wire::FreshnessKeyReply>(frame)).has_value());
  frame = RoundTrip(EncodeFreshnessKeyReply(1, short_key));
  EXPECT_FALSE(DecodeFreshnessKeyReply(MessageOf<wire::FreshnessKeyReply>(frame)).has_value());

  const std::vector<uint8_t> root(500, 1), manifest(600, 2), image(100'000, 9);
  frame = RoundTrip(EncodeUploadFirmwareRoot(2, {"farm", root}));
  auto up_root = DecodeUploadFirmwareRoot(MessageOf<wire::UploadFirmwareRoot>(frame));
  ASSERT_TRUE(up_root.has_value());
  EXPECT_EQ(up_root->root.size(), 500u);
  frame = RoundTrip(EncodeUploadFirmwareRoot(2, {"farm", {}}));
  EXPECT_FALSE(DecodeUploadFirmwareRoot(MessageOf<wire::UploadFirmwareRoot>(frame)).has_value());
  frame = RoundTrip(EncodeUploadFirmwareRootReply(2, 7));
  EXPECT_EQ(DecodeUploadFirmwareRootReply(MessageOf<wire::UploadFirmwareRootReply>(frame)), 7u);

  frame = RoundTrip(EncodeUploadFirmware(3, {"farm", manifest, image}));
  auto up = DecodeUploadFirmware(MessageOf<wire::UploadFirmware>(frame));
  ASSERT_TRUE(up.has_value()) << up.error().ToString();
  EXPECT_EQ(up->manifest.size(), 600u);
  EXPECT_EQ(up->image.size(), 100'000u);
  EXPECT_EQ(up->image[99'999], 9);

  const std::vector<uint8_t> hash(32, 4);
  const FirmwareReleaseView rel{5, true, "DL-200", "2.0.0", 3, 1, 4096, 1000, 900, hash};
  frame = RoundTrip(EncodeFirmwareRelease(4, rel));
  auto r = DecodeFirmwareRelease(MessageOf<wire::FirmwareRelease>(frame));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->id, 5u);
  EXPECT_EQ(r->hardware_model, "DL-200");
  EXPECT_EQ(r->image_length, 4096u);
  EXPECT_EQ(r->manifest_sha256.size(), 32u);

  const RolloutView rollout{2,      5,    4,  950, {"dl-1", "dl-2"}, {50, 100}, 10, 600, 1, 1550,
                            {1, 0}, 1500, {}, {}};
  frame = RoundTrip(EncodeRolloutInfo(5, rollout));
  auto ro = DecodeRolloutInfo(MessageOf<wire::RolloutInfo>(frame));
  ASSERT_TRUE(ro.has_value()) << ro.error().ToString();
  EXPECT_EQ(ro->state, 4);  // halted
  EXPECT_EQ(ro->devices, (std::vector<std::string_view>{"dl-1", "dl-2"}));
  EXPECT_EQ(ro->waves, (std::vector<uint8_t>{50, 100}));
  EXPECT_EQ(ro->device_waves, (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(ro->failure_percent, 10);
  EXPECT_EQ(ro->soak_s, 600u);
  EXPECT_EQ(ro->wave, 1u);
  EXPECT_EQ(ro->wave_opened_unix_s, 1550);
  EXPECT_EQ(ro->counted_since_unix_s, 1500);
  // A model target: no devices, its wave key; a key without a model or a short one is refused.
  const std::vector<uint8_t> wave_key(16, 7);
  RolloutView by_model{2, 5, 1, 950, {}, {50, 100}, 10, 600, 0, 950, {}, 950, "DL-200", wave_key};
  frame = RoundTrip(EncodeRolloutInfo(5, by_model));
  auto m = DecodeRolloutInfo(MessageOf<wire::RolloutInfo>(frame));
  ASSERT_TRUE(m.has_value()) << m.error().ToString();
  EXPECT_EQ(m->model, "DL-200");
  EXPECT_EQ(m->wave_key.size(), 16u);
  for (const std::vector<uint8_t>& k : {std::vector<uint8_t>{}, std::vector<uint8_t>(15, 7)}) {
    by_model.wave_key = k;
    frame = RoundTrip(EncodeRolloutInfo(5, by_model));
    EXPECT_FALSE(DecodeRolloutInfo(MessageOf<wire::RolloutInfo>(frame)).has_value());
  }
  // Waves that do not match, or name a wave the rollout does not have, or a time out of range.
  for (const auto& change : std::vector<std::function<void(RolloutView&)>>{
           [](RolloutView& v) { v.device_waves = {1}; },
           [](RolloutView& v) {
             v.device_waves = {2, 0};
           },
           [](RolloutView& v) { v.wave = 2; },
           [](RolloutView& v) { v.waves.clear(); },  // one wave: wave 1 and device wave 1 too far
           [](RolloutView& v) { v.wave_opened_unix_s = -1; },
           [](RolloutView& v) { v.counted_since_unix_s = kMaxFirmwareTime + 1; }}) {
    RolloutView bad = rollout;
    change(bad);
    frame = RoundTrip(EncodeRolloutInfo(5, bad));
    EXPECT_FALSE(DecodeRolloutInfo(MessageOf<wire::RolloutInfo>(frame)).has_value());
  }

  frame = RoundTrip(EncodeListFirmwareReply(6, {{rel, rel}, {rollout}}));
  auto list = DecodeListFirmwareReply(MessageOf<wire::ListFirmwareReply>(frame));
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  EXPECT_EQ(list->releases.size(), 2u);
  ASSERT_EQ(list->rollouts.size(), 1u);
  EXPECT_EQ(list->rollouts[0].release, 5u);

  frame = RoundTrip(EncodeRemoveFirmware(7, {"farm", 5}));
  EXPECT_EQ(DecodeRemoveFirmware(MessageOf<wire::RemoveFirmware>(frame))->release, 5u);
  frame = RoundTrip(EncodeCreateRollout(8, {"farm", 5, {"dl-1"}, {1, 10, 100}, 0, 60, {}}));
  auto create = DecodeCreateRollout(MessageOf<wire::CreateRollout>(frame));
  ASSERT_TRUE(create.has_value());
  EXPECT_EQ(create->devices.size(), 1u);
  EXPECT_EQ(create->waves, (std::vector<uint8_t>{1, 10, 100}));
  EXPECT_EQ(create->failure_percent, 0);  // a default (5) would hide "any failure halts"
  EXPECT_EQ(create->soak_s, 60u);
  frame = RoundTrip(EncodeCreateRollout(8, {"farm", 5, {"dl-1"}, {}, 5, 600, {}}));
  create = DecodeCreateRollout(MessageOf<wire::CreateRollout>(frame));
  ASSERT_TRUE(create.has_value());
  EXPECT_TRUE(create->waves.empty());
  EXPECT_EQ(create->failure_percent, 5);
  frame = RoundTrip(
      EncodeCreateRollout(8, {"farm", 5, {"dl-1"}, std::vector<uint8_t>(9, 1), 5, 600, {}}));
  EXPECT_FALSE(DecodeCreateRollout(MessageOf<wire::CreateRollout>(frame)).has_value());
  frame = RoundTrip(EncodeCreateRollout(8, {"farm", 5, {}, {}, 5, 600, {}}));
  EXPECT_FALSE(DecodeCreateRollout(MessageOf<wire::CreateRollout>(frame)).has_value());
  // A model and no list is a rollout to every device of the model.
  frame = RoundTrip(EncodeCreateRollout(8, {"farm", 5, {}, {}, 5, 600, "DL-200"}));
  create = DecodeCreateRollout(MessageOf<wire::CreateRollout>(frame));
  ASSERT_TRUE(create.has_value()) << create.error().ToString();
  EXPECT_EQ(create->model, "DL-200");
  EXPECT_TRUE(create->devices.empty());
  frame = RoundTrip(EncodeCreateRollout(8, {"farm", 5, {"dl-1", ""}, {}, 5, 600, {}}));
  EXPECT_FALSE(DecodeCreateRollout(MessageOf<wire::CreateRollout>(frame)).has_value());
  frame = RoundTrip(EncodeSetRolloutState(9, {"farm", 2, 3}));
  EXPECT_EQ(DecodeSetRolloutState(MessageOf<wire::SetRolloutState>(frame))->state, 3);
  for (uint8_t bad : {uint8_t{0}, uint8_t{4}}) {  // 4, halted, is the server's to set
    frame = RoundTrip(EncodeSetRolloutState(9, {"farm", 2, bad}));
    EXPECT_FALSE(DecodeSetRolloutState(MessageOf<wire::SetRolloutState>(frame)).has_value());
  }

  frame = RoundTrip(EncodeListDeviceFirmware(10, {"farm", "dl-1"}));
  auto ldf = DecodeListDeviceFirmware(MessageOf<wire::ListDeviceFirmware>(frame));
  ASSERT_TRUE(ldf.has_value());
  EXPECT_EQ(ldf->device, "dl-1");
  const std::vector<DeviceFirmwareView> reports{
      {"dl-1", 5, 7, "hash-mismatch", "1.0.0", 1, 1, 1600},
      {"dl-2", 5, 5, "", "2.0.0", 3, 1, 1601}};
  frame = RoundTrip(EncodeDeviceFirmwareList(11, reports));
  auto got = DecodeDeviceFirmwareList(MessageOf<wire::DeviceFirmwareList>(frame));
  ASSERT_TRUE(got.has_value()) << got.error().ToString();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].reason, "hash-mismatch");
  EXPECT_EQ((*got)[1].step, 5);
  EXPECT_EQ((*got)[1].reported_unix_s, 1601);
}

// A device's report: a step 1..7 about a named image, short printable texts.
TEST(FirmwareCodec, ReportsAreBoundedAndNamed) {
  protocol::Frame frame =
      RoundTrip(EncodeReportFirmware(1, {"farm", 5, 7, "hash-mismatch", "1.0.0", 1, 1}));
  auto r = DecodeReportFirmware(MessageOf<wire::ReportFirmware>(frame));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->image_id, 5u);
  EXPECT_EQ(r->step, 7);
  EXPECT_EQ(r->reason, "hash-mismatch");
  const std::string long_reason(65, 'x');
  for (const ReportFirmwareRequest& bad :
       {ReportFirmwareRequest{"farm", 5, 0, "", "1.0.0", 1, 1},
        ReportFirmwareRequest{"farm", 5, 8, "", "1.0.0", 1, 1},
        ReportFirmwareRequest{"farm", 0, 5, "", "1.0.0", 1, 1},
        ReportFirmwareRequest{"farm", 5, 7, long_reason, "1.0.0", 1, 1},
        ReportFirmwareRequest{"farm", 5, 7, "bad\nline", "1.0.0", 1, 1},
        ReportFirmwareRequest{"", 5, 7, "", "1.0.0", 1, 1}}) {
    frame = RoundTrip(EncodeReportFirmware(1, bad));
    EXPECT_FALSE(DecodeReportFirmware(MessageOf<wire::ReportFirmware>(frame)).has_value())
        << int(bad.step) << " " << bad.reason;
  }
}

}  // namespace
}  // namespace sensordb::protocol
