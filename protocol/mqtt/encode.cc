// Encoding of single packets (codec.h). Each packet's body is built first, so that its
// remaining length is known and nothing reaches `out` before every field has been checked.
#include <fmt/format.h>

#include "mqtt/codec.h"
#include "mqtt/topic.h"
#include "mqtt/wire.h"

namespace sensordb::mqtt {
namespace {

using wire::Writer;

Status CheckString(std::string_view field, std::string_view s) {
  if (s.size() > wire::kMaxStringBytes) {
    return Status::InvalidArgument(fmt::format("{} is longer than 65535 bytes", field));
  }
  if (!IsMqttUtf8(s)) {
    return Status::InvalidArgument(
        fmt::format("{} is not well-formed UTF-8 without U+0000 (spec 1.5.3)", field));
  }
  return Status::Ok();
}

Status CheckBinary(std::string_view field, std::string_view s) {
  if (s.size() > wire::kMaxStringBytes) {
    return Status::InvalidArgument(fmt::format("{} is longer than 65535 bytes", field));
  }
  return Status::Ok();
}

Status CheckQoS(QoS qos) {
  if (static_cast<uint8_t>(qos) > 2) {
    return Status::InvalidArgument(fmt::format("QoS {} does not exist", static_cast<int>(qos)));
  }
  return Status::Ok();
}

Status CheckPacketId(uint16_t id) {
  if (id == 0) return Status::InvalidArgument("packet identifier 0 (it must be non-zero)");
  return Status::Ok();
}

Result<uint8_t> EncodeConnect(const Connect& c, std::vector<uint8_t>& body) {
  SENSORDB_RETURN_IF_ERROR(CheckString("protocol name", c.protocol_name));
  SENSORDB_RETURN_IF_ERROR(CheckString("client identifier", c.client_id));
  uint8_t flags = c.clean_session ? 0x02 : 0x00;
  if (c.will) {
    SENSORDB_RETURN_IF_ERROR(ValidateTopicName(c.will->topic));
    SENSORDB_RETURN_IF_ERROR(CheckBinary("will message", c.will->message));
    SENSORDB_RETURN_IF_ERROR(CheckQoS(c.will->qos));
    flags |= 0x04 | static_cast<uint8_t>(static_cast<uint8_t>(c.will->qos) << 3) |
             (c.will->retain ? 0x20 : 0x00);
  }
  if (c.password && !c.username) {
    return Err(Status::InvalidArgument("a password needs a user name [MQTT-3.1.2-22]"));
  }
  if (c.username) {
    SENSORDB_RETURN_IF_ERROR(CheckString("user name", *c.username));
    flags |= 0x80;
  }
  if (c.password) {
    SENSORDB_RETURN_IF_ERROR(CheckBinary("password", *c.password));
    flags |= 0x40;
  }
  Writer w(body);
  w.String(c.protocol_name);
  w.U8(c.protocol_level);
  w.U8(flags);
  w.U16(c.keep_alive_s);
  w.String(c.client_id);
  if (c.will) {
    w.String(c.will->topic);
    w.String(c.will->message);
  }
  if (c.username) w.String(*c.username);
  if (c.password) w.String(*c.password);
  return uint8_t{0x10};
}

Result<uint8_t> EncodeConnAck(const ConnAck& a, std::vector<uint8_t>& body) {
  const auto code = static_cast<uint8_t>(a.return_code);
  if (code > static_cast<uint8_t>(ConnectReturnCode::kNotAuthorized)) {
    return Err(Status::InvalidArgument(fmt::format("CONNACK return code {} is reserved", code)));
  }
  if (a.session_present && code != 0) {
    return Err(Status::InvalidArgument("session present with a refusal [MQTT-3.2.2-4]"));
  }
  Writer w(body);
  w.U8(a.session_present ? 1 : 0);
  w.U8(code);
  return uint8_t{0x20};
}

Result<uint8_t> EncodePublish(const Publish& p, std::vector<uint8_t>& body) {
  SENSORDB_RETURN_IF_ERROR(ValidateTopicName(p.topic));
  SENSORDB_RETURN_IF_ERROR(CheckQoS(p.qos));
  const bool has_id = p.qos != QoS::kAtMostOnce;
  if (has_id) {
    SENSORDB_RETURN_IF_ERROR(CheckPacketId(p.packet_id));
  } else if (p.packet_id != 0 || p.dup) {
    return Err(Status::InvalidArgument("a QoS 0 PUBLISH has no packet id and no DUP"));
  }
  Writer w(body);
  w.String(p.topic);
  if (has_id) w.U16(p.packet_id);
  w.Raw(p.payload);
  return static_cast<uint8_t>(0x30 | (p.dup ? 0x08 : 0) | static_cast<uint8_t>(p.qos) << 1 |
                              (p.retain ? 0x01 : 0));
}

Result<uint8_t> EncodeIdOnly(uint8_t first_byte, uint16_t id, std::vector<uint8_t>& body) {
  SENSORDB_RETURN_IF_ERROR(CheckPacketId(id));
  Writer(body).U16(id);
  return first_byte;
}

Result<uint8_t> EncodeSubscribe(const Subscribe& s, std::vector<uint8_t>& body) {
  SENSORDB_RETURN_IF_ERROR(CheckPacketId(s.packet_id));
  if (s.subscriptions.empty()) {
    return Err(Status::InvalidArgument("a SUBSCRIBE needs a topic filter"));
  }
  Writer w(body);
  w.U16(s.packet_id);
  for (const Subscription& sub : s.subscriptions) {
    SENSORDB_RETURN_IF_ERROR(ValidateTopicFilter(sub.topic_filter));
    SENSORDB_RETURN_IF_ERROR(CheckQoS(sub.qos));
    w.String(sub.topic_filter);
    w.U8(static_cast<uint8_t>(sub.qos));
  }
  return uint8_t{0x82};
}

Result<uint8_t> EncodeSubAck(const SubAck& a, std::vector<uint8_t>& body) {
  SENSORDB_RETURN_IF_ERROR(CheckPacketId(a.packet_id));
  if (a.return_codes.empty()) return Err(Status::InvalidArgument("a SUBACK needs a return code"));
  Writer w(body);
  w.U16(a.packet_id);
  for (uint8_t code : a.return_codes) {
    if (code > 2 && code != kSubAckFailure) {
      return Err(Status::InvalidArgument(fmt::format("SUBACK return code 0x{:02x}", code)));
    }
    w.U8(code);
  }
  return uint8_t{0x90};
}

Result<uint8_t> EncodeUnsubscribe(const Unsubscribe& u, std::vector<uint8_t>& body) {
  SENSORDB_RETURN_IF_ERROR(CheckPacketId(u.packet_id));
  if (u.topic_filters.empty()) {
    return Err(Status::InvalidArgument("an UNSUBSCRIBE needs a topic filter"));
  }
  Writer w(body);
  w.U16(u.packet_id);
  for (const std::string& filter : u.topic_filters) {
    SENSORDB_RETURN_IF_ERROR(ValidateTopicFilter(filter));
    w.String(filter);
  }
  return uint8_t{0xa2};
}

Result<uint8_t> EncodeBody(const Packet& packet, std::vector<uint8_t>& body) {
  struct Visitor {
    std::vector<uint8_t>& body;
    Result<uint8_t> operator()(const Connect& p) { return EncodeConnect(p, body); }
    Result<uint8_t> operator()(const ConnAck& p) { return EncodeConnAck(p, body); }
    Result<uint8_t> operator()(const Publish& p) { return EncodePublish(p, body); }
    Result<uint8_t> operator()(const PubAck& p) { return EncodeIdOnly(0x40, p.packet_id, body); }
    Result<uint8_t> operator()(const Subscribe& p) { return EncodeSubscribe(p, body); }
    Result<uint8_t> operator()(const SubAck& p) { return EncodeSubAck(p, body); }
    Result<uint8_t> operator()(const Unsubscribe& p) { return EncodeUnsubscribe(p, body); }
    Result<uint8_t> operator()(const UnsubAck& p) { return EncodeIdOnly(0xb0, p.packet_id, body); }
    Result<uint8_t> operator()(const PingReq&) { return uint8_t{0xc0}; }
    Result<uint8_t> operator()(const PingResp&) { return uint8_t{0xd0}; }
    Result<uint8_t> operator()(const Disconnect&) { return uint8_t{0xe0}; }
  };
  return std::visit(Visitor{body}, packet);
}

}  // namespace

Status EncodeTo(const Packet& packet, std::vector<uint8_t>& out) {
  std::vector<uint8_t> body;
  SENSORDB_ASSIGN_OR_RETURN(const uint8_t first_byte, EncodeBody(packet, body));
  if (body.size() > wire::kMaxRemainingLength) {
    return Status::InvalidArgument(
        fmt::format("{} of {} bytes exceeds MQTT's maximum remaining length of {}",
                    PacketTypeName(first_byte >> 4), body.size(), wire::kMaxRemainingLength));
  }
  out.reserve(out.size() + 1 + wire::kMaxRemainingLengthBytes + body.size());
  out.push_back(first_byte);
  wire::AppendRemainingLength(static_cast<uint32_t>(body.size()), out);
  out.insert(out.end(), body.begin(), body.end());
  return Status::Ok();
}

Result<std::vector<uint8_t>> Encode(const Packet& packet) {
  std::vector<uint8_t> out;
  SENSORDB_RETURN_IF_ERROR(EncodeTo(packet, out));
  return out;
}

}  // namespace sensordb::mqtt
