// Framing of the native client protocol (protocol/README.md): a frame is a u32 big-endian
// payload length followed by the payload, a FlatBuffer whose root is a wire::Envelope
// (protocol/schema/sensordb.fbs). Nothing here trusts the peer: lengths are checked before any
// allocation and every payload passes the FlatBuffers Verifier before it is handed out.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/protocol/sensordb_generated.h"
#include "sensordb/status.h"

namespace sensordb::protocol {

// Views of wire vectors as engine spans read the little-endian wire format in place.
static_assert(FLATBUFFERS_LITTLEENDIAN, "the protocol library needs a little-endian host");

inline constexpr uint16_t kMinProtocolVersion = 1;  // versions this library speaks
inline constexpr uint16_t kMaxProtocolVersion = 1;
inline constexpr size_t kFrameHeaderBytes = 4;
inline constexpr uint32_t kDefaultMaxFrameBytes = 16 * 1024 * 1024;
// No peer may announce a smaller limit: every message but Write and QueryChunk fits in it.
inline constexpr uint32_t kMinMaxFrameBytes = 64 * 1024;

// A frame ready to send. Header and payload stay apart so that a gather write (writev, an Asio
// buffer sequence) sends them without a copy. Move-only; immutable.
class OutFrame {
 public:
  explicit OutFrame(flatbuffers::DetachedBuffer payload);
  // Bytes of another protocol, sent as they are, without a header (the MQTT listener shares
  // the server's connection code).
  static OutFrame Raw(std::vector<uint8_t> bytes);

  std::span<const uint8_t> header() const {
    return raw_ ? std::span<const uint8_t>() : std::span<const uint8_t>(header_);
  }
  std::span<const uint8_t> payload() const {
    return raw_ ? std::span<const uint8_t>(raw_bytes_)
                : std::span<const uint8_t>(payload_.data(), payload_.size());
  }
  size_t size() const { return header().size() + payload().size(); }
  // Header and payload appended to `out` (tests, simple blocking clients).
  void AppendTo(std::vector<uint8_t>& out) const;
  std::vector<uint8_t> ToBytes() const;

 private:
  OutFrame() = default;
  std::array<uint8_t, kFrameHeaderBytes> header_{};
  flatbuffers::DetachedBuffer payload_;
  bool raw_ = false;
  std::vector<uint8_t> raw_bytes_;
};

// Finishes `fbb` with an Envelope around `message` (of union type `type`) and makes it a frame.
OutFrame FinishEnvelope(flatbuffers::FlatBufferBuilder& fbb, uint64_t request_id,
                        wire::Message type, flatbuffers::Offset<void> message);

// A received frame whose payload passed verification. Move-only; envelope() points into it.
class Frame {
 public:
  const wire::Envelope& envelope() const { return *wire::GetEnvelope(payload_.data()); }
  uint64_t request_id() const { return envelope().request_id(); }
  wire::Message type() const { return envelope().message_type(); }
  std::span<const uint8_t> payload() const { return payload_; }

  // The message as `T` (wire::Write, ...), or null when the frame carries another type.
  template <typename T>
  const T* As() const {
    return envelope().message_as<T>();
  }

 private:
  friend Result<Frame> VerifyFrame(std::vector<uint8_t> payload, uint32_t max_frame_bytes);
  explicit Frame(std::vector<uint8_t> payload) : payload_(std::move(payload)) {}

  std::vector<uint8_t> payload_;  // heap-allocated, so aligned for every FlatBuffers scalar
};

// Checks one payload (without its header) and wraps it: the size limit, the file identifier
// "SDB1", FlatBuffers verification, and that the envelope carries a message. A message type
// newer than this library passes (answer it with Error{NotSupported}; see IsKnownMessage).
Result<Frame> VerifyFrame(std::vector<uint8_t> payload,
                          uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

bool IsKnownMessage(wire::Message type);
// "Write", "QueryChunk", ...; "unknown message type N" for a newer type.
std::string MessageName(wire::Message type);

// Cuts a byte stream into verified frames. Feed() the bytes as they arrive, in pieces of any
// size; take complete frames with Next(). The first bad frame breaks the stream: Feed() returns
// its error from then on (frames completed before it are still returned by Next()); answer
// with an Error (request id 0) and close the connection. Memory held: the frames not yet taken
// plus the frame being received, which grows with the bytes actually received, never from a
// header alone. Not thread-safe.
class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

  Status Feed(std::span<const uint8_t> bytes);
  std::optional<Frame> Next();

  // No partial frame is buffered: a peer closing the connection now closes it cleanly.
  bool at_frame_boundary() const { return header_have_ == 0; }
  // Bytes held for the frame being received: follows what arrived, not what the header claims.
  size_t reserved_bytes() const { return payload_.capacity(); }
  const Status& status() const { return status_; }
  uint32_t max_frame_bytes() const { return max_frame_bytes_; }
  // Changes the limit for frames whose header is not complete yet (a server raises it once
  // the peer has authenticated).
  void set_max_frame_bytes(uint32_t max_frame_bytes) { max_frame_bytes_ = max_frame_bytes; }

 private:
  void StartPayload();
  void FinishPayload();

  uint32_t max_frame_bytes_;
  std::array<uint8_t, kFrameHeaderBytes> header_{};
  size_t header_have_ = 0;
  uint32_t payload_bytes_ = 0;  // of the frame being received, once its header is complete
  std::vector<uint8_t> payload_;
  std::deque<Frame> ready_;
  Status status_;
};

}  // namespace sensordb::protocol
