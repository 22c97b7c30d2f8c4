// The byte sequences below are written from the field definitions of the MQTT 3.1.1 standard
// (sections 2 and 3): fixed header byte, remaining length, then each field in order.
#include "mqtt/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mqtt/packet_decoder.h"

namespace sensordb::mqtt {
namespace {

using Bytes = std::vector<uint8_t>;

// Decodes one whole packet (fixed header included) sent by `from`.
Result<Packet> DecodeBytes(const Bytes& bytes, Sender from = Sender::kClient,
                           const DecodeLimits& limits = {}) {
  PacketDecoder decoder(from, limits);
  if (Status s = decoder.Feed(bytes); !s.ok()) return Err(s);
  std::optional<Packet> packet = decoder.Next();
  if (!packet || !decoder.at_packet_boundary() || decoder.Next()) {
    return Err(Status::Internal("not exactly one packet"));
  }
  return std::move(*packet);
}

// The error message of decoding `bytes`, which must fail.
std::string ErrorOf(const Bytes& bytes, Sender from = Sender::kClient,
                    const DecodeLimits& limits = {}) {
  Result<Packet> p = DecodeBytes(bytes, from, limits);
  EXPECT_FALSE(p.has_value());
  return p.has_value() ? "" : p.error().message();
}

Bytes EncodeOrDie(const Packet& packet) {
  Result<Bytes> bytes = Encode(packet);
  EXPECT_TRUE(bytes.has_value()) << bytes.error().message();
  return bytes.value_or(Bytes{});
}

const Bytes kMinimalConnect = {0x10, 0x0e,                             // CONNECT, 14 bytes
                               0x00, 0x04, 'M',  'Q', 'T', 'T', 0x04,  // protocol, level 4
                               0x02, 0x00, 0x3c,                       // clean, keep alive 60
                               0x00, 0x02, 'd',  '1'};                 // client id "d1"

const Bytes kFullConnect = {0x10, 0x1e, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04,
                            0xee,             // user, password, will retain, will QoS 1,
                            0x00, 0x0a,       // will, clean; keep alive 10
                            0x00, 0x01, 'c',  // client id
                            0x00, 0x03, 'w',  '/',  't',  // will topic
                            0x00, 0x03, 'b',  'y',  'e',  // will message
                            0x00, 0x01, 'u',              // user name
                            0x00, 0x02, 0xff, 0x00};      // password (binary)

TEST(MqttCodec, DecodesAMinimalConnect) {
  Result<Packet> p = DecodeBytes(kMinimalConnect);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  const auto& c = std::get<Connect>(*p);
  EXPECT_EQ(c.protocol_name, "MQTT");
  EXPECT_EQ(c.protocol_level, 4);
  EXPECT_TRUE(c.clean_session);
  EXPECT_EQ(c.keep_alive_s, 60);
  EXPECT_EQ(c.client_id, "d1");
  EXPECT_FALSE(c.will || c.username || c.password);
  EXPECT_EQ(ConnectRefusal(c), ConnectReturnCode::kAccepted);
}

TEST(MqttCodec, DecodesAConnectWithWillUserNameAndPassword) {
  Result<Packet> p = DecodeBytes(kFullConnect);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  const auto& c = std::get<Connect>(*p);
  EXPECT_EQ(c.keep_alive_s, 10);
  ASSERT_TRUE(c.will);
  EXPECT_EQ(c.will->topic, "w/t");
  EXPECT_EQ(c.will->message, "bye");
  EXPECT_EQ(c.will->qos, QoS::kAtLeastOnce);
  EXPECT_TRUE(c.will->retain);
  EXPECT_EQ(c.username, "u");
  EXPECT_EQ(c.password, std::string("\xff\x00", 2));
}

TEST(MqttCodec, EncodesConnectAsTheSpecLaysItOut) {
  Connect c;
  c.keep_alive_s = 60;
  c.client_id = "d1";
  EXPECT_EQ(EncodeOrDie(c), kMinimalConnect);
  Connect full;
  full.keep_alive_s = 10;
  full.client_id = "c";
  full.will = Will{"w/t", "bye", QoS::kAtLeastOnce, true};
  full.username = "u";
  full.password = std::string("\xff\x00", 2);
  EXPECT_EQ(EncodeOrDie(full), kFullConnect);
}

TEST(MqttCodec, AnotherProtocolLevelDecodesForAConnAckRefusal) {
  Bytes v5 = kMinimalConnect;
  v5[8] = 5;
  Result<Packet> p = DecodeBytes(v5);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(std::get<Connect>(*p).protocol_level, 5);
  EXPECT_EQ(ConnectRefusal(std::get<Connect>(*p)), ConnectReturnCode::kUnacceptableProtocolVersion);
  // MQTT 3.1: "MQIsdp", level 3.
  const Bytes v3 = {0x10, 0x0c, 0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03, 0x02, 0x00, 0x3c};
  p = DecodeBytes(v3);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(ConnectRefusal(std::get<Connect>(*p)), ConnectReturnCode::kUnacceptableProtocolVersion);
}

TEST(MqttCodec, EmptyClientIdNeedsCleanSession) {
  Connect c;
  c.client_id = "";
  EXPECT_EQ(ConnectRefusal(c), ConnectReturnCode::kAccepted);
  c.clean_session = false;
  EXPECT_EQ(ConnectRefusal(c), ConnectReturnCode::kIdentifierRejected);
}

TEST(MqttCodec, RejectsMalformedConnects) {
  const auto with = [](size_t index, uint8_t value) {
    Bytes b = kMinimalConnect;
    b[index] = value;
    return b;
  };
  EXPECT_NE(ErrorOf(with(9, 0x03)).find("reserved connect flag"), std::string::npos);
  EXPECT_NE(ErrorOf(with(9, 0x1e)).find("will QoS 3"), std::string::npos);
  EXPECT_NE(ErrorOf(with(9, 0x22)).find("without the will flag"), std::string::npos);
  EXPECT_NE(ErrorOf(with(9, 0x0a)).find("without the will flag"), std::string::npos);
  EXPECT_NE(ErrorOf(with(9, 0x42)).find("password flag set without the user name"),
            std::string::npos);
  EXPECT_NE(ErrorOf(with(4, 'X')).find("protocol name 'XQTT'"), std::string::npos);
  EXPECT_NE(ErrorOf(with(0, 0x12)).find("reserved flag bits are 0010, must be 0000"),
            std::string::npos);
  // The user name flag promises a field that is not there.
  EXPECT_NE(ErrorOf(with(9, 0x82)).find("truncated before the length of the user name"),
            std::string::npos);
  // A client id that claims more bytes than the packet has.
  EXPECT_NE(ErrorOf(with(13, 0x09)).find("client identifier claims 9 bytes but only 2 remain"),
            std::string::npos);
  Bytes trailing = kMinimalConnect;
  trailing[1] += 1;
  trailing.push_back(0);
  EXPECT_NE(ErrorOf(trailing).find("1 unexpected trailing bytes"), std::string::npos);
}

TEST(MqttCodec, BoundsConnectFields) {
  DecodeLimits limits;
  limits.max_client_id_bytes = 1;
  Result<Packet> p = DecodeBytes(kMinimalConnect, Sender::kClient, limits);
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(p.error().message(), "CONNECT client identifier of 2 bytes exceeds the limit of 1");
  limits = {};
  limits.max_password_bytes = 1;
  EXPECT_NE(ErrorOf(kFullConnect, Sender::kClient, limits).find("password of 2 bytes"),
            std::string::npos);
  limits = {};
  limits.max_will_message_bytes = 2;
  EXPECT_NE(ErrorOf(kFullConnect, Sender::kClient, limits).find("will message of 3 bytes"),
            std::string::npos);
}

TEST(MqttCodec, ConnAckBytes) {
  EXPECT_EQ(EncodeOrDie(ConnAck{}), (Bytes{0x20, 0x02, 0x00, 0x00}));
  EXPECT_EQ(EncodeOrDie(ConnAck{true, ConnectReturnCode::kAccepted}),
            (Bytes{0x20, 0x02, 0x01, 0x00}));
  EXPECT_EQ(EncodeOrDie(ConnAck{false, ConnectReturnCode::kNotAuthorized}),
            (Bytes{0x20, 0x02, 0x00, 0x05}));
  EXPECT_FALSE(Encode(ConnAck{true, ConnectReturnCode::kNotAuthorized}).has_value());
  EXPECT_NE(ErrorOf({0x20, 0x02, 0x02, 0x00}, Sender::kServer).find("reserved acknowledge flags"),
            std::string::npos);
  EXPECT_NE(ErrorOf({0x20, 0x02, 0x00, 0x06}, Sender::kServer).find("return code 6 is reserved"),
            std::string::npos);
  EXPECT_NE(ErrorOf({0x20, 0x02, 0x01, 0x04}, Sender::kServer).find("session present"),
            std::string::npos);
}

TEST(MqttCodec, PublishBytesForEachQoS) {
  Publish p0{"a/b", "x", QoS::kAtMostOnce, false, false, 0};
  const Bytes q0 = {0x30, 0x06, 0x00, 0x03, 'a', '/', 'b', 'x'};
  EXPECT_EQ(EncodeOrDie(p0), q0);
  Publish p1{"a/b", "xy", QoS::kAtLeastOnce, true, true, 10};
  const Bytes q1 = {0x3b, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0a, 'x', 'y'};
  EXPECT_EQ(EncodeOrDie(p1), q1);
  Publish p2{"a/b", "", QoS::kExactlyOnce, false, false, 0xfffe};
  const Bytes q2 = {0x34, 0x07, 0x00, 0x03, 'a', '/', 'b', 0xff, 0xfe};
  EXPECT_EQ(EncodeOrDie(p2), q2);
  for (const auto& [bytes, packet] : {std::pair{q0, p0}, std::pair{q1, p1}, std::pair{q2, p2}}) {
    Result<Packet> decoded = DecodeBytes(bytes);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(std::get<Publish>(*decoded), packet);
  }
}

TEST(MqttCodec, RejectsMalformedPublishes) {
  EXPECT_NE(ErrorOf({0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01}).find("QoS 3"), std::string::npos);
  EXPECT_NE(ErrorOf({0x38, 0x04, 0x00, 0x01, 'a', 'x'}).find("DUP set on QoS 0"),
            std::string::npos);
  EXPECT_NE(ErrorOf({0x32, 0x05, 0x00, 0x01, 'a', 0x00, 0x00}).find("packet identifier 0"),
            std::string::npos);
  EXPECT_NE(ErrorOf({0x32, 0x04, 0x00, 0x01, 'a', 0x00}).find("truncated before the packet id"),
            std::string::npos);
  EXPECT_NE(ErrorOf({0x30, 0x03, 0x00, 0x01, '#'}).find("wildcard"), std::string::npos);
  EXPECT_NE(ErrorOf({0x30, 0x03, 0x00, 0x01, '+'}).find("wildcard"), std::string::npos);
  EXPECT_NE(ErrorOf({0x30, 0x02, 0x00, 0x00}).find("topic name is empty"), std::string::npos);
  EXPECT_NE(ErrorOf({0x30, 0x03, 0x00, 0x01, 0x00}).find("UTF-8"), std::string::npos);
  EXPECT_NE(ErrorOf({0x30, 0x04, 0x00, 0x02, 0xc0, 0x80}).find("UTF-8"), std::string::npos);
  EXPECT_NE(ErrorOf({0x30, 0x05, 0x00, 0x03, 0xed, 0xa0, 0x80}).find("UTF-8"), std::string::npos);
}

TEST(MqttCodec, PubAckBytes) {
  EXPECT_EQ(EncodeOrDie(PubAck{10}), (Bytes{0x40, 0x02, 0x00, 0x0a}));
  Result<Packet> p = DecodeBytes({0x40, 0x02, 0x01, 0x02});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(std::get<PubAck>(*p).packet_id, 0x0102);
  EXPECT_NE(ErrorOf({0x40, 0x03, 0x00, 0x01, 0x00}).find("trailing"), std::string::npos);
  EXPECT_NE(ErrorOf({0x40, 0x01, 0x00}).find("truncated"), std::string::npos);
  EXPECT_FALSE(Encode(PubAck{0}).has_value());
}

TEST(MqttCodec, SubscribeAndSubAckBytes) {
  const Bytes subscribe = {0x82, 0x0e, 0x00, 0x01, 0x00, 0x03, 'a', '/',
                           '#',  0x01, 0x00, 0x03, '+',  '/',  'b', 0x02};
  Subscribe s{1, {{"a/#", QoS::kAtLeastOnce}, {"+/b", QoS::kExactlyOnce}}};
  EXPECT_EQ(EncodeOrDie(s), subscribe);
  Result<Packet> p = DecodeBytes(subscribe);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(std::get<Subscribe>(*p), s);
  const Bytes suback = {0x90, 0x04, 0x00, 0x01, 0x00, 0x80};
  EXPECT_EQ(EncodeOrDie(SubAck{1, {0x00, kSubAckFailure}}), suback);
  p = DecodeBytes(suback, Sender::kServer);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(std::get<SubAck>(*p).return_codes, (std::vector<uint8_t>{0x00, 0x80}));
  EXPECT_FALSE(Encode(SubAck{1, {0x03}}).has_value());
  EXPECT_NE(ErrorOf({0x90, 0x03, 0x00, 0x01, 0x03}, Sender::kServer).find("0x03 is reserved"),
            std::string::npos);
}

TEST(MqttCodec, RejectsMalformedSubscribes) {
  EXPECT_NE(ErrorOf({0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}).find("must be 0010"),
            std::string::npos);
  EXPECT_NE(ErrorOf({0x82, 0x02, 0x00, 0x01}).find("no topic filter"), std::string::npos);
  EXPECT_NE(ErrorOf({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x03}).find("QoS 3"),
            std::string::npos);
  EXPECT_NE(ErrorOf({0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x04}).find("reserved bits"),
            std::string::npos);
  EXPECT_NE(ErrorOf({0x82, 0x07, 0x00, 0x01, 0x00, 0x02, 'a', '#', 0x00}).find("whole level"),
            std::string::npos);
  EXPECT_NE(ErrorOf({0x82, 0x05, 0x00, 0x01, 0x00, 0x01, 'a'})
                .find("truncated before the "
                      "requested QoS"),
            std::string::npos);
  DecodeLimits limits;
  limits.max_topic_filters = 1;
  EXPECT_NE(ErrorOf({0x82, 0x0a, 0x00, 0x01, 0x00, 0x01, 'a', 0x00, 0x00, 0x01, 'b', 0x00},
                    Sender::kClient, limits)
                .find("more than 1 topic filters"),
            std::string::npos);
}

TEST(MqttCodec, UnsubscribeAndUnsubAckBytes) {
  const Bytes unsubscribe = {0xa2, 0x07, 0x00, 0x02, 0x00, 0x03, 'a', '/', '+'};
  Result<Packet> p = DecodeBytes(unsubscribe);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(std::get<Unsubscribe>(*p), (Unsubscribe{2, {"a/+"}}));
  EXPECT_EQ(EncodeOrDie(Unsubscribe{2, {"a/+"}}), unsubscribe);
  EXPECT_NE(ErrorOf({0xa2, 0x02, 0x00, 0x02}).find("no topic filter"), std::string::npos);
  EXPECT_NE(ErrorOf({0xa0, 0x02, 0x00, 0x02}).find("must be 0010"), std::string::npos);
  EXPECT_EQ(EncodeOrDie(UnsubAck{2}), (Bytes{0xb0, 0x02, 0x00, 0x02}));
}

TEST(MqttCodec, PingAndDisconnectBytes) {
  EXPECT_EQ(EncodeOrDie(PingReq{}), (Bytes{0xc0, 0x00}));
  EXPECT_EQ(EncodeOrDie(PingResp{}), (Bytes{0xd0, 0x00}));
  EXPECT_EQ(EncodeOrDie(Disconnect{}), (Bytes{0xe0, 0x00}));
  EXPECT_TRUE(std::holds_alternative<PingReq>(*DecodeBytes({0xc0, 0x00})));
  EXPECT_TRUE(std::holds_alternative<Disconnect>(*DecodeBytes({0xe0, 0x00})));
  EXPECT_TRUE(std::holds_alternative<PingResp>(*DecodeBytes({0xd0, 0x00}, Sender::kServer)));
  EXPECT_NE(ErrorOf({0xc0, 0x01, 0x00}).find("malformed PINGREQ: 1 unexpected trailing bytes"),
            std::string::npos);
  EXPECT_NE(ErrorOf({0xc1, 0x00}).find("reserved flag bits"), std::string::npos);
  EXPECT_NE(ErrorOf({0xe8, 0x00}).find("reserved flag bits"), std::string::npos);
}

TEST(MqttCodec, RefusesPacketsTheSenderMayNotSend) {
  EXPECT_EQ(ErrorOf({0x20, 0x02, 0x00, 0x00}), "malformed packet: a client may not send CONNACK");
  EXPECT_EQ(ErrorOf({0xd0, 0x00}), "malformed packet: a client may not send PINGRESP");
  EXPECT_EQ(ErrorOf(kMinimalConnect, Sender::kServer),
            "malformed packet: a server may not send CONNECT");
  EXPECT_EQ(ErrorOf({0x00, 0x00}), "malformed packet: reserved packet type 0");
  EXPECT_EQ(ErrorOf({0xf0, 0x00}), "malformed packet: reserved packet type 15");
}

TEST(MqttCodec, QoS2FlowIsNotSupported) {
  Result<Packet> p = DecodeBytes({0x62, 0x02, 0x00, 0x01});
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code(), StatusCode::kNotSupported);
  EXPECT_NE(p.error().message().find("PUBREL is part of the QoS 2 flow"), std::string::npos);
}

TEST(MqttCodec, EveryPacketRoundTrips) {
  Connect connect;
  connect.clean_session = false;
  connect.keep_alive_s = 65535;
  connect.client_id = "sensor-\xc3\xa9";
  connect.will = Will{"status/dev", std::string("\0\1", 2), QoS::kExactlyOnce, false};
  connect.username = "user";
  const std::vector<std::pair<Packet, Sender>> packets = {
      {connect, Sender::kClient},
      {ConnAck{true, ConnectReturnCode::kAccepted}, Sender::kServer},
      {ConnAck{false, ConnectReturnCode::kBadUserNameOrPassword}, Sender::kServer},
      {Publish{"sensordb/p/d/lp", std::string(300, 'x'), QoS::kAtLeastOnce, false, true, 7},
       Sender::kClient},
      {Publish{"t", "", QoS::kAtMostOnce, false, false, 0}, Sender::kServer},
      {PubAck{65535}, Sender::kClient},
      {PubAck{1}, Sender::kServer},
      {Subscribe{9, {{"#", QoS::kAtMostOnce}}}, Sender::kClient},
      {SubAck{9, {0, 1, 2, 0x80}}, Sender::kServer},
      {Unsubscribe{3, {"a", "b/+/c", "d/#"}}, Sender::kClient},
      {UnsubAck{3}, Sender::kServer},
      {PingReq{}, Sender::kClient},
      {PingResp{}, Sender::kServer},
      {Disconnect{}, Sender::kClient},
  };
  for (const auto& [packet, from] : packets) {
    const Bytes bytes = EncodeOrDie(packet);
    Result<Packet> decoded = DecodeBytes(bytes, from);
    ASSERT_TRUE(decoded.has_value()) << PacketTypeName(static_cast<uint8_t>(TypeOf(packet))) << ": "
                                     << decoded.error().message();
    EXPECT_EQ(*decoded, packet) << PacketTypeName(static_cast<uint8_t>(TypeOf(packet)));
  }
}

TEST(MqttCodec, EncoderRefusesWhatTheDecoderRefuses) {
  EXPECT_FALSE(Encode(Publish{"a/+", "", QoS::kAtMostOnce, false, false, 0}).has_value());
  EXPECT_FALSE(Encode(Publish{"a", "", QoS::kAtLeastOnce, false, false, 0}).has_value());
  EXPECT_FALSE(Encode(Publish{"a", "", QoS::kAtMostOnce, true, false, 0}).has_value());
  EXPECT_FALSE(Encode(Publish{"a", "", static_cast<QoS>(3), false, false, 1}).has_value());
  EXPECT_FALSE(
      Encode(Publish{std::string("a\0", 2), "", QoS::kAtMostOnce, false, false, 0}).has_value());
  EXPECT_FALSE(Encode(Subscribe{1, {}}).has_value());
  EXPECT_FALSE(Encode(Subscribe{1, {{"a#", QoS::kAtMostOnce}}}).has_value());
  Connect c;
  c.password = "p";
  EXPECT_FALSE(Encode(c).has_value());
  c = {};
  c.client_id = std::string(70'000, 'c');
  EXPECT_FALSE(Encode(c).has_value());
  std::vector<uint8_t> out = {1, 2};
  EXPECT_FALSE(EncodeTo(PubAck{0}, out).ok());
  EXPECT_EQ(out, (Bytes{1, 2}));
}

}  // namespace
}  // namespace sensordb::mqtt
