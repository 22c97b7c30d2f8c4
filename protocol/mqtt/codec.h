// MQTT 3.1.1 packet codec: one packet's bytes to a Packet and back (packet.h), for the device
// listener (decodes client packets, encodes server packets) and for the fleet simulator and
// tests (the other way round). Pure functions on bytes: no sockets, no Asio, no state; the
// session rules (CONNECT first and once, keep-alive, which QoS is served) belong to the
// caller. A decoder never reads past the bytes it is given and names what is wrong in the
// Status: kInvalidArgument for a malformed packet, kResourceExhausted for a limit exceeded,
// kNotSupported for the QoS 2 flow. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "mqtt/packet.h"
#include "sensordb/status.h"

namespace sensordb::mqtt {

// Who sent the bytes being decoded: a server accepts only the packets a client may send, a
// client only those a server may send.
enum class Sender : uint8_t { kClient, kServer };

struct DecodeLimits {
  uint32_t max_packet_bytes = 256 * 1024;  // the whole packet, fixed header included
  size_t max_client_id_bytes = 256;
  size_t max_username_bytes = 256;
  size_t max_password_bytes = 1024;
  size_t max_will_message_bytes = 4096;
  size_t max_topic_bytes = 1024;  // topic names (also the will's) and topic filters
  size_t max_topic_filters = 16;  // per SUBSCRIBE or UNSUBSCRIBE
};

// Checks the first byte of a fixed header (spec 2.2): a known type that `from` may send, with
// the flag bits that type requires (0010 for SUBSCRIBE/UNSUBSCRIBE/PUBREL, DUP/QoS/RETAIN
// with a QoS below 3 for PUBLISH, 0000 for the rest).
Status CheckFixedHeader(uint8_t first_byte, Sender from);

// Decodes one packet: `first_byte` of its fixed header and `body`, the remaining-length bytes
// that follow the fixed header. Checks CheckFixedHeader and every field of the packet.
Result<Packet> DecodePacket(uint8_t first_byte, std::span<const uint8_t> body, Sender from,
                            const DecodeLimits& limits = {});

// Appends the encoded packet to `out`, or on error leaves `out` as it was. Refuses what the
// decoder refuses (bad UTF-8, wildcards in a topic name, a zero packet id where one is
// needed, QoS above 2, a SUBACK code other than 0, 1, 2 or 0x80, ...), but no DecodeLimits.
Status EncodeTo(const Packet& packet, std::vector<uint8_t>& out);
Result<std::vector<uint8_t>> Encode(const Packet& packet);

// The CONNACK a server answers a decoded CONNECT with, as far as the packet alone tells:
// kUnacceptableProtocolVersion for another protocol level, kIdentifierRejected for an empty
// client id without clean session (spec 3.1.3.1), else kAccepted.
ConnectReturnCode ConnectRefusal(const Connect& connect);

}  // namespace sensordb::mqtt
