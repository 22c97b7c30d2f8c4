// Firmware transfer messages: their numbers, round trips, and the bounds Decode* add.
#include "sensordb/protocol/firmware_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace sensordb::protocol {
namespace {

using testing::MessageOf;
using testing::RoundTrip;

TEST(FirmwareCodec, MessagesAreAppendedAfterCompact) {
  EXPECT_EQ(static_cast<int>(wire::Message::GetFirmwareOffer), 62);  // protocol/README.md
  EXPECT_EQ(static_cast<int>(wire::Message::FirmwareData), 65);
  EXPECT_EQ(wire::Message::MAX, wire::Message::FirmwareData);
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

}  // namespace
}  // namespace sensordb::protocol
