// The device identity messages: round trips through a FrameDecoder, and the bounds Decode* add.
#include "sensordb/protocol/device_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "test_util.h"

namespace sensordb::protocol {
namespace {

using testing::MessageOf;
using testing::RoundTrip;

TEST(DeviceCodec, MessagesAreAppendedAfterKeyStatusReply) {
  EXPECT_EQ(static_cast<int>(wire::Message::EnrollDevice),
            static_cast<int>(wire::Message::KeyStatusReply) + 1);
  EXPECT_GE(wire::Message::MAX, wire::Message::GetDeviceCaReply);  // maintenance follows
  EXPECT_EQ(MessageName(wire::Message::RevokeDeviceCert), "RevokeDeviceCert");
}

TEST(DeviceCodec, EnrollDeviceRoundTrips) {
  Frame frame = RoundTrip(EncodeEnrollDevice(3, {"green", "dl-17", "-----BEGIN CSR", 90}));
  auto r = DecodeEnrollDevice(MessageOf<wire::EnrollDevice>(frame));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->project, "green");
  EXPECT_EQ(r->device, "dl-17");
  EXPECT_EQ(r->csr_pem, "-----BEGIN CSR");
  EXPECT_EQ(r->days, 90u);
}

TEST(DeviceCodec, EnrollDeviceRefusesOversizeCsrAndMissingFields) {
  const std::string big(kMaxCsrPemBytes + 1, 'c');
  Frame frame = RoundTrip(EncodeEnrollDevice(1, {"green", "dl", big, 0}));
  auto r = DecodeEnrollDevice(MessageOf<wire::EnrollDevice>(frame));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("CSR"), std::string::npos);
  Frame no_device = RoundTrip(EncodeEnrollDevice(1, {"green", "", "csr", 0}));
  EXPECT_FALSE(DecodeEnrollDevice(MessageOf<wire::EnrollDevice>(no_device)).has_value());
  Frame no_csr = RoundTrip(EncodeEnrollDevice(1, {"green", "dl", "", 0}));
  EXPECT_FALSE(DecodeEnrollDevice(MessageOf<wire::EnrollDevice>(no_csr)).has_value());
}

TEST(DeviceCodec, EnrollDeviceReplyRoundTrips) {
  Frame frame = RoundTrip(EncodeEnrollDeviceReply(4, {"CERT", "CA", "4a0f", "ab12", 10, 20}));
  auto r = DecodeEnrollDeviceReply(MessageOf<wire::EnrollDeviceReply>(frame));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->certificate_pem, "CERT");
  EXPECT_EQ(r->chain_pem, "CA");
  EXPECT_EQ(r->serial, "4a0f");
  EXPECT_EQ(r->fingerprint, "ab12");
  EXPECT_EQ(r->not_before_ns, 10);
  EXPECT_EQ(r->not_after_ns, 20);
}

TEST(DeviceCodec, ListDeviceCertsAndReplyRoundTrip) {
  Frame req = RoundTrip(EncodeListDeviceCerts(5, {"green", ""}));
  auto r = DecodeListDeviceCerts(MessageOf<wire::ListDeviceCerts>(req));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->project, "green");
  EXPECT_TRUE(r->device.empty());
  const DeviceCertView certs[] = {{"dl-1", "40aa", "ff00", 1, 2, 3, 0, 4, false, "m", "fw"},
                                  {"dl-2", "40bb", "ee00", 5, 6, 7, 8, 0, true, "", ""}};
  Frame reply = RoundTrip(EncodeListDeviceCertsReply(5, certs));
  auto list = DecodeListDeviceCertsReply(MessageOf<wire::ListDeviceCertsReply>(reply));
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].device, "dl-1");
  EXPECT_EQ((*list)[0].model, "m");
  EXPECT_EQ((*list)[0].last_seen_ns, 4);
  EXPECT_EQ((*list)[1].revoked_ns, 8);
  EXPECT_TRUE((*list)[1].device_revoked);
}

TEST(DeviceCodec, RevocationsAndCaRoundTrip) {
  Frame cert = RoundTrip(EncodeRevokeDeviceCert(6, {"green", "dl", "40:AA"}));
  auto c = DecodeRevokeDeviceCert(MessageOf<wire::RevokeDeviceCert>(cert));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->serial, "40:AA");
  Frame no_serial = RoundTrip(EncodeRevokeDeviceCert(6, {"green", "dl", ""}));
  EXPECT_FALSE(DecodeRevokeDeviceCert(MessageOf<wire::RevokeDeviceCert>(no_serial)).has_value());
  Frame dev = RoundTrip(EncodeRevokeDevice(7, {"green", "dl"}));
  auto d = DecodeRevokeDevice(MessageOf<wire::RevokeDevice>(dev));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->device, "dl");
  Frame ca = RoundTrip(EncodeGetDeviceCa(8, "green"));
  EXPECT_EQ(*DecodeGetDeviceCa(MessageOf<wire::GetDeviceCa>(ca)), "green");
  Frame ca_reply = RoundTrip(EncodeGetDeviceCaReply(8, "PEM"));
  EXPECT_EQ(*DecodeGetDeviceCaReply(MessageOf<wire::GetDeviceCaReply>(ca_reply)), "PEM");
}

}  // namespace
}  // namespace sensordb::protocol
