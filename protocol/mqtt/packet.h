// The MQTT 3.1.1 control packets (OASIS standard, 29 October 2014) that sensordb speaks, as
// plain values: what codec.h decodes and encodes. Only the subset of README.md is modelled;
// PUBREC/PUBREL/PUBCOMP (the QoS 2 flow) are not. Values, thread-safe as such.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sensordb::mqtt {

// Control packet types: the high nibble of the fixed header's first byte (spec 2.2.1).
enum class PacketType : uint8_t {
  kConnect = 1,
  kConnAck = 2,
  kPublish = 3,
  kPubAck = 4,
  kPubRec = 5,
  kPubRel = 6,
  kPubComp = 7,
  kSubscribe = 8,
  kSubAck = 9,
  kUnsubscribe = 10,
  kUnsubAck = 11,
  kPingReq = 12,
  kPingResp = 13,
  kDisconnect = 14,
};

// "CONNECT", "PUBLISH", ...; "reserved packet type N" for 0 and 15.
std::string PacketTypeName(uint8_t type);

enum class QoS : uint8_t { kAtMostOnce = 0, kAtLeastOnce = 1, kExactlyOnce = 2 };

// CONNACK return codes (spec 3.2.2.3).
enum class ConnectReturnCode : uint8_t {
  kAccepted = 0,
  kUnacceptableProtocolVersion = 1,
  kIdentifierRejected = 2,
  kServerUnavailable = 3,
  kBadUserNameOrPassword = 4,
  kNotAuthorized = 5,
};

inline constexpr uint8_t kProtocolLevel311 = 4;
// SUBACK return code for a refused subscription (spec 3.9.3).
inline constexpr uint8_t kSubAckFailure = 0x80;

struct Will {
  std::string topic;
  std::string message;  // binary
  QoS qos = QoS::kAtMostOnce;
  bool retain = false;

  bool operator==(const Will&) const = default;
};

// CONNECT. A CONNECT whose protocol level is not 4 decodes with only protocol_name and
// protocol_level set (the rest of a foreign version is not parsed): answer it with CONNACK
// kUnacceptableProtocolVersion and close (spec 3.1.2.2). See ConnectRefusal() in codec.h.
struct Connect {
  std::string protocol_name = "MQTT";
  uint8_t protocol_level = kProtocolLevel311;
  bool clean_session = true;
  uint16_t keep_alive_s = 0;  // 0: no keep-alive
  std::string client_id;      // may be empty with clean_session
  std::optional<Will> will;
  std::optional<std::string> username;
  // Binary. The device listener ignores it (the certificate is the credential); never log it.
  std::optional<std::string> password;

  bool operator==(const Connect&) const = default;
};

struct ConnAck {
  bool session_present = false;
  ConnectReturnCode return_code = ConnectReturnCode::kAccepted;

  bool operator==(const ConnAck&) const = default;
};

struct Publish {
  std::string topic;
  std::string payload;  // binary
  QoS qos = QoS::kAtMostOnce;
  bool dup = false;
  bool retain = false;
  uint16_t packet_id = 0;  // non-zero when qos > 0, else 0

  bool operator==(const Publish&) const = default;
};

struct PubAck {
  uint16_t packet_id = 0;

  bool operator==(const PubAck&) const = default;
};

struct Subscription {
  std::string topic_filter;
  QoS qos = QoS::kAtMostOnce;

  bool operator==(const Subscription&) const = default;
};

struct Subscribe {
  uint16_t packet_id = 0;
  std::vector<Subscription> subscriptions;  // at least one

  bool operator==(const Subscribe&) const = default;
};

struct SubAck {
  uint16_t packet_id = 0;
  std::vector<uint8_t> return_codes;  // 0, 1, 2 (granted QoS) or kSubAckFailure

  bool operator==(const SubAck&) const = default;
};

struct Unsubscribe {
  uint16_t packet_id = 0;
  std::vector<std::string> topic_filters;  // at least one

  bool operator==(const Unsubscribe&) const = default;
};

struct UnsubAck {
  uint16_t packet_id = 0;

  bool operator==(const UnsubAck&) const = default;
};

struct PingReq {
  bool operator==(const PingReq&) const = default;
};
struct PingResp {
  bool operator==(const PingResp&) const = default;
};
struct Disconnect {
  bool operator==(const Disconnect&) const = default;
};

using Packet = std::variant<Connect, ConnAck, Publish, PubAck, Subscribe, SubAck, Unsubscribe,
                            UnsubAck, PingReq, PingResp, Disconnect>;

PacketType TypeOf(const Packet& packet);

}  // namespace sensordb::mqtt
