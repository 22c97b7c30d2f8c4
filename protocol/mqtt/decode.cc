// Decoding of single packets (codec.h). Field order and rules follow the spec's sections
// 3.1 to 3.14; the [MQTT-x.y.z-n] normative statement each check enforces is named where it
// is not obvious.
#include <fmt/format.h>

#include "mqtt/codec.h"
#include "mqtt/topic.h"
#include "mqtt/wire.h"

namespace sensordb::mqtt {
namespace {

using wire::Reader;

constexpr uint8_t kConnectReservedFlag = 0x01;
constexpr uint8_t kConnectCleanSession = 0x02;
constexpr uint8_t kConnectWill = 0x04;
constexpr uint8_t kConnectWillQoSShift = 3;
constexpr uint8_t kConnectWillRetain = 0x20;
constexpr uint8_t kConnectPassword = 0x40;
constexpr uint8_t kConnectUsername = 0x80;

bool ClientMaySend(PacketType t) {
  switch (t) {
    case PacketType::kConnect:
    case PacketType::kPublish:
    case PacketType::kPubAck:
    case PacketType::kPubRec:
    case PacketType::kPubRel:
    case PacketType::kPubComp:
    case PacketType::kSubscribe:
    case PacketType::kUnsubscribe:
    case PacketType::kPingReq:
    case PacketType::kDisconnect:
      return true;
    default:
      return false;
  }
}

bool ServerMaySend(PacketType t) {
  switch (t) {
    case PacketType::kConnAck:
    case PacketType::kPublish:
    case PacketType::kPubAck:
    case PacketType::kPubRec:
    case PacketType::kPubRel:
    case PacketType::kPubComp:
    case PacketType::kSubAck:
    case PacketType::kUnsubAck:
    case PacketType::kPingResp:
      return true;
    default:
      return false;
  }
}

// A topic (name or filter) read as a string, bounded, then checked by `validate`.
Status ReadTopic(Reader& r, std::string_view field, size_t max_bytes,
                 Status (*validate)(std::string_view), std::string* out) {
  SENSORDB_RETURN_IF_ERROR(r.String(field, max_bytes, out));
  if (Status s = validate(*out); !s.ok()) return r.Malformed(s.message());
  return Status::Ok();
}

Result<Packet> DecodeConnect(Reader& r, const DecodeLimits& limits) {
  Connect c;
  SENSORDB_RETURN_IF_ERROR(r.String("protocol name", 16, &c.protocol_name));
  SENSORDB_RETURN_IF_ERROR(r.U8("protocol level", &c.protocol_level));
  // MQIsdp is MQTT 3.1: a known protocol at a level we do not serve, answered with CONNACK 1.
  if (c.protocol_name != "MQTT" && c.protocol_name != "MQIsdp") {
    return Err(r.Malformed(fmt::format("protocol name '{}' (expected MQTT)", c.protocol_name)));
  }
  if (c.protocol_name != "MQTT" || c.protocol_level != kProtocolLevel311) return c;
  uint8_t flags = 0;
  SENSORDB_RETURN_IF_ERROR(r.U8("connect flags", &flags));
  if (flags & kConnectReservedFlag) {
    return Err(r.Malformed("reserved connect flag (bit 0) is set [MQTT-3.1.2-3]"));
  }
  c.clean_session = flags & kConnectCleanSession;
  const bool will = flags & kConnectWill;
  const uint8_t will_qos = (flags >> kConnectWillQoSShift) & 0x03;
  const bool will_retain = flags & kConnectWillRetain;
  if (will_qos == 3) return Err(r.Malformed("will QoS 3 [MQTT-3.1.2-14]"));
  if (!will && (will_qos != 0 || will_retain)) {
    return Err(r.Malformed("will QoS or will retain set without the will flag [MQTT-3.1.2-11]"));
  }
  const bool username = flags & kConnectUsername;
  const bool password = flags & kConnectPassword;
  if (password && !username) {
    return Err(r.Malformed("password flag set without the user name flag [MQTT-3.1.2-22]"));
  }
  SENSORDB_RETURN_IF_ERROR(r.U16("keep alive", &c.keep_alive_s));
  SENSORDB_RETURN_IF_ERROR(r.String("client identifier", limits.max_client_id_bytes, &c.client_id));
  if (will) {
    Will w;
    w.qos = static_cast<QoS>(will_qos);
    w.retain = will_retain;
    SENSORDB_RETURN_IF_ERROR(
        ReadTopic(r, "will topic", limits.max_topic_bytes, &ValidateTopicName, &w.topic));
    SENSORDB_RETURN_IF_ERROR(r.Binary("will message", limits.max_will_message_bytes, &w.message));
    c.will = std::move(w);
  }
  if (username) {
    c.username.emplace();
    SENSORDB_RETURN_IF_ERROR(r.String("user name", limits.max_username_bytes, &*c.username));
  }
  if (password) {
    c.password.emplace();
    SENSORDB_RETURN_IF_ERROR(r.Binary("password", limits.max_password_bytes, &*c.password));
  }
  SENSORDB_RETURN_IF_ERROR(r.ExpectEnd());
  return c;
}

Result<Packet> DecodeConnAck(Reader& r) {
  uint8_t ack_flags = 0, code = 0;
  SENSORDB_RETURN_IF_ERROR(r.U8("acknowledge flags", &ack_flags));
  SENSORDB_RETURN_IF_ERROR(r.U8("return code", &code));
  SENSORDB_RETURN_IF_ERROR(r.ExpectEnd());
  if (ack_flags & 0xfe) return Err(r.Malformed("reserved acknowledge flags (bits 7-1) are set"));
  if (code > static_cast<uint8_t>(ConnectReturnCode::kNotAuthorized)) {
    return Err(r.Malformed(fmt::format("return code {} is reserved", code)));
  }
  ConnAck a{(ack_flags & 0x01) != 0, static_cast<ConnectReturnCode>(code)};
  if (a.session_present && code != 0) {
    return Err(r.Malformed("session present with a refusal [MQTT-3.2.2-4]"));
  }
  return a;
}

Result<Packet> DecodePublish(Reader& r, uint8_t flags, const DecodeLimits& limits) {
  Publish p;
  p.dup = flags & 0x08;
  p.qos = static_cast<QoS>((flags >> 1) & 0x03);
  p.retain = flags & 0x01;
  SENSORDB_RETURN_IF_ERROR(
      ReadTopic(r, "topic name", limits.max_topic_bytes, &ValidateTopicName, &p.topic));
  if (p.qos != QoS::kAtMostOnce) SENSORDB_RETURN_IF_ERROR(r.PacketId(&p.packet_id));
  p.payload = r.Rest();
  return p;
}

// PUBACK and UNSUBACK: a packet identifier and nothing else.
Result<uint16_t> DecodeIdOnly(Reader& r) {
  uint16_t id = 0;
  SENSORDB_RETURN_IF_ERROR(r.PacketId(&id));
  SENSORDB_RETURN_IF_ERROR(r.ExpectEnd());
  return id;
}

Status CheckFilterCount(size_t count, const DecodeLimits& limits) {
  if (count > limits.max_topic_filters) {
    return Status::ResourceExhausted(
        fmt::format("more than {} topic filters in one packet", limits.max_topic_filters));
  }
  return Status::Ok();
}

Result<Packet> DecodeSubscribe(Reader& r, const DecodeLimits& limits) {
  Subscribe s;
  SENSORDB_RETURN_IF_ERROR(r.PacketId(&s.packet_id));
  if (r.remaining() == 0) return Err(r.Malformed("no topic filter [MQTT-3.8.3-3]"));
  while (r.remaining() > 0) {
    SENSORDB_RETURN_IF_ERROR(CheckFilterCount(s.subscriptions.size() + 1, limits));
    Subscription sub;
    SENSORDB_RETURN_IF_ERROR(ReadTopic(r, "topic filter", limits.max_topic_bytes,
                                       &ValidateTopicFilter, &sub.topic_filter));
    uint8_t qos = 0;
    SENSORDB_RETURN_IF_ERROR(r.U8("requested QoS", &qos));
    if (qos > 2) {
      return Err(r.Malformed(fmt::format(
          "requested QoS byte 0x{:02x} (reserved bits set or QoS 3) [MQTT-3.8.3-4]", qos)));
    }
    sub.qos = static_cast<QoS>(qos);
    s.subscriptions.push_back(std::move(sub));
  }
  return s;
}

Result<Packet> DecodeSubAck(Reader& r) {
  SubAck a;
  SENSORDB_RETURN_IF_ERROR(r.PacketId(&a.packet_id));
  if (r.remaining() == 0) return Err(r.Malformed("no return code"));
  while (r.remaining() > 0) {
    uint8_t code = 0;
    SENSORDB_RETURN_IF_ERROR(r.U8("return code", &code));
    if (code > 2 && code != kSubAckFailure) {
      return Err(r.Malformed(fmt::format("return code 0x{:02x} is reserved", code)));
    }
    a.return_codes.push_back(code);
  }
  return a;
}

Result<Packet> DecodeUnsubscribe(Reader& r, const DecodeLimits& limits) {
  Unsubscribe u;
  SENSORDB_RETURN_IF_ERROR(r.PacketId(&u.packet_id));
  if (r.remaining() == 0) return Err(r.Malformed("no topic filter [MQTT-3.10.3-2]"));
  while (r.remaining() > 0) {
    SENSORDB_RETURN_IF_ERROR(CheckFilterCount(u.topic_filters.size() + 1, limits));
    std::string filter;
    SENSORDB_RETURN_IF_ERROR(
        ReadTopic(r, "topic filter", limits.max_topic_bytes, &ValidateTopicFilter, &filter));
    u.topic_filters.push_back(std::move(filter));
  }
  return u;
}

template <typename T>
Result<Packet> DecodeEmpty(Reader& r) {
  SENSORDB_RETURN_IF_ERROR(r.ExpectEnd());
  return T{};
}

}  // namespace

std::string PacketTypeName(uint8_t type) {
  static constexpr std::string_view kNames[] = {"",          "CONNECT",  "CONNACK",     "PUBLISH",
                                                "PUBACK",    "PUBREC",   "PUBREL",      "PUBCOMP",
                                                "SUBSCRIBE", "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                                "PINGREQ",   "PINGRESP", "DISCONNECT"};
  if (type == 0 || type >= std::size(kNames)) return fmt::format("reserved packet type {}", type);
  return std::string(kNames[type]);
}

PacketType TypeOf(const Packet& packet) {
  static constexpr PacketType kTypes[] = {
      PacketType::kConnect,     PacketType::kConnAck,   PacketType::kPublish,
      PacketType::kPubAck,      PacketType::kSubscribe, PacketType::kSubAck,
      PacketType::kUnsubscribe, PacketType::kUnsubAck,  PacketType::kPingReq,
      PacketType::kPingResp,    PacketType::kDisconnect};
  static_assert(std::size(kTypes) == std::variant_size_v<Packet>);
  return kTypes[packet.index()];
}

Status CheckFixedHeader(uint8_t first_byte, Sender from) {
  const uint8_t type = first_byte >> 4;
  const uint8_t flags = first_byte & 0x0f;
  const std::string name = PacketTypeName(type);
  if (type == 0 || type == 15) {
    return Status::InvalidArgument(fmt::format("malformed packet: {}", name));
  }
  const auto t = static_cast<PacketType>(type);
  if (from == Sender::kClient ? !ClientMaySend(t) : !ServerMaySend(t)) {
    return Status::InvalidArgument(fmt::format("malformed packet: a {} may not send {}",
                                               from == Sender::kClient ? "client" : "server",
                                               name));
  }
  if (t == PacketType::kPublish) {
    if (((flags >> 1) & 0x03) == 3) {
      return Status::InvalidArgument("malformed PUBLISH: QoS 3 [MQTT-3.3.1-4]");
    }
    if ((flags & 0x08) && ((flags >> 1) & 0x03) == 0) {
      return Status::InvalidArgument("malformed PUBLISH: DUP set on QoS 0 [MQTT-3.3.1-2]");
    }
    return Status::Ok();
  }
  const uint8_t required =
      (t == PacketType::kPubRel || t == PacketType::kSubscribe || t == PacketType::kUnsubscribe)
          ? 0x02
          : 0x00;
  if (flags != required) {
    return Status::InvalidArgument(
        fmt::format("malformed {}: reserved flag bits are {:04b}, must be {:04b} [MQTT-2.2.2-2]",
                    name, flags, required));
  }
  return Status::Ok();
}

Result<Packet> DecodePacket(uint8_t first_byte, std::span<const uint8_t> body, Sender from,
                            const DecodeLimits& limits) {
  SENSORDB_RETURN_IF_ERROR(CheckFixedHeader(first_byte, from));
  const uint8_t type = first_byte >> 4;
  const std::string name = PacketTypeName(type);
  Reader r(name, body);
  switch (static_cast<PacketType>(type)) {
    case PacketType::kConnect:
      return DecodeConnect(r, limits);
    case PacketType::kConnAck:
      return DecodeConnAck(r);
    case PacketType::kPublish:
      return DecodePublish(r, first_byte & 0x0f, limits);
    case PacketType::kPubAck: {
      SENSORDB_ASSIGN_OR_RETURN(const uint16_t id, DecodeIdOnly(r));
      return PubAck{id};
    }
    case PacketType::kPubRec:
    case PacketType::kPubRel:
    case PacketType::kPubComp:
      return Err(Status::NotSupported(
          fmt::format("{} is part of the QoS 2 flow, which this server does not support", name)));
    case PacketType::kSubscribe:
      return DecodeSubscribe(r, limits);
    case PacketType::kSubAck:
      return DecodeSubAck(r);
    case PacketType::kUnsubscribe:
      return DecodeUnsubscribe(r, limits);
    case PacketType::kUnsubAck: {
      SENSORDB_ASSIGN_OR_RETURN(const uint16_t id, DecodeIdOnly(r));
      return UnsubAck{id};
    }
    case PacketType::kPingReq:
      return DecodeEmpty<PingReq>(r);
    case PacketType::kPingResp:
      return DecodeEmpty<PingResp>(r);
    case PacketType::kDisconnect:
      return DecodeEmpty<Disconnect>(r);
  }
  return Err(Status::Internal("unreachable packet type"));
}

ConnectReturnCode ConnectRefusal(const Connect& connect) {
  if (connect.protocol_name != "MQTT" || connect.protocol_level != kProtocolLevel311) {
    return ConnectReturnCode::kUnacceptableProtocolVersion;
  }
  if (connect.client_id.empty() && !connect.clean_session) {
    return ConnectReturnCode::kIdentifierRejected;
  }
  return ConnectReturnCode::kAccepted;
}

}  // namespace sensordb::mqtt
