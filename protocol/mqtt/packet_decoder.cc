#include "mqtt/packet_decoder.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "mqtt/wire.h"

namespace sensordb::mqtt {
namespace {

// A body is first given this much room, then grows as its bytes arrive.
constexpr size_t kInitialBodyReserve = 4096;

}  // namespace

PacketDecoder::PacketDecoder(Sender from, DecodeLimits limits) : from_(from), limits_(limits) {}

Status PacketDecoder::Feed(std::span<const uint8_t> bytes) {
  while (status_.ok() && !bytes.empty()) {
    if (!in_body_) {
      bytes = bytes.subspan(FeedHeader(bytes));
      continue;
    }
    const size_t take = std::min<size_t>(body_bytes_ - body_.size(), bytes.size());
    if (body_.capacity() < body_.size() + take) {
      body_.reserve(
          std::min<size_t>(body_bytes_, std::max(2 * body_.capacity(), body_.size() + take)));
    }
    body_.insert(body_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(take));
    bytes = bytes.subspan(take);
    if (body_.size() == body_bytes_) FinishPacket();
  }
  return status_;
}

size_t PacketDecoder::FeedHeader(std::span<const uint8_t> bytes) {
  size_t used = 0;
  while (used < bytes.size() && status_.ok()) {
    header_[header_have_++] = bytes[used++];
    if (header_have_ == 1) {
      status_ = CheckFixedHeader(header_[0], from_);
      continue;
    }
    const wire::VarintRead length =
        wire::ReadRemainingLength(std::span<const uint8_t>(header_).subspan(1, header_have_ - 1));
    if (length.state == wire::VarintRead::State::kTooLong) {
      status_ = Status::InvalidArgument(fmt::format(
          "malformed {}: remaining length longer than 4 bytes", PacketTypeName(header_[0] >> 4)));
    } else if (length.state == wire::VarintRead::State::kDone) {
      StartBody(length.value, header_have_);
      break;
    }
  }
  return used;
}

void PacketDecoder::StartBody(uint32_t remaining_length, size_t header_bytes) {
  const uint64_t packet_bytes = uint64_t{remaining_length} + header_bytes;
  if (packet_bytes > limits_.max_packet_bytes) {
    status_ = Status::ResourceExhausted(
        fmt::format("{} of {} bytes exceeds the maximum packet size of {} bytes",
                    PacketTypeName(header_[0] >> 4), packet_bytes, limits_.max_packet_bytes));
    return;
  }
  body_bytes_ = remaining_length;
  body_.clear();
  body_.reserve(std::min<size_t>(remaining_length, kInitialBodyReserve));
  in_body_ = true;
  if (remaining_length == 0) FinishPacket();
}

void PacketDecoder::FinishPacket() {
  Result<Packet> packet = DecodePacket(header_[0], body_, from_, limits_);
  header_have_ = 0;
  in_body_ = false;
  body_bytes_ = 0;
  if (body_.capacity() > kInitialBodyReserve) {
    body_ = {};  // do not keep a large packet's buffer for the small ones that follow
  } else {
    body_.clear();
  }
  if (!packet.has_value()) {
    status_ = std::move(packet).error();
    return;
  }
  ready_.push_back(std::move(*packet));
}

std::optional<Packet> PacketDecoder::Next() {
  if (ready_.empty()) return std::nullopt;
  Packet packet = std::move(ready_.front());
  ready_.pop_front();
  return packet;
}

}  // namespace sensordb::mqtt
