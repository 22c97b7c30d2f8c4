// PacketDecoder: cuts an MQTT byte stream into decoded packets, like protocol::FrameDecoder
// does for native frames. Feed() the bytes as they arrive, in pieces of any size; take packets
// with Next(). The fixed header is checked as soon as it arrives (type, flags, a remaining
// length of at most 4 bytes, the whole packet within max_packet_bytes), before any of the
// body is buffered. The first bad packet breaks the stream: Feed() returns its error from then
// on (packets completed before it are still returned by Next()); MQTT 3.1.1 has no error
// reply, so close the connection. Memory held: the packets not yet taken plus the packet being
// received, which grows with the bytes actually received, never from a header alone.
// Not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "mqtt/codec.h"
#include "mqtt/packet.h"
#include "sensordb/status.h"

namespace sensordb::mqtt {

class PacketDecoder {
 public:
  explicit PacketDecoder(Sender from, DecodeLimits limits = {});

  Status Feed(std::span<const uint8_t> bytes);
  std::optional<Packet> Next();

  // No partial packet is buffered: a peer closing the connection now closes it cleanly.
  bool at_packet_boundary() const { return header_have_ == 0; }
  // Bytes held for the packet being received: follows what arrived, not what the header says.
  size_t reserved_bytes() const { return body_.capacity(); }
  const Status& status() const { return status_; }
  const DecodeLimits& limits() const { return limits_; }

 private:
  // Takes header bytes from `bytes`; returns how many it used.
  size_t FeedHeader(std::span<const uint8_t> bytes);
  void StartBody(uint32_t remaining_length, size_t header_bytes);
  void FinishPacket();

  const Sender from_;
  const DecodeLimits limits_;
  std::array<uint8_t, 5> header_{};  // first byte + at most 4 remaining-length bytes
  size_t header_have_ = 0;
  bool in_body_ = false;
  uint32_t body_bytes_ = 0;  // of the packet being received, once its header is complete
  std::vector<uint8_t> body_;
  std::deque<Packet> ready_;
  Status status_;
};

}  // namespace sensordb::mqtt
