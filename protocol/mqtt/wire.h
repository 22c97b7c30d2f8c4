// The byte-level pieces of MQTT 3.1.1 encoding (spec 1.5, 2.2.3): big-endian two-byte
// integers, length-prefixed strings and binary data, and the remaining-length varint. A
// Reader never reads past its span and reports the first malformed field; a Writer appends.
// Internal to protocol/mqtt/. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sensordb/status.h"

namespace sensordb::mqtt::wire {

inline constexpr uint32_t kMaxRemainingLength = 268'435'455;  // 4 varint bytes
inline constexpr size_t kMaxRemainingLengthBytes = 4;
inline constexpr size_t kMaxStringBytes = 65'535;

// Result of reading a remaining-length varint from the start of some bytes.
struct VarintRead {
  enum class State : uint8_t { kDone, kNeedMore, kTooLong } state = State::kNeedMore;
  uint32_t value = 0;
  size_t bytes = 0;  // consumed, when kDone
};
VarintRead ReadRemainingLength(std::span<const uint8_t> bytes);
void AppendRemainingLength(uint32_t value, std::vector<uint8_t>& out);

class Reader {
 public:
  // `packet` names the packet in errors ("CONNECT"); `body` must outlive the reader.
  Reader(std::string_view packet, std::span<const uint8_t> body) : packet_(packet), body_(body) {}

  size_t remaining() const { return body_.size() - pos_; }
  Status U8(std::string_view field, uint8_t* out);
  Status U16(std::string_view field, uint16_t* out);
  // A non-zero packet identifier (spec 2.3.1).
  Status PacketId(uint16_t* out);
  // A length-prefixed UTF-8 string (spec 1.5.3), checked and at most `max_bytes` long.
  Status String(std::string_view field, size_t max_bytes, std::string* out);
  // Length-prefixed binary data, at most `max_bytes` long.
  Status Binary(std::string_view field, size_t max_bytes, std::string* out);
  // Everything left.
  std::string_view Rest();
  // Fails unless the body is consumed.
  Status ExpectEnd();

  Status Malformed(std::string_view what) const;

 private:
  Status Prefixed(std::string_view field, size_t max_bytes, std::string* out);

  std::string_view packet_;
  std::span<const uint8_t> body_;
  size_t pos_ = 0;
};

class Writer {
 public:
  explicit Writer(std::vector<uint8_t>& out) : out_(out) {}
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v);
  // Length-prefixed; the caller has checked the length against kMaxStringBytes.
  void String(std::string_view s);
  void Raw(std::string_view s);

 private:
  std::vector<uint8_t>& out_;
};

}  // namespace sensordb::mqtt::wire
