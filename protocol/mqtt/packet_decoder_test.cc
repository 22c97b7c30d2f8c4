#include "mqtt/packet_decoder.h"

#include <gtest/gtest.h>

#include <vector>

#include "mqtt/wire.h"

namespace sensordb::mqtt {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Stream(const std::vector<Packet>& packets) {
  Bytes out;
  for (const Packet& p : packets) EXPECT_TRUE(EncodeTo(p, out).ok());
  return out;
}

std::vector<Packet> DrainAll(PacketDecoder& decoder) {
  std::vector<Packet> out;
  while (auto p = decoder.Next()) out.push_back(std::move(*p));
  return out;
}

// Remaining length encodings of the spec's table 2.4, both ways.
TEST(MqttRemainingLength, MatchesTheSpecTable) {
  const std::vector<std::pair<uint32_t, Bytes>> table = {
      {0, {0x00}},
      {127, {0x7f}},
      {128, {0x80, 0x01}},
      {16'383, {0xff, 0x7f}},
      {16'384, {0x80, 0x80, 0x01}},
      {2'097'151, {0xff, 0xff, 0x7f}},
      {2'097'152, {0x80, 0x80, 0x80, 0x01}},
      {268'435'455, {0xff, 0xff, 0xff, 0x7f}},
  };
  for (const auto& [value, bytes] : table) {
    Bytes out;
    wire::AppendRemainingLength(value, out);
    EXPECT_EQ(out, bytes) << value;
    const wire::VarintRead r = wire::ReadRemainingLength(bytes);
    EXPECT_EQ(r.state, wire::VarintRead::State::kDone);
    EXPECT_EQ(r.value, value);
    EXPECT_EQ(r.bytes, bytes.size());
    for (size_t n = 0; n < bytes.size(); ++n) {
      EXPECT_EQ(wire::ReadRemainingLength(std::span(bytes).first(n)).state,
                wire::VarintRead::State::kNeedMore);
    }
  }
  EXPECT_EQ(wire::ReadRemainingLength(Bytes{0xff, 0xff, 0xff, 0xff}).state,
            wire::VarintRead::State::kTooLong);
  EXPECT_EQ(wire::ReadRemainingLength(Bytes{0xff, 0xff, 0xff, 0xff, 0x7f}).state,
            wire::VarintRead::State::kTooLong);
}

TEST(MqttPacketDecoder, DecodesAStreamFedOneByteAtATime) {
  const std::vector<Packet> packets = {
      Connect{"MQTT", 4, true, 30, "dev", std::nullopt, std::nullopt, std::nullopt},
      Publish{"sensordb/p/dev/lp", std::string(200, 'x'), QoS::kAtLeastOnce, false, false, 1},
      PingReq{}, Disconnect{}};
  const Bytes stream = Stream(packets);
  PacketDecoder decoder(Sender::kClient);
  std::vector<Packet> got;
  for (uint8_t b : stream) {
    ASSERT_TRUE(decoder.Feed(std::span(&b, 1)).ok());
    while (auto p = decoder.Next()) got.push_back(std::move(*p));
  }
  EXPECT_EQ(got, packets);
  EXPECT_TRUE(decoder.at_packet_boundary());
}

TEST(MqttPacketDecoder, DecodesSeveralPacketsFromOneFeed) {
  const std::vector<Packet> packets = {PubAck{1}, PubAck{2}, PingReq{}};
  PacketDecoder decoder(Sender::kClient);
  ASSERT_TRUE(decoder.Feed(Stream(packets)).ok());
  EXPECT_EQ(DrainAll(decoder), packets);
}

TEST(MqttPacketDecoder, ReportsAPartialPacketAsNotAtABoundary) {
  const Bytes stream = Stream({PubAck{1}});
  PacketDecoder decoder(Sender::kClient);
  ASSERT_TRUE(decoder.Feed(std::span(stream).first(3)).ok());
  EXPECT_FALSE(decoder.Next());
  EXPECT_FALSE(decoder.at_packet_boundary());
  ASSERT_TRUE(decoder.Feed(std::span(stream).subspan(3)).ok());
  EXPECT_TRUE(decoder.Next());
  EXPECT_TRUE(decoder.at_packet_boundary());
}

TEST(MqttPacketDecoder, RefusesAnOversizedPacketFromItsHeaderAlone) {
  DecodeLimits limits;
  limits.max_packet_bytes = 1000;
  PacketDecoder decoder(Sender::kClient, limits);
  // PUBLISH announcing 16384 bytes: refused before any body byte is buffered.
  const Status s = decoder.Feed(Bytes{0x30, 0x80, 0x80, 0x01, 0x00});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "PUBLISH of 16388 bytes exceeds the maximum packet size of 1000 bytes");
  EXPECT_EQ(decoder.reserved_bytes(), 0u);
}

TEST(MqttPacketDecoder, AcceptsAPacketOfExactlyTheMaximumSize) {
  DecodeLimits limits;
  limits.max_packet_bytes = 200;
  const Publish p{"t", std::string(194, 'x'), QoS::kAtMostOnce, false, false, 0};
  Bytes bytes = Stream({p});
  ASSERT_EQ(bytes.size(), 200u);
  PacketDecoder decoder(Sender::kClient, limits);
  ASSERT_TRUE(decoder.Feed(bytes).ok());
  EXPECT_EQ(DrainAll(decoder), std::vector<Packet>{p});
  PacketDecoder smaller(Sender::kClient, DecodeLimits{.max_packet_bytes = 199});
  EXPECT_EQ(smaller.Feed(bytes).code(), StatusCode::kResourceExhausted);
}

TEST(MqttPacketDecoder, RefusesARemainingLengthOfFiveBytes) {
  PacketDecoder decoder(Sender::kClient);
  const Status s = decoder.Feed(Bytes{0x30, 0xff, 0xff, 0xff, 0xff, 0x7f});
  EXPECT_EQ(s.message(), "malformed PUBLISH: remaining length longer than 4 bytes");
}

TEST(MqttPacketDecoder, ChecksTheFirstByteBeforeTheRest) {
  PacketDecoder decoder(Sender::kClient);
  const Status s = decoder.Feed(Bytes{0x82 & 0xf0});  // SUBSCRIBE with flags 0000
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("malformed SUBSCRIBE"), std::string::npos);
}

TEST(MqttPacketDecoder, FirstErrorIsStickyAndEarlierPacketsAreKept) {
  Bytes stream = Stream({PingReq{}, PubAck{5}});
  stream.push_back(0xf0);  // reserved type 15
  stream.push_back(0x00);
  PacketDecoder decoder(Sender::kClient);
  const Status first = decoder.Feed(stream);
  EXPECT_FALSE(first.ok());
  EXPECT_EQ(decoder.Feed(Stream({PingReq{}})).message(), first.message());
  EXPECT_EQ(DrainAll(decoder), (std::vector<Packet>{PingReq{}, PubAck{5}}));
}

TEST(MqttPacketDecoder, BufferFollowsTheBytesReceived) {
  PacketDecoder decoder(Sender::kClient, DecodeLimits{.max_packet_bytes = 1 << 20});
  // A PUBLISH announcing 500000 bytes, of which 10 arrive.
  Bytes head = {0x30};
  wire::AppendRemainingLength(500'000, head);
  head.insert(head.end(), {0x00, 0x01, 't', 1, 2, 3, 4, 5, 6, 7});
  ASSERT_TRUE(decoder.Feed(head).ok());
  EXPECT_LE(decoder.reserved_bytes(), 4096u);
}

}  // namespace
}  // namespace sensordb::mqtt
