#include "mqtt/wire.h"

#include <fmt/format.h>

#include "mqtt/topic.h"

namespace sensordb::mqtt::wire {

VarintRead ReadRemainingLength(std::span<const uint8_t> bytes) {
  VarintRead r;
  uint32_t multiplier = 1;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == kMaxRemainingLengthBytes) {
      r.state = VarintRead::State::kTooLong;
      return r;
    }
    r.value += (bytes[i] & 0x7fu) * multiplier;
    multiplier *= 128;
    if ((bytes[i] & 0x80u) == 0) {
      r.state = VarintRead::State::kDone;
      r.bytes = i + 1;
      return r;
    }
  }
  // A 4th byte with its continuation bit set already says a 5th would follow.
  if (bytes.size() >= kMaxRemainingLengthBytes) r.state = VarintRead::State::kTooLong;
  return r;
}

void AppendRemainingLength(uint32_t value, std::vector<uint8_t>& out) {
  do {
    uint8_t byte = value % 128;
    value /= 128;
    if (value > 0) byte |= 0x80;
    out.push_back(byte);
  } while (value > 0);
}

Status Reader::Malformed(std::string_view what) const {
  return Status::InvalidArgument(fmt::format("malformed {}: {}", packet_, what));
}

Status Reader::U8(std::string_view field, uint8_t* out) {
  if (remaining() < 1) return Malformed(fmt::format("truncated before the {}", field));
  *out = body_[pos_++];
  return Status::Ok();
}

Status Reader::U16(std::string_view field, uint16_t* out) {
  if (remaining() < 2) return Malformed(fmt::format("truncated before the {}", field));
  *out = static_cast<uint16_t>(body_[pos_] << 8 | body_[pos_ + 1]);
  pos_ += 2;
  return Status::Ok();
}

Status Reader::PacketId(uint16_t* out) {
  SENSORDB_RETURN_IF_ERROR(U16("packet identifier", out));
  if (*out == 0) return Malformed("packet identifier 0 (it must be non-zero)");
  return Status::Ok();
}

Status Reader::Prefixed(std::string_view field, size_t max_bytes, std::string* out) {
  uint16_t length = 0;
  SENSORDB_RETURN_IF_ERROR(U16(fmt::format("length of the {}", field), &length));
  if (length > remaining()) {
    return Malformed(
        fmt::format("{} claims {} bytes but only {} remain", field, length, remaining()));
  }
  if (length > max_bytes) {
    return Status::ResourceExhausted(fmt::format("{} {} of {} bytes exceeds the limit of {}",
                                                 packet_, field, length, max_bytes));
  }
  out->assign(reinterpret_cast<const char*>(body_.data() + pos_), length);
  pos_ += length;
  return Status::Ok();
}

Status Reader::String(std::string_view field, size_t max_bytes, std::string* out) {
  SENSORDB_RETURN_IF_ERROR(Prefixed(field, max_bytes, out));
  if (!IsMqttUtf8(*out)) {
    return Malformed(fmt::format("{} is not well-formed UTF-8 without U+0000 (spec 1.5.3)", field));
  }
  return Status::Ok();
}

Status Reader::Binary(std::string_view field, size_t max_bytes, std::string* out) {
  return Prefixed(field, max_bytes, out);
}

std::string_view Reader::Rest() {
  std::string_view rest(reinterpret_cast<const char*>(body_.data() + pos_), remaining());
  pos_ = body_.size();
  return rest;
}

Status Reader::ExpectEnd() {
  if (remaining() != 0) return Malformed(fmt::format("{} unexpected trailing bytes", remaining()));
  return Status::Ok();
}

void Writer::U16(uint16_t v) {
  out_.push_back(static_cast<uint8_t>(v >> 8));
  out_.push_back(static_cast<uint8_t>(v & 0xff));
}

void Writer::String(std::string_view s) {
  U16(static_cast<uint16_t>(s.size()));
  Raw(s);
}

void Writer::Raw(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }

}  // namespace sensordb::mqtt::wire
